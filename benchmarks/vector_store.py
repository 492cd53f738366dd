"""FAISS in process against Milvus Lite's gRPC server on loopback (2 cores):

- ``ask`` p50 / p99 over the golden questions on the SCO article, the same engine with its
  vectors in FAISS or in Milvus (FLAT, exact: the answers are the same, tests/test_milvus.py):
  in process, and ``POST /ask`` over HTTP to a real server (``sco-qa serve``) on loopback;
- a replica's peak memory with 1,000,000 synthetic passages (384-d, normalised, seeded):
  a process that opens the store and answers 50 searches with their ``get``s, once over the
  FAISS files and once over a Milvus collection (whose vectors live in the server process);
- Milvus HNSW's recall@10 against exact search on 100,000 of those vectors.
Usage: python benchmarks/vector_store.py [--passages N] [--latency-only]
(--latency-only measures the two latencies again and keeps the memory and recall figures of
the last full run, with the time they were measured.)
"""

from __future__ import annotations

import argparse
import json
import os
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import httpx
import numpy as np
from common import RESULTS, ROOT, free_port, stats_ms, write_result
from http_load import wait_ready

from sco_qa.config import load_settings
from sco_qa.engine import Engine
from sco_qa.index import IndexSpec
from sco_qa.index.milvus import INDEX_PARAMS, SEARCH_PARAMS, Milvus, MilvusStore

DIM = 384
QUERIES = 50


