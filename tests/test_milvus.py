"""Milvus Lite as the vector store, started by the test itself (a local file; no mock): the
golden set's answers through Milvus equal those through FAISS, exact search on both; the
build's collections are recorded, switched with the build and dropped with old builds."""

from __future__ import annotations

import json

import pytest

from sco_qa.config import load_settings
from sco_qa.engine import Engine
from sco_qa.index import IndexSpec, build_index
from sco_qa.index.milvus import MilvusStore, client

from .conftest import CORPUS

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def milvus_engine(engine: Engine, tmp_path_factory: pytest.TempPathFactory) -> Engine:
    folder = tmp_path_factory.mktemp("milvus")
    settings = load_settings(
        corpus_dir=CORPUS, index_dir=folder / "index", vector_store="milvus",
        milvus_uri=str(folder / "milvus.db"), keep_builds=1,
    )  # fmt: skip
    return Engine.open(settings, engine.embedder, answerer=engine.answerer)


def test_golden_answers_through_milvus_equal_those_through_faiss(
    engine: Engine, milvus_engine: Engine
) -> None:
    assert isinstance(milvus_engine.index.store, MilvusStore)
    rows = [json.loads(line) for line in (CORPUS / "golden.jsonl").open(encoding="utf-8")]
    for row in rows:
        a, b = engine.ask(row["question"]), milvus_engine.ask(row["question"])
        assert (a.answered, a.answer) == (b.answered, b.answer), row["question"]
        assert a.citations == b.citations
        assert a.confidence == pytest.approx(b.confidence, abs=1e-5)
        assert [h.chunk.chunk_id for h in a.passages] == [h.chunk.chunk_id for h in b.passages]


def test_each_build_has_its_collections_and_old_ones_are_dropped(milvus_engine: Engine) -> None:
    spec: IndexSpec = milvus_engine.spec
    record = milvus_engine.index.manifest.vector_store
    assert record is not None and record["index"] == "FLAT" and record["metric"] == "IP"
    first = dict(record["collections"])
    c = client(spec.milvus_uri, spec.milvus_token)
    assert all(c.has_collection(n) for n in first.values())
    report = build_index(spec, milvus_engine.embedder)
    assert report.embedded == 0  # the vectors come from the build before, by content
    new = milvus_engine.reloaded()
    second = dict(new.index.manifest.vector_store["collections"])  # type: ignore[index]
    assert second != first and all(c.has_collection(n) for n in second.values())
    assert not any(c.has_collection(n) for n in first.values())  # keep_builds=1
    assert new.index.store.count("sentences") == len(new.index.sentences)
