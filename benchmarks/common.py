"""Shared helpers for the benchmark scripts: results files and percentiles."""

from __future__ import annotations

import json
import os
import platform
import socket
import statistics
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "benchmarks" / "results"
SUMMARY = RESULTS / "SUMMARY.md"


def percentile(values: list[float], q: float) -> float:
    """Nearest-rank percentile (q in 0..100)."""
    if not values:
        return float("nan")
    ordered = sorted(values)
    rank = max(1, min(len(ordered), round(q / 100 * len(ordered) + 0.5)))
    return ordered[rank - 1]


def stats_ms(values: list[float]) -> dict[str, float]:
    return {
        "p50": round(percentile(values, 50), 3),
        "p95": round(percentile(values, 95), 3),
        "p99": round(percentile(values, 99), 3),
        "mean": round(statistics.fmean(values), 3) if values else float("nan"),
        "n": len(values),
    }


def cpu_reference_ms(rounds: int = 5) -> float:
    """The median time of a fixed single-thread workload (pure Python arithmetic): the
    host's speed varies between runs, so each result says how fast its host was (lower is
    faster)."""
    times = []
    for _ in range(rounds):
        t0 = time.perf_counter()
        sum(i * i % 7 for i in range(300_000))
        times.append((time.perf_counter() - t0) * 1e3)
    return round(statistics.median(times), 2)


def machine() -> dict[str, Any]:
    return {
        "cpus": os.cpu_count(),
        "python": platform.python_version(),
        "machine": platform.machine(),
        "when": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "cpu_reference_ms": cpu_reference_ms(),
    }


def write_result(name: str, data: dict[str, Any], summary_line: str) -> Path:
    """Write results/NAME.json and replace this benchmark's line in SUMMARY.md."""
    RESULTS.mkdir(parents=True, exist_ok=True)
    path = RESULTS / f"{name}.json"
    path.write_text(json.dumps({"machine": machine(), **data}, indent=2) + "\n")
    lines = SUMMARY.read_text().splitlines() if SUMMARY.exists() else ["# Benchmark summary", ""]
    tag = f"- **{name}**:"
    lines = [line for line in lines if not line.startswith(tag)] + [f"{tag} {summary_line}"]
    SUMMARY.write_text("\n".join(lines) + "\n")
    print(f"{tag} {summary_line}\n→ {path}")
    return path


def free_port() -> int:
    """A free TCP port on loopback."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def golden_questions() -> list[str]:
    rows = (json.loads(line) for line in (ROOT / "corpus" / "golden.jsonl").open())
    return [r["question"] for r in rows]
