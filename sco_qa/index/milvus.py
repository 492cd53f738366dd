"""Milvus as the vector store, through ``pymilvus``'s ``MilvusClient``: Milvus Lite (a local
file, or its gRPC server) for tests and small installs, a Milvus Standalone or Distributed
cluster by URI and token in production (``SCO_QA_MILVUS_URI``, ``SCO_QA_MILVUS_TOKEN``).

One pair of Milvus collections per sco-qa collection (passages, sentences), with an explicit
schema (row id, document id, vector, and the vector's exact float32 bytes in base64 for
fetching) and index. A row is a passage or sentence *at one content
version* (``id@version``, the version a hash of the model and the text), so the builds of a
collection share the rows of every text they have in common: a build upserts only the rows
of new or changed texts, flushes, and only then is switched to (the one atomic rename of
``CURRENT``); a build serving meanwhile still finds every row of its own. Each store reads
only its build's rows (searches skip rows of other builds), and the rows no kept build holds
are deleted when old builds are removed.
"""

from __future__ import annotations

import base64
import json
import os
import re
import secrets
import threading
from collections.abc import Collection, Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from .. import durable
from ..errors import IndexStateError, StaleIndexError
from .kinds import KINDS, Kind, Stored, Versions
from .spec import IndexSpec

#: longest id kept (passage and sentence ids are document ids plus a short suffix)
MAX_ID = 1024
#: rows sent in one insert, ids in one delete or query
BATCH = 2000
#: how the rows are laid out (recorded; a build of another layout is rebuilt): rows by content
#: version, each with a packed copy of its vector (``pack``)
LAYOUT = "rows-by-content/packed"
#: the layout's part of collection names (collections of another layout are never reused)
NAME_TAG = "r2"
#: the most results one Milvus search may return
MAX_LIMIT = 16384
#: index parameters by type (recorded in the manifest); HNSW's from Milvus's own guidance
INDEX_PARAMS: dict[str, dict[str, Any]] = {
    "FLAT": {},
    "HNSW": {"M": 16, "efConstruction": 200},
    "IVF_FLAT": {"nlist": 128},
}
SEARCH_PARAMS: dict[str, dict[str, Any]] = {
    "FLAT": {},
    "HNSW": {"ef": 64},
    "IVF_FLAT": {"nprobe": 16},
}
#: keepalive pings no more often than gRPC servers accept by default (every 5 minutes):
#: pymilvus's 10 s made Milvus Lite's server answer GOAWAY "too_many_pings" under load
GRPC_OPTIONS = {"grpc.keepalive_time_ms": 300_000, "grpc.keepalive_timeout_ms": 20_000}
_clients: dict[tuple[str, str], Any] = {}
_lock = threading.Lock()


def client(uri: str, token: str) -> Any:
    """One ``MilvusClient`` per URI and token in a process (Milvus Lite allows one opener of
    a file)."""
    from pymilvus import MilvusClient

    with _lock:
        key = (uri, token)
        if key not in _clients:
            try:
                _clients[key] = MilvusClient(uri=uri, token=token, grpc_options=GRPC_OPTIONS)
            except Exception as exc:  # pymilvus raises its own and gRPC errors
                raise IndexStateError(
                    f"cannot reach Milvus at {uri} ({exc}); check SCO_QA_MILVUS_URI and "
                    "SCO_QA_MILVUS_TOKEN"
                ) from None
        return _clients[key]


def _quoted(values: Collection[str]) -> str:
    """A Milvus filter's list of strings (quotes and backslashes escaped)."""
    return "[" + ", ".join(json.dumps(v, ensure_ascii=False) for v in values) + "]"


def store_id(index_dir: Path) -> str:
    """The index folder's name in shared stores, made at its first build: deployments with
    index folders of their own never share (nor delete) each other's rows, even under one
    collection name; replicas on one folder share its builds."""
    path = index_dir / STORE_ID
    if not path.is_file():
        index_dir.mkdir(parents=True, exist_ok=True)
        tmp = index_dir / f".{STORE_ID}.{secrets.token_hex(4)}.tmp"
        durable.write_synced(tmp, secrets.token_hex(4).encode())
        try:
            os.link(tmp, path)  # never over one another build made meanwhile
        except FileExistsError:
            pass
        finally:
            tmp.unlink(missing_ok=True)
    return path.read_text(encoding="utf-8").strip()


