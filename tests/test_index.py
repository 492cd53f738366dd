import json
import os
from pathlib import Path

import pytest

from sco_qa import durable
from sco_qa.errors import IndexStateError, StaleIndexError
from sco_qa.index import (
    CURRENT,
    build_index,
    current_build,
    load_index,
    open_index,
    rollback,
)

from .samples import spec_for


@pytest.fixture()
def built(fake_embedder, tricky_dir: Path, tmp_path: Path) -> Path:
    out = tmp_path / "index"
    build_index(spec_for(tricky_dir, out), fake_embedder)
    return out


def test_manifest_describes_the_build(built: Path, tricky_dir: Path, fake_embedder) -> None:
    folder = current_build(built)
    manifest = json.loads((folder / "manifest.json").read_text())
    assert manifest["format"] == "sco-qa-index/1"
    assert manifest["model"] == {"name": fake_embedder.name, "dim": 64, "max_tokens": 256}
    assert set(manifest["corpus"]["documents"]) == {"plain", "tricky-notes"}
    assert manifest["chunking"] == {"max_chars": 700, "overlap": 1}
    assert manifest["counts"]["documents"] == 2
    assert {"passages.faiss", "chunks.json", "sentences.npy"} <= set(manifest["checksums"])
    assert not list(folder.rglob("*.pkl"))
    index = load_index(spec_for(tricky_dir, built), fake_embedder)
    assert len(index.chunks) == manifest["counts"]["passages"]
    ids = [s.sentence_id for s in index.sentences]
    assert index.store.get("sentences", ids).shape == (manifest["counts"]["sentences"], 64)


def test_missing_index_says_what_to_run(tricky_dir: Path, tmp_path: Path) -> None:
    with pytest.raises(IndexStateError, match="run `sco-qa index`"):
        load_index(spec_for(tricky_dir, tmp_path / "none"))


def test_stale_index_rebuilds_or_errors(built: Path, tricky_dir: Path, fake_embedder) -> None:
    (tricky_dir / "new.md").write_text("A new document about Bishkek.", encoding="utf-8")
    with pytest.raises(StaleIndexError, match=r"added \['new'\]"):
        load_index(spec_for(tricky_dir, built), fake_embedder)
    with pytest.raises(StaleIndexError):
        open_index(spec_for(tricky_dir, built), fake_embedder, rebuild=False)
    fresh = open_index(spec_for(tricky_dir, built), fake_embedder, rebuild=True)
    assert "new" in fresh.documents
    assert len(list(built.glob("build-*"))) == 2  # the previous build is kept


def test_truncated_faiss_file_is_named(built: Path, tricky_dir: Path, fake_embedder) -> None:
    faiss_file = current_build(built) / "passages.faiss"
    faiss_file.write_bytes(faiss_file.read_bytes()[:50])
    with pytest.raises(IndexStateError, match=r"passages\.faiss is corrupt") as err:
        load_index(spec_for(tricky_dir, built), fake_embedder)
    assert f"run `sco-qa index --index {built}`" in str(err.value)  # the folder in use
    with pytest.raises(IndexStateError):  # never silently rebuilt over
        open_index(spec_for(tricky_dir, built), fake_embedder, rebuild=True)


def test_corrupt_manifest(built: Path, tricky_dir: Path) -> None:
    (current_build(built) / "manifest.json").write_text("{not json")
    with pytest.raises(IndexStateError, match=r"manifest\.json is missing or unreadable"):
        load_index(spec_for(tricky_dir, built))


