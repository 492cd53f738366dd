"""all-MiniLM-L6-v2 on ONNX Runtime: exported once from the bundled weights (never
downloaded), with mean pooling and normalisation as the model card prescribes. fp32 gives
the same vectors as sentence-transformers on torch, about three times faster; questions may
go through an int8 copy (quantised per channel), faster again with vectors within ~1 %."""

from __future__ import annotations

import hashlib
import logging
import os
import secrets
import shutil
import threading
import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import numpy as np

from ..errors import ModelError
from .base import (
    CachedEmbedder,
    model_path,
    no_telemetry,
    offline,
    quiet_root,
    session_options,
)
from .batching import by_tokens
from .workers import Workers

log = logging.getLogger(__name__)
INPUTS = ("input_ids", "attention_mask", "token_type_ids")


def model_key(path: Path) -> str:
    """Identifies the bundled weights: a new package version gets a new export."""
    h = hashlib.sha256((path / "config.json").read_bytes())
    for f in sorted(path.glob("*.safetensors")):
        h.update(f"{f.name}:{f.stat().st_size}".encode())
    return h.hexdigest()[:16]


def _export(src: Path, target: Path) -> None:
    """torch → ONNX (dynamic batch and length), written to a temp file then renamed."""
    import torch
    from transformers import AutoModel

    model = AutoModel.from_pretrained(str(src), local_files_only=True).eval()

    class Encoder(torch.nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.model = model

        def forward(self, input_ids: Any, attention_mask: Any, token_type_ids: Any) -> Any:
            out = self.model(
                input_ids=input_ids, attention_mask=attention_mask, token_type_ids=token_type_ids
            )
            return out.last_hidden_state

    dummy = tuple(torch.ones((1, 8), dtype=torch.long) for _ in INPUTS)
    axes = {n: {0: "batch", 1: "tokens"} for n in (*INPUTS, "last_hidden_state")}
    tmp = target.with_name(f".{target.name}.{secrets.token_hex(4)}.tmp")
    # the tracer warns about shape-dependent branches in the attention mask code: expected
    with torch.inference_mode(), warnings.catch_warnings():
        warnings.simplefilter("ignore")
        torch.onnx.export(
            Encoder(),
            dummy,
            str(tmp),
            input_names=list(INPUTS),
            output_names=["last_hidden_state"],
            dynamic_axes=axes,
            opset_version=17,
            dynamo=False,
        )
    os.replace(tmp, target)


def _quantise(src: Path, target: Path) -> None:
    no_telemetry()
    from onnxruntime.quantization import QuantType, quantize_dynamic

    tmp = target.with_name(f".{target.name}.{secrets.token_hex(4)}.tmp")
    # one scale per output channel keeps the vectors within ~1 % (cosine) of fp32, where a
    # single scale per tensor loses ~4 % and measurably changes which sentence is quoted
    with quiet_root():
        quantize_dynamic(str(src), str(tmp), weight_type=QuantType.QInt8, per_channel=True)
    os.replace(tmp, target)


def model_inputs(encodings: list[Any]) -> dict[str, np.ndarray]:
    """The model's inputs for a batch of ``tokenizers`` encodings, padded with zeros (the
    [PAD] id, masked out) to the longest."""
    width = max((len(e.ids) for e in encodings), default=0)
    feed = {n: np.zeros((len(encodings), width), dtype=np.int64) for n in INPUTS}
    for row, e in enumerate(encodings):
        n = len(e.ids)
        feed["input_ids"][row, :n] = e.ids
        feed["attention_mask"][row, :n] = e.attention_mask
        feed["token_type_ids"][row, :n] = e.type_ids
    return feed


def onnx_file(cache_dir: Path, quantized: bool) -> Path:
    """The exported model for the installed weights, exporting it on first use."""
    src = model_path()
    folder = cache_dir / f"minilm-{model_key(src)}"
    folder.mkdir(parents=True, exist_ok=True)
    fp32 = folder / "model.onnx"
    if not fp32.is_file():
        log.info("exporting the embedding model to ONNX in %s (once)", folder)
        offline()
        _export(src, fp32)
    if not quantized:
        return fp32
    int8 = folder / "model.int8-per-channel.onnx"
    if not int8.is_file():
        _quantise(fp32, int8)
    return int8


#: texts from which a build's embedding is split between worker processes (starting one
#: costs about a second): benchmarks/build_throughput.py, 2,404 texts, two runs: 282 and 249
#: texts/s in one process, 268 and 270 with two workers (no clear gain); a full build of
#: 20,447 texts (benchmarks/incremental_build.py's folder): 230–240 texts/s in one process,
#: 272–274 with two workers
PARALLEL_FROM = 5000


class OnnxMiniLMEmbedder(CachedEmbedder):
    """Passages and sentences are embedded by the fp32 export (the same vectors as
    sentence-transformers); questions by the same model or, with ``quantized_queries``, by
    its int8 copy: a question is embedded at every request, a passage once per build, so
    the quantisation error stays on the question side only."""

    def __init__(
        self,
        cache_dir: Path,
        *,
        quantized_queries: bool = False,
        cache_size: int = 1024,
        threads: int = 0,
        # padded tokens a batch may hold: benchmarks/build_throughput.py, the 8 SQuAD
        # articles' texts sorted by length, 2 cores: 256 → 282, 512 → 291, 1024 → 291,
        # 2048 → 266, 4096 → 258 texts/s (a fixed 16 texts a batch: 218 texts/s)
        batch_tokens: int = 1024,
        processes: int = 1,
        parallel_from: int = PARALLEL_FROM,
    ) -> None:
        # int8 activations are scaled per run: one question per run keeps vectors independent
        super().__init__(cache_size, batch_questions=not quantized_queries)
        self.batch_tokens = batch_tokens
        self.processes = processes
        self.parallel_from = parallel_from
        self.parallel_runs = 0  # embeddings split between processes (for tests, benchmarks)
        self._pool: Workers | None = None
        self._pool_owner: threading.Thread | None = None
        self._cache_dir = cache_dir
        self._threads = threads
        self._quantized_queries = quantized_queries
        self._sessions: dict[bool, Any] = {}
        self._session_lock = threading.Lock()
        from tokenizers import Tokenizer

        self._session(quantized_queries)  # export (and quantise) now, not at the first question
        self._tok = Tokenizer.from_file(str(model_path() / "tokenizer.json"))
        self._count = Tokenizer.from_file(str(model_path() / "tokenizer.json"))
        self._count.no_truncation()
        self._count.no_padding()
        self._tok.enable_truncation(self.max_tokens)
        self._tok.no_padding()  # each batch is padded to its own longest text

    def _session(self, quantized: bool) -> Any:
        """The ONNX Runtime session of the fp32 or int8 model, created on first use."""
        with self._session_lock:
            if quantized not in self._sessions:
                self._sessions[quantized] = self._open(quantized)
            return self._sessions[quantized]

    def _open(self, quantized: bool) -> Any:
        try:
            no_telemetry()
            import onnxruntime as ort

            path = onnx_file(self._cache_dir, quantized)
            opts = session_options(self._threads, per_question=quantized)  # int8: questions
            # ONNX Runtime would send usage events from native code: nothing leaves the machine
            ort.disable_telemetry_events()
            return ort.InferenceSession(str(path), opts, providers=["CPUExecutionProvider"])
        except ModelError:
            raise
        except Exception as exc:  # a failed export or a broken file: say which
            shutil.rmtree(self._cache_dir / f"minilm-{model_key(model_path())}", True)
            raise ModelError(
                f"cannot prepare the ONNX embedding model in {self._cache_dir}: {exc}; set "
                "SCO_QA_MODEL_CACHE_DIR to a writable folder, or SCO_QA_MODEL_BACKEND=torch"
            ) from exc

    def _encode(self, texts: list[str], progress: bool) -> np.ndarray:
        """Texts tokenised once, sorted by length and cut into batches of at most
        ``batch_tokens`` padded tokens (many short texts a run, few long ones), put back in
        the order given (benchmarks/build_throughput.py)."""
        pool = self._pool
        if pool is not None and threading.current_thread() is self._pool_owner:
            return self._encode_parallel(pool, texts)
        session = self._session(False)
        encodings = self._tok.encode_batch(texts)
        lengths = [len(e.ids) for e in encodings]
        order = sorted(range(len(texts)), key=lambda i: lengths[i])
        batches: Any = by_tokens([lengths[i] for i in order], self.batch_tokens)
        if progress and len(texts) > 1000:
            from tqdm import tqdm  # comes with sentence-transformers

            batches = tqdm(batches, desc="embedding", unit="batch")
        vectors = np.empty((len(texts), self.dim), dtype=np.float32)
        for lo, hi in batches:
            rows = order[lo:hi]
            vectors[rows] = self._run(session, [encodings[i] for i in rows])
        return vectors

    @contextmanager
    def workers(self, texts: int) -> Iterator[None]:
        """Within it, embedding is split between worker processes of one thread each, when
        ``texts`` (what the caller will embed in all) repay starting them: two one-thread
        processes embed more per second than one process's two threads
        (benchmarks/build_throughput.py)."""
        if self.processes < 2 or texts < self.parallel_from or self._pool is not None:
            yield
            return
        self._pool = Workers(self.processes, cache_dir=self._cache_dir,
                             batch_tokens=self.batch_tokens, dim=self.dim)  # fmt: skip
        self._pool_owner = threading.current_thread()  # questions meanwhile stay in process
        try:
            yield
        finally:
            pool, self._pool, self._pool_owner = self._pool, None, None
            pool.close()

    def _encode_parallel(self, pool: Workers, texts: list[str]) -> np.ndarray:
        """The texts dealt out by length, so that every worker gets long and short ones."""
        order = sorted(range(len(texts)), key=lambda i: len(texts[i]))
        parts = [order[w :: len(pool)] for w in range(len(pool))]
        parts = [part for part in parts if part]
        vectors = np.empty((len(texts), self.dim), dtype=np.float32)
        got = pool.embed([[texts[i] for i in part] for part in parts])
        for part, rows in zip(parts, got, strict=True):
            vectors[part] = rows
        self.parallel_runs += 1
        return vectors

    def _encode_queries(self, texts: list[str]) -> np.ndarray:
        if not self._quantized_queries:
            return self._encode(texts, False)
        session = self._session(True)
        return np.vstack([self._batch(session, [t]) for t in texts])

    def _batch(self, session: Any, texts: list[str]) -> np.ndarray:
        """The vectors of ``texts``, run together."""
        return self._run(session, self._tok.encode_batch(texts))

    def _run(self, session: Any, encodings: list[Any]) -> np.ndarray:
        feed = model_inputs(encodings)
        hidden = session.run(None, feed)[0]
        mask = feed["attention_mask"][..., None].astype(np.float32)
        pooled = (hidden * mask).sum(axis=1) / np.maximum(mask.sum(axis=1), 1e-9)
        pooled /= np.maximum(np.linalg.norm(pooled, axis=1, keepdims=True), 1e-12)
        out: np.ndarray = pooled.astype(np.float32, copy=False)
        return out

    def count_tokens(self, text: str) -> int:
        """How many tokens the model sees for ``text`` (special tokens included)."""
        return len(self._count.encode(text).ids)
