"""Where vectors live: the ``VectorStore`` protocol, keyed by passage and sentence ids (never by
position), and the factory that picks an implementation by the index spec's
``vector_store`` — ``faiss`` (the build's own files, in process; the default), ``milvus``
(an external engine, ``milvus.py``) or the dotted path of a class of one's own.

Retrieval and the answer stage ask a store only for what they need: ``search`` for the
passages nearest a question, ``get`` for the vectors of the few candidates they score.
"""

from __future__ import annotations

import importlib
from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

import numpy as np

from ..errors import ConfigError
from .kinds import Kind, Stored, Versions
from .milvus import Milvus
from .spec import IndexSpec


class VectorStore(Protocol):
    """The vectors of one build, by kind and id."""

    def upsert(
        self, kind: Kind, ids: Sequence[str], vectors: np.ndarray, docs: Sequence[str]
    ) -> None:
        """Add or replace vectors (``docs``: each one's document id)."""
        ...

    def delete(self, kind: Kind, ids: Sequence[str]) -> None:
        """Remove vectors."""
        ...

    def search(
        self, kind: Kind, vector: np.ndarray, k: int, docs: Collection[str] | None = None
    ) -> list[tuple[str, float]]:
        """The ``k`` ids nearest ``vector`` by inner product, best first (only of the
        documents ``docs`` when given)."""
        ...

    def get(self, kind: Kind, ids: Sequence[str]) -> np.ndarray:
        """The vectors of ``ids``, in their order."""
        ...

    def count(self, kind: Kind) -> int:
        """How many vectors of ``kind`` it holds."""
        ...

    def close(self) -> None:
        """Release the store's connections or files."""
        ...


@dataclass(frozen=True)
class StoreRows:
    """A build's sentence vectors by position, fetched from its store (the answer stage's
    ``Rows``)."""

    store: VectorStore
    ids: Sequence[str]  # sentence ids by position

    def rows(self, positions: Sequence[int]) -> np.ndarray:
        """The vectors of the sentences at ``positions``."""
        return self.store.get("sentences", [self.ids[p] for p in positions])


class BuildStore(VectorStore, Protocol):
    """A store a build writes into: then made ready to serve, and recorded in the
    manifest."""

    def finish(self) -> None:
        """Make what was written durable and searchable (flush, load)."""
        ...

    def record(self) -> dict[str, Any]:
        """What the manifest keeps to open the store again (never a secret)."""
        ...


class StoreKind(Protocol):
    """What the factory returns: how to make a build's store and open it again.

    ``versions`` name each id's content (``kinds.versions_of``): a store that keeps several
    builds' vectors in one place keys them by id and version, so that a build writes only
    what changed; a store of one build's own may ignore them."""

    name: str

    def create(
        self, spec: IndexSpec, *, build: str, dim: int, versions: Versions,
        previous: Stored | None = None,
    ) -> BuildStore | None:  # fmt: skip
        """A store for the build named ``build`` (None: the build's own files); ``previous``
        is the live build's record and versions, whose vectors the store may already hold."""
        ...

    def open(
        self, spec: IndexSpec, *, record: Mapping[str, Any], versions: Versions
    ) -> VectorStore:
        """The store a build's manifest records."""
        ...

    def drop(
        self,
        spec: IndexSpec,
        *,
        record: Mapping[str, Any],
        versions: Versions,
        keep: Sequence[Versions],
    ) -> None:
        """Remove a build's vectors from the store, but for those the kept builds
        (``keep``) still hold."""
        ...


def outdated(spec: IndexSpec, record: Mapping[str, Any] | None) -> str:
    """Why a build's store record cannot be served as it is ("" when it can): a store kind
    may say so with an ``outdated(record)`` of its own."""
    if not record:
        return ""
    check = getattr(store_kind(spec), "outdated", None)
    return str(check(record)) if check is not None else ""


