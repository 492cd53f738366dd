"""Many collections in one server process: its resident memory with one small collection and
with ten (each one SQuAD article of benchmarks/data, built beforehand by ``sco-qa index``,
loaded at start), and the ``/ask``
latency of each collection against the one-collection server's, over HTTP on loopback
(a real uvicorn, the real model, 2 cores).
Usage: python benchmarks/collections.py [--collections 10]
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import httpx
from common import ROOT, free_port, stats_ms, write_result
from http_load import wait_ready

from sco_qa.evaluation.squad import SquadSet, load_squad, write_corpus

DATA = ROOT / "benchmarks" / "data"
ASKS = 30  # questions a collection, after five to warm up


def rss_mib(pid: int) -> float:
    """The resident memory of a process, MiB."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    raise RuntimeError("no VmRSS")


def corpora(folder: Path, n: int) -> dict[str, Path]:
    """``n`` folders of one SQuAD article each, with their questions' set."""
    sets = [load_squad(DATA / "squad2-dev-part.json"), load_squad(DATA / "squad2-train-part.json")]
    docs = [d for s in sets for d in s.documents][:n]
    if len(docs) < n:
        raise SystemExit(f"benchmarks/data has {len(docs)} articles, fewer than {n}")
    out = {}
    for i, doc in enumerate(docs):
        out[f"c{i}"] = folder / f"c{i}"
        write_corpus(SquadSet((doc,), (), ""), out[f"c{i}"])
    return out


def questions(n: int) -> dict[str, list[str]]:
    sets = [load_squad(DATA / "squad2-dev-part.json"), load_squad(DATA / "squad2-train-part.json")]
    docs = [d for s in sets for d in s.documents][:n]
    by_doc = {d.doc_id: f"c{i}" for i, d in enumerate(docs)}
    out: dict[str, list[str]] = {name: [] for name in by_doc.values()}
    for s in sets:
        for q in s.questions:
            if q.doc_id in by_doc and len(out[by_doc[q.doc_id]]) < ASKS + 5:
                out[by_doc[q.doc_id]].append(q.question)
    return out


def serve(folders: dict[str, Path], index: Path) -> dict[str, Any]:
    """Start a server over ``folders``, ask each collection, and read its memory."""
    port = free_port()
    env = {
        **os.environ,
        "HF_HUB_OFFLINE": "1",
        "SCO_QA_COLLECTIONS": ",".join(f"{k}={v}" for k, v in folders.items()),
        "SCO_QA_INDEX_DIR": str(index),
        "SCO_QA_EMBED_CACHE_SIZE": "0",
    }
    for name in folders:  # built beforehand, as a restarted server finds them
        subprocess.run([sys.executable, "-m", "sco_qa", "index", "--collection", name],
                       env=env, check=True, capture_output=True)  # fmt: skip
    proc = subprocess.Popen(
        [sys.executable, "-m", "sco_qa", "serve", "--port", str(port)],
        env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    url = f"http://127.0.0.1:{port}"
    asked = questions(len(folders))
    try:
        wait_ready(url, proc, timeout=900)
        latency: dict[str, dict[str, float]] = {}
        with httpx.Client(timeout=60) as client:
            deadline = time.monotonic() + 900  # every collection built and loaded
            while time.monotonic() < deadline:
                states = {
                    c["status"] for c in client.get(f"{url}/collections").json()["collections"]
                }
                if states == {"ready"}:
                    break
                if "error" in states:
                    raise SystemExit(f"a collection failed to load: {states}")
                time.sleep(0.5)
            for name in folders:
                times = []
                for i, q in enumerate(asked[name]):
                    t0 = time.perf_counter()
                    r = client.post(f"{url}/collections/{name}/ask", json={"question": q})
                    r.raise_for_status()
                    if i >= 5:
                        times.append((time.perf_counter() - t0) * 1e3)
                latency[name] = stats_ms(times)
            listed = client.get(f"{url}/collections").json()
        return {"rss_mib": round(rss_mib(proc.pid), 1), "ask_ms": latency, "listed": listed}
    finally:
        proc.terminate()
        proc.wait(timeout=60)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--collections", type=int, default=10)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        folders = corpora(Path(tmp) / "corpora", args.collections)
        one = serve({"c0": folders["c0"]}, Path(tmp) / "index-one")
        many = serve(folders, Path(tmp) / "index-many")
    extra = (many["rss_mib"] - one["rss_mib"]) / max(1, args.collections - 1)
    p50_one = one["ask_ms"]["c0"]["p50"]
    p50s = {k: v["p50"] for k, v in many["ask_ms"].items()}
    result = {
        "collections": args.collections,
        "rss_one_mib": one["rss_mib"],
        "rss_many_mib": many["rss_mib"],
        "rss_per_extra_collection_mib": round(extra, 1),
        "ask_p50_one_ms": p50_one,
        "ask_p50_many_ms": p50s,
        "ask_ms_many": many["ask_ms"],
    }
    line = (
        f"{args.collections} collections in one process: RSS {one['rss_mib']:.0f} MiB with one, "
        f"{many['rss_mib']:.0f} MiB with {args.collections} ({extra:.1f} MiB per extra "
        f"collection); /ask p50 {p50_one} ms with one, {min(p50s.values())}–"
        f"{max(p50s.values())} ms across {args.collections}"
    )
    write_result("collections", result, line)


if __name__ == "__main__":
    main()
