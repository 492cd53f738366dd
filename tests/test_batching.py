"""Micro-batching: deterministic batches and errors, driven by a blocking fake encode."""

import threading
import time
from concurrent.futures import ThreadPoolExecutor

import numpy as np
import pytest

from sco_qa.embedding.batching import MicroBatcher


class Gate:
    """An encode whose first call waits until released, so that others queue behind it."""

    def __init__(self, fail: bool = False) -> None:
        self.release = threading.Event()
        self.calls: list[list[str]] = []
        self.fail = fail

    def __call__(self, texts: list[str]) -> np.ndarray:
        if not self.calls:
            self.calls.append(texts)
            self.release.wait(5)
        else:
            self.calls.append(texts)
        if self.fail:
            raise RuntimeError("model failed")
        return np.array([[float(len(t))] for t in texts])


def _queue_behind_the_first(gate: Gate, batcher: MicroBatcher, texts: list[str]) -> list:
    pool = ThreadPoolExecutor(len(texts))
    first = pool.submit(batcher.submit, texts[0])
    while not gate.calls:
        time.sleep(0.001)
    rest = [pool.submit(batcher.submit, t) for t in texts[1:]]
    while len(batcher._pending) < len(texts) - 1:
        time.sleep(0.001)
    gate.release.set()
    pool.shutdown(wait=True)
    return [first, *rest]


def test_waiting_texts_form_one_batch() -> None:
    gate = Gate()
    batcher = MicroBatcher(gate)
    texts = ["a", "bb", "ccc", "dddd", "eeeee"]
    futures = _queue_behind_the_first(gate, batcher, texts)
    assert [f.result()[0] for f in futures] == [1.0, 2.0, 3.0, 4.0, 5.0]
    assert (batcher.batches, batcher.items) == (2, 5)
    assert gate.calls[0] == ["a"] and sorted(gate.calls[1]) == ["bb", "ccc", "dddd", "eeeee"]


def test_max_batch_is_kept() -> None:
    gate = Gate()
    batcher = MicroBatcher(gate, max_batch=2)
    futures = _queue_behind_the_first(gate, batcher, ["a", "b", "c", "d", "e"])
    assert all(f.result().shape == (1,) for f in futures)
    assert all(len(c) <= 2 for c in gate.calls) and batcher.items == 5


def test_an_error_reaches_every_waiter() -> None:
    gate = Gate(fail=True)
    batcher = MicroBatcher(gate)
    futures = _queue_behind_the_first(gate, batcher, ["a", "b", "c", "d"])
    for f in futures:
        with pytest.raises(RuntimeError, match="model failed"):
            f.result()
    assert batcher.batches == 2 and not batcher._pending and not batcher._busy
    gate.fail = False
    assert batcher.submit("after") is not None  # the batcher still works afterwards


def test_runs_keep_to_the_token_budget() -> None:
    from sco_qa.embedding.batching import by_tokens

    lengths = [3, 4, 4, 5, 9, 10, 30]
    runs = by_tokens(lengths, 20)
    assert runs == [(0, 4), (4, 6), (6, 7)]  # 4 × 5, 2 × 10, then 30 alone (over budget)
    assert [i for lo, hi in runs for i in range(lo, hi)] == list(range(len(lengths)))
    assert all((hi - lo) * lengths[hi - 1] <= 20 or hi - lo == 1 for lo, hi in runs)
    assert by_tokens([], 20) == []
    assert by_tokens([2] * 5, 1000) == [(0, 5)]


def test_a_worker_answers_vectors_or_the_error_and_goes_on() -> None:
    import io
    import json

    from sco_qa.embedding.workers import FAILED, serve

    class Fake:
        def embed(self, texts: list[str]) -> np.ndarray:
            if "boom" in texts:
                raise ValueError("cannot embed boom")
            return np.array([[float(len(t)), 1.0] for t in texts], dtype=np.float32)

    requests = b"".join(json.dumps(t).encode() + b"\n" for t in (["ab", "c"], ["boom"], ["xyz"]))
    out = io.BytesIO()
    serve(Fake(), io.BytesIO(requests), out)
    data = io.BytesIO(out.getvalue())
    assert int.from_bytes(data.read(8), "little") == 2
    assert np.frombuffer(data.read(16), dtype=np.float32).tolist() == [2.0, 1.0, 1.0, 1.0]
    assert data.read(8) == FAILED and b"cannot embed boom" in data.readline()
    assert int.from_bytes(data.read(8), "little") == 1  # the worker went on after the error
    assert np.frombuffer(data.read(8), dtype=np.float32).tolist() == [3.0, 1.0]
