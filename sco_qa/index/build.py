"""Build an index: chunk, embed and write a new build folder, then switch ``CURRENT`` to it.
A build reuses the live build's passages, sentences and vectors of whatever is unchanged
(``reuse.py``), so it embeds only new or changed texts.

Layout::

    index/CURRENT                 name of the live build folder (switched atomically)
    index/build-<time>-<rand>/    manifest.json, chunks.json, passages.faiss,
                                  passages.npy, sentences.npy, bm25/…
"""

from __future__ import annotations

import errno
import io
import json
import logging
import os
import secrets
import shutil
import time
from collections.abc import Callable
from contextlib import nullcontext
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from .. import durable
from ..chunking import ChunkingParams, chunk_document
from ..corpus import CorpusRead, document_hash, read_corpus
from ..errors import CorpusError, IndexStateError, ScoQaError
from ..records import Chunk, Document, Sentence, Skipped
from .dense import build_dense
from .kinds import Stored, Versions, versions_of
from .lexical import LexicalIndex
from .lock import build_lock
from .manifest import (
    CURRENT,
    FORMAT,
    MANIFEST,
    Manifest,
    corpus_section,
    read_manifest,
    rebuild_hint,
)
from .reuse import Previous, previous_build, read_records, text_key
from .spec import IndexSpec
from .store import store_kind

if TYPE_CHECKING:
    from ..embedding import Embedder

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class BuildReport:
    """What ``build_index`` made."""

    path: Path
    documents: int
    passages: int
    sentences: int
    seconds: float
    truncated: tuple[str, ...]
    skipped: tuple[Skipped, ...] = ()
    files: tuple[str, ...] = ()  # the documents' source files
    embedded: int = 0  # distinct texts embedded by this build
    reused: int = 0  # texts whose vectors were taken from the build before
    texts: int = 0  # passages and sentences in all
    full_reason: str = ""  # why nothing could be reused, when nothing was


# ---------------------------------------------------------------- writing


def _npy_bytes(array: np.ndarray) -> bytes:
    buf = io.BytesIO()
    np.save(buf, np.ascontiguousarray(array, dtype=np.float32), allow_pickle=False)
    return buf.getvalue()


def _records_json(chunks: list[Chunk], sentences: list[Sentence]) -> bytes:
    # the records' fields are plain values: a shallow copy is what ``asdict`` would give,
    # at a fraction of its cost (it recurses into every field)
    payload = {"chunks": [dict(vars(c)) for c in chunks],
               "sentences": [dict(vars(s)) for s in sentences]}  # fmt: skip
    return json.dumps(payload, ensure_ascii=False).encode("utf-8")


def _documents_json(docs: list[Document]) -> bytes:
    """The documents as indexed, so that a build can be served (or rolled back to) whatever
    the corpus folder holds by then."""
    payload = [
        {
            "doc_id": d.doc_id,
            "title": d.title,
            "text": d.text,
            "metadata": dict(d.metadata),
            "path": d.path,
            "pages": list(d.pages),
        }
        for d in docs
    ]
    return json.dumps(payload, ensure_ascii=False).encode("utf-8")


def _truncated(
    embedder: Embedder, chunks: list[Chunk], sentences: list[Sentence], previous: Previous | None
) -> list[str]:
    """Ids of the passages and sentences longer than the model's input (a text the live build
    holds is known already: only new ones are tokenised)."""

    def too_long(text: str) -> bool:
        known = previous.too_long(text) if previous is not None else None
        return embedder.count_tokens(text) > embedder.max_tokens if known is None else known

    over = [c.chunk_id for c in chunks if too_long(c.text)]
    over += [s.sentence_id for s in sentences if too_long(s.text)]
    for item in over:
        log.warning(
            "%s is longer than the model's %d tokens; its end is not embedded",
            item,
            embedder.max_tokens,
        )
    return over


Progress = Callable[[str], None]
#: texts embedded between two progress reports
PROGRESS_STEP = 512


