"""Does the reader gain from longer training, and from training in bfloat16? Fold 0's readers
(trained on the other twelve articles, all layers, the shipped schedule otherwise) for 0.6
and 1.2 epochs in float32 (the longer run's weights also kept along the way) and for 1.2
epochs with the forward pass in bfloat16; each judged on fold 0's six held-out articles,
served as in production (ONNX int8, each pair read alone), by how often the reader's own
first choice among the answer scorer's best candidates holds the answer; each run's training
time is the one its ``done.json`` records. Resumable (checkpoints in the work folder).
Usage: python benchmarks/reader_epochs.py [--work .train]
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any

import numpy as np
from common import ROOT, write_result
from reader_layers import fold_zero

from sco_qa.answer.cascade import READ_CANDIDATES
from sco_qa.answer.reader import OnnxReader
from sco_qa.training.reader import Group, Schedule, total_steps, train_reader
from sco_qa.training.readers import run_key

KEPT = (0.25, 0.5, 0.75)  # where along the longer float32 run its weights are kept, as shares


def first_choice(weights: Path, held: list[Group], cache: Path, served: int) -> dict[str, float]:
    """Share of answerable questions whose best-read candidate holds the answer, among the
    scorer's first ``served`` candidates and among all of them."""
    reader = OnnxReader(weights, 0, cache)
    logits = [[r.answer for r in reader.read_inputs(g.inputs, g.positions)] for g in held]
    out = {}
    for name, n in (("served", served), ("all", len(held[0].inputs))):
        right = sum(g.labels[int(np.argmax(a[:n]))] for g, a in zip(held, logits, strict=True))
        out[name] = round(right / len(held), 4)
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--work", type=Path, default=ROOT / ".train")
    args = ap.parse_args()
    fold = fold_zero(args.work)
    prep, scorer, groups, held = fold.prep, fold.scorer, fold.groups, fold.held
    cache = args.work / "onnx"
    result: dict[str, Any] = {
        "held_out_questions": len(held),
        "served_candidates": READ_CANDIDATES,
        "scorer_first": round(sum(g.labels[0] for g in held) / len(held), 4),
        "in_served": round(sum(max(g.labels[:READ_CANDIDATES]) for g in held) / len(held), 4),
        "in_candidates": round(sum(max(g.labels) for g in held) / len(held), 4),
        "runs": [],
    }
    runs = (
        ("float32", Schedule(epochs=0.6), "fold-0-epochs-0.6", ()),
        ("float32", Schedule(epochs=1.2), "fold-0-epochs-1.2", KEPT),
        ("bfloat16", Schedule(epochs=1.2, bf16=True), "fold-0-epochs-1.2-bf16", ()),
    )
    for precision, schedule, folder, shares in runs:
        keep = {round(share * total_steps(groups, schedule)): share for share in shares}
        weights = train_reader(groups, args.work / folder, schedule=schedule,
                               key=run_key(prep, scorer, 0), keep=tuple(keep))  # fmt: skip
        done = json.loads(weights.with_name("done.json").read_text())
        minutes = round(done["seconds"] / 60, 1) if "seconds" in done else None
        points = [
            (round(schedule.epochs * share, 3), weights.with_name(f"reader.step-{s}.safetensors"))
            for s, share in keep.items()
        ] + [(schedule.epochs, weights)]
        for epochs, w in points:
            got = first_choice(w, held, cache, READ_CANDIDATES)
            result["runs"].append({"schedule_epochs": schedule.epochs, "epochs": epochs,
                                   "precision": precision, "train_minutes": minutes,
                                   "reader_first": got})  # fmt: skip
            print(result["runs"][-1], flush=True)
    final = {f"{r['schedule_epochs']:g} epochs, {r['precision']}": r["reader_first"]["served"]
             for r in result["runs"] if r["epochs"] == r["schedule_epochs"]}  # fmt: skip
    write_result(
        "reader_epochs",
        result,
        "fold 0, the reader's first choice among the scorer's best "
        f"{READ_CANDIDATES} holds the answer: "
        + ", ".join(f"{v} after {k}" for k, v in final.items())
        + f" (the scorer's first: {result['scorer_first']}; one of them: {result['in_served']})",
    )


if __name__ == "__main__":
    main()
