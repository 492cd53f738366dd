"""The embedding backends side by side: answer accuracy on the golden set and embed time
per question (no cache), for torch (sentence-transformers), ONNX fp32 and ONNX int8.
The default is ONNX fp32 only while its accuracy equals torch's and its embed time is at
most half of torch's. Usage: python benchmarks/backends.py"""

from __future__ import annotations

import tempfile
from pathlib import Path

from common import ROOT, stats_ms, write_result

from sco_qa.config import load_settings
from sco_qa.corpus import load_corpus
from sco_qa.engine import Engine
from sco_qa.evaluation import evaluate, load_golden


def measure(backend: str) -> dict:
    settings = load_settings(
        corpus_dir=ROOT / "corpus",
        model_backend=backend,
        index_dir=Path(tempfile.mkdtemp(prefix=f"sco-qa-{backend}-")),
        embed_cache_size=0,
    )
    engine = Engine.open(settings)
    items = load_golden(ROOT / "corpus" / "golden.jsonl", load_corpus(ROOT / "corpus"))
    for it in items:  # warm-up
        engine.ask(it.question)
    report = evaluate(
        items,
        engine.ask,
        lambda d: engine.index.documents[d].text,
        threshold=engine.threshold,
    )
    asks = [o.latency_ms for o in report.outcomes]
    embed = [engine.ask(it.question).timings_ms["embed"] for it in items for _ in range(3)]
    row = {
        "backend": backend,
        "accuracy": report.metrics["accuracy"],
        "unanswerable_refused": report.metrics["unanswerable_refused"],
        "answerable_refused": report.metrics["answerable_refused"],
        "embed_ms": stats_ms(embed),
        "ask_ms": stats_ms(asks),
    }
    print(row, flush=True)
    return row


def main() -> None:
    rows = {b: measure(b) for b in ("torch", "onnx", "onnx-int8")}
    torch_row = rows["torch"]
    for row in rows.values():
        row["embed_speedup_over_torch"] = round(
            torch_row["embed_ms"]["p50"] / row["embed_ms"]["p50"], 2
        )
        row["adoptable"] = (
            row["accuracy"] >= torch_row["accuracy"] and row["embed_speedup_over_torch"] >= 2
        )
    parts = []
    for b, r in rows.items():
        tag = ", adoptable" if r["adoptable"] and b != "torch" else ""
        parts.append(
            f"{b} accuracy {r['accuracy']} embed p50 {r['embed_ms']['p50']} ms "
            f"(x{r['embed_speedup_over_torch']}{tag})"
        )
    line = "; ".join(parts)
    default = load_settings().model_backend
    write_result("backends", {"rows": list(rows.values())}, f"{line}; default: {default}")


if __name__ == "__main__":
    main()