def quiet(message: str) -> None:
    """Progress nobody watches: to the debug log."""
    log.debug("%s", message)


def _embed(embedder: Embedder, texts: list[str], *, total: int, progress: Progress) -> np.ndarray:
    """Vectors of ``texts`` (the new ones of ``total``), embedded in steps of similar length
    so that progress can be told; with the embedder's worker processes when it has them and
    the texts repay starting them."""
    order = sorted(range(len(texts)), key=lambda i: len(texts[i]))
    out = np.empty((len(texts), embedder.dim), dtype=np.float32)
    workers = getattr(embedder, "workers", None)
    with workers(len(texts)) if workers else nullcontext():
        for start in range(0, len(texts), PROGRESS_STEP):
            if start:
                progress(f"embedded {start:,} of {len(texts):,} new texts (of {total:,})")
            step = order[start : start + PROGRESS_STEP]
            out[step] = embedder.embed([texts[i] for i in step], progress=True)
    return out


@dataclass(frozen=True)
class Embedded:
    """Every text's vector, and how many were embedded now and how many reused."""

    vectors: np.ndarray
    embedded: int
    reused: int


def embed_new(
    embedder: Embedder, texts: list[str], previous: Previous | None, *, progress: Progress
) -> Embedded:
    """Vectors of ``texts`` in order: each text the live build holds is taken from it, and
    each other distinct text is embedded once (a one-sentence passage is its sentence)."""
    out = np.empty((len(texts), embedder.dim), dtype=np.float32)
    todo: dict[bytes, list[int]] = {}
    reused = 0
    for i, text in enumerate(texts):
        old = previous.vector(text) if previous is not None else None
        if old is not None:
            out[i] = old
            reused += 1
        else:
            todo.setdefault(text_key(text), []).append(i)
    progress(f"embedding {len(todo):,} new of {len(texts):,} texts")
    fresh = _embed(
        embedder, [texts[rows[0]] for rows in todo.values()], total=len(texts), progress=progress
    )
    for vector, rows in zip(fresh, todo.values(), strict=True):
        out[rows] = vector
    return Embedded(out, len(todo), reused)


def chunk_new(
    docs: list[Document], params: ChunkingParams, previous: Previous | None
) -> tuple[list[Chunk], list[Sentence]]:
    """Every document's passages and sentences, in document order: those of a document the
    live build holds with the same content (same id, same hash) are taken from it."""
    chunks: list[Chunk] = []
    sentences: list[Sentence] = []
    for doc in docs:
        old = previous.records.get(doc.doc_id) if previous is not None else None
        if old is not None and old[0] == document_hash(doc):
            c, s = old[1], old[2]
        else:
            c, s = chunk_document(doc, params)
        chunks.extend(c)
        sentences.extend(s)
    return chunks, sentences


