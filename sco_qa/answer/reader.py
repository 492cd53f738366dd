"""The reader: a cross-encoder that reads the question and each candidate sentence together
(with the sentence before it and the document's title) and says how likely the sentence
holds the answer, how strongly the question has none, and where the answer phrase stands.

Its trained tensors ship as ``reader.safetensors`` beside this module (written by
``sco-qa train-reader``; provenance in ``reader.json``). At first use they are put over the
bundled MiniLM weights, exported to ONNX and quantised to int8, cached by the artifact's
hash like the question encoder.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import secrets
import shutil
import threading
import warnings
from collections.abc import Iterator, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

import numpy as np

from ..embedding.base import model_path, no_telemetry, quiet_root, session_options
from ..errors import ModelError
from ..records import Document
from .features import SentenceTable, needs_antecedent, same_paragraph
from .pairs import PairInput, PairText, batch_arrays, best_span, encode_pairs, span_gap
from .reader_net import load_weights

log = logging.getLogger(__name__)
WEIGHTS_FILE = Path(__file__).with_name("reader.safetensors")
META_FILE = Path(__file__).with_name("reader.json")
FORMAT = "sco-qa-reader/1"
INPUTS = ("input_ids", "attention_mask", "token_type_ids")
OUTPUTS = ("pair", "start", "end")


@lru_cache(maxsize=1)
def tokenizer() -> Any:
    """The bundled model's tokenizer, without special tokens, truncation or padding (the
    pair builder places them)."""
    from tokenizers import Tokenizer

    tok = Tokenizer.from_file(str(model_path() / "tokenizer.json"))
    tok.no_truncation()
    tok.no_padding()
    return tok


class Titles(Mapping[str, str]):
    """Documents' titles by id, read from the documents themselves (no copy)."""

    def __init__(self, documents: Mapping[str, Document]) -> None:
        self._docs = documents

    def __getitem__(self, doc_id: str) -> str:
        return self._docs[doc_id].title

    def __iter__(self) -> Iterator[str]:
        return iter(self._docs)

    def __len__(self) -> int:
        return len(self._docs)


def pair_text(
    table: SentenceTable, titles: Mapping[str, str], question: str, *, pos: int, layout: int
) -> PairText:
    """The texts the reader reads for the sentence at ``pos`` in pair layout ``layout``: the
    preceding sentence of its paragraph for every sentence (2) or only for one that opens by
    referring back to it (3)."""
    s = table.sentences[pos]
    prev = table.sentences[pos - 1] if pos > 0 else None
    wanted = layout == 2 or needs_antecedent(s.text)
    previous = prev.text if wanted and prev is not None and same_paragraph(prev, s) else ""
    return PairText(question, f"{titles.get(s.doc_id, '')}:", previous, s.text)


@dataclass(frozen=True)
class Read:
    """What the reader says of one candidate sentence."""

    pos: int
    answer: float  # logit: the sentence holds the answer
    null: float  # logit: the question has no answer (this pair's vote)
    phrase: tuple[int, int]  # the answer phrase's characters within the sentence
    phrase_p: float  # its probability under the start/end heads
    span: float = 0.0  # its best phrase's score over "no phrase" (``pairs.span_gap``)


def reads(run: Any, inputs: Sequence[PairInput], positions: Sequence[int]) -> list[Read]:
    """The reader's outputs for prepared pairs; ``run(feed) -> (pair, start, end)``."""
    if not inputs:
        return []
    pair, start, end = run(batch_arrays(inputs))
    out = []
    for row, (p, pos) in enumerate(zip(inputs, positions, strict=True)):
        first, last, prob = best_span(p, start[row], end[row])
        a, b = p.offsets[first - p.first][0], p.offsets[last - p.first][1]
        gap = span_gap(p, start[row], end[row])
        out.append(Read(pos, float(pair[row, 0]), float(pair[row, 1]), (a, b), prob, gap))
    return out


def artifact_hash(path: Path = WEIGHTS_FILE) -> str:
    """The SHA-256 of the reader's stored tensors."""
    return hashlib.sha256(path.read_bytes()).hexdigest()


