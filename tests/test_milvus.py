"""Milvus Lite as the vector store, started by the test itself (a local file; no mock): the
golden set's answers through Milvus equal those through FAISS, exact search on both; the
builds of a collection share its Milvus collections, write only the rows of changed texts, and
the rows no kept build holds are deleted with old builds."""

from __future__ import annotations

import errno
import json
import shutil
from pathlib import Path

import numpy as np
import pytest

from sco_qa import durable
from sco_qa.config import load_settings
from sco_qa.corpus import read_corpus
from sco_qa.engine import Engine
from sco_qa.errors import IndexStateError
from sco_qa.index import IndexSpec, build_index
from sco_qa.index.load import rebuild_reason
from sco_qa.index.milvus import NAME_TAG, Milvus, MilvusStore, client, unpack

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


def _rows(c, name: str) -> int:
    got = c.query(name, filter="", output_fields=["count(*)"], consistency_level="Strong")
    return int(got[0]["count(*)"])


NOTE = "# Parking\n\nVisitors park in the {where} garage behind the library. It opens at {hour}.\n"


def _corpus_with_a_note(tmp_path: Path) -> tuple[Path, Path]:
    """The article and a short note (which the tests change) in a folder of their own."""
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    shutil.copy(CORPUS / "sco-kazakhstan.md", corpus)
    note = corpus / "parking.md"
    note.write_text(NOTE.format(where="blue", hour="seven"), encoding="utf-8")
    return corpus, note


