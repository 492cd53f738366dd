"""Index build throughput on 2 cores, and what each candidate speed-up does: texts embedded per
second over the passages and sentences of the 8 SQuAD articles of benchmarks/data.

Candidates, each measured on the same texts:
- ``every text``: every passage and sentence embedded (as builds did before);
- ``distinct texts``: each distinct text once (a one-sentence passage is its sentence) — what
  ``build_index`` does now; the whole build is timed too;
- ``int8 documents``: the int8 model for documents as well as questions, with the change it
  makes to retrieval (the first passage and the top 5 for every question of the articles);
- ``two processes``: the texts split between two processes of one thread each, instead of one
  process using both cores.
Usage: python benchmarks/build_throughput.py
"""

from __future__ import annotations

import multiprocessing as mp
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np
from common import ROOT, write_result

from sco_qa.config import load_settings
from sco_qa.embedding import load_embedder
from sco_qa.evaluation.squad import load_squad, write_corpus
from sco_qa.index import IndexSpec, build_index, load_index

DATA = ROOT / "benchmarks" / "data" / "squad2-dev-part.json"


def _timed(fn: Any, *args: Any) -> tuple[Any, float]:
    t0 = time.perf_counter()
    out = fn(*args)
    return out, time.perf_counter() - t0


def _int8_documents(embedder: Any, texts: list[str]) -> np.ndarray:
    """The documents through the int8 session the questions use (batched by length)."""
    session = embedder._session(True)
    order = sorted(range(len(texts)), key=lambda i: len(texts[i]))
    parts = [embedder._batch(session, [texts[j] for j in order[i : i + 16]])
             for i in range(0, len(texts), 16)]  # fmt: skip
    out = np.empty((len(texts), embedder.dim), dtype=np.float32)
    out[order] = np.concatenate(parts)
    return out


def _half(texts: list[str]) -> int:
    settings = load_settings(model_threads=1, model_backend="onnx")
    embedder = load_embedder(settings)
    embedder.embed(texts)
    return len(texts)


def _two_processes(texts: list[str]) -> float:
    """Seconds to embed ``texts`` split between two one-thread processes (model loads
    included)."""
    ctx = mp.get_context("spawn")
    t0 = time.perf_counter()
    with ctx.Pool(2) as pool:
        pool.map(_half, [texts[0::2], texts[1::2]])
    return time.perf_counter() - t0


def _agreement(index: Any, a: np.ndarray, b: np.ndarray, queries: np.ndarray) -> dict[str, float]:
    """How often the first passage, and the top 5 as a set, agree between two vector sets."""
    first = top5 = 0.0
    for q in queries:
        ra, rb = np.argsort(-(a @ q)), np.argsort(-(b @ q))
        first += float(ra[0] == rb[0])
        top5 += len(set(ra[:5]) & set(rb[:5])) / 5
    return {"first": round(first / len(queries), 4), "top5": round(top5 / len(queries), 4)}


def main() -> None:
    squad = load_squad(DATA)
    embedder: Any = load_embedder(load_settings(model_backend="onnx-int8"))
    embedder.embed(["warm up"])
    with tempfile.TemporaryDirectory() as tmp:
        write_corpus(squad, Path(tmp) / "corpus")
        settings = load_settings(corpus_dir=Path(tmp) / "corpus", index_dir=Path(tmp) / "index")
        spec = IndexSpec.from_settings(settings)
        report, build_s = _timed(lambda: build_index(spec, embedder, full=True))
        index = load_index(spec, embedder)
    passages = [c.text for c in index.chunks]
    texts = passages + [s.text for s in index.sentences]
    distinct = list(dict.fromkeys(texts))
    _, every_s = _timed(embedder.embed, texts)
    _, distinct_s = _timed(embedder.embed, distinct)
    int8, int8_s = _timed(_int8_documents, embedder, distinct)
    two_s = _two_processes(distinct)
    questions = [q.question for q in squad.questions]
    qvec = np.vstack([embedder.embed_query(q) for q in questions])
    fp32_p = index.store.get("passages", [c.chunk_id for c in index.chunks])
    int8_p = int8[: len(passages)] if distinct[: len(passages)] == passages else None
    if int8_p is None:
        int8_p = _int8_documents(embedder, passages)
    n = len(texts)
    result = {
        "documents": report.documents,
        "texts": n,
        "distinct_texts": len(distinct),
        "build_seconds": round(build_s, 2),
        "build_texts_per_second": round(n / build_s, 1),
        "candidates": {
            "every text": round(n / every_s, 1),
            "distinct texts": round(n / distinct_s, 1),
            "int8 documents": round(n / int8_s, 1),
            "two processes": round(n / two_s, 1),
        },
        "int8_retrieval_agreement": _agreement(index, fp32_p, int8_p, qvec),
    }
    write_result(
        "build_throughput",
        result,
        f"{report.documents} articles, {n} texts ({len(distinct)} distinct): build "
        f"{build_s:.1f} s, {n / build_s:.0f} texts/s; embedding every text "
        f"{result['candidates']['every text']:.0f}/s, distinct "
        f"{result['candidates']['distinct texts']:.0f}/s, int8 "
        f"{result['candidates']['int8 documents']:.0f}/s, two processes "
        f"{result['candidates']['two processes']:.0f}/s",
    )


if __name__ == "__main__":
    main()
