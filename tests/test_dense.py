from pathlib import Path

import numpy as np

from sco_qa.index.dense import build_dense, load_dense, recall_at_10


def _vectors(n: int, dim: int = 32) -> np.ndarray:
    rng = np.random.default_rng(3)
    v = rng.standard_normal((n, dim)).astype(np.float32)
    return v / np.linalg.norm(v, axis=1, keepdims=True)


def test_small_corpora_get_exact_search(tmp_path: Path) -> None:
    vecs = _vectors(100)
    data, info = build_dense(vecs, 32, ann_threshold=1000)
    assert info.kind == "flat" and info.recall_at_10 == 1.0
    path = tmp_path / "i.faiss"
    path.write_bytes(data)
    index = load_dense(path)
    _, ids = index.search(vecs[:5], 3)
    brute = np.argsort(-(vecs[:5] @ vecs.T), axis=1)[:, :3]
    assert (ids == brute).all()


def test_large_corpora_get_ivf_with_checked_recall(tmp_path: Path) -> None:
    import faiss

    vecs = _vectors(3000)
    data, info = build_dense(vecs, 32, ann_threshold=1000)
    assert info.kind.startswith("ivf") and info.recall_at_10 >= 0.95 and info.probes >= 8
    path = tmp_path / "i.faiss"
    path.write_bytes(data)
    index = load_dense(path)
    exact = faiss.IndexFlatIP(32)
    exact.add(vecs)
    assert recall_at_10(index, exact, vecs[:100]) >= 0.9
