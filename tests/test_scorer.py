"""Choosing and quoting sentences, on a hand-written document with fake vectors and a small
hand-set scorer (the trained one is checked at the end)."""

import hashlib
import json
from dataclasses import replace
from types import MappingProxyType

import numpy as np
import pytest

from sco_qa.answer import (
    ScorerModel,
    Scoring,
    SentenceTable,
    compose,
    feature_names,
    gather,
    load_scorer,
    make_query,
    rerank,
    score_sentences,
)
from sco_qa.answer.candidates import coverage
from sco_qa.answer.compose import not_found_text, pick
from sco_qa.answer.scorer import Scored, model_version
from sco_qa.chunking import chunk_document
from sco_qa.records import Document, Hit
from sco_qa.text import tokens

from .conftest import ROOT
from .fakes import FakeEmbedder

TEXT = """# Office

Anna Berg founded the Lisbon office in 2015. She hired twelve engineers that year.

# Budget

The office budget was 4 million euros. Rain fell on Lisbon all week.
"""


def _scorer(products: bool = False) -> ScorerModel:
    """Likes sentences close to the question in vector and in words."""
    names = feature_names(FakeEmbedder.dim, products)
    coef = np.zeros(len(names), dtype=np.float32)
    coef[names.index("cos")] = 3.0
    coef[names.index("cover")] = 3.0
    ones = np.ones(len(names), dtype=np.float32)
    zeros = np.zeros(len(names), dtype=np.float32)
    return ScorerModel(names, zeros, ones, coef, -3.0, (1.0, 0.0, 0.0), 0.5, 0.9, products)


@pytest.fixture(scope="module")
def world() -> tuple[Document, SentenceTable, list[Hit], FakeEmbedder]:
    doc = Document("notes", "Notes", TEXT, MappingProxyType({}), "notes.md")
    chunks, sentences = chunk_document(doc)
    emb = FakeEmbedder()
    position = {s.sentence_id: i for i, s in enumerate(sentences)}
    table = SentenceTable.build(
        sentences,
        emb.embed([s.text for s in sentences]),
        {c.chunk_id: tuple(position[s] for s in c.sentence_ids) for c in chunks},
    )
    hits = [Hit(c, 1.0 / (i + 1), 0.5, 1.0, i + 1) for i, c in enumerate(chunks)]
    return doc, table, hits, emb


def _ranked(world, question: str, model: ScorerModel | None = None) -> list[Scored]:
    _, table, hits, emb = world
    query = make_query(question)
    qvec = emb.embed_query(query.search_text)
    return score_sentences(
        table, query, qvec, hits=hits, terms=tokens(query.topic_text), model=model or _scorer()
    )


def test_coverage_by_hand(world) -> None:
    _, table, _, _ = world
    got = coverage(["lisbon", "offic"], range(len(table.sentences)), table.stats, context=0.5)
    assert got[0] == pytest.approx(1.0)  # sentence 1 holds both words
    assert 0 < got[3] < 1  # "Rain fell on Lisbon" holds one
    assert got[1] == pytest.approx(0.5)  # "She hired…" leans on sentence 1: half credit


def test_features_are_named_and_shaped(world) -> None:
    _, table, hits, emb = world
    query = make_query("Who founded the office?")
    qvec = emb.embed_query(query.search_text)
    cands = gather(table, query, qvec, hits=hits, terms=tokens(query.topic_text), products=True)
    assert cands.features.shape == (len(table.sentences), len(cands.names))
    assert cands.names == feature_names(emb.dim, True)
    row = dict(zip(cands.names, cands.features[0], strict=True))
    assert row["kind_person"] == 1.0 and row["first"] == 1.0
    assert row["cos"] == pytest.approx(float(table.vectors.rows([0])[0] @ qvec), abs=1e-6)
    assert max(cands.features[:, cands.names.index("cos_gap")]) == pytest.approx(0.0)
    assert row["cos_next"] == pytest.approx(float(table.vectors.rows([1])[0] @ qvec), abs=1e-6)
    assert row["cos_prev"] == 0.0  # the first sentence of its paragraph


def _compose(table, doc, model, ranked, threshold: float):
    """The answer ``model``'s scoring of ``ranked`` composes, quoting at most 3 sentences."""
    return compose(
        table,
        {doc.doc_id: doc},
        model.scoring(ranked),
        policy=model.policy(),
        threshold=threshold,
        max_sentences=3,
    )


