"""Milvus as the vector store, through ``pymilvus``'s ``MilvusClient``: Milvus Lite (a local
file, or its gRPC server) for tests and small installs, a Milvus Standalone or Distributed
cluster by URI and token in production (``SCO_QA_MILVUS_URI``, ``SCO_QA_MILVUS_TOKEN``).

Each build writes its vectors into collections of its own (one for passages, one for
sentences: id, document id and vector), created with an explicit schema and index, flushed
and loaded before the build is switched to; the build's manifest names them, so the switch
stays the one atomic rename of ``CURRENT``, and the collections of builds removed are
dropped with them.
"""

from __future__ import annotations

import re
import threading
from collections.abc import Collection, Mapping, Sequence
from typing import Any

import numpy as np

from ..errors import IndexStateError
from .kinds import KINDS, Kind
from .spec import IndexSpec

#: longest id kept (passage and sentence ids are document ids plus a short suffix)
MAX_ID = 1024
#: rows sent in one insert
BATCH = 2000
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
                _clients[key] = MilvusClient(uri=uri, token=token)
            except Exception as exc:  # pymilvus raises its own and gRPC errors
                raise IndexStateError(
                    f"cannot reach Milvus at {uri} ({exc}); check SCO_QA_MILVUS_URI and "
                    "SCO_QA_MILVUS_TOKEN"
                ) from None
        return _clients[key]


def collection_names(spec: IndexSpec, build: str) -> dict[Kind, str]:
    """The collections of one build (letters, digits and underscores only)."""
    base = re.sub(r"\W", "_", f"scoqa_{spec.collection}_{build}")
    return {kind: f"{base}_{kind}" for kind in KINDS}


class MilvusStore:
    """One build's vectors in Milvus."""

    name = "milvus"

    def __init__(self, milvus: Any, names: Mapping[Kind, str], index: str) -> None:
        self._c = milvus
        self.names = dict(names)
        self.index = index

    def upsert(
        self, kind: Kind, ids: Sequence[str], vectors: np.ndarray, docs: Sequence[str]
    ) -> None:
        """Insert or replace rows, in batches."""
        for lo in range(0, len(ids), BATCH):
            rows = [
                {"id": i, "doc_id": d, "vector": v.tolist()}
                for i, d, v in zip(ids[lo : lo + BATCH], docs[lo : lo + BATCH],
                                   vectors[lo : lo + BATCH], strict=True)
            ]  # fmt: skip
            self._c.upsert(self.names[kind], rows)

    def delete(self, kind: Kind, ids: Sequence[str]) -> None:
        """Remove rows by id."""
        self._c.delete(self.names[kind], ids=list(ids))

    def search(
        self, kind: Kind, vector: np.ndarray, k: int, docs: Collection[str] | None = None
    ) -> list[tuple[str, float]]:
        """The nearest ids by inner product (only the vectors' ids come back)."""
        if k <= 0:
            return []
        where = ""
        if docs is not None:
            where = "doc_id in [" + ", ".join(f'"{d}"' for d in docs) + "]"
        got = self._c.search(
            self.names[kind],
            data=[np.asarray(vector, dtype=np.float32).reshape(-1).tolist()],
            limit=k,
            filter=where,
            output_fields=[],
            search_params={"metric_type": "IP", "params": SEARCH_PARAMS[self.index]},
        )
        return [(str(h["id"]), float(h["distance"])) for h in got[0]]

    def get(self, kind: Kind, ids: Sequence[str]) -> np.ndarray:
        """The vectors of ``ids``, in their order."""
        if not ids:
            return np.zeros((0, 0), dtype=np.float32)
        rows = self._c.get(self.names[kind], ids=list(ids), output_fields=["vector"])
        by_id = {str(r["id"]): r["vector"] for r in rows}
        missing = [i for i in ids if i not in by_id]
        if missing:
            raise IndexStateError(
                f"Milvus collection {self.names[kind]} lacks {missing[:3]}; rebuild the index"
            )
        return np.asarray([by_id[i] for i in ids], dtype=np.float32)

    def count(self, kind: Kind) -> int:
        """Rows in the build's collection of ``kind``."""
        return int(self._c.get_collection_stats(self.names[kind])["row_count"])

    def finish(self) -> None:
        """Flush and load both collections: searched fast from the first question."""
        for name in self.names.values():
            self._c.flush(name)
            self._c.load_collection(name)

    def record(self) -> dict[str, Any]:
        """What the manifest keeps of the store (never the token)."""
        return {
            "kind": "milvus",
            "collections": self.names,
            "index": self.index,
            "index_params": INDEX_PARAMS[self.index],
            "search_params": SEARCH_PARAMS[self.index],
            "metric": "IP",
        }

    def close(self) -> None:
        """The client is shared by the process: kept open."""


class Milvus:
    """The Milvus kind of store (``SCO_QA_VECTOR_STORE=milvus``)."""

    name = "milvus"

    def create(self, spec: IndexSpec, *, build: str, dim: int) -> MilvusStore:
        """Empty collections for the build, with their schema and index."""
        from pymilvus import DataType

        c = client(spec.milvus_uri, spec.milvus_token)
        names = collection_names(spec, build)
        for name in names.values():
            schema = c.create_schema(auto_id=False, enable_dynamic_field=False)
            schema.add_field("id", DataType.VARCHAR, is_primary=True, max_length=MAX_ID)
            schema.add_field("doc_id", DataType.VARCHAR, max_length=MAX_ID)
            schema.add_field("vector", DataType.FLOAT_VECTOR, dim=dim)
            index = c.prepare_index_params()
            index.add_index(field_name="vector", index_type=spec.milvus_index, metric_type="IP",
                            params=INDEX_PARAMS[spec.milvus_index])  # fmt: skip
            if c.has_collection(name):
                c.drop_collection(name)
            c.create_collection(name, schema=schema, index_params=index)
        return MilvusStore(c, names, spec.milvus_index)

    def open(self, spec: IndexSpec, *, record: Mapping[str, Any]) -> MilvusStore:
        """The collections a build's manifest names, loaded."""
        c = client(spec.milvus_uri, spec.milvus_token)
        names = {k: str(v) for k, v in dict(record["collections"]).items()}
        for name in names.values():
            if not c.has_collection(name):
                raise IndexStateError(
                    f"Milvus at {spec.milvus_uri} has no collection {name} that the live build "
                    "names; rebuild the index (`sco-qa index --full`)"
                )
            c.load_collection(name)
        return MilvusStore(c, names, str(record.get("index", "FLAT")))

    def drop(self, spec: IndexSpec, *, record: Mapping[str, Any]) -> None:
        """Drop a build's collections."""
        c = client(spec.milvus_uri, spec.milvus_token)
        for name in dict(record.get("collections", {})).values():
            if c.has_collection(str(name)):
                c.drop_collection(str(name))
