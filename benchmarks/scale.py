"""Scale curve: build time, memory, single-query latency and recall@10 against exact search
for FAISS Flat, HNSW and IVF, and for BM25, on synthetic corpora (fixed seed).

Vectors are drawn around 2,000 random centres (embeddings cluster; uniform noise would make
every ANN index look worse than it is), normalised; queries are perturbed corpus vectors.
Passage text for BM25 is drawn from a Zipf vocabulary of 50,000 words.
Usage: python benchmarks/scale.py [--sizes 10000,100000,1000000] [--queries 200]
"""

from __future__ import annotations

import argparse
import gc
import json
import re
import resource
import time

import numpy as np
from common import RESULTS, stats_ms, write_result

DIM = 384


def vectors(n: int, rng: np.random.Generator) -> np.ndarray:
    centres = rng.standard_normal((2000, DIM), dtype=np.float32)
    out = np.empty((n, DIM), dtype=np.float32)
    step = 100_000
    for i in range(0, n, step):
        m = min(step, n - i)
        out[i : i + m] = centres[rng.integers(0, 2000, m)] + 0.35 * rng.standard_normal(
            (m, DIM), dtype=np.float32
        )
    out /= np.linalg.norm(out, axis=1, keepdims=True)
    return out


def queries(data: np.ndarray, k: int, rng: np.random.Generator) -> np.ndarray:
    q = data[rng.integers(0, len(data), k)] + 0.15 * rng.standard_normal((k, DIM), dtype=np.float32)
    return (q / np.linalg.norm(q, axis=1, keepdims=True)).astype(np.float32)


def timed_search(index, qs: np.ndarray, k: int = 10) -> tuple[list[float], np.ndarray]:
    lat, ids = [], []
    for q in qs:
        t0 = time.perf_counter()
        _, i = index.search(q[None, :], k)
        lat.append((time.perf_counter() - t0) * 1e3)
        ids.append(i[0])
    return lat, np.array(ids)


def recall(found: np.ndarray, truth: np.ndarray) -> float:
    return float(
        np.mean([len(set(f) & set(t)) / len(t) for f, t in zip(found, truth, strict=True)])
    )


def index_bytes(index) -> int:
    import faiss

    return int(faiss.serialize_index(index).nbytes)


def ann_row(kind: str, index, build: float, qs: np.ndarray, truth: np.ndarray) -> dict:
    lat, found = timed_search(index, qs)
    return {
        "kind": kind,
        "n": index.ntotal,
        "build_s": round(build, 3),
        "memory_mb": round(index_bytes(index) / 2**20, 1),
        "latency_ms": stats_ms(lat),
        "recall@10": round(recall(found, truth), 4),
    }


def faiss_rows(data: np.ndarray, qs: np.ndarray) -> list[dict]:
    import faiss

    n = len(data)
    flat = faiss.IndexFlatIP(DIM)
    t0 = time.perf_counter()
    flat.add(data)
    flat_build = time.perf_counter() - t0
    lat, truth = timed_search(flat, qs)
    rows = [
        {
            "kind": "faiss-flat",
            "n": n,
            "build_s": round(flat_build, 3),
            "memory_mb": round(n * DIM * 4 / 2**20, 1),
            "latency_ms": stats_ms(lat),
            "recall@10": 1.0,
        }
    ]
    hnsw = faiss.IndexHNSWFlat(DIM, 32, faiss.METRIC_INNER_PRODUCT)
    hnsw.hnsw.efConstruction = 80
    t0 = time.perf_counter()
    hnsw.add(data)
    build = time.perf_counter() - t0
    for ef in (64, 128, 256):
        hnsw.hnsw.efSearch = ef
        rows.append(ann_row(f"faiss-hnsw32-ef{ef}", hnsw, build, qs, truth))
    del hnsw
    nlist = int(4 * np.sqrt(n))
    quant = faiss.IndexFlatIP(DIM)
    ivf = faiss.IndexIVFFlat(quant, DIM, nlist, faiss.METRIC_INNER_PRODUCT)
    t0 = time.perf_counter()
    ivf.train(data[np.random.default_rng(1).choice(n, min(n, 64 * nlist), replace=False)])
    ivf.add(data)
    build = time.perf_counter() - t0
    for nprobe in (16, 64):
        ivf.nprobe = nprobe
        rows.append(ann_row(f"faiss-ivf{nlist}-nprobe{nprobe}", ivf, build, qs, truth))
    return rows


