"""The SQuAD benchmark's pure parts, on a tiny hand-written SQuAD file."""

import json
from pathlib import Path
from types import MappingProxyType

import pytest

from sco_qa.corpus import load_corpus
from sco_qa.errors import GoldenSetError
from sco_qa.evaluation.squad import (
    calibration_metrics,
    holds_answer,
    judge,
    load_squad,
    normalize_answer,
    refused_keeping,
    reliability,
    write_corpus,
)
from sco_qa.records import Answer, Chunk, Citation, Hit

DATA = {
    "version": "v2.0",
    "data": [
        {
            "title": "Tide_Mills",
            "paragraphs": [
                {
                    "context": " Tide mills turn with the tide. The first stood in Ireland.",
                    "qas": [
                        {
                            "id": "a1",
                            "question": "Where did the first tide mill stand?",
                            "answers": [{"text": "Ireland", "answer_start": 51}],
                            "is_impossible": False,
                        },
                        {
                            "id": "u1",
                            "question": "Who owned the first tide mill?",
                            "answers": [],
                            "plausible_answers": [{"text": "Ireland", "answer_start": 51}],
                            "is_impossible": True,
                        },
                    ],
                },
                {
                    "context": "Mills ground grain for bread.",
                    "qas": [
                        {
                            "id": "a2",
                            "question": "What did mills grind?",
                            "answers": [{"text": "grain", "answer_start": 13}],
                            "is_impossible": False,
                        }
                    ],
                },
            ],
        },
        {"title": "Other", "paragraphs": [{"context": "Nothing here.", "qas": []}]},
    ],
}


@pytest.fixture()
def squad_file(tmp_path: Path) -> Path:
    path = tmp_path / "squad.json"
    path.write_text(json.dumps(DATA), encoding="utf-8")
    return path


def test_articles_become_documents_with_exact_answer_offsets(squad_file: Path) -> None:
    squad = load_squad(squad_file, ["tide mills"])
    (doc,) = squad.documents
    assert doc.doc_id == "tide-mills" and doc.title == "Tide Mills"
    assert doc.text == "Tide mills turn with the tide. The first stood in Ireland.\n\n" + (
        "Mills ground grain for bread.\n"
    )
    by_id = {q.id: q for q in squad.questions}
    for q in (by_id["a1"], by_id["a2"]):
        ((s, e),) = q.spans
        assert doc.text[s:e] == q.answers[0]
    assert not by_id["u1"].answerable and by_id["u1"].spans == ()
    assert len(squad.sha256) == 64


def test_the_written_corpus_reads_back_identically(squad_file: Path, tmp_path: Path) -> None:
    squad = load_squad(squad_file)
    write_corpus(squad, tmp_path / "corpus")
    docs = {d.doc_id: d for d in load_corpus(tmp_path / "corpus")}
    for doc in squad.documents:
        assert docs[doc.doc_id].text == doc.text and docs[doc.doc_id].title == doc.title


def test_bad_files_and_articles_are_named(squad_file: Path, tmp_path: Path) -> None:
    with pytest.raises(GoldenSetError, match="no article named"):
        load_squad(squad_file, ["Nowhere"])
    bad = tmp_path / "bad.json"
    bad.write_text("{}", encoding="utf-8")
    with pytest.raises(GoldenSetError, match=r"not a SQuAD 2\.0 file"):
        load_squad(bad)


def test_answer_matching_is_squad_normalised() -> None:
    assert normalize_answer("The Tide-Mill, (1066)!") == "tidemill 1066"
    assert holds_answer("It stood in IRELAND.", ["Ireland"])
    assert not holds_answer("It stood in Irelandia.", ["Ireland"])  # whole words only
    assert not holds_answer("anything", ["the"])  # an answer that normalises to nothing


def test_judge_counts_support_and_refusal(squad_file: Path) -> None:
    squad = load_squad(squad_file, ["Tide_Mills"])
    (doc,) = squad.documents
    q = next(q for q in squad.questions if q.id == "a1")
    start = doc.text.index("The first")
    end = doc.text.index("Ireland.") + len("Ireland.")
    cite = Citation(1, doc.doc_id, doc.title, "", 1, start, end, doc.text[start:end], 0.9)
    chunk = Chunk("c", doc.doc_id, "", 1, 0, end, doc.text[:end], ())
    answer = Answer(q.question, True, cite.quote + " [1]", 0.7, (cite,), (Hit(chunk, 1, 1, 1, 1),),
                    MappingProxyType({}))  # fmt: skip
    outcome, held = judge(q, answer, lambda _: doc.text, latency_ms=3.0, threshold=0.5)
    assert held and outcome.correct and outcome.supported and outcome.retrieval_rank == 1
    refused, held = judge(q, answer, lambda _: doc.text, latency_ms=3.0, threshold=0.8)
    assert held and not refused.answered and not refused.correct
    assert refused.failure == "wrongly refused"


def test_calibration_figures_by_hand() -> None:
    conf = [0.9, 0.8, 0.3, 0.2, 0.1]
    holds = [True, True, False, True, False]
    answerable = [True, True, True, False, False]
    m = calibration_metrics(conf, holds, answerable)
    assert m["answerable_auc"] == 1.0
    assert m["confidence_auc"] == pytest.approx(5 / 6, abs=1e-4)
    assert reliability(conf, holds)[-1] == (0.9, 1.0, 1)
    threshold, refused = refused_keeping(conf, answerable, keep=0.6)
    assert threshold == 0.8 and refused == 1.0