class FaissStore:
    """The build's own files, in process: FAISS over the passage vectors, numpy arrays of
    both kinds (memory-mapped when loaded), ids mapped to rows. Changes are kept in memory
    (a loaded build is never written to: builds are immutable)."""

    name = "faiss"

    def __init__(
        self, dense: Any, vectors: Mapping[Kind, np.ndarray], ids: Mapping[Kind, Sequence[str]],
        docs: Mapping[Kind, Sequence[str]],
    ) -> None:  # fmt: skip
        self._dense = dense
        self._vectors = dict(vectors)
        self._ids = {k: list(v) for k, v in ids.items()}
        self._docs = {k: list(v) for k, v in docs.items()}
        self._rows = {k: {i: n for n, i in enumerate(v)} for k, v in self._ids.items()}

    def upsert(
        self, kind: Kind, ids: Sequence[str], vectors: np.ndarray, docs: Sequence[str]
    ) -> None:
        """Add or replace vectors (in memory)."""
        rows = self._rows[kind]
        current = np.array(self._vectors[kind], dtype=np.float32)
        added = []
        for i, v, d in zip(ids, vectors, docs, strict=True):
            if i in rows:
                current[rows[i]] = v
                self._docs[kind][rows[i]] = d
            else:
                rows[i] = len(self._ids[kind])
                self._ids[kind].append(i)
                self._docs[kind].append(d)
                added.append(v)
        self._vectors[kind] = np.vstack([current, *added]) if added else current
        if kind == "passages":
            self._dense = None  # searched exactly from here on

    def delete(self, kind: Kind, ids: Sequence[str]) -> None:
        """Remove vectors (in memory)."""
        gone = set(ids)
        keep = [n for n, i in enumerate(self._ids[kind]) if i not in gone]
        self._vectors[kind] = np.asarray(self._vectors[kind])[keep]
        self._ids[kind] = [self._ids[kind][n] for n in keep]
        self._docs[kind] = [self._docs[kind][n] for n in keep]
        self._rows[kind] = {i: n for n, i in enumerate(self._ids[kind])}
        if kind == "passages":
            self._dense = None

    def search(
        self, kind: Kind, vector: np.ndarray, k: int, docs: Collection[str] | None = None
    ) -> list[tuple[str, float]]:
        """FAISS for the passages of a build as built; exact inner product otherwise."""
        n = len(self._ids[kind])
        want = n if docs is not None else min(k, n)
        if want <= 0:
            return []
        query = np.ascontiguousarray(vector.reshape(1, -1), dtype=np.float32)
        if kind == "passages" and self._dense is not None:
            scores, rows = self._dense.search(query, want)
            found = [(int(r), float(s)) for r, s in zip(rows[0], scores[0], strict=True) if r >= 0]
        else:
            sims = np.asarray(self._vectors[kind]) @ query[0]
            order = np.argsort(-sims, kind="stable")[:want]
            found = [(int(r), float(sims[r])) for r in order]
        if docs is not None:
            found = [(r, s) for r, s in found if self._docs[kind][r] in docs]
        return [(self._ids[kind][r], s) for r, s in found[:k]]

    def get(self, kind: Kind, ids: Sequence[str]) -> np.ndarray:
        """Rows of the mapped array, by id."""
        rows = [self._rows[kind][i] for i in ids]
        return np.asarray(self._vectors[kind][rows], dtype=np.float32)

    def count(self, kind: Kind) -> int:
        """How many vectors of ``kind``."""
        return len(self._ids[kind])

    def close(self) -> None:
        """Nothing to release: the maps go with the object."""


class _Faiss:
    """The FAISS kind: a build's vectors are its own files (``build.py`` writes them)."""

    name = "faiss"

    def create(
        self, spec: IndexSpec, *, build: str, dim: int, versions: Versions,
        previous: Stored | None = None,
    ) -> None:  # fmt: skip
        """Nothing beyond the build's files."""
        return None

    def open(
        self, spec: IndexSpec, *, record: Mapping[str, Any], versions: Versions
    ) -> VectorStore:
        """Not used: ``load.py`` opens the build's files itself (``FaissStore``)."""
        raise ConfigError("the FAISS store is opened from the build's files")

    def drop(
        self,
        spec: IndexSpec,
        *,
        record: Mapping[str, Any],
        versions: Versions,
        keep: Sequence[Versions],
    ) -> None:
        """Nothing: the files go with the build folder."""


def store_kind(spec: IndexSpec) -> StoreKind:
    """The store the spec names: ``faiss``, ``milvus`` or ``package.module:Class`` (a class
    whose instances implement ``StoreKind``); a ConfigError says what is wrong."""
    name = spec.vector_store
    if name == "faiss":
        return _Faiss()
    if name == "milvus":
        return Milvus()
    module, sep, attr = name.partition(":")
    if not sep:
        module, _, attr = name.rpartition(".")
    try:
        made: StoreKind = getattr(importlib.import_module(module), attr)()
    except (ImportError, AttributeError, ValueError, TypeError) as exc:
        raise ConfigError(
            f"SCO_QA_VECTOR_STORE={name!r}: give faiss, milvus or package.module:Class ({exc})"
        ) from None
    return made