def bm25_row(n: int, rng: np.random.Generator, nq: int) -> dict:
    import bm25s

    vocab = np.array([f"w{i}" for i in range(50_000)])
    probs = 1.0 / np.arange(1, 50_001)
    probs /= probs.sum()
    words = rng.choice(50_000, size=(n, 30), p=probs)
    corpus = [list(vocab[row]) for row in words]
    model = bm25s.BM25()
    t0 = time.perf_counter()
    model.index(corpus, show_progress=False)
    build = time.perf_counter() - t0
    del corpus
    gc.collect()
    mem = sum(a.nbytes for a in model.scores.values() if hasattr(a, "nbytes"))
    lat = []
    for q in rng.choice(50_000, size=(nq, 3), p=probs):
        t0 = time.perf_counter()
        scores = model.get_scores([vocab[i] for i in q])
        np.argpartition(-scores, 10)[:10]
        lat.append((time.perf_counter() - t0) * 1e3)
    return {
        "kind": "bm25s",
        "n": n,
        "build_s": round(build, 3),
        "memory_mb": round(mem / 2**20, 1),
        "latency_ms": stats_ms(lat),
        "recall@10": None,
    }


def plot(rows: list[dict]) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, (a, b) = plt.subplots(1, 2, figsize=(11, 4))

    def series(kind: str) -> str:  # IVF list counts grow with n: one line per probe count
        return re.sub(r"ivf\d+", "ivf", kind)

    for kind in sorted({series(r["kind"]) for r in rows}):
        sub = sorted((r for r in rows if series(r["kind"]) == kind), key=lambda r: r["n"])
        ns = [r["n"] for r in sub]
        a.plot(ns, [r["latency_ms"]["p50"] for r in sub], marker="o", label=kind)
        b.plot(ns, [r["memory_mb"] for r in sub], marker="o", label=kind)
    for ax, title in ((a, "search latency p50 (ms)"), (b, "index memory (MB)")):
        ax.set_xscale("log")
        ax.set_yscale("log")
        ax.set_xlabel("passages")
        ax.set_title(title)
        ax.grid(True, which="both", alpha=0.3)
    a.legend(fontsize=7)
    fig.tight_layout()
    fig.savefig(RESULTS / "scale.png", dpi=110)


def main() -> None:
    import faiss

    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--sizes", default="10000,100000,1000000")
    ap.add_argument("--queries", type=int, default=200)
    ap.add_argument("--plot-only", action="store_true", help="redraw from results/scale.json")
    args = ap.parse_args()
    if args.plot_only:
        plot(json.loads((RESULTS / "scale.json").read_text())["rows"])
        return
    faiss.omp_set_num_threads(2)
    rows: list[dict] = []
    for n in (int(s) for s in args.sizes.split(",")):
        rng = np.random.default_rng(n)
        data = vectors(n, rng)
        qs = queries(data, args.queries, rng)
        for row in [*faiss_rows(data, qs), bm25_row(n, rng, args.queries)]:
            print(row, flush=True)
            rows.append(row)
        del data
        gc.collect()
    plot(rows)
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    big = max(r["n"] for r in rows)
    best = [r for r in rows if r["n"] == big]
    text = "; ".join(
        f"{r['kind']} p50 {r['latency_ms']['p50']} ms"
        + (f" r@10 {r['recall@10']}" if r["recall@10"] is not None else "")
        for r in best
    )
    write_result(
        "scale",
        {"rows": rows, "peak_rss_mb": round(peak)},
        f"at {big:,} passages: {text} (plot: scale.png)",
    )


if __name__ == "__main__":
    main()