def collection_names(spec: IndexSpec, dim: int) -> dict[Kind, str]:
    """A sco-qa collection's Milvus collections for its index folder, one vector size, index
    type and row layout (letters, digits and underscores only)."""
    folder = store_id(spec.index_dir)
    name = f"scoqa_{spec.collection}_{folder}_{spec.milvus_index.lower()}_{dim}_{NAME_TAG}"
    base = re.sub(r"\W", "_", name)
    return {kind: f"{base}_{kind}" for kind in KINDS}


#: the file naming an index folder in shared stores
STORE_ID = "store-id"
#: the names ``collection_names`` gives (shared by builds: never dropped with one)
SHARED = re.compile(
    rf"^scoqa_\w+_[0-9a-f]{{8}}_(flat|hnsw|ivf_flat)_\d+_{NAME_TAG}_(passages|sentences)$"
)


def pack(vector: np.ndarray) -> str:
    """A vector's exact float32 bytes as base64 text: what ``get`` fetches. Milvus Lite
    sends a vector field float by float: with the packed copies, ``ask`` through its server
    went from 5.7 to 3.6 times FAISS's p50 in process (``benchmarks/vector_store.py``, one
    run each; docs/scaling.md)."""
    return base64.b64encode(np.asarray(vector, dtype="<f4").tobytes()).decode("ascii")


def unpack(texts: Sequence[str], dim: int) -> np.ndarray:
    """The vectors ``pack`` wrote, as rows of an array."""
    raw = b"".join(base64.b64decode(t) for t in texts)
    return np.frombuffer(raw, dtype="<f4").reshape(len(texts), dim).astype(np.float32)