def _write_build(
    folder: Path,
    spec: IndexSpec,
    corpus: CorpusRead,
    embedder: Embedder,
    *,
    previous: Previous | None,
    progress: Progress,
    written: Written,
) -> tuple[dict[str, Any], list[str]]:
    docs = corpus.documents
    chunks, sentences = chunk_new(docs, spec.chunking, previous)
    progress(f"{len(docs)} documents cut into {len(chunks)} passages, {len(sentences)} sentences")
    truncated = _truncated(embedder, chunks, sentences, previous)
    texts = [c.text for c in chunks] + [s.text for s in sentences]
    got = embed_new(embedder, texts, previous, progress=progress)
    progress("writing the index files")
    pvec, svec = got.vectors[: len(chunks)], got.vectors[len(chunks) :]
    artifacts = {
        "chunks.json": _records_json(chunks, sentences),
        "documents.json": _documents_json(docs),
        "passages.npy": _npy_bytes(pvec),
        "sentences.npy": _npy_bytes(svec),
    }
    artifacts["passages.faiss"], dense = build_dense(pvec, embedder.dim, spec.ann_threshold)
    external = _write_store(spec, folder.name, chunks, sentences, pvec=pvec, svec=svec,
                            model=embedder.name, previous=previous, written=written)  # fmt: skip
    for name, data in artifacts.items():
        durable.write_synced(folder / name, data)
    (folder / "bm25").mkdir()
    bm25_files = LexicalIndex.build([c.text for c in chunks]).save(folder / "bm25")
    for path in bm25_files:
        with open(path, "rb+") as fh:
            os.fsync(fh.fileno())
    names = [*artifacts, *(f"bm25/{p.name}" for p in bm25_files)]
    manifest = {
        "format": FORMAT,
        "model": {"name": embedder.name, "dim": embedder.dim, "max_tokens": embedder.max_tokens},
        "corpus": corpus_section(corpus),
        "chunking": asdict(spec.chunking),
        "spec": spec.recorded(),
        "dense_index": asdict(dense),
        "counts": {"documents": len(docs), "passages": len(chunks), "sentences": len(sentences)},
        "embedding": {
            "texts": len(texts),
            "embedded": got.embedded,
            "reused": got.reused,
            "from_build": previous.build if previous is not None else "",
        },
        "answer_scorer": spec.scorer,
        "truncated": truncated,
        "vector_store": external,
        "built_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "checksums": {n: durable.sha256_file(folder / n) for n in sorted(names)},
    }
    return manifest, truncated


def _write_store(
    spec: IndexSpec, build: str, chunks: list[Chunk], sentences: list[Sentence], *,
    pvec: np.ndarray, svec: np.ndarray, model: str, previous: Previous | None, written: Written,
) -> dict[str, Any] | None:  # fmt: skip
    """With an external vector store: the build's vectors written into it (only what it does
    not hold already, when it shares vectors between builds), flushed and loaded, and its
    record for the manifest; None with FAISS (the build's own files). What is written is
    noted in ``written``, for a failed build to take back (``_forget``)."""
    if spec.vector_store == "faiss":
        return None
    kind = store_kind(spec)
    versions = versions_of(chunks, sentences, model)
    store = kind.create(spec, build=build, dim=pvec.shape[1], versions=versions,
                        previous=_stored(spec, previous, model))  # fmt: skip
    if store is None:
        return None
    written.record, written.versions = store.record(), versions
    store.upsert("passages", [c.chunk_id for c in chunks], pvec, [c.doc_id for c in chunks])
    store.upsert(
        "sentences", [s.sentence_id for s in sentences], svec, [s.doc_id for s in sentences]
    )
    store.finish()
    record: dict[str, Any] = store.record()
    return record


@dataclass
class Written:
    """What a build has written into an external store so far."""

    record: dict[str, Any] | None = None
    versions: Versions | None = None


def _forget(spec: IndexSpec, written: Written) -> None:
    """Take back what a failed build wrote into an external store, but for what a finished
    build holds (a failure is logged: the live build serves either way)."""
    if written.record is None or written.versions is None:
        return
    try:
        keep = [_versions(p) for p in builds(spec.index_dir)]
        store_kind(spec).drop(spec, record=written.record, versions=written.versions, keep=keep)
    except (OSError, ValueError, ScoQaError) as exc:
        log.warning("could not take back the stored vectors of a failed build: %s", exc)


def _stored(spec: IndexSpec, previous: Previous | None, model: str) -> Stored | None:
    """The live build's store record and versions, when it kept its vectors in a store."""
    if previous is None:
        return None
    try:
        record = read_manifest(spec.index_dir / previous.build).vector_store
    except IndexStateError:
        return None
    if not record:
        return None
    chunks = [c for _, cs, _ in previous.records.values() for c in cs]
    sentences = [s for _, _, ss in previous.records.values() for s in ss]
    return record, versions_of(chunks, sentences, model)