def test_builds_write_only_what_changed_and_drop_what_no_kept_build_holds(
    engine: Engine, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    corpus, note = _corpus_with_a_note(tmp_path)
    settings = load_settings(
        corpus_dir=corpus, index_dir=tmp_path / "index", vector_store="milvus",
        milvus_uri=str(tmp_path / "milvus.db"), keep_builds=2,
    )  # fmt: skip
    first = Engine.open(settings, engine.embedder, answerer=engine.answerer)
    spec: IndexSpec = first.spec
    record = first.index.manifest.vector_store
    assert record is not None and record["index"] == "FLAT" and record["metric"] == "IP"
    names = dict(record["collections"])
    c = client(spec.milvus_uri, spec.milvus_token)
    n_p, n_s = len(first.index.chunks), len(first.index.sentences)
    assert record["rows_written"] == {"passages": n_p, "sentences": n_s}
    rows = c.query(names["sentences"], filter="", output_fields=["id", "vector", "packed"],
                   limit=20, consistency_level="Strong")  # fmt: skip
    stored = np.asarray([r["vector"] for r in rows], dtype=np.float32)
    assert np.array_equal(unpack([r["packed"] for r in rows], 384), stored)  # the exact copy
    ids = [str(r["id"]).rpartition("@")[0] for r in rows]
    assert np.array_equal(first.index.store.get("sentences", ids), stored)
    assert (_rows(c, names["passages"]), _rows(c, names["sentences"])) == (n_p, n_s)

    build_index(spec, first.embedder)  # nothing changed: nothing written
    same = first.reloaded().index.manifest.vector_store
    assert same is not None and same["rows_written"] == {"passages": 0, "sentences": 0}
    assert same["rows_already_stored"] == {"passages": n_p, "sentences": n_s}

    note.write_text(NOTE.format(where="red", hour="seven"), encoding="utf-8")
    build_index(spec, first.embedder)
    second = first.reloaded()
    written = second.index.manifest.vector_store["rows_written"]  # type: ignore[index]
    # one passage and one sentence of the note changed: only they are written
    assert written == {"passages": 1, "sentences": 1}
    assert dict(second.index.manifest.vector_store["collections"]) == names  # type: ignore[index]
    old = first.ask("Which garage do visitors park in?")
    assert old.answered and "blue garage" in old.answer  # a build still kept keeps its rows
    assert "red garage" in second.ask("Which garage do visitors park in?").answer

    note.write_text(NOTE.format(where="red", hour="eight"), encoding="utf-8")
    build_index(spec, first.embedder)  # the first build goes (keep_builds=2): its own rows too
    third = first.reloaded()
    assert (_rows(c, names["passages"]), _rows(c, names["sentences"])) == (n_p + 1, n_s + 1)
    assert "eight" in third.ask("When does the garage open?").answer
    assert third.index.store.count("sentences") == len(third.index.sentences)

    note.write_text(NOTE.format(where="green", hour="nine"), encoding="utf-8")
    real = durable.write_synced

    def no_manifest(path: Path, data: bytes) -> None:
        if path.name == "manifest.json":
            raise OSError(errno.EIO, "disk failed")
        real(path, data)

    monkeypatch.setattr(durable, "write_synced", no_manifest)
    with pytest.raises(IndexStateError):
        build_index(spec, first.embedder)  # fails after writing its new rows
    monkeypatch.undo()
    assert (_rows(c, names["passages"]), _rows(c, names["sentences"])) == (n_p + 1, n_s + 1)
    after = first.reloaded()  # the live build still serves, none of its rows taken back
    assert after.index.path == third.index.path
    assert "eight" in after.ask("When does the garage open?").answer


@pytest.mark.parametrize("layout", [None, "rows-by-content"])
def test_a_build_of_a_former_layout_is_rebuilt_and_its_collections_dropped(
    engine: Engine, tmp_path: Path, layout: str | None
) -> None:
    settings = load_settings(
        corpus_dir=CORPUS, index_dir=tmp_path / "index", vector_store="milvus",
        milvus_uri=str(tmp_path / "milvus.db"), keep_builds=1,
    )  # fmt: skip
    first = Engine.open(settings, engine.embedder, answerer=engine.answerer)
    spec, folder = first.spec, first.index.path
    c = client(spec.milvus_uri, spec.milvus_token)
    shared = dict(first.index.manifest.vector_store["collections"])  # type: ignore[index]
    if layout is None:  # two collections a build
        own = {k: f"scoqa_default_{folder.name.replace('-', '_')}_{k}" for k in shared}
    else:  # shared by the builds, rows without a packed copy
        own = {k: n.replace(f"_{NAME_TAG}_", "_") for k, n in shared.items()}
    for name in own.values():
        Milvus._make(c, spec, name, 384)
    manifest = folder / "manifest.json"
    data = json.loads(manifest.read_text(encoding="utf-8"))
    data["vector_store"] = {"kind": "milvus", "collections": own, "index": "FLAT"}
    if layout is not None:
        data["vector_store"]["layout"] = layout
    manifest.write_text(json.dumps(data), encoding="utf-8")
    corpus = read_corpus(CORPUS, spec.max_file_bytes)
    assert rebuild_reason(spec, corpus, first.embedder) == Milvus.outdated(data["vector_store"])
    second = Engine.open(settings, engine.embedder, answerer=engine.answerer)  # rebuilt
    assert second.index.path != folder and not folder.exists()
    assert not any(c.has_collection(n) for n in own.values())
    assert all(c.has_collection(n) for n in shared.values())
    assert second.ask("Where did the leaders meet?").answered


def test_two_index_folders_on_one_milvus_keep_their_rows_apart(
    engine: Engine, tmp_path: Path
) -> None:
    corpus, note = _corpus_with_a_note(tmp_path)

    def open_on(folder: str) -> Engine:
        settings = load_settings(
            corpus_dir=corpus, index_dir=tmp_path / folder, vector_store="milvus",
            milvus_uri=str(tmp_path / "milvus.db"), keep_builds=1,
        )  # fmt: skip
        return Engine.open(settings, engine.embedder, answerer=engine.answerer)

    a, b = open_on("a"), open_on("b")  # one collection name ("default"), two deployments
    names_b = dict(b.index.manifest.vector_store["collections"])  # type: ignore[index]
    assert dict(a.index.manifest.vector_store["collections"]) != names_b  # type: ignore[index]
    for hour in ("eight", "nine"):  # A's old builds go, and with them their own rows
        note.write_text(NOTE.format(where="red", hour=hour), encoding="utf-8")
        build_index(a.spec, a.embedder)
    c = client(b.spec.milvus_uri, b.spec.milvus_token)
    assert _rows(c, names_b["passages"]) == len(b.index.chunks)
    assert _rows(c, names_b["sentences"]) == len(b.index.sentences)
    assert "blue garage" in b.ask("Which garage do visitors park in?").answer
