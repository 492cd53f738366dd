"""A deterministic stand-in for the model that implements the real ``Embedder`` protocol:
a text's vector is the normalised sum of one fixed random vector per word stem, so texts
sharing words are close. Milliseconds, no model files."""

from __future__ import annotations

import zlib
from collections.abc import Sequence
from typing import ClassVar

import numpy as np

from sco_qa.answer.pairs import PairText
from sco_qa.answer.reader import Read
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


class DictStore:
    """A vector store of plain dictionaries, shared by the process (what a build writes, a
    load finds): the ``VectorStore`` protocol with exact inner-product search, entered by
    ``SCO_QA_VECTOR_STORE=tests.fakes:DictKind``."""

    stores: ClassVar[dict[str, dict[str, dict[str, tuple[np.ndarray, str]]]]] = {}

    def __init__(self, name: str) -> None:
        self.name = name
        self.kinds = DictStore.stores.setdefault(name, {"passages": {}, "sentences": {}})

    def upsert(self, kind, ids, vectors, docs) -> None:
        for i, v, d in zip(ids, vectors, docs, strict=True):
            self.kinds[kind][i] = (np.asarray(v, dtype=np.float32), d)

    def delete(self, kind, ids) -> None:
        for i in ids:
            self.kinds[kind].pop(i, None)

    def search(self, kind, vector, k, docs=None):
        rows = [(i, float(v @ vector.reshape(-1))) for i, (v, d) in self.kinds[kind].items()
                if docs is None or d in docs]  # fmt: skip
        return sorted(rows, key=lambda r: -r[1])[:k]

    def get(self, kind, ids):
        return np.vstack([self.kinds[kind][i][0] for i in ids]).astype(np.float32)

    def count(self, kind) -> int:
        return len(self.kinds[kind])

    def close(self) -> None:
        return None

    def finish(self) -> None:
        return None

    def record(self) -> dict:
        return {"kind": "tests.fakes:DictKind", "name": self.name}


class DictKind:
    """The factory's side of ``DictStore``."""

    name = "tests.fakes:DictKind"

    def create(self, spec, *, build: str, dim: int, versions, previous=None) -> DictStore:
        return DictStore(f"{spec.collection}/{build}")  # one build's own: versions unused

    def open(self, spec, *, record, versions) -> DictStore:
        return DictStore(record["name"])

    def drop(self, spec, *, record, versions, keep) -> None:
        DictStore.stores.pop(record["name"], None)


class QuestionWordReader:
    """The reader's protocol, deterministic: a candidate holding a long word of the question
    scores high."""

    def warm(self) -> None:
        """Nothing to load."""

    def read(self, pairs: Sequence[PairText], positions: Sequence[int]) -> list[Read]:
        """A high answer logit where the sentence shares a word of five letters or more."""
        out = []
        for p, pos in zip(pairs, positions, strict=True):
            hit = any(w in p.sentence.lower() for w in p.question.lower().split() if len(w) > 4)
            out.append(Read(pos, 3.0 if hit else -3.0, -1.0, (0, 3), 0.9))
        return out