def build_index(
    spec: IndexSpec,
    embedder: Embedder,
    *,
    corpus: CorpusRead | None = None,
    full: bool = False,
    wait: bool = True,
    locked: bool = False,
    progress: Progress = quiet,
) -> BuildReport:
    """Chunk, embed and index ``spec``'s corpus folder (or ``corpus`` already read from it);
    switch its index folder to the new build atomically.

    The build reuses what the live build holds for unchanged documents and texts (``full``:
    embeds everything anew); the result is the index a full build writes. One build of a
    folder runs at a time: the next waits (or, without ``wait``, fails; ``locked``: the
    caller holds the build lock already). A corpus with no readable document is an error.
    """
    corpus = read_corpus(spec.corpus_dir, spec.max_file_bytes) if corpus is None else corpus
    if not corpus.documents:
        raise CorpusError(no_documents(spec.corpus_dir, corpus))
    if locked:
        return _build(spec, corpus, embedder, full=full, progress=progress)
    with build_lock(spec.index_dir, wait):
        return _build(spec, corpus, embedder, full=full, progress=progress)


def _build(
    spec: IndexSpec, corpus: CorpusRead, embedder: Embedder, *, full: bool, progress: Progress
) -> BuildReport:
    started = time.perf_counter()
    index_dir = spec.index_dir
    _remove_unfinished(index_dir)
    previous, why = (
        (None, "a full build was asked for")
        if full
        else previous_build(
            index_dir, model=embedder.name, dim=embedder.dim, chunking=spec.chunking
        )
    )
    folder = index_dir / f"build-{time.strftime('%Y%m%d-%H%M%S')}-{secrets.token_hex(3)}"
    written = Written()
    try:
        index_dir.mkdir(parents=True, exist_ok=True)
        folder.mkdir()
        manifest, truncated = _write_build(
            folder, spec, corpus, embedder, previous=previous, progress=progress, written=written
        )
        durable.write_synced(folder / MANIFEST, json.dumps(manifest, indent=2).encode("utf-8"))
        durable.fsync_dir(folder)
        _switch_current(index_dir, folder.name)
    except BaseException as exc:
        shutil.rmtree(folder, ignore_errors=True)
        _forget(spec, written)
        if isinstance(exc, OSError):
            raise IndexStateError(write_error(index_dir, exc)) from None
        raise
    remove_old_builds(index_dir, spec.keep_builds, spec=spec)
    counts, made = manifest["counts"], manifest["embedding"]
    return BuildReport(
        folder,
        counts["documents"],
        counts["passages"],
        counts["sentences"],
        time.perf_counter() - started,
        tuple(truncated),
        tuple(corpus.skipped),
        tuple(d.path for d in corpus.documents),
        embedded=made["embedded"],
        reused=made["reused"],
        texts=made["texts"],
        full_reason=why,
    )


def write_error(index_dir: Path, exc: OSError) -> str:
    """What a failed write to the index folder says, with what to do."""
    if exc.errno == errno.ENOSPC:
        return (
            f"no space left on the index volume ({index_dir}): free some space, or set "
            "SCO_QA_INDEX_DIR to a folder on another volume"
        )
    if exc.errno in (errno.EROFS, errno.EACCES, errno.EPERM):
        return (
            f"the index folder {index_dir} is read-only: build the index elsewhere "
            "(SCO_QA_INDEX_DIR), or set SCO_QA_AUTO_REBUILD=false to serve the index it holds"
        )
    return (
        f"cannot write the index in {index_dir} ({exc.strerror or exc}); {rebuild_hint(index_dir)}"
    )


def no_documents(corpus_dir: Path, corpus: CorpusRead) -> str:
    """What an empty corpus error says."""
    skipped = "".join(f"\n  {s.path}: {s.reason}" for s in corpus.skipped)
    return (
        f"no document to index in {corpus_dir}: add .md, .txt, .pdf, .html or .docx files "
        f"(or pass --corpus DIR)" + (f"; skipped:{skipped}" if skipped else "")
    )


