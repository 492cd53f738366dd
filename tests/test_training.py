"""Training the scorer on a tiny hand-written SQuAD file with the fake embedder: it runs,
it is deterministic, and what it writes is a scorer the engine can use."""

import json
from dataclasses import replace
from pathlib import Path

import pytest

from sco_qa.answer import ScorerModel, load_scorer
from sco_qa.evaluation.squad import load_squad
from sco_qa.training.scorer import gather_all, held_out, open_engine, train

from .fakes import FakeEmbedder
from .test_squad import DATA


@pytest.fixture()
def setup(tmp_path: Path):
    path = tmp_path / "squad.json"
    path.write_text(json.dumps(DATA), encoding="utf-8")
    squad = load_squad(path)
    engine = open_engine(squad, tmp_path / "work", FakeEmbedder())
    return squad, engine, gather_all(engine, squad.questions)


def test_candidates_are_labelled_by_the_gold_spans(setup) -> None:
    _, engine, rows = setup
    by_id = {g.question.id: g for g in rows}
    for qid in ("a1", "a2"):
        g = by_id[qid]
        held = [
            engine.table.sentences[p].text for p, y in zip(g.positions, g.labels, strict=True) if y
        ]
        assert len(held) == 1 and g.question.answers[0] in held[0]
    assert not by_id["u1"].labels.any()  # nothing holds an unanswerable question's answer


def test_training_is_deterministic_and_usable(setup) -> None:
    squad, engine, rows = setup
    first = train(engine, rows, products=False, provenance={"seed": 0})
    again = train(engine, rows, products=False, provenance={"seed": 0})
    assert first.to_json() == again.to_json()
    loaded = ScorerModel.from_json(json.loads(json.dumps(first.to_json())))
    assert loaded.names == first.names and loaded.runner_up in (1.0, 0.8, 0.6, 0.5, 0.4, 0.3, 0.2)
    report = held_out(engine, loaded, squad.questions)
    assert report.metrics["faithfulness"] == 1.0 and len(report.held) == len(squad.questions)
    assert 0.0 <= report.metrics["ece"] <= 1.0


def test_the_shipped_scorer_fits_the_real_model() -> None:
    model = load_scorer()
    assert len(model.names) == len(model.coef) and model.provenance["questions"] == 2997
    assert replace(model, threshold=0.5).threshold == 0.5
