"""Hybrid retrieval: dense (FAISS) and lexical (BM25) rankings fused by RRF."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from types import MappingProxyType

import numpy as np

from .index import Index
from .records import Hit


def rrf(rankings: Sequence[Sequence[int]], k: int) -> Mapping[int, float]:
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
    return [int(i) for i in order]


def dense_ranking(index: Index, query_vec: np.ndarray, n: int) -> list[int]:
    """Passage positions by cosine similarity, best first (from the index's vector
    store)."""
    return list(dense_scores(index, query_vec, n))


def dense_scores(index: Index, query_vec: np.ndarray, n: int) -> dict[int, float]:
    """The ``n`` nearest passages' positions with their cosines, best first."""
    if n <= 0 or not index.chunks:
        return {}
    found = index.store.search("passages", query_vec, min(n, len(index.chunks)))
    return {index.chunk_position[i]: s for i, s in found}


def _cosines(
    index: Index, query_vec: np.ndarray, best: list[int], near: dict[int, float]
) -> list[float]:
    """Each passage's cosine to the question: as the dense search gave it, else from its
    vector (fetched from the store only for the passages the word side alone found)."""
    missing = [i for i in best if i not in near]
    if missing:
        got = index.store.get("passages", [index.chunks[i].chunk_id for i in missing])
        near = {**near, **dict(zip(missing, (got @ query_vec.reshape(-1)).tolist(), strict=True))}
    return [float(near[i]) for i in best]


@dataclass(frozen=True)
class LexicalMatch:
    """The word side of a query, which needs no model: every passage's BM25 score and the
    positions of the best-scoring ones (positive scores only), best first."""

    scores: np.ndarray
    ranking: list[int]


def lexical_match(index: Index, query: str, n: int) -> LexicalMatch:
    """BM25 over all passages, and the top ``n`` that match at all."""
    scores = index.lexical.scores(query)
    return LexicalMatch(scores, top_n(scores, n, positive_only=True))


def search(
    index: Index,
    query_vec: np.ndarray,
    query: str,
    *,
    k: int,
    candidates: int,
    rrf_k: int,
    lexical: LexicalMatch | None = None,
) -> list[Hit]:
    """Top-``k`` passages for a query; ``k`` is clamped to the corpus size. The query's
    ``lexical_match`` (at least ``max(candidates, k)`` deep) may be passed in when it was
    computed before its vector."""
    n = len(index.chunks)
    k = max(0, min(k, n))
    if k == 0:
        return []
    pool = max(candidates, k)
    near = dense_scores(index, query_vec, pool)
    dense = list(near)
    if lexical is None:
        lexical = lexical_match(index, query, pool)
    fused = rrf([dense, lexical.ranking[:pool]], rrf_k)
    best = sorted(fused, key=lambda i: (-fused[i], i))[:k]
    cos = _cosines(index, query_vec, best, near)
    bm25 = lexical.scores[best].tolist()
    return [
        Hit(index.chunks[i], fused[i], c, b, r)
        for r, (i, c, b) in enumerate(zip(best, cos, bm25, strict=True), start=1)
    ]