def export_onnx(weights: Path, frozen: int, target: Path) -> None:
    """The reader (stored tensors over the bundled weights) as ONNX, then int8, at
    ``target``: written to temp files and renamed."""
    import torch

    no_telemetry()
    from onnxruntime.quantization import QuantType, quantize_dynamic

    net = load_weights(weights, frozen)
    dummy = tuple(torch.ones((2, 12), dtype=torch.long) for _ in INPUTS)
    axes = {n: {0: "batch", 1: "tokens"} for n in (*INPUTS, "start", "end")}
    axes["pair"] = {0: "batch"}
    tmp = target.with_name(f".{target.name}.{secrets.token_hex(4)}.fp32.tmp")
    with torch.inference_mode(), warnings.catch_warnings():
        warnings.simplefilter("ignore")
        torch.onnx.export(
            net,
            dummy,
            str(tmp),
            input_names=list(INPUTS),
            output_names=list(OUTPUTS),
            dynamic_axes=axes,
            opset_version=17,
            dynamo=False,
        )
    q = target.with_name(f".{target.name}.{secrets.token_hex(4)}.tmp")
    try:
        with quiet_root():
            quantize_dynamic(str(tmp), str(q), weight_type=QuantType.QInt8, per_channel=True)
        os.replace(q, target)
    finally:
        tmp.unlink(missing_ok=True)
        q.unlink(missing_ok=True)


class OnnxReader:
    """The reader in ONNX Runtime (int8), loaded once per process."""

    def __init__(
        self, weights: Path, frozen: int, cache_dir: Path, *, threads: int = 0, digest: str = ""
    ) -> None:
        self._weights = weights
        self._digest = digest or artifact_hash(weights)  # the 21 MB file is hashed once
        self._frozen = frozen
        self._cache_dir = cache_dir
        self._workers = threads or os.cpu_count() or 1
        self._lock = threading.Lock()
        self._session: Any = None
        self._runs = ThreadPoolExecutor(self._workers, thread_name_prefix="reader")  # lazy
        self.version = "reader-" + self._digest[:12]

    def onnx_path(self) -> Path:
        """The cached int8 model for these weights, exported on first use."""
        folder = self._cache_dir / f"reader-{self._digest[:16]}"
        target = folder / "reader.int8.onnx"
        if not target.is_file():
            folder.mkdir(parents=True, exist_ok=True)
            log.info("exporting the reader to ONNX in %s (once)", folder)
            try:
                export_onnx(self._weights, self._frozen, target)
            except Exception as exc:
                shutil.rmtree(folder, True)
                raise ModelError(
                    f"cannot prepare the reader in {self._cache_dir}: {exc}; set "
                    "SCO_QA_MODEL_CACHE_DIR to a writable folder"
                ) from exc
        return target

    def _open(self) -> Any:
        with self._lock:
            if self._session is None:
                no_telemetry()
                import onnxruntime as ort

                ort.disable_telemetry_events()
                opts = session_options(1, per_question=True)
                self._session = ort.InferenceSession(
                    str(self.onnx_path()), opts, providers=["CPUExecutionProvider"]
                )
            return self._session

    def warm(self) -> None:
        """Export (the first time) and open the session now."""
        self._open()

    def __call__(self, feed: dict[str, np.ndarray]) -> tuple[np.ndarray, ...]:
        """The reader's raw outputs (pair logits, start logits, end logits)."""
        out = self._open().run(list(OUTPUTS), feed)
        return tuple(np.asarray(o, dtype=np.float32) for o in out)

    def read(self, pairs: Sequence[PairText], positions: Sequence[int]) -> list[Read]:
        """What the reader says of each candidate. Each pair is a run of its own on one
        core, the runs spread over the cores (``threads``; 0: all): int8 activations are
        scaled per run, so in one padded batch a sentence's answer logit moved with the
        other candidates (by 0.16 on average, 4 candidates against 6, on held-out SQuAD
        questions), and 4 pairs take p50 24 ms this way against 35 ms as one batch on two
        threads (README "The reader")."""
        return self.read_inputs(encode_pairs(tokenizer(), pairs), positions)

    def read_inputs(self, inputs: Sequence[PairInput], positions: Sequence[int]) -> list[Read]:
        """``read`` for pairs already encoded: each a run of its own, spread over the cores."""
        runs = self._runs.map(
            lambda i: reads(self, [inputs[i]], [positions[i]]), range(len(inputs))
        )
        return [r for got in runs for r in got]


def read_meta(path: Path = META_FILE) -> dict[str, Any]:
    """The reader's provenance and policy (``reader.json``); a ModelError says how to make
    one."""
    try:
        data: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise ModelError(
            f"cannot read the reader's description {path} ({exc}); run `make train`"
        ) from None
    if data.get("format") != FORMAT:
        raise ModelError(f"{path} is not a {FORMAT} reader; run `make train` to write one")
    return data