def vectors(n: int, seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    v = rng.normal(size=(n, DIM)).astype(np.float32)
    v /= np.linalg.norm(v, axis=1, keepdims=True)
    return v


def milvus_server(folder: Path) -> tuple[subprocess.Popen[bytes], str]:
    port = free_port()
    proc = subprocess.Popen(
        [sys.executable, "-m", "milvus_lite", "server", "--data-dir", str(folder),
         "--host", "127.0.0.1", "--port", str(port)],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    for _ in range(300):
        with socket.socket() as s:
            if s.connect_ex(("127.0.0.1", port)) == 0:
                return proc, f"http://127.0.0.1:{port}"
        time.sleep(0.2)
    raise RuntimeError("Milvus Lite did not start")


def http_latency(uri: str, folder: Path) -> dict[str, Any]:
    """``POST /ask`` p50 / p99 against a real server with each store (3 passes over the
    golden questions after one to warm up)."""
    rows = [json.loads(line) for line in (ROOT / "corpus" / "golden.jsonl").open()]
    out = {}
    for store in ("faiss", "milvus"):
        port = free_port()
        env = {**os.environ, "HF_HUB_OFFLINE": "1", "SCO_QA_CORPUS_DIR": str(ROOT / "corpus"),
               "SCO_QA_INDEX_DIR": str(folder / f"http-{store}"), "SCO_QA_VECTOR_STORE": store,
               "SCO_QA_MILVUS_URI": uri, "SCO_QA_EMBED_CACHE_SIZE": "0"}  # fmt: skip
        command = [sys.executable, "-m", "sco_qa", "serve", "--port", str(port)]
        proc = subprocess.Popen(command, env=env, stdout=subprocess.DEVNULL,
                                stderr=subprocess.DEVNULL)  # fmt: skip
        url = f"http://127.0.0.1:{port}"
        try:
            wait_ready(url, proc)
            times = []
            with httpx.Client(timeout=60) as client:
                for n in range(4):
                    for row in rows:
                        t0 = time.perf_counter()
                        client.post(
                            f"{url}/ask", json={"question": row["question"]}
                        ).raise_for_status()
                        if n:
                            times.append((time.perf_counter() - t0) * 1e3)
            out[store] = stats_ms(times)
        finally:
            proc.terminate()
            proc.wait(timeout=60)
    return out


def ask_latency(uri: str, folder: Path) -> dict[str, Any]:
    rows = [json.loads(line) for line in (ROOT / "corpus" / "golden.jsonl").open()]
    out = {}
    for store in ("faiss", "milvus"):
        settings = load_settings(corpus_dir=ROOT / "corpus", index_dir=folder / store,
                                 vector_store=store, milvus_uri=uri,
                                 embed_cache_size=0)  # fmt: skip
        engine = Engine.open(settings)
        engine.warm()
        times = []
        for _ in range(3):
            for row in rows:
                t0 = time.perf_counter()
                engine.ask(row["question"])
                times.append((time.perf_counter() - t0) * 1e3)
        out[store] = stats_ms(times)
    return out


REPLICA = """
import sys, numpy as np
import faiss, pymilvus
from sco_qa.index.store import FaissStore
from sco_qa.index.milvus import MilvusStore, client
def kib(field):  # this process's own figures (ru_maxrss would carry the parent's over exec)
    line = next(l for l in open("/proc/self/status") if l.startswith(field))
    return int(line.split()[1])
base = kib("VmHWM:")
kind, where, n = sys.argv[1], sys.argv[2], int(sys.argv[3])
rng = np.random.default_rng(1)
queries = rng.normal(size=(50, 384)).astype(np.float32)
ids = [f"p{i}" for i in rng.choice(n, 400, replace=False)]
if kind == "faiss":
    vec = np.load(where + "/passages.npy", mmap_mode="r")
    dense = faiss.read_index(where + "/passages.faiss", faiss.IO_FLAG_MMAP_IFC)
    names = [f"p{i}" for i in range(n)]
    store = FaissStore(dense, {"passages": vec, "sentences": vec[:0]},
                       {"passages": names, "sentences": []}, {"passages": names, "sentences": []})
else:
    uri, name = where.split()
    store = MilvusStore(client(uri, ""), {"passages": name}, "FLAT", dim=384,
                        versions={"passages": {f"p{i}": "0" for i in range(n)}})
for i, q in enumerate(queries):
    store.search("passages", q, 10)
    store.get("passages", ids[i * 8:(i + 1) * 8])
print(base, kib("VmHWM:"))
"""


def replica_memory(kind: str, where: str, n: int) -> dict[str, float]:
    """Peak resident MiB of a process that opens the store and answers QUERIES searches,
    and the part of it the store added (beyond the libraries imported)."""
    done = subprocess.run([sys.executable, "-c", REPLICA, kind, where, str(n)],
                          capture_output=True, text=True, check=True, cwd=ROOT)  # fmt: skip
    base, peak = (int(x) / 1024 for x in done.stdout.strip().splitlines()[-1].split())
    return {"peak_mib": round(peak, 1), "store_mib": round(peak - base, 1)}


def milvus_passages(
    uri: str, index: str, build: str, v: np.ndarray, *, folder: Path
) -> tuple[MilvusStore, float]:
    """The package's own collections (as a build makes them, for an index folder in
    ``folder``) holding ``v`` as passages, flushed and loaded; with the seconds that took."""
    settings = load_settings(vector_store="milvus", milvus_uri=uri, milvus_index=index,
                             index_dir=folder / f"index-{build}")  # fmt: skip
    versions = {"passages": {f"p{i}": "0" for i in range(len(v))}, "sentences": {}}
    spec = IndexSpec.from_settings(settings, collection=build)
    store = Milvus().create(spec, build=build, dim=DIM, versions=versions)
    t0 = time.perf_counter()
    store.upsert("passages", [f"p{i}" for i in range(len(v))], v, ["d"] * len(v))
    store.finish()
    return store, time.perf_counter() - t0


def memory(uri: str, folder: Path, n: int) -> dict[str, Any]:
    import faiss

    v = vectors(n)
    np.save(folder / "passages.npy", v)
    index = faiss.IndexFlatIP(DIM)
    index.add(v)
    faiss.write_index(index, str(folder / "passages.faiss"))
    del index
    store, insert_s = milvus_passages(uri, "FLAT", "bench", v, folder=folder)
    return {
        "passages": n,
        "milvus_insert_seconds": round(insert_s, 1),
        "faiss_replica_mib": replica_memory("faiss", str(folder), n),
        "milvus_replica_mib": replica_memory("milvus", f"{uri} {store.names['passages']}", n),
    }


def hnsw_recall(uri: str, n: int, folder: Path) -> float:
    v = vectors(n, seed=2)
    queries = v[np.random.default_rng(3).choice(n, 100, replace=False)] + 0.01
    found: dict[str, list[list[str]]] = {}
    for kind in ("FLAT", "HNSW"):
        store, _ = milvus_passages(uri, kind, f"recall-{kind}", v, folder=folder)
        found[kind] = [[i for i, _ in store.search("passages", q, 10)] for q in queries]
    pairs = zip(found["HNSW"], found["FLAT"], strict=True)
    return round(float(np.mean([len(set(a) & set(b)) / 10 for a, b in pairs])), 4)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--passages", type=int, default=1_000_000)
    parser.add_argument("--latency-only", action="store_true")
    args = parser.parse_args()
    last = json.loads((RESULTS / "vector_store.json").read_text()) if args.latency_only else {}
    kept = {}
    with tempfile.TemporaryDirectory() as tmp:
        proc, uri = milvus_server(Path(tmp) / "milvus")
        try:
            latency = ask_latency(uri, Path(tmp))
            http = http_latency(uri, Path(tmp))
            if last:
                mem, recall = last["memory"], last["hnsw_recall_at_10"]
                kept = {"memory_measured": last.get("memory_measured", last["machine"]["when"])}
            else:
                mem = memory(uri, Path(tmp), args.passages)
                recall = hnsw_recall(uri, min(100_000, args.passages), Path(tmp))
        finally:
            proc.terminate()
            proc.wait(timeout=60)
    result = {"ask_ms": latency, "http_ask_ms": http, "memory": mem, "hnsw_recall_at_10": recall,
              "hnsw_params": {**INDEX_PARAMS["HNSW"], **SEARCH_PARAMS["HNSW"]}, **kept}  # fmt: skip
    ratio = latency["milvus"]["p50"] / latency["faiss"]["p50"]
    over_http = http["milvus"]["p50"] / http["faiss"]["p50"]
    line = (
        f"ask p50 {latency['faiss']['p50']} ms with FAISS, {latency['milvus']['p50']} ms through "
        f"Milvus Lite's server ({ratio:.1f}×), over HTTP {http['faiss']['p50']} vs "
        f"{http['milvus']['p50']} ms ({over_http:.1f}×); with {mem['passages']:,} passages a "
        f"replica's store takes {mem['faiss_replica_mib']['store_mib']} MiB (FAISS) vs "
        f"{mem['milvus_replica_mib']['store_mib']} MiB (Milvus); HNSW recall@10 {recall}"
    )
    if args.passages != 1_000_000:
        print(json.dumps(result, indent=1), line)
        return
    write_result("vector_store", result, line)


if __name__ == "__main__":
    main()
