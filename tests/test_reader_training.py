"""The reader's training end to end on a tiny slice of the SQuAD data (the real MiniLM body,
a fake embedder for the index): it runs, resumes after an interruption to the same model,
and writes a reader the engine loads and answers with (slow)."""

from __future__ import annotations

import hashlib
import json
from dataclasses import replace
from pathlib import Path

import pytest
from safetensors.numpy import load_file

from sco_qa.answer import Cascade, load_answerer, load_scorer
from sco_qa.config import load_settings
from sco_qa.engine import Engine
from sco_qa.training import reader as reader_training
from sco_qa.training.reader import Schedule, make_groups, train_reader
from sco_qa.training.readers import Plan, outputs, prepare, ranked, train_all

from .conftest import ROOT
from .fakes import FakeEmbedder, QuestionWordReader

pytestmark = pytest.mark.slow
TINY = Schedule(epochs=0.02, bf16=True, null_span=True)  # the shipped precision and heads


@pytest.fixture(scope="module")
def tiny_squad(tmp_path_factory: pytest.TempPathFactory) -> Path:
    src = json.loads((ROOT / "benchmarks" / "data" / "squad2-dev-part.json").read_text())
    data = {"version": "v2.0", "data": [
        {"title": a["title"], "paragraphs": a["paragraphs"][:2]} for a in src["data"][:3]
    ]}  # fmt: skip
    path = tmp_path_factory.mktemp("squad") / "tiny.json"
    path.write_text(json.dumps(data), encoding="utf-8")
    return path


