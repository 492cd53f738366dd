"""How many of the bundled MiniLM's layers the reader should train: fold 0's readers (0.3
epoch on the other twelve articles, the shipped schedule otherwise) with none or the lowest
three layers kept as bundled, judged on fold 0's six held-out articles by how often the
reader's own first choice among the answer scorer's best candidates holds the answer.
Resumable (checkpoints in the work folder). About 15 minutes on 2 cores.
Usage: python benchmarks/reader_layers.py [--work .train/layers]  (the articles' index is
shared with `sco-qa train-reader`'s, in the work folder's parent)
"""

from __future__ import annotations

import argparse
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import numpy as np
from common import ROOT, write_result

from sco_qa.answer.pairs import batch_arrays
from sco_qa.answer.reader_net import load_weights
from sco_qa.answer.scorer import ScorerModel
from sco_qa.training.reader import Group, make_groups, train_reader
from sco_qa.training.readers import FOLD, Prepared, fold_scorer, prepare, ranked

DATA = [
    ROOT / "benchmarks" / "data" / n for n in ("squad2-dev-part.json", "squad2-train-part.json")
]
FROZEN = (0, 3)


def first_choice(weights: Path, frozen: int, groups: list[Group]) -> float:
    """Share of answerable questions whose best-read candidate holds the answer."""
    import torch

    net = load_weights(weights, frozen)
    right = 0
    for g in groups:
        with torch.inference_mode():
            pair, _, _ = net(**{k: torch.from_numpy(v) for k, v in batch_arrays(g.inputs).items()})
        right += g.labels[int(np.argmax(pair[:, 0].numpy()))]
    return right / len(groups)


@dataclass(frozen=True)
class FoldZero:
    """Fold 0 as its reader sees it: the training groups of the other twelve articles, and
    the answerable held-out questions' candidates (the fold scorer's best, nothing put in)."""

    prep: Prepared
    scorer: ScorerModel
    groups: list[Group]
    held: list[Group]


def fold_zero(work: Path) -> FoldZero:
    """Fold 0's groups, on the articles' index `sco-qa train-reader` keeps in ``work``."""
    prep = prepare(DATA, work / "data")
    scorer = fold_scorer(prep, 0)
    train = [g for g in prep.rows if prep.folds[g.question.doc_id] != 0]
    test = [g for g in prep.rows if prep.folds[g.question.doc_id] == 0]
    groups = make_groups(prep.engine, ranked(prep.engine, train, scorer), inject=True)
    held = [g for g in make_groups(prep.engine, ranked(prep.engine, test, scorer), inject=False)
            if g.question.answerable]  # fmt: skip
    return FoldZero(prep, scorer, groups, held)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--work", type=Path, default=ROOT / ".train" / "layers")
    args = ap.parse_args()
    fold = fold_zero(args.work.parent)
    prep, groups, held = fold.prep, fold.groups, fold.held
    result: dict[str, Any] = {
        "held_out_questions": len(held),
        "scorer_first": round(sum(g.labels[0] for g in held) / len(held), 4),
        "in_candidates": round(sum(max(g.labels) for g in held) / len(held), 4),
        "reader_first": {},
    }
    for frozen in FROZEN:
        schedule = replace(FOLD, frozen_layers=frozen)
        weights = train_reader(groups, args.work / f"frozen-{frozen}", schedule=schedule,
                               key={"fold": 0, "data": prep.squad.sha256})  # fmt: skip
        result["reader_first"][str(frozen)] = round(first_choice(weights, frozen, held), 4)
    r = result["reader_first"]
    write_result(
        "reader_layers",
        result,
        f"fold 0, reader's first choice holds the answer: {r['0']} with all layers trained, "
        f"{r['3']} with 3 frozen (the scorer's first: {result['scorer_first']})",
    )


if __name__ == "__main__":
    main()
