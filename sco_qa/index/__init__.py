"""The index: a folder of plain files (FAISS, numpy, BM25, JSON) plus ``manifest.json``;
built, verified on load, and switched atomically."""

from .build import (
    ANN_THRESHOLD,
    CURRENT,
    KEEP_BUILDS,
    BuildReport,
    build_index,
    builds,
    remove_old_builds,
    remove_unfinished_builds,
    rollback,
)
from .load import Index, current_build, ensure_index, load_index, open_index, rebuild_reason
from .manifest import FORMAT, read_manifest, rebuild_hint

__all__ = [
    "ANN_THRESHOLD",
    "CURRENT",
    "FORMAT",
    "KEEP_BUILDS",
    "BuildReport",
    "Index",
    "build_index",
    "builds",
    "current_build",
    "ensure_index",
    "load_index",
    "open_index",
    "read_manifest",
    "rebuild_hint",
    "rebuild_reason",
    "remove_old_builds",
    "remove_unfinished_builds",
    "rollback",
]
