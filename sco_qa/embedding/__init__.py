"""Sentence embeddings: the Embedder protocol and all-MiniLM-L6-v2 from the bundled package,
run by ONNX Runtime (default) or by sentence-transformers on torch."""

from __future__ import annotations

import os
from typing import TYPE_CHECKING

from ..errors import ConfigError
from .base import BACKENDS, MODEL_NAME, MODEL_PACKAGE, CachedEmbedder, Embedder, model_path, offline
from .onnx import OnnxMiniLMEmbedder
from .torch import MiniLMEmbedder

if TYPE_CHECKING:
    from ..config import Settings

__all__ = [
    "BACKENDS",
    "MODEL_NAME",
    "MODEL_PACKAGE",
    "CachedEmbedder",
    "Embedder",
    "MiniLMEmbedder",
    "OnnxMiniLMEmbedder",
    "load_embedder",
    "model_path",
    "offline",
]


def _cores() -> int:
    """The cores this process may run on."""
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1


def load_embedder(settings: Settings) -> Embedder:
    """The embedder the settings ask for."""
    if settings.model_backend == "torch":
        return MiniLMEmbedder(cache_size=settings.embed_cache_size, threads=settings.model_threads)
    if settings.model_backend in ("onnx", "onnx-int8"):
        return OnnxMiniLMEmbedder(
            settings.model_cache_dir,
            quantized_queries=settings.model_backend == "onnx-int8",
            cache_size=settings.embed_cache_size,
            threads=settings.model_threads,
            processes=settings.embed_processes or settings.model_threads or _cores(),
        )
    raise ConfigError(f"SCO_QA_MODEL_BACKEND must be one of {BACKENDS}")
