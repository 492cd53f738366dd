"""Embedding worker processes for large builds: ``Workers`` starts a few (each ``python -m
sco_qa.embedding.worker``: the fp32 model, one thread) and splits texts between them.

They are plain child processes talking over pipes, not ``multiprocessing``: a child never
imports the caller's main module, so a build started from any script, notebook or server
works the same. A request is one JSON line (a list of texts); the answer is the row count
(8 bytes, little-endian) and the float32 vectors, or ``ERROR`` and a message line.
"""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import IO, Any

import numpy as np

from ..errors import ModelError

FAILED = (2**64 - 1).to_bytes(8, "little")


class Workers:
    """``count`` worker processes, each embedding with one thread."""

    def __init__(self, count: int, *, cache_dir: Path, batch_tokens: int, dim: int) -> None:
        self.dim = dim
        command = [sys.executable, "-m", "sco_qa.embedding.worker",
                   "--cache-dir", str(cache_dir), "--batch-tokens", str(batch_tokens)]  # fmt: skip
        self._procs = [
            subprocess.Popen(command, stdin=subprocess.PIPE, stdout=subprocess.PIPE)
            for _ in range(count)
        ]

    def __len__(self) -> int:
        return len(self._procs)

    def embed(self, parts: Sequence[Sequence[str]]) -> list[np.ndarray]:
        """The vectors of each part, the parts embedded at once, one worker each."""
        busy = self._procs[: len(parts)]
        try:
            for proc, texts in zip(busy, parts, strict=True):
                stdin: IO[bytes] = proc.stdin  # type: ignore[assignment]
                stdin.write(json.dumps(list(texts), ensure_ascii=False).encode() + b"\n")
                stdin.flush()
            return [self._read(proc, len(texts)) for proc, texts in zip(busy, parts, strict=True)]
        except OSError as exc:
            raise ModelError(self._advice(f"an embedding worker process stopped ({exc})")) from exc

    def _read(self, proc: subprocess.Popen[bytes], expected: int) -> np.ndarray:
        stdout: IO[bytes] = proc.stdout  # type: ignore[assignment]
        head = stdout.read(8)
        if head == FAILED:
            raise ModelError(self._advice(stdout.readline().decode("utf-8", "replace").strip()))
        if len(head) != 8 or int.from_bytes(head, "little") != expected:
            raise ModelError(self._advice(f"an embedding worker process exited ({proc.poll()})"))
        data = stdout.read(expected * self.dim * 4)
        if len(data) != expected * self.dim * 4:
            raise ModelError(self._advice("an embedding worker process stopped mid-answer"))
        return np.frombuffer(data, dtype=np.float32).reshape(expected, self.dim).copy()

    @staticmethod
    def _advice(what: str) -> str:
        return f"{what}; set SCO_QA_EMBED_PROCESSES=1 to embed in this process only"

    def close(self) -> None:
        """End the workers (their input closed, then waited for)."""
        for proc in self._procs:
            if proc.stdin is not None:
                proc.stdin.close()
        for proc in self._procs:
            try:
                proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
            if proc.stdout is not None:
                proc.stdout.close()


def serve(embedder: Any, stdin: IO[bytes], stdout: IO[bytes]) -> None:
    """Answer requests until the input ends."""
    for line in stdin:
        try:
            vectors = np.ascontiguousarray(embedder.embed(json.loads(line)), dtype=np.float32)
        except Exception as exc:  # the parent reports it; this process goes on
            stdout.write(FAILED + f"{type(exc).__name__}: {exc}".replace("\n", " ").encode())
            stdout.write(b"\n")
        else:
            stdout.write(len(vectors).to_bytes(8, "little") + vectors.tobytes())
        stdout.flush()
