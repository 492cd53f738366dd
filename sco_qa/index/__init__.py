"""The index: a folder of plain files (FAISS, numpy, BM25, JSON) plus ``manifest.json``;
described by one ``IndexSpec``, built incrementally, verified on load, and switched
atomically."""

from .build import (
    BuildReport,
    build_index,
    builds,
    remove_old_builds,
    remove_unfinished_builds,
    rollback,
)
from .collection import Collection, collections_of, pick
from .load import (
    Index,
    build_bytes,
    current_build,
    ensure_index,
    load_index,
    open_index,
    rebuild_reason,
)
from .manifest import CURRENT, FORMAT, Manifest, read_manifest, rebuild_hint
from .spec import DEFAULT_COLLECTION, IndexSpec

__all__ = [
    "CURRENT",
    "DEFAULT_COLLECTION",
    "FORMAT",
    "BuildReport",
    "Collection",
    "Index",
    "IndexSpec",
    "Manifest",
    "build_bytes",
    "build_index",
    "builds",
    "collections_of",
    "current_build",
    "ensure_index",
    "load_index",
    "open_index",
    "pick",
    "read_manifest",
    "rebuild_hint",
    "rebuild_reason",
    "remove_old_builds",
    "remove_unfinished_builds",
    "rollback",
]
