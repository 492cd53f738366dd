"""Index build throughput on 2 cores, and what each candidate speed-up does: texts embedded per
second over the passages and sentences of the 8 SQuAD articles of benchmarks/data.

Candidates, each measured on the same texts:
- ``every text``: every passage and sentence embedded (as builds did before);
- ``16 a batch``: each distinct text once, sorted by length, 16 texts a model run, one
  process using both cores (the embedder's batching before runs were cut to a token budget);
- ``token budget, one process``: runs of at most ``batch_tokens`` padded tokens instead;
- ``distinct texts``: each distinct text once (a one-sentence passage is its sentence), in
  token-budget runs, in this process — what ``build_index`` does below ``PARALLEL_FROM``
  texts; the whole build is timed too;
- ``two worker processes``: the same split between two worker processes of one thread
  (their start-up included) — what ``build_index`` does from ``PARALLEL_FROM`` texts;
- ``int8 documents``: the int8 model for documents as well as questions, with the change it
  makes to retrieval (the first passage and the top 5 for every question of the articles);
Usage: python benchmarks/build_throughput.py
"""

from __future__ import annotations

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


def _sixteen(embedder: Any, texts: list[str], *, int8: bool = False) -> np.ndarray:
    """Texts sorted by length, 16 a run, through the fp32 session (or the int8 one the
    questions use)."""
    session = embedder._session(int8)
    order = sorted(range(len(texts)), key=lambda i: len(texts[i]))
    parts = [embedder._batch(session, [texts[j] for j in order[i : i + 16]])
             for i in range(0, len(texts), 16)]  # fmt: skip
    out = np.empty((len(texts), embedder.dim), dtype=np.float32)
    out[order] = np.concatenate(parts)
    return out


def _int8_documents(embedder: Any, texts: list[str]) -> np.ndarray:
    """The documents through the int8 session the questions use."""
    return _sixteen(embedder, texts, int8=True)


def _one_process(embedder: Any, texts: list[str]) -> np.ndarray:
    """Token-budget runs in this process (both cores as the runtime's threads)."""
    before, embedder.processes = embedder.processes, 1
    try:
        out: np.ndarray = embedder.embed(texts)
    finally:
        embedder.processes = before
    return out


def _two_workers(embedder: Any, texts: list[str]) -> np.ndarray:
    """The texts split between two one-thread worker processes, started here."""
    before, embedder.processes, embedder.parallel_from = (
        (embedder.processes, embedder.parallel_from), 2, 0)  # fmt: skip
    try:
        with embedder.workers(len(texts)):
            out: np.ndarray = embedder.embed(texts)
    finally:
        embedder.processes, embedder.parallel_from = before
    return out


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
    batched, distinct_s = _timed(embedder.embed, distinct)
    sixteen, sixteen_s = _timed(_sixteen, embedder, distinct)
    one, one_s = _timed(_one_process, embedder, distinct)
    split, split_s = _timed(_two_workers, embedder, distinct)
    int8, int8_s = _timed(_int8_documents, embedder, distinct)
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
            "16 a batch": round(n / sixteen_s, 1),
            "token budget, one process": round(n / one_s, 1),
            "two worker processes": round(n / split_s, 1),
            "distinct texts": round(n / distinct_s, 1),
            "int8 documents": round(n / int8_s, 1),
        },
        "int8_retrieval_agreement": _agreement(index, fp32_p, int8_p, qvec),
        "batch_tokens": embedder.batch_tokens,
        "processes": embedder.processes,
        "parallel_from": embedder.parallel_from,
        "max_difference_to_16_a_batch": {
            "token budget, one process": float(np.abs(one - sixteen).max()),
            "distinct texts": float(np.abs(batched - sixteen).max()),
            "two worker processes": float(np.abs(split - sixteen).max()),
        },
    }
    write_result(
        "build_throughput",
        result,
        f"{report.documents} articles, {n} texts ({len(distinct)} distinct): build "
        f"{build_s:.1f} s, {n / build_s:.0f} texts/s; embedding every text "
        f"{result['candidates']['every text']:.0f}/s, 16 a batch "
        f"{result['candidates']['16 a batch']:.0f}/s, distinct "
        f"{result['candidates']['distinct texts']:.0f}/s, int8 "
        f"{result['candidates']['int8 documents']:.0f}/s, one process "
        f"{result['candidates']['token budget, one process']:.0f}/s, two workers "
        f"{result['candidates']['two worker processes']:.0f}/s",
    )


if __name__ == "__main__":
    main()