def test_best_sentence_and_exact_citation(world) -> None:
    doc, table, _, _ = world
    model = _scorer()
    ranked = _ranked(world, "Who founded the Lisbon office?")
    assert table.sentences[ranked[0].pos].text.startswith("Anna Berg founded")
    assert all(0 < s.score < 1 for s in ranked)
    result = _compose(table, doc, model, ranked, 0.0)
    assert result.answered and result.citations
    assert result.confidence == pytest.approx(model.confidence(ranked), abs=1e-4)
    for c in result.citations:
        assert doc.text[c.start : c.end] == c.quote
        assert f"{c.quote} [{c.n}]" in result.text
    assert result.citations[0].section == "Office"


def test_antecedent_is_quoted_with_a_pronoun_sentence(world) -> None:
    doc, table, _, _ = world
    ranked = _ranked(world, "How many engineers were hired?")
    assert table.sentences[ranked[0].pos].text.startswith("She hired")
    one = replace(_scorer(), runner_up=1.0)
    result = _compose(table, doc, one, ranked, 0.0)
    assert result.citations[0].quote.startswith("Anna Berg founded")  # the "She" is resolved
    assert "twelve engineers" in result.citations[0].quote


def test_runner_ups_and_refusal(world) -> None:
    doc, table, _, _ = world
    ranked = [Scored(3, 0.8, False), Scored(0, 0.7, False), Scored(2, 0.3, False)]
    assert [s.pos for s in pick(ranked, 0.8, 3)] == [3, 0]
    assert [s.pos for s in pick(ranked, 0.3, 2)] == [3, 0]
    assert [s.pos for s in pick(ranked, 0.95, 3)] == [3]
    strict = replace(_scorer(), threshold=0.99)
    result = _compose(table, doc, strict, ranked, strict.threshold)
    assert not result.answered and result.citations == ()
    assert result.text == not_found_text(1) and "document does not" in result.text
    assert "documents do not" in not_found_text(2)
    assert (
        compose(
            table, {}, strict.scoring([]), policy=strict.policy(), threshold=0.0, max_sentences=3
        ).confidence
        == 0.0
    )


def test_calibration_is_monotone_in_the_best_probability() -> None:
    model = replace(_scorer(), calibration=(1.2, 0.1, -0.5))
    low = model.confidence([Scored(0, 0.2, False), Scored(1, 0.1, False)])
    high = model.confidence([Scored(0, 0.9, False), Scored(1, 0.1, False)])
    assert 0 < low < high < 1 and model.confidence([]) == 0.0


def test_rerank_puts_the_best_sentence_first(world) -> None:
    _, table, hits, _ = world
    ranked = _ranked(world, "How large was the budget in euros?")
    reranked = rerank(table, hits, Scoring(ranked))
    assert "budget" in reranked[0].chunk.text
    assert [h.rank for h in reranked] == list(range(1, len(hits) + 1))
    assert reranked[0].sentence >= reranked[-1].sentence


def test_passages_the_last_stage_did_not_score_follow_the_first_stages_order(world) -> None:
    _, table, hits, _ = world
    first = {h.chunk.chunk_id: table.chunk_sentences[h.chunk.chunk_id][0] for h in hits}
    ids = [h.chunk.chunk_id for h in hits][:2]
    proposed = [Scored(first[ids[1]], 0.9, False), Scored(first[ids[0]], 0.1, False)]

    def order(scoring: Scoring) -> list[str]:
        return [h.chunk.chunk_id for h in rerank(table, hits[:2], scoring)]

    assert order(Scoring([])) == ids  # nothing scored: fused order
    assert order(Scoring([], {}, proposed)) == ids[::-1]  # the first stage's order
    # what the last stage scored comes before what only the first stage scored
    assert order(Scoring([Scored(first[ids[0]], 0.2, False)], {}, proposed)) == ids


def test_the_trained_scorer_is_the_one_training_recorded() -> None:
    path = ROOT / "sco_qa" / "answer" / "scorer.json"
    raw = path.read_bytes()
    results = json.loads((ROOT / "benchmarks" / "results" / "scorer.json").read_text())
    assert hashlib.sha256(raw).hexdigest() == results["scorer_sha256"]
    model = load_scorer(path)
    assert model.version == model_version(raw) == results["scorer_version"]
    data = ROOT / "benchmarks" / "data" / "squad2-dev-part.json"
    assert model.provenance["data_sha256"] == hashlib.sha256(data.read_bytes()).hexdigest()
    assert model.provenance["seed"] == 0 and "make train" in model.provenance["command"]
    assert len(model.coef) == len(model.names) == len(model.mean) == len(model.scale)
    assert 0 < model.threshold < 1 and 0 < model.runner_up <= 1
