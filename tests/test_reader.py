"""The shipped reader, for real (ONNX Runtime, int8, exported from the stored tensors): it is
the artifact its description records, it reads hand-written pairs the right way round, and
every answer it helps give over the golden set cites exact slices (slow)."""

from __future__ import annotations

import hashlib
import json
from dataclasses import replace
from pathlib import Path

import pytest

from sco_qa.answer import Cascade, load_answerer
from sco_qa.answer.cascade import reader_version
from sco_qa.answer.pairs import PairText
from sco_qa.answer.reader import META_FILE, WEIGHTS_FILE
from sco_qa.config import load_settings
from sco_qa.engine import Engine
from sco_qa.evaluation import load_golden
from sco_qa.records import confidence_label

from .conftest import CORPUS

pytestmark = pytest.mark.slow
TITLE = "The Eurasian Economic Union:"
UNION = [
    "The union was founded by a treaty signed in Astana by three countries.",
    "The EAEU came into force in January 2015.",
    "Its commission, which carries out the day-to-day work of the union, sits in Moscow.",
    "Armenia and Kyrgyzstan joined the union later that year.",
]

#: questions about UNION, each with the sentence that answers it
HAND_WRITTEN = [
    ("When did the EAEU come into force?", 1),
    ("Which body handles the routine daily administration of the bloc?", 2),
    ("Which countries joined after the founding?", 3),
    ("Where was the founding treaty signed?", 0),
]


@pytest.fixture(scope="module")
def answerer():
    answerer = load_answerer(Path("reader"), load_settings().model_cache_dir)
    assert isinstance(answerer.scorer, Cascade)  # `reader` names the shipped reader
    return answerer


@pytest.fixture(scope="module")
def reader(answerer):
    return answerer.scorer.reader


def test_the_shipped_reader_is_the_artifact_its_description_records() -> None:
    meta = json.loads(META_FILE.read_text())
    raw = WEIGHTS_FILE.read_bytes()
    assert hashlib.sha256(raw).hexdigest() == meta["weights_sha256"]
    assert len(raw) <= 25 * 2**20
    prov = meta["provenance"]
    assert prov["questions"] == 7716 and len(prov["articles"]) == 18
    assert prov["seed"] == 0 and "cpu" in prov["device"] and prov["data_sha256"]
    assert meta["policy"]["names"] and 0 < meta["policy"]["threshold"] < 1
    assert prov["schedule"]["null_span"] and {"span_1", "span_max"} <= set(meta["policy"]["names"])


def test_the_readers_version_names_its_weights_and_its_fitted_numbers(answerer) -> None:
    meta = json.loads(META_FILE.read_text())
    assert answerer.version == reader_version(meta)
    assert answerer.version != "reader-" + meta["weights_sha256"][:12]
    assert reader_version(meta | {"provenance": {}}) == answerer.version
    policy = meta["policy"] | {"intercept": meta["policy"]["intercept"] + 0.1}
    assert reader_version(meta | {"policy": policy}) != answerer.version
    assert reader_version(meta | {"mix": meta["mix"] | {"first": 0.0}}) != answerer.version


def _ranked(reader, question: str) -> tuple[list[int], list]:
    """The sentences ordered by the reader, each read with the question alone (no preceding
    sentence: the context's own effect is measured on SQuAD, README "The reader")."""
    pairs = [PairText(question, TITLE, "", s) for s in UNION]
    reads = reader.read(pairs, list(range(len(UNION))))
    return [r.pos for r in sorted(reads, key=lambda r: -r.answer)], reads


@pytest.mark.parametrize(("question", "best"), HAND_WRITTEN)
def test_the_reader_ranks_hand_written_pairs(reader, question: str, best: int) -> None:
    order, _ = _ranked(reader, question)
    assert order[0] == best, (question, order)


@pytest.mark.parametrize(("question", "best"), HAND_WRITTEN)
def test_the_phrase_outscores_the_null_phrase_in_the_sentence_that_answers(
    reader, question: str, best: int
) -> None:
    _, reads = _ranked(reader, question)
    gaps = [r.span for r in reads]
    assert max(range(len(gaps)), key=lambda i: gaps[i]) == best, (question, gaps)
    # in the sentences that do not answer, the null phrase wins
    assert all(g < 0 for i, g in enumerate(gaps) if i != best), (question, gaps)


def test_the_phrase_stands_inside_the_sentence(reader) -> None:
    _, reads = _ranked(reader, "When did the EAEU come into force?")
    a, b = reads[1].phrase
    assert 0 <= a < b <= len(UNION[1])
    assert "2015" in UNION[1][a:b]


def test_a_sentence_reads_the_same_whatever_is_read_beside_it(reader) -> None:
    """Each pair runs on its own: int8 activations are scaled per run, so in one padded
    batch a sentence's logits moved with the other candidates."""
    pairs = [PairText("When did the EAEU come into force?", TITLE, "", s) for s in UNION]
    among = reader.read(pairs, list(range(len(UNION))))
    assert reader.read(pairs[1:2], [1]) == among[1:2]
    assert reader.read(pairs[2:], [2, 3]) == among[2:]


def test_every_golden_answer_cites_exact_slices(engine: Engine, answerer) -> None:
    engine = replace(engine, answerer=answerer)
    docs = engine.index.documents
    items = load_golden(CORPUS / "golden.jsonl", list(docs.values()))
    phrases = 0
    for item in items:
        answer = engine.ask(item.question)
        assert answer.confidence_label == confidence_label(answer.confidence)
        for c in answer.citations:
            text = docs[c.doc_id].text
            assert text[c.start : c.end] == c.quote
            if c.phrase is not None:
                phrases += 1
                assert text[c.phrase.start : c.phrase.end] == c.phrase.text
                assert c.start <= c.phrase.start < c.phrase.end <= c.end
        starts = [(c.doc_id, c.start) for c in answer.citations]
        assert starts == sorted(starts, key=lambda s: (list(docs).index(s[0]), s[1]))
    assert phrases > 0  # the reader marks phrases on this corpus too


def test_the_question_models_sleep_between_runs(reader, engine: Engine) -> None:
    """The question encoder runs just before the reader on every question: spinning threads
    of one would hold the cores the other needs (README "Evaluation", ask latency)."""
    key = "session.intra_op.allow_spinning"
    for session in (reader._open(), engine.embedder._session(True)):
        assert session.get_session_options().get_session_config_entry(key) == "0"
