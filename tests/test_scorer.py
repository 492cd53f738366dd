"""Choosing and quoting sentences, on a hand-written document with fake vectors."""

from types import MappingProxyType

import pytest

from sco_qa.answer import SentenceTable, compose, make_query, rerank, score_sentences
from sco_qa.answer.compose import not_found_text
from sco_qa.answer.scorer import Scored, confidence, coverage
from sco_qa.chunking import chunk_document
from sco_qa.records import Document, Hit
from sco_qa.text import tokens

from .fakes import FakeEmbedder

TEXT = """# Office

Anna Berg founded the Lisbon office in 2015. She hired twelve engineers that year.

# Budget

The office budget was 4 million euros. Rain fell on Lisbon all week.
"""


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
    hits = [Hit(c, 1.0 / (i + 1), 0.0, 0.0, i + 1) for i, c in enumerate(chunks)]
    return doc, table, hits, emb


def _ranked(world, question: str) -> list[Scored]:
    _doc, table, hits, emb = world
    query = make_query(question)
    terms = tokens(query.topic_text)
    return score_sentences(table, query, emb.embed_query(query.search_text), hits, terms)


def test_coverage_by_hand(world) -> None:
    _, table, _, _ = world
    stats = table.stats
    got = coverage(["lisbon", "offic"], range(len(table.sentences)), stats, context=0.5)
    assert got[0] == pytest.approx(1.0)  # sentence 1 holds both words
    assert 0 < got[3] < 1  # "Rain fell on Lisbon" holds one
    assert got[1] == pytest.approx(0.5)  # "She hired…" leans on sentence 1: half credit


def test_best_sentence_and_exact_citation(world) -> None:
    doc, table, _hits, _ = world
    ranked = _ranked(world, "Who founded the Lisbon office?")
    assert table.sentences[ranked[0].pos].text.startswith("Anna Berg founded")
    result = compose(table, {doc.doc_id: doc}, make_query("Who founded it?"), ranked, 0.0)
    assert result.answered and result.citations
    for c in result.citations:
        assert doc.text[c.start : c.end] == c.quote
        assert f"{c.quote} [{c.n}]" in result.text
    assert result.citations[0].section == "Office"


def test_antecedent_is_quoted_with_a_pronoun_sentence(world) -> None:
    doc, table, _, _ = world
    ranked = _ranked(world, "How many engineers were hired?")
    assert table.sentences[ranked[0].pos].text.startswith("She hired")
    result = compose(table, {doc.doc_id: doc}, make_query("How many engineers?"), ranked, 0.0)
    assert result.citations[0].quote.startswith("Anna Berg founded")  # the "She" is resolved
    assert "twelve engineers" in result.citations[0].quote


def test_refusal_under_the_threshold(world) -> None:
    doc, table, _, _ = world
    ranked = _ranked(world, "What is the capital of Peru?")
    result = compose(table, {doc.doc_id: doc}, make_query("Capital of Peru?"), ranked, 0.99)
    assert not result.answered and result.citations == ()
    assert result.text == not_found_text(1) and "article does not" in result.text
    assert "documents do not" in not_found_text(2)
    assert compose(table, {}, make_query("x?"), [], 0.0).confidence == 0.0


def test_confidence_is_cut_when_the_kind_is_missing() -> None:
    best = Scored(0, 0.9, 0.8, 0.6, 0.0, False)
    assert confidence(best, "other") == pytest.approx(0.7)
    assert confidence(best, "quantity") == pytest.approx(0.42)


def test_rerank_puts_the_best_sentence_first(world) -> None:
    _, table, hits, _ = world
    ranked = _ranked(world, "How large was the budget in euros?")
    reranked = rerank(table, hits, ranked)
    assert "budget" in reranked[0].chunk.text
    assert [h.rank for h in reranked] == list(range(1, len(hits) + 1))
    assert reranked[0].sentence >= reranked[-1].sentence