def packed_length(dim: int) -> int:
    """Characters of a packed vector of ``dim`` float32 values."""
    return 4 * ((4 * dim + 2) // 3)


def row_ids(versions: Versions) -> dict[Kind, dict[str, str]]:
    """Each id's row: the id at its content version."""
    return {k: {i: f"{i}@{v}" for i, v in versions.get(k, {}).items()} for k in KINDS}


class MilvusStore:
    """One build's vectors in its collection's shared Milvus collections."""

    name = "milvus"

    def __init__(
        self, milvus: Any, names: Mapping[Kind, str], index: str, *, dim: int,
        versions: Versions, known: Mapping[Kind, frozenset[str]] | None = None,
    ) -> None:  # fmt: skip
        self._c = milvus
        self.names = dict(names)
        self.index = index
        self.dim = dim
        self._versions = {k: versions.get(k, {}) for k in KINDS}  # this build's
        self._known = dict(known or {})  # rows already stored (the previous build's)
        self.others = dict.fromkeys(KINDS, 0)  # rows of other builds seen at open
        self.inserted = dict.fromkeys(KINDS, 0)
        self.kept = dict.fromkeys(KINDS, 0)

    def _row(self, kind: Kind, i: str) -> str:
        version = self._versions[kind].get(i)
        if version is None:
            raise IndexStateError(f"{i} is not a {kind[:-1]} of this build; rebuild the index")
        return f"{i}@{version}"

    def _own(self, kind: Kind, row: str) -> str | None:
        """The id of a row of this build's, None for another build's row."""
        i, _, version = row.rpartition("@")
        return i if version and self._versions[kind].get(i) == version else None

    def upsert(
        self, kind: Kind, ids: Sequence[str], vectors: np.ndarray, docs: Sequence[str]
    ) -> None:
        """Insert or replace the rows of ``ids``, but for those the store already holds at
        the same version (unchanged texts: nothing is sent)."""
        known = self._known.get(kind, frozenset())
        todo = [(self._row(kind, i), d, v) for i, d, v in zip(ids, docs, vectors, strict=True)]
        fresh = [t for t in todo if t[0] not in known]
        self.kept[kind] += len(todo) - len(fresh)
        self.inserted[kind] += len(fresh)
        for lo in range(0, len(fresh), BATCH):
            rows = [{"id": r, "doc_id": d, "vector": np.asarray(v).tolist(), "packed": pack(v)}
                    for r, d, v in fresh[lo : lo + BATCH]]  # fmt: skip
            self._c.upsert(self.names[kind], rows)

    def delete(self, kind: Kind, ids: Sequence[str]) -> None:
        """Remove the rows of ``ids`` at this build's versions."""
        rows = [self._row(kind, i) for i in ids]
        for lo in range(0, len(rows), BATCH):
            self._c.delete(self.names[kind], ids=rows[lo : lo + BATCH])

    def search(
        self, kind: Kind, vector: np.ndarray, k: int, docs: Collection[str] | None = None
    ) -> list[tuple[str, float]]:
        """The nearest of this build's ids by inner product (only ids come back). Rows of
        other builds are skipped: the search asks for more until ``k`` of this build's are
        found, or there are no more."""
        k = min(k, len(self._versions[kind]))
        if k <= 0:
            return []
        where = "" if docs is None else f"doc_id in {_quoted(docs)}"
        data = [np.asarray(vector, dtype=np.float32).reshape(-1).tolist()]
        params = {"metric_type": "IP", "params": SEARCH_PARAMS[self.index]}
        # the k nearest of this build's rows are among the k + others nearest of all
        limit = min(k + min(self.others[kind], 4 * k), MAX_LIMIT)
        while True:
            got = self._c.search(self.names[kind], data=data, limit=limit, filter=where,
                                 output_fields=[], search_params=params)[0]  # fmt: skip
            own = [(self._own(kind, str(h["id"])), float(h["distance"])) for h in got]
            found = [(i, d) for i, d in own if i is not None]
            if len(found) >= k or len(got) < limit or limit == MAX_LIMIT:
                return found[:k]
            limit = min(limit * 4, MAX_LIMIT)

    def get(self, kind: Kind, ids: Sequence[str]) -> np.ndarray:
        """The vectors of ``ids``, in their order (read from their packed copies)."""
        if not ids:
            return np.zeros((0, 0), dtype=np.float32)
        rows = [self._row(kind, i) for i in ids]
        got = self._c.get(self.names[kind], ids=list(dict.fromkeys(rows)), output_fields=["packed"])
        by_row = {str(r["id"]): str(r["packed"]) for r in got}
        missing = [i for i, r in zip(ids, rows, strict=True) if r not in by_row]
        if missing:
            raise IndexStateError(
                f"Milvus collection {self.names[kind]} lacks {missing[:3]}; rebuild the index "
                "(`sco-qa index --full`)"
            )
        return unpack([by_row[r] for r in rows], self.dim)

    def count(self, kind: Kind) -> int:
        """This build's ids of ``kind`` (the collection may hold other builds' rows too)."""
        return len(self._versions[kind])

    def finish(self) -> None:
        """Flush and load both collections: searched fast from the first question."""
        for name in self.names.values():
            self._c.flush(name)
            self._c.load_collection(name)

    def record(self) -> dict[str, Any]:
        """What the manifest keeps of the store (never the token)."""
        return {
            "kind": "milvus",
            "layout": LAYOUT,
            "collections": self.names,
            "dim": self.dim,
            "index": self.index,
            "index_params": INDEX_PARAMS[self.index],
            "search_params": SEARCH_PARAMS[self.index],
            "metric": "IP",
            "rows_written": self.inserted,
            "rows_already_stored": self.kept,
        }

    def close(self) -> None:
        """The client is shared by the process: kept open."""


class Milvus:
    """The Milvus kind of store (``SCO_QA_VECTOR_STORE=milvus``)."""

    name = "milvus"

    def create(
        self, spec: IndexSpec, *, build: str, dim: int, versions: Versions,
        previous: Stored | None = None,
    ) -> MilvusStore:  # fmt: skip
        """The collection's Milvus collections (made with their schema and index the first
        time), as a store of the build's rows; the rows of ``previous`` (the live build's
        record and versions) count as stored when it wrote them into the same place."""
        c = client(spec.milvus_uri, spec.milvus_token)
        names = collection_names(spec, dim)
        for name in names.values():
            if not c.has_collection(name):
                self._make(c, spec, name, dim)
        known: dict[Kind, frozenset[str]] = {}
        same = previous is not None and dict(previous[0].get("collections", {})) == names
        if previous is not None and same and not self.outdated(previous[0]):
            known = {k: frozenset(v.values()) for k, v in row_ids(previous[1]).items()}
        return MilvusStore(c, names, spec.milvus_index, dim=dim, versions=versions, known=known)

    @staticmethod
    def _make(c: Any, spec: IndexSpec, name: str, dim: int) -> None:
        from pymilvus import DataType

        schema = c.create_schema(auto_id=False, enable_dynamic_field=False)
        schema.add_field("id", DataType.VARCHAR, is_primary=True, max_length=MAX_ID)
        schema.add_field("doc_id", DataType.VARCHAR, max_length=MAX_ID)
        schema.add_field("vector", DataType.FLOAT_VECTOR, dim=dim)
        schema.add_field("packed", DataType.VARCHAR, max_length=packed_length(dim))
        index = c.prepare_index_params()
        index.add_index(field_name="vector", index_type=spec.milvus_index, metric_type="IP",
                        params=INDEX_PARAMS[spec.milvus_index])  # fmt: skip
        c.create_collection(name, schema=schema, index_params=index)

    @staticmethod
    def outdated(record: Mapping[str, Any]) -> str:
        """Why a build's record cannot be served as it is ("" when it can)."""
        if record.get("layout") != LAYOUT:
            return "the Milvus layout changed (rows carry a packed copy of their vector)"
        return ""

    def open(
        self, spec: IndexSpec, *, record: Mapping[str, Any], versions: Versions
    ) -> MilvusStore:
        """The build's rows in the collections its manifest names, loaded."""
        why = self.outdated(record)
        if why:
            error = StaleIndexError(f"{why}; rebuild the index (`sco-qa index`)")
            error.change = why
            raise error
        c = client(spec.milvus_uri, spec.milvus_token)
        names = {k: str(v) for k, v in dict(record["collections"]).items()}
        for name in names.values():
            if not c.has_collection(name):
                raise IndexStateError(
                    f"Milvus at {spec.milvus_uri} has no collection {name} that the live build "
                    "names; rebuild the index (`sco-qa index --full`)"
                )
            c.load_collection(name)
        store = MilvusStore(c, names, str(record.get("index", "FLAT")), dim=int(record["dim"]),
                            versions=versions)  # fmt: skip
        for kind, name in names.items():
            rows = int(c.get_collection_stats(name)["row_count"])
            store.others[kind] = max(0, rows - store.count(kind))
        return store

    def drop(
        self,
        spec: IndexSpec,
        *,
        record: Mapping[str, Any],
        versions: Versions,
        keep: Sequence[Versions],
    ) -> None:
        """Delete a removed build's rows that no kept build holds (a build of the former
        layout: its own collections)."""
        c = client(spec.milvus_uri, spec.milvus_token)
        names = dict(record.get("collections", {}))
        if self.outdated(record):  # a build's own collections (never the shared ones)
            for own in map(str, names.values()):
                if not SHARED.match(own) and c.has_collection(own):
                    c.drop_collection(own)
            return
        kept = {k: {r for v in keep for r in row_ids(v)[k].values()} for k in KINDS}
        for kind, rows in row_ids(versions).items():
            name = names.get(kind)
            gone = sorted(set(rows.values()) - kept[kind])
            if not name or not gone or not c.has_collection(str(name)):
                continue
            for lo in range(0, len(gone), BATCH):
                c.delete(str(name), ids=gone[lo : lo + BATCH])