def _switch_current(index_dir: Path, name: str) -> None:
    durable.replace_atomically(index_dir / CURRENT, (name + "\n").encode("utf-8"))


def builds(index_dir: Path) -> list[Path]:
    """The finished build folders (those with a manifest), oldest first."""
    found = [p for p in index_dir.glob("build-*") if (p / MANIFEST).is_file()]
    return sorted(found, key=lambda p: ((p / MANIFEST).stat().st_mtime_ns, p.name))


def remove_old_builds(index_dir: Path, keep: int, *, spec: IndexSpec | None = None) -> list[Path]:
    """Remove finished builds beyond the ``keep`` newest (the live one never), with their
    vectors in an external store (given ``spec``) but for those a kept build holds, and
    pointer temp files a crash left behind (older than a minute, so not another build's)."""
    live = (index_dir / CURRENT).read_text(encoding="utf-8").strip()
    done = builds(index_dir)
    old = [p for p in done[:-keep] if p.name != live]
    if old and spec is not None and spec.vector_store != "faiss":
        kept = [p for p in done if p not in old]
        _drop_external(spec, old, kept)
    for path in old:
        shutil.rmtree(path, ignore_errors=True)
    for tmp in index_dir.glob(f".{CURRENT}.*.tmp"):
        if time.time() - tmp.stat().st_mtime > 60:
            tmp.unlink(missing_ok=True)
    return old


def _drop_external(spec: IndexSpec, old: list[Path], kept: list[Path]) -> None:
    """Drop the vectors the ``old`` builds keep in an external store that no ``kept`` build
    holds (a failure is logged: the build folders go anyway)."""
    try:
        keep = [_versions(p) for p in kept]
        for folder in old:
            manifest = read_manifest(folder)
            if manifest.vector_store:
                versions = _versions(folder, manifest)
                store_kind(spec).drop(spec, record=manifest.vector_store, versions=versions,
                                      keep=keep)  # fmt: skip
    except (OSError, ValueError, ScoQaError) as exc:
        log.warning("could not drop the stored vectors of old builds: %s", exc)


def _versions(folder: Path, manifest: Manifest | None = None) -> Versions:
    """A finished build's versions (its manifest, when already read, given)."""
    chunks, sentences = read_records(folder)
    model = (manifest or read_manifest(folder)).model.name
    return versions_of(chunks, sentences, model)


def remove_unfinished_builds(index_dir: Path) -> list[Path]:
    """Remove build folders a crash left without a manifest (only while no build runs:
    the build lock is taken without waiting, and nothing is removed when another holds
    it)."""
    if not index_dir.is_dir():
        return []
    try:
        with build_lock(index_dir, wait=False):
            return _remove_unfinished(index_dir)
    except IndexStateError:
        return []


def _remove_unfinished(index_dir: Path) -> list[Path]:
    """(With the build lock held.) Build folders without a manifest: a crash's."""
    debris = [p for p in index_dir.glob("build-*") if not (p / MANIFEST).is_file()]
    for path in debris:
        shutil.rmtree(path, ignore_errors=True)
        log.warning("removed %s: a build that never finished (no manifest)", path)
    return debris


def rollback(index_dir: Path) -> Path:
    """Point ``CURRENT`` at the build before the live one; an IndexStateError when there is
    none. Returns the build now live."""
    pointer = index_dir / CURRENT
    if not pointer.is_file():
        raise IndexStateError(f"no index in {index_dir}: nothing to roll back")
    live = pointer.read_text(encoding="utf-8").strip()
    names = [p.name for p in builds(index_dir)]
    if live not in names or names.index(live) == 0:
        raise IndexStateError(
            f"no earlier build in {index_dir} to roll back to (builds kept: {len(names)})"
        )
    previous = index_dir / names[names.index(live) - 1]
    _switch_current(index_dir, previous.name)
    return previous
