"""all-MiniLM-L6-v2 through sentence-transformers on torch, offline."""

from __future__ import annotations

from typing import Any

import numpy as np

from ..errors import ModelError
from .base import CachedEmbedder, model_path, offline


class MiniLMEmbedder(CachedEmbedder):
    """all-MiniLM-L6-v2 through sentence-transformers on torch, offline."""

    def __init__(self, batch_size: int = 64, cache_size: int = 1024, threads: int = 0) -> None:
        super().__init__(cache_size)
        offline()
        path = model_path()
        try:
            import torch
            from sentence_transformers import SentenceTransformer

            if threads:
                torch.set_num_threads(threads)
            self._model: Any = SentenceTransformer(str(path), device="cpu", local_files_only=True)
        except Exception as exc:  # any failure here means the model cannot be used
            raise ModelError(f"cannot load the embedding model from {path}: {exc}") from exc
        self._torch = torch
        self.max_tokens = int(self._model.max_seq_length or 256)
        self.batch_size = batch_size

    def _encode(self, texts: list[str], progress: bool) -> np.ndarray:
        with self._torch.inference_mode():
            vecs = self._model.encode(
                texts,
                batch_size=self.batch_size,
                normalize_embeddings=True,
                convert_to_numpy=True,
                show_progress_bar=progress and len(texts) > 256,
            )
        return np.ascontiguousarray(vecs, dtype=np.float32)

    def count_tokens(self, text: str) -> int:
        """How many tokens the model sees for ``text`` (special tokens included)."""
        return len(self._model.tokenizer(text, add_special_tokens=True)["input_ids"])