def test_interrupted_build_keeps_the_old_index(
    built: Path, tricky_dir: Path, fake_embedder, monkeypatch: pytest.MonkeyPatch
) -> None:
    before = (built / CURRENT).read_text()
    real_write = durable.write_synced

    def crash_on_faiss(path: Path, data: bytes) -> None:
        if path.name == "passages.faiss":
            real_write(path, data[: len(data) // 2])
            raise KeyboardInterrupt("simulated crash mid-write")
        real_write(path, data)

    monkeypatch.setattr(durable, "write_synced", crash_on_faiss)
    (tricky_dir / "plain.txt").write_text("Changed text.", encoding="utf-8")
    with pytest.raises(KeyboardInterrupt):
        build_index(spec_for(tricky_dir, built), fake_embedder)
    monkeypatch.undo()
    assert (built / CURRENT).read_text() == before
    assert len(list(built.glob("build-*"))) == 1
    with pytest.raises(StaleIndexError):  # the old index is intact, and knows it is old
        load_index(spec_for(tricky_dir, built), fake_embedder)


def test_model_mismatch(built: Path, tricky_dir: Path, fake_embedder) -> None:
    folder = current_build(built)
    manifest = json.loads((folder / "manifest.json").read_text())
    manifest["model"]["name"] = "another/model"
    (folder / "manifest.json").write_text(json.dumps(manifest))
    with pytest.raises(StaleIndexError, match="built with another/model"):
        load_index(spec_for(tricky_dir, built), fake_embedder)


def test_long_passages_are_reported(fake_embedder, tmp_path: Path, caplog) -> None:
    corpus = tmp_path / "c"
    corpus.mkdir()
    (corpus / "long.md").write_text(" ".join(["word"] * 400) + ".", encoding="utf-8")
    report = build_index(spec_for(corpus, tmp_path / "i"), fake_embedder)
    assert report.truncated == ("long#p1", "long#p1.s1")
    assert "longer than the model's 256 tokens" in caplog.text


def test_builds_kept_and_rollback(tricky_dir: Path, tmp_path: Path, fake_embedder) -> None:
    out = tmp_path / "index"
    names = []
    for n in range(4):
        (tricky_dir / "plain.txt").write_text(f"Version {n} of the plain file.", encoding="utf-8")
        names.append(build_index(spec_for(tricky_dir, out), fake_embedder).path.name)
    assert sorted(p.name for p in out.glob("build-*")) == sorted(names[1:])  # 3 kept
    assert current_build(out).name == names[3]
    assert rollback(out).name == names[2]
    assert (out / CURRENT).read_text().strip() == names[2]
    with pytest.raises(StaleIndexError):  # the folder now holds version 3
        load_index(spec_for(tricky_dir, out), fake_embedder)
    old = load_index(spec_for(tricky_dir, out), fake_embedder, check_corpus=False)
    assert old.documents["plain"].text == "Version 2 of the plain file."  # as it was built
    assert old.path.name == names[2]
    rollback(out)
    with pytest.raises(IndexStateError, match="no earlier build"):
        rollback(out)
    assert current_build(out).name == names[1]
    (tricky_dir / "plain.txt").write_text("Version 4.", encoding="utf-8")
    newest = build_index(spec_for(tricky_dir, out, keep_builds=2), fake_embedder).path.name
    assert sorted(p.name for p in out.glob("build-*")) == sorted([names[3], newest])


@pytest.mark.parametrize(
    ("edit", "field"),
    [
        (lambda m: m.pop("checksums"), "checksums"),
        (lambda m: m.update(model=None), "model"),
        (lambda m: m["corpus"].update(documents=None), "corpus.documents"),
        (lambda m: m["model"].update(dim="384"), "model.dim"),
        (lambda m: m["checksums"].update({"../../../etc/passwd": "x"}), "checksums"),
        (lambda m: m["counts"].update(passages=-1), "counts.passages"),
    ],
)
def test_hand_edited_manifests_are_named(built: Path, tricky_dir: Path, edit, field) -> None:
    path = current_build(built) / "manifest.json"
    manifest = json.loads(path.read_text())
    edit(manifest)
    path.write_text(json.dumps(manifest))
    with pytest.raises(IndexStateError, match=rf"manifest\.json: field {field}") as err:
        load_index(spec_for(tricky_dir, built))
    assert "sco-qa index --index" in str(err.value)


def test_broken_pointers_are_named(built: Path, tricky_dir: Path) -> None:
    pointer = built / CURRENT
    pointer.write_bytes(b"\xff\xfe")
    with pytest.raises(IndexStateError, match="CURRENT is unreadable"):
        load_index(spec_for(tricky_dir, built))
    pointer.unlink()
    pointer.mkdir()
    with pytest.raises(IndexStateError, match="CURRENT is not a file"):
        load_index(spec_for(tricky_dir, built))


@pytest.mark.parametrize(
    ("code", "message"),
    [
        ("ENOSPC", "no space left on the index volume"),
        ("EROFS", "is read-only: build the index elsewhere"),
        ("EACCES", "is read-only"),
        ("EIO", "cannot write the index in"),
    ],
)
def test_write_faults_say_what_to_do(
    tricky_dir: Path, tmp_path: Path, fake_embedder, monkeypatch, code: str, message: str
) -> None:
    import errno

    def failing(path: Path, data: bytes) -> None:
        raise OSError(getattr(errno, code), os.strerror(getattr(errno, code)))

    out = tmp_path / "index"
    build_index(spec_for(tricky_dir, out), fake_embedder)
    live = (out / CURRENT).read_text()
    (tricky_dir / "plain.txt").write_text("Changed.", encoding="utf-8")
    monkeypatch.setattr(durable, "write_synced", failing)
    with pytest.raises(IndexStateError, match=message):
        build_index(spec_for(tricky_dir, out), fake_embedder)
    assert (out / CURRENT).read_text() == live  # the live index is untouched
    assert len(list(out.glob("build-*"))) == 1  # nothing half-written is left


def test_builds_of_one_folder_never_race(tricky_dir: Path, tmp_path: Path, fake_embedder) -> None:
    from concurrent.futures import ThreadPoolExecutor

    out = tmp_path / "index"

    def builds(n: int) -> None:
        for _ in range(10):
            build_index(spec_for(tricky_dir, out), fake_embedder)

    with ThreadPoolExecutor(2) as pool:
        list(pool.map(builds, range(2)))  # any error would surface here
    assert len(list(out.glob("build-*"))) == 3
    assert load_index(spec_for(tricky_dir, out), fake_embedder).chunks
    assert not list(out.glob(".CURRENT.*.tmp"))


def test_no_wait_and_one_build_for_many_starters(
    tricky_dir: Path, tmp_path: Path, fake_embedder
) -> None:
    import threading
    from concurrent.futures import ThreadPoolExecutor

    from sco_qa.index import ensure_index
    from sco_qa.index.lock import build_lock

    out = tmp_path / "index"
    with build_lock(out):
        with pytest.raises(IndexStateError, match=r"another build of .* is running"):
            build_index(spec_for(tricky_dir, out), fake_embedder, wait=False)
        waiting = threading.Thread(
            target=build_index, args=(spec_for(tricky_dir, out), fake_embedder)
        )
        waiting.start()
        waiting.join(timeout=0.5)
        assert waiting.is_alive() and not (out / CURRENT).exists()  # it waits for the lock
    waiting.join(timeout=30)
    assert (out / CURRENT).exists()
    (tricky_dir / "plain.txt").write_text("A change.", encoding="utf-8")
    with ThreadPoolExecutor(4) as pool:  # replicas starting on a stale shared index
        spec = spec_for(tricky_dir, out)
        made = list(pool.map(lambda _: ensure_index(spec, lambda: fake_embedder), range(4)))
    assert made.count(True) == 1  # one built; the others waited and found it built


def test_a_crashed_switch_leaves_no_temp_pointer(
    tricky_dir: Path, tmp_path: Path, fake_embedder
) -> None:
    out = tmp_path / "index"
    build_index(spec_for(tricky_dir, out), fake_embedder)
    old = out / ".CURRENT.dead1234.tmp"
    old.write_text("build-gone\n")
    os.utime(old, (0, 0))  # left by a crash long ago
    fresh = out / ".CURRENT.live5678.tmp"
    fresh.write_text("build-being-switched\n")  # another builder, right now
    (tricky_dir / "plain.txt").write_text("Again.", encoding="utf-8")
    build_index(spec_for(tricky_dir, out), fake_embedder)
    assert not old.exists() and fresh.exists()
