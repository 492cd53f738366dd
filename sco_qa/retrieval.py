"""Hybrid retrieval: dense (FAISS) and lexical (BM25) rankings fused by RRF."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from types import MappingProxyType
from typing import TYPE_CHECKING

import numpy as np

from .records import Hit

if TYPE_CHECKING:
    from .index import Index


def rrf(rankings: Sequence[Sequence[int]], k: int = 60) -> Mapping[int, float]:
    """Reciprocal rank fusion: ``sum(1 / (k + rank))`` over the rankings (rank from 1).

    >>> dict(rrf([[3, 1], [1]], k=1))
    {3: 0.5, 1: 0.8333333333333333}
    """
    fused: dict[int, float] = {}
    for ranking in rankings:
        for rank, item in enumerate(ranking, start=1):
            fused[item] = fused.get(item, 0.0) + 1.0 / (k + rank)
    return MappingProxyType(fused)


def top_n(scores: np.ndarray, n: int, positive_only: bool = False) -> list[int]:
    """Positions of the ``n`` highest scores, best first (ties keep corpus order)."""
    if n <= 0 or not len(scores):
        return []
    order = np.argsort(-scores, kind="stable")[:n]
    if positive_only:
        order = order[scores[order] > 0]
    return order.tolist()


def dense_ranking(index: Index, query_vec: np.ndarray, n: int) -> list[int]:
    """Passage positions by cosine similarity, best first."""
    if index.dense.ntotal == 0 or n <= 0:
        return []
    _, ids = index.dense.search(query_vec.reshape(1, -1), min(n, index.dense.ntotal))
    return [i for i in ids[0].tolist() if i >= 0]


def search(
    index: Index,
    query_vec: np.ndarray,
    query: str,
    k: int,
    candidates: int = 50,
    rrf_k: int = 60,
    lexical_scores: np.ndarray | None = None,
) -> list[Hit]:
    """Top-``k`` passages for a query; ``k`` is clamped to the corpus size. The BM25 scores
    of ``query`` may be passed in when they were computed before its vector."""
    n = len(index.chunks)
    k = max(0, min(k, n))
    if k == 0:
        return []
    pool = max(candidates, k)
    dense = dense_ranking(index, query_vec, pool)
    if lexical_scores is None:
        lexical_scores = index.lexical.scores(query)
    lexical = top_n(lexical_scores, pool, positive_only=True)
    fused = rrf([dense, lexical], rrf_k)
    best = sorted(fused, key=lambda i: (-fused[i], i))[:k]
    cos = np.asarray(index.passage_vectors[best]) @ query_vec.reshape(-1)
    return [
        Hit(index.chunks[i], float(fused[i]), float(c), float(lexical_scores[i]), r)
        for r, (i, c) in enumerate(zip(best, cos, strict=True), start=1)
    ]
