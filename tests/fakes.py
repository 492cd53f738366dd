"""A deterministic stand-in for the model that implements the real ``Embedder`` protocol:
a text's vector is the normalised sum of one fixed random vector per word stem, so texts
sharing words are close. Milliseconds, no model files."""

from __future__ import annotations

import zlib
from collections.abc import Sequence

import numpy as np

from sco_qa.text import tokens


class FakeEmbedder:
    """Bag-of-stems vectors; ``name`` differs from the real model's on purpose."""

    name = "test/bag-of-stems"
    dim = 64

    def __init__(self, max_tokens: int = 256) -> None:
        self.max_tokens = max_tokens
        self.queries = 0  # how many questions were embedded

    def _word(self, token: str) -> np.ndarray:
        rng = np.random.default_rng(zlib.crc32(token.encode("utf-8")))
        return rng.normal(size=self.dim).astype(np.float32)

    def _one(self, text: str) -> np.ndarray:
        vec = np.zeros(self.dim, dtype=np.float32)
        for tok in tokens(text):
            vec += self._word(tok)
        norm = float(np.linalg.norm(vec))
        return vec / norm if norm else vec

    def embed(self, texts: Sequence[str], *, progress: bool = False) -> np.ndarray:
        if not texts:
            return np.zeros((0, self.dim), dtype=np.float32)
        return np.vstack([self._one(t) for t in texts]).astype(np.float32)

    def embed_query(self, text: str) -> np.ndarray:
        self.queries += 1
        return self._one(text)

    def count_tokens(self, text: str) -> int:
        return len(text.split()) + 2
