"""The vector-store seam, fast: the FAISS store by the protocol, and a store of one's own
(a deterministic fake implementing the protocol, entered by its dotted path) giving the
answers FAISS gives; old builds' vectors dropped; a change of store rebuilds."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from sco_qa.answer import load_scorer
from sco_qa.config import load_settings
from sco_qa.engine import Engine
from sco_qa.errors import ConfigError
from sco_qa.index import IndexSpec, build_index, rebuild_reason
from sco_qa.index.milvus import pack, packed_length, unpack
from sco_qa.index.store import FaissStore, store_kind

from .fakes import DictStore, FakeEmbedder

QUESTIONS = ("What was the budget in billion?", "Who chairs the meeting?", "Where is Bishkek?")


def _unit(rows: list[list[float]]) -> np.ndarray:
    a = np.asarray(rows, dtype=np.float32)
    return a / np.linalg.norm(a, axis=1, keepdims=True)


def test_the_faiss_store_by_its_protocol() -> None:
    vecs = _unit([[1, 0, 0], [0, 1, 0], [1, 1, 0]])
    store = FaissStore(None, {"passages": vecs, "sentences": vecs[:1]},
                       {"passages": ["a", "b", "c"], "sentences": ["a.s1"]},
                       {"passages": ["d1", "d2", "d2"], "sentences": ["d1"]})  # fmt: skip
    assert [i for i, _ in store.search("passages", vecs[0], 2)] == ["a", "c"]
    assert [i for i, _ in store.search("passages", vecs[0], 2, docs={"d2"})] == ["c", "b"]
    np.testing.assert_array_equal(store.get("passages", ["c", "a"]), vecs[[2, 0]])
    store.upsert("passages", ["b", "e"], _unit([[0, 0, 1], [1, 0, 0.1]]), ["d2", "d3"])
    assert store.count("passages") == 4
    assert store.search("passages", _unit([[0, 0, 1]])[0], 1)[0][0] == "b"  # replaced
    store.delete("passages", ["a", "e"])
    assert store.count("passages") == 2 and store.search("passages", vecs[0], 1)[0][0] == "c"


def _settings(corpus: Path, index: Path, **more: object):
    return load_settings(corpus_dir=corpus, index_dir=index, **more)


def test_a_store_of_ones_own_gives_the_answers_faiss_gives(
    tricky_dir: Path, tmp_path: Path
) -> None:
    scorer = load_scorer()
    faiss = Engine.open(_settings(tricky_dir, tmp_path / "f"), FakeEmbedder(), answerer=scorer)
    own = _settings(tricky_dir, tmp_path / "o", vector_store="tests.fakes:DictKind")
    other = Engine.open(own, FakeEmbedder(), answerer=scorer)
    assert isinstance(other.index.store, DictStore)  # no vector of it held by the index
    record = other.index.manifest.vector_store
    assert record is not None and record["kind"] == "tests.fakes:DictKind"
    for q in QUESTIONS:
        a, b = faiss.ask(q), other.ask(q)
        assert (a.answer, a.citations) == (b.answer, b.citations)
        assert a.confidence == pytest.approx(b.confidence, abs=1e-6)
        assert [h.chunk.chunk_id for h in a.passages] == [h.chunk.chunk_id for h in b.passages]


def test_old_builds_take_their_stored_vectors_with_them(tricky_dir: Path, tmp_path: Path) -> None:
    settings = _settings(tricky_dir, tmp_path / "i", vector_store="tests.fakes:DictKind",
                         keep_builds=2)  # fmt: skip
    spec = IndexSpec.from_settings(settings)
    before = set(DictStore.stores)
    made = []
    for n in range(4):
        (tricky_dir / "plain.txt").write_text(f"Version {n} of the plain file.", encoding="utf-8")
        made.append(build_index(spec, FakeEmbedder()).path.name)
    kept = {name for name in set(DictStore.stores) - before}
    assert kept == {f"default/{b}" for b in made[2:]}


def test_a_change_of_store_is_a_rebuild_and_bad_stores_are_named(
    tricky_dir: Path, tmp_path: Path
) -> None:
    spec = IndexSpec.from_settings(_settings(tricky_dir, tmp_path / "i"))
    report = build_index(spec, FakeEmbedder())
    moved = IndexSpec.from_settings(
        _settings(tricky_dir, tmp_path / "i", vector_store="tests.fakes:DictKind")
    )
    from sco_qa.corpus import read_corpus

    corpus = read_corpus(tricky_dir)
    assert (
        rebuild_reason(moved, corpus) == "the vector store changed (faiss → tests.fakes:DictKind)"
    )
    again = build_index(moved, FakeEmbedder())
    assert again.embedded == 0 and again.reused == report.texts  # the vectors, not re-embedded
    assert rebuild_reason(moved, corpus) is None
    for bad in ("nowhere.at_all:Store", "tests.fakes:Missing", "justaword"):
        wrong = IndexSpec.from_settings(_settings(tricky_dir, tmp_path / "i", vector_store=bad))
        with pytest.raises(ConfigError, match=r"give faiss, milvus or package\.module:Class"):
            store_kind(wrong)


def test_packed_vectors_come_back_bit_for_bit() -> None:
    rng = np.random.default_rng(7)
    for dim in (1, 2, 3, 384):
        v = rng.normal(size=(5, dim)).astype(np.float32)
        texts = [pack(row) for row in v]
        assert all(len(t) == packed_length(dim) for t in texts)
        assert np.array_equal(unpack(texts, dim), v)
    assert unpack([], 384).shape == (0, 384)
