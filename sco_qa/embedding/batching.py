"""Batching: micro-batches of single-text encodes that arrive together from several request
threads, run as one model call, and runs of texts cut to a token budget (``by_tokens``).
Micro-batches wait on nothing on purpose: texts that arrive while a batch runs
form the next one, so a lone request pays nothing and a busy server batches by itself."""

from __future__ import annotations

import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

import numpy as np


@dataclass
class _Item:
    text: str
    result: np.ndarray | None = None
    error: BaseException | None = None
    done: bool = False


@dataclass
class MicroBatcher:
    """``submit(text)`` → the text's vector, from a shared batch where others are waiting."""

    encode: Callable[[list[str]], np.ndarray]
    max_batch: int = 32
    batches: int = 0  # how many model calls were made (for tests and benchmarks)
    items: int = 0  # how many texts they held
    _cond: threading.Condition = field(default_factory=threading.Condition)
    _pending: list[_Item] = field(default_factory=list)
    _busy: bool = False

    def submit(self, text: str) -> np.ndarray:
        """The vector of ``text``, encoded alone or with texts waiting beside it."""
        item = _Item(text)
        with self._cond:
            self._pending.append(item)
            while not item.done and self._busy:
                self._cond.wait()
            if item.done:
                return self._result(item)
            self._busy = True  # this thread runs the next batch
            batch = self._take(item)
        self._run(batch)
        with self._cond:
            self._busy = False
            self._cond.notify_all()
        return self._result(item)

    def _take(self, own: _Item) -> list[_Item]:
        batch = self._pending[: self.max_batch]
        if own not in batch:
            batch = [*batch[: self.max_batch - 1], own]
        self._pending = [i for i in self._pending if i not in batch]
        return batch

    def _run(self, batch: list[_Item]) -> None:
        try:
            vectors = self.encode([i.text for i in batch])
            for i, vec in zip(batch, vectors, strict=True):
                i.result = vec
        except BaseException as exc:  # every waiter gets the error, not a hang
            for i in batch:
                i.error = exc
        for i in batch:
            i.done = True
        self.batches += 1
        self.items += len(batch)

    @staticmethod
    def _result(item: _Item) -> np.ndarray:
        if item.error is not None:
            raise item.error
        assert item.result is not None
        return item.result


def by_tokens(lengths: Sequence[int], budget: int) -> list[tuple[int, int]]:
    """Cut texts of ascending token ``lengths`` into runs ``[lo, hi)`` whose padded size
    (texts × the longest) stays within ``budget`` tokens; a text longer than the budget runs
    alone."""
    runs: list[tuple[int, int]] = []
    lo = 0
    for i, n in enumerate(lengths):
        if i > lo and (i - lo + 1) * n > budget:
            runs.append((lo, i))
            lo = i
    if lo < len(lengths):
        runs.append((lo, len(lengths)))
    return runs
