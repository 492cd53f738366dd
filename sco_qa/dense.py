"""The FAISS wrapper: build (exact or HNSW by corpus size), save as bytes, load mapped."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

log = logging.getLogger(__name__)
RECALL_TARGET = 0.95
CHECK_QUERIES = 200


@dataclass(frozen=True)
class DenseInfo:
    """What was built, for the manifest."""

    kind: str  # "flat" | "hnsw32"
    ef_search: int
    recall_at_10: float


def recall_at_10(index: Any, exact: Any, queries: np.ndarray) -> float:
    """Share of the exact top 10 that ``index`` also returns, averaged over ``queries``."""
    k = min(10, exact.ntotal)
    _, truth = exact.search(queries, k)
    _, found = index.search(queries, k)
    return float(np.mean([len(set(f) & set(t)) / k for f, t in zip(found, truth, strict=True)]))


def _hnsw(vectors: np.ndarray, dim: int) -> tuple[Any, DenseInfo] | None:
    import faiss

    exact = faiss.IndexFlatIP(dim)
    exact.add(vectors)
    index = faiss.IndexHNSWFlat(dim, 32, faiss.METRIC_INNER_PRODUCT)
    index.hnsw.efConstruction = 80
    index.add(vectors)
    rng = np.random.default_rng(0)
    sample = vectors[rng.choice(len(vectors), min(CHECK_QUERIES, len(vectors)), replace=False)]
    for ef in (64, 128, 256, 512, 1024):
        index.hnsw.efSearch = ef
        got = recall_at_10(index, exact, sample)
        if got >= RECALL_TARGET:
            return index, DenseInfo("hnsw32", ef, round(got, 4))
    log.warning("HNSW recall@10 stays at %.3f < %.2f; keeping exact search", got, RECALL_TARGET)
    return None


def build_dense(vectors: np.ndarray, dim: int, ann_threshold: int) -> tuple[bytes, DenseInfo]:
    """Exact inner-product search below ``ann_threshold`` passages, HNSW (recall checked) above."""
    import faiss

    if len(vectors) >= ann_threshold:
        built = _hnsw(vectors, dim)
        if built:
            return bytes(faiss.serialize_index(built[0])), built[1]
    index = faiss.IndexFlatIP(dim)
    if len(vectors):
        index.add(vectors)
    return bytes(faiss.serialize_index(index)), DenseInfo("flat", 0, 1.0)


def load_dense(path: Path) -> Any:
    """Read an index memory-mapped where FAISS allows it, so worker processes share pages."""
    import faiss

    try:
        return faiss.read_index(str(path), faiss.IO_FLAG_MMAP_IFC | faiss.IO_FLAG_READ_ONLY)
    except RuntimeError:
        return faiss.read_index(str(path))