def test_a_stopped_run_resumes_to_the_same_model(
    tiny_squad: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(reader_training, "CHECKPOINT_EVERY", 1)
    prep = prepare((tiny_squad,), tmp_path / "data", FakeEmbedder())
    groups = make_groups(prep.engine, ranked(prep.engine, prep.rows, load_scorer()), inject=True)
    assert any(any(g.labels) for g in groups) and any(not any(g.labels) for g in groups)
    schedule = Schedule(epochs=0.06, bf16=True)
    whole = train_reader(groups, tmp_path / "whole", schedule=schedule, key={"k": 1},
                         progress=lambda m: None, keep=(1,))  # fmt: skip

    def stop_after_first(message: str) -> None:
        if "step 1/" in message:
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        train_reader(groups, tmp_path / "resumed", schedule=schedule, key={"k": 1},
                     progress=stop_after_first, keep=(1,))  # fmt: skip
    state = json.loads((tmp_path / "resumed" / "checkpoint.json").read_text())
    assert state["step"] == 1
    resumed = train_reader(groups, tmp_path / "resumed", schedule=schedule, key={"k": 1},
                           progress=lambda m: None)  # fmt: skip
    spent = json.loads((tmp_path / "resumed" / "done.json").read_text())["seconds"]
    assert 0 < spent < 600  # its training time, over both sessions
    a, b = load_file(str(whole)), load_file(str(resumed))
    assert a.keys() == b.keys() and all((a[k] == b[k]).all() for k in a)
    # the weights after step 1 are kept (a learning curve from one run), the same either way
    early = load_file(str(whole.with_name("reader.step-1.safetensors")))
    again = load_file(str(resumed.with_name("reader.step-1.safetensors")))
    assert all((early[k] == again[k]).all() for k in early)
    assert any((early[k] != a[k]).any() for k in a)
    # bf16 runs the forward pass in bfloat16: the same run in float32 learns other weights
    wide = train_reader(groups, tmp_path / "float32", schedule=replace(schedule, bf16=False),
                        key={"k": 1}, progress=lambda m: None)  # fmt: skip
    f32 = load_file(str(wide))
    assert any((f32[k] != a[k]).any() for k in a)


def test_training_writes_a_reader_the_engine_answers_with(tiny_squad: Path, tmp_path: Path) -> None:
    out = tmp_path / "out"
    out.mkdir()
    plan = Plan((tiny_squad,), tmp_path / "work", tmp_path / "results", out, TINY, TINY,
                candidates=4)  # fmt: skip
    summary = train_all(plan, FakeEmbedder(), progress=lambda m: None)
    assert {"pooled", "baseline", "folds", "removed_article", "policy"} <= set(summary)
    asked = sum(int(f["questions"]) for f in summary["folds"].values())
    assert summary["reads_reused"] >= 0.9 * asked  # the held-out figures read nothing twice
    assert not any(k.startswith("latency_") for k in summary["pooled"])  # reused: not timed
    meta = json.loads((out / "reader.json").read_text())
    weights = out / "reader.safetensors"
    assert meta["weights_sha256"] == hashlib.sha256(weights.read_bytes()).hexdigest()
    assert len(meta["policy"]["calibration"]) == 2  # the nested Platt step, recorded
    prov = meta["provenance"]
    assert prov["seed"] == 0 and prov["data_sha256"] and "cpu" in prov["device"]
    assert prov["command"].startswith("make train") and prov["questions"] > 10
    assert weights.stat().st_size < 25 * 2**20  # only the trained layers, in half precision
    assert (tmp_path / "results" / "reader.json").is_file()
    again = train_all(plan, FakeEmbedder(), progress=lambda m: None)  # the policy refitted
    assert summary["reads_new"] > 0 and again["reads_new"] == 0  # from the saved reads
    assert again["pooled"] == summary["pooled"] and again["policy"] == summary["policy"]
    answerer = load_answerer(out / "reader.json", tmp_path / "cache")
    assert isinstance(answerer.scorer, Cascade)
    assert answerer.scorer.candidates == meta["candidates"] == 4  # trained in groups of 6
    assert prov["train_candidates"] == 6 and prov["candidates"] == 4
    corpus = tmp_path / "work" / "data" / "corpus"
    settings = load_settings(corpus_dir=corpus, index_dir=tmp_path / "work" / "data" / "index",
                             abstain_threshold=0.0)  # fmt: skip
    engine = Engine.open(settings, FakeEmbedder(), answerer=answerer)
    answer = engine.ask("What is the name of the region the Normans gave their name to?")
    assert answer.citations
    for c in answer.citations:
        text = engine.index.documents[c.doc_id].text
        assert text[c.start : c.end] == c.quote
        if c.phrase is not None:
            assert text[c.phrase.start : c.phrase.end] == c.phrase.text
            assert c.start <= c.phrase.start < c.phrase.end <= c.end
    weights.write_bytes(weights.read_bytes()[:-8] + b"\0" * 8)  # a reader not as recorded
    with pytest.raises(Exception, match="does not match the hash"):
        load_answerer(out / "reader.json", tmp_path / "cache")


def test_off_topic_readings_leave_the_questions_own_article_out(
    tiny_squad: Path, tmp_path: Path
) -> None:
    prep = prepare((tiny_squad,), tmp_path / "data", FakeEmbedder())
    cascade = Cascade(load_scorer(), QuestionWordReader(), {}, "fake")  # type: ignore[arg-type]
    questions = prep.squad.questions[:40]
    sents = prep.engine.table.sentences
    near = outputs(prep.engine, cascade, questions)
    away = outputs(prep.engine, cascade, questions, away=True)
    own = [any(sents[s.pos].doc_id == q.doc_id for s in r.first.ranked) for q, r in near]
    assert sum(own) > len(own) / 2  # the question's article is usually read in the corpus
    for q, r in away:
        assert r.top and all(sents[s.pos].doc_id != q.doc_id for s in r.first.ranked)


def test_the_null_phrase_is_taught_only_by_sentences_without_the_answer() -> None:
    import torch

    from sco_qa.answer.pairs import PairInput
    from sco_qa.training.reader import Group, _phrase_loss

    pair = PairInput((101, 1, 102, 5, 6, 7, 102), (0,) * 3 + (1,) * 4, 3,
                     ((0, 3), (4, 8), (9, 12)))  # fmt: skip
    group = Group(None, (0, 1, 2), (pair,) * 3, (0, 1, 1), (None, (4, 5), None))  # type: ignore[arg-type]
    at_null = torch.tensor([5.0, 0, 0, 0, 0, 0, 0])  # [CLS] (the null phrase) stands out
    at_phrase = torch.tensor([0.0, 0, 0, 0, 5.0, 5.0, 0])
    assert _phrase_loss(at_null, at_null, group, 0, null_span=False) is None
    assert _phrase_loss(at_null, at_null, group, 2, null_span=True) is None  # holds, no phrase
    wrong = _phrase_loss(at_phrase, at_phrase, group, 0, null_span=True)
    right = _phrase_loss(at_null, at_null, group, 0, null_span=True)
    assert right < 0.1 < wrong  # a sentence without the answer points at [CLS]
    # the answer's own phrase competes with [CLS] too, and without the null phrase it does not
    assert _phrase_loss(at_null, at_null, group, 1, null_span=True) > _phrase_loss(
        at_null, at_null, group, 1, null_span=False
    )
