"""How many passages the answer stage should read (``SCO_QA_ANSWER_POOL``): for each pool
size, the SQuAD articles indexed as `sco-qa train-reader` indexes them, the answer scorer
fitted on two grouped folds and judged on the third (each fold's six articles never seen by
its scorer), pooled over the three folds: the gold passage's rank after the passages are
re-ranked by their best sentence, the accuracy and the refusals.
Usage: python benchmarks/answer_pool.py [--pools 8 16 32] [--work .train/pools]
"""

from __future__ import annotations

import argparse
import os
from pathlib import Path
from typing import Any

from common import ROOT, write_result

FIGURES = ("recall@1", "recall@3", "recall@5", "accuracy", "first_sentence_holds",
           "answerable_auc", "unanswerable_refused_at_95")  # fmt: skip
DATA = [
    ROOT / "benchmarks" / "data" / n for n in ("squad2-dev-part.json", "squad2-train-part.json")
]


def measure(pool: int, work: Path) -> dict[str, float]:
    """The scorer's held-out figures with ``pool`` passages read per question."""
    os.environ["SCO_QA_ANSWER_POOL"] = str(pool)  # read by the settings the index opens with
    from sco_qa.answer import lr_answerer
    from sco_qa.training.readers import FOLDS, evaluate_fold, fold_scorer, prepare
    from sco_qa.training.scorer import pooled

    prep = prepare(DATA, work / f"pool-{pool}")
    assert prep.engine.spec.answer_pool == pool
    reports = []
    for fold in range(FOLDS):
        questions = [q for q in prep.squad.questions if prep.folds[q.doc_id] == fold]
        reports.append(evaluate_fold(prep.engine, lr_answerer(fold_scorer(prep, fold)), questions))
    metrics = pooled(reports).metrics
    return {k: metrics[k] for k in FIGURES}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--pools", type=int, nargs="+", default=[8, 16, 32])
    ap.add_argument("--work", type=Path, default=ROOT / ".train" / "pools")
    args = ap.parse_args()
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    result: dict[str, Any] = {"answer_stage": "answer scorer, grouped folds", "pools": {}}
    for pool in args.pools:
        result["pools"][str(pool)] = measure(pool, args.work)
        print(pool, result["pools"][str(pool)], flush=True)
    write_result(
        "answer_pool",
        result,
        "held-out folds, the answer scorer alone, by passages read: "
        + "; ".join(
            f"{p}: gold passage in the first 5 {r['recall@5']}, accuracy {r['accuracy']}"
            for p, r in result["pools"].items()
        ),
    )


if __name__ == "__main__":
    main()
