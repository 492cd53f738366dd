"""In-process ``ask`` latency over the golden questions, after warm-up.

Reports p50/p95/p99 of embed / search / score (the answer stage) / compose / total, the share
of time outside the model's forward pass, and the same with the query-embedding cache warm
(repeated questions).
Usage: python benchmarks/ask_latency.py [--rounds 5] [--threads N] [--answer-model reader]
(``--answer-model reader``: the cascade with the reader, written to ``ask_latency_reader.json``)
"""

from __future__ import annotations

import argparse
import os
import tempfile
import time
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")

from common import ROOT, golden_questions, stats_ms, write_result

from sco_qa.config import load_settings
from sco_qa.engine import Engine


def forward_ms(engine: Engine, questions: list[str], rounds: int) -> list[float]:
    """Time of the bare question encode (tokenise, forward, pool; no cache) per question."""
    out = []
    for _ in range(rounds):
        for q in questions:
            t0 = time.perf_counter()
            engine.embedder._encode_queries([q])  # type: ignore[attr-defined]
            out.append((time.perf_counter() - t0) * 1e3)
    return out


def run(engine: Engine, questions: list[str], rounds: int) -> dict[str, list[float]]:
    parts: dict[str, list[float]] = {
        k: [] for k in ("embed", "search", "score", "compose", "total")
    }
    for _ in range(rounds):
        for q in questions:
            t = engine.ask(q).timings_ms
            for k in parts:
                parts[k].append(t[k])
    return parts


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--rounds", type=int, default=5)
    ap.add_argument("--threads", type=int, default=0, help="model threads (0: default)")
    ap.add_argument("--answer-model", choices=("scorer", "reader"), default="scorer")
    args = ap.parse_args()
    index_dir = Path(tempfile.mkdtemp(prefix="sco-qa-bench-"))
    settings = load_settings(
        corpus_dir=ROOT / "corpus",
        index_dir=index_dir,
        embed_cache_size=0,
        model_threads=args.threads,
        answer_model=Path(args.answer_model),
    )
    engine = Engine.open(settings)
    questions = golden_questions()
    run(engine, questions, 1)  # warm-up
    cold = run(engine, questions, args.rounds)
    fwd = forward_ms(engine, questions, 1)
    cached_engine = Engine.open(settings.model_copy(update={"embed_cache_size": 4096}))
    run(cached_engine, questions, 1)
    warm = run(cached_engine, questions, args.rounds)
    non_model = [t - e for t, e in zip(cold["total"], cold["embed"], strict=True)]
    result = {
        "questions": len(questions),
        "rounds": args.rounds,
        "model_threads": args.threads,
        "answer_model": engine.answerer.version,
        "uncached": {k: stats_ms(v) for k, v in cold.items()},
        "forward_pass": stats_ms(fwd),
        "outside_forward_pass": stats_ms(non_model),
        "share_outside_forward_pass": round(sum(non_model) / sum(cold["total"]), 4),
        "cached_embedding": {k: stats_ms(v) for k, v in warm.items()},
    }
    u, c = result["uncached"], result["cached_embedding"]
    line = (
        f"ask in process p50 {u['total']['p50']} ms / p95 {u['total']['p95']} ms / p99 "
        f"{u['total']['p99']} ms (embed p50 {u['embed']['p50']}, search "
        f"{u['search']['p50']}, answer scoring {u['score']['p50']}, compose "
        f"{u['compose']['p50']}); outside the question encode "
        "(tokenise + forward + pool) "
        f"p50 {result['outside_forward_pass']['p50']} ms; repeated question p50 "
        f"{c['total']['p50']} ms; model threads {args.threads or 'default'}; answer model "
        f"{result['answer_model']}"
    )
    name = "ask_latency" + (f"_t{args.threads}" if args.threads else "")
    name += "_reader" if args.answer_model == "reader" else ""
    write_result(name, result, line)


if __name__ == "__main__":
    main()
