"""Build, save and load the index: a folder of plain files plus ``manifest.json``.

Layout::

    index/CURRENT                 name of the live build folder (switched atomically)
    index/build-<time>-<rand>/    manifest.json, chunks.json, passages.faiss,
                                  passages.npy, sentences.npy, bm25/…
"""

from __future__ import annotations

import json
import logging
import os
import secrets
import shutil
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from . import files
from .chunking import ChunkingParams, chunk_corpus
from .corpus import corpus_fingerprint, document_hash, load_corpus
from .dense import DenseBackend, build_dense, load_dense
from .errors import IndexStateError, StaleIndexError
from .lexical import LexicalIndex
from .records import Chunk, Document, Sentence

if TYPE_CHECKING:
    from .embedding import Embedder

FORMAT = "sco-qa-index/1"
ANN_THRESHOLD = 50_000  # passages from which IVF replaces exact search (benchmarks/scale.py)
CURRENT = "CURRENT"
REBUILD = "run `sco-qa index` to rebuild it"
log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Index:
    """Everything search and answering need, loaded in memory (vectors memory-mapped)."""

    manifest: dict[str, Any]
    documents: dict[str, Document]
    chunks: list[Chunk]
    sentences: list[Sentence]
    dense: DenseBackend  # FAISS over the passage vectors
    passage_vectors: np.ndarray
    sentence_vectors: np.ndarray
    lexical: LexicalIndex
    sentence_pos: dict[str, int] = field(default_factory=dict)
    chunk_sentences: dict[str, tuple[int, ...]] = field(default_factory=dict)  # positions
    path: Path = Path()


@dataclass(frozen=True)
class BuildReport:
    """What ``build_index`` made."""

    path: Path
    documents: int
    passages: int
    sentences: int
    seconds: float
    truncated: tuple[str, ...]


# ---------------------------------------------------------------- writing


def _npy_bytes(array: np.ndarray) -> bytes:
    import io

    buf = io.BytesIO()
    np.save(buf, np.ascontiguousarray(array, dtype=np.float32), allow_pickle=False)
    return buf.getvalue()


def _records_json(chunks: list[Chunk], sentences: list[Sentence]) -> bytes:
    payload = {"chunks": [asdict(c) for c in chunks], "sentences": [asdict(s) for s in sentences]}
    return json.dumps(payload, ensure_ascii=False).encode("utf-8")


def _truncated(embedder: Embedder, chunks: list[Chunk], sentences: list[Sentence]) -> list[str]:
    over = [c.chunk_id for c in chunks if embedder.count_tokens(c.text) > embedder.max_tokens]
    over += [
        s.sentence_id for s in sentences if embedder.count_tokens(s.text) > embedder.max_tokens
    ]
    for item in over:
        log.warning(
            "%s is longer than the model's %d tokens; its end is not embedded",
            item,
            embedder.max_tokens,
        )
    return over


def _write_build(
    folder: Path,
    docs: list[Document],
    embedder: Embedder,
    params: ChunkingParams,
    ann_threshold: int,
) -> tuple[dict[str, Any], list[str]]:
    chunks, sentences = chunk_corpus(docs, params)
    truncated = _truncated(embedder, chunks, sentences)
    pvec = embedder.embed([c.text for c in chunks], progress=True)
    svec = embedder.embed([s.text for s in sentences], progress=True)
    artifacts = {
        "chunks.json": _records_json(chunks, sentences),
        "passages.npy": _npy_bytes(pvec),
        "sentences.npy": _npy_bytes(svec),
    }
    artifacts["passages.faiss"], dense = build_dense(pvec, embedder.dim, ann_threshold)
    for name, data in artifacts.items():
        files.write_synced(folder / name, data)
    (folder / "bm25").mkdir()
    bm25_files = LexicalIndex.build([c.text for c in chunks]).save(folder / "bm25")
    for path in bm25_files:
        with open(path, "rb+") as fh:
            os.fsync(fh.fileno())
    names = [*artifacts, *(f"bm25/{p.name}" for p in bm25_files)]
    manifest = {
        "format": FORMAT,
        "model": {"name": embedder.name, "dim": embedder.dim, "max_tokens": embedder.max_tokens},
        "corpus": {
            "fingerprint": corpus_fingerprint(docs),
            "documents": {d.doc_id: document_hash(d) for d in docs},
        },
        "chunking": asdict(params),
        "dense_index": asdict(dense),
        "counts": {"documents": len(docs), "passages": len(chunks), "sentences": len(sentences)},
        "built_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "checksums": {n: files.sha256_file(folder / n) for n in sorted(names)},
    }
    return manifest, truncated


def build_index(
    corpus_dir: Path,
    index_dir: Path,
    embedder: Embedder,
    params: ChunkingParams = ChunkingParams(),
    ann_threshold: int = ANN_THRESHOLD,
) -> BuildReport:
    """Chunk, embed and index ``corpus_dir``; switch ``index_dir`` to it atomically."""
    started = time.perf_counter()
    docs = load_corpus(corpus_dir)
    index_dir.mkdir(parents=True, exist_ok=True)
    folder = index_dir / f"build-{time.strftime('%Y%m%d-%H%M%S')}-{secrets.token_hex(3)}"
    folder.mkdir()
    try:
        manifest, truncated = _write_build(folder, docs, embedder, params, ann_threshold)
        files.write_synced(folder / "manifest.json", json.dumps(manifest, indent=2).encode("utf-8"))
        files.fsync_dir(folder)
        _switch_current(index_dir, folder.name)
    except BaseException:
        shutil.rmtree(folder, ignore_errors=True)
        raise
    _remove_old_builds(index_dir, keep=folder.name)
    counts = manifest["counts"]
    return BuildReport(
        folder,
        counts["documents"],
        counts["passages"],
        counts["sentences"],
        time.perf_counter() - started,
        tuple(truncated),
    )


def _switch_current(index_dir: Path, name: str) -> None:
    files.replace_atomically(index_dir / CURRENT, (name + "\n").encode("utf-8"))


def _remove_old_builds(index_dir: Path, keep: str) -> None:
    for path in index_dir.glob("build-*"):
        if path.name != keep and path.is_dir():
            shutil.rmtree(path, ignore_errors=True)


# ---------------------------------------------------------------- reading


def current_build(index_dir: Path) -> Path:
    """The live build folder; an IndexStateError when there is none."""
    pointer = index_dir / CURRENT
    if not pointer.is_file():
        raise IndexStateError(f"no index in {index_dir}: run `sco-qa index` to build it")
    folder = index_dir / pointer.read_text(encoding="utf-8").strip()
    if not folder.is_dir():
        raise IndexStateError(f"{pointer} names a missing folder {folder.name}; {REBUILD}")
    return folder


def read_manifest(folder: Path) -> dict[str, Any]:
    path = folder / "manifest.json"
    try:
        manifest = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise IndexStateError(f"{path} is missing or unreadable ({exc}); {REBUILD}") from None
    if not isinstance(manifest, dict) or manifest.get("format") != FORMAT:
        raise IndexStateError(f"{path} is not a {FORMAT} manifest; {REBUILD}")
    return manifest


def _verify_checksums(folder: Path, manifest: dict[str, Any]) -> None:
    for name, expected in manifest["checksums"].items():
        path = folder / name
        if not path.is_file():
            raise IndexStateError(f"index file {path} is missing; {REBUILD}")
        if files.sha256_file(path) != expected:
            raise IndexStateError(
                f"index file {path} is corrupt or truncated (checksum mismatch); {REBUILD}"
            )


def _check_model(manifest: dict[str, Any], embedder: Embedder | None) -> None:
    if embedder is None:
        return
    model = manifest["model"]
    if model["name"] != embedder.name or model["dim"] != embedder.dim:
        raise StaleIndexError(
            f"the index was built with {model['name']} ({model['dim']}d), not "
            f"{embedder.name} ({embedder.dim}d); {REBUILD}"
        )


def _check_fresh(manifest: dict[str, Any], docs: list[Document], corpus_dir: Path) -> None:
    if manifest["corpus"]["fingerprint"] != corpus_fingerprint(docs):
        built = set(manifest["corpus"]["documents"])
        now = {d.doc_id for d in docs}
        changed = sorted(
            d.doc_id
            for d in docs
            if manifest["corpus"]["documents"].get(d.doc_id) not in (None, document_hash(d))
        )
        detail = f"added {sorted(now - built)}, removed {sorted(built - now)}, changed {changed}"
        raise StaleIndexError(
            f"the corpus in {corpus_dir} changed since the index was built ({detail}); {REBUILD}"
        )


def _load_arrays(folder: Path) -> tuple[Any, np.ndarray, np.ndarray]:
    try:
        dense = load_dense(folder / "passages.faiss")
        # plain ndarray views of the mapped files: shared between processes, fast to index
        pvec = np.asarray(np.load(folder / "passages.npy", mmap_mode="r", allow_pickle=False))
        svec = np.asarray(np.load(folder / "sentences.npy", mmap_mode="r", allow_pickle=False))
    except Exception as exc:  # FAISS raises RuntimeError, numpy ValueError/OSError
        raise IndexStateError(
            f"index files in {folder} cannot be read ({exc}); {REBUILD}"
        ) from None
    return dense, pvec, svec


def _load_records(folder: Path, docs: dict[str, Document]) -> tuple[list[Chunk], list[Sentence]]:
    try:
        raw = json.loads((folder / "chunks.json").read_text(encoding="utf-8"))
        chunks = [Chunk(**{**c, "sentence_ids": tuple(c["sentence_ids"])}) for c in raw["chunks"]]
        sentences = [Sentence(**s) for s in raw["sentences"]]
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise IndexStateError(
            f"{folder / 'chunks.json'} is unreadable ({exc}); {REBUILD}"
        ) from None
    records: list[Chunk | Sentence] = [*chunks, *sentences]
    for rec in records:
        doc = docs.get(rec.doc_id)
        if doc is None or doc.text[rec.start : rec.end] != rec.text:
            raise StaleIndexError(f"{folder / 'chunks.json'} does not match the corpus; {REBUILD}")
    return chunks, sentences


def load_index(corpus_dir: Path, index_dir: Path, embedder: Embedder | None = None) -> Index:
    """Load and verify the live index against the corpus; never returns a partial index."""
    folder = current_build(index_dir)
    manifest = read_manifest(folder)
    _check_model(manifest, embedder)
    _verify_checksums(folder, manifest)
    docs = load_corpus(corpus_dir)
    _check_fresh(manifest, docs, corpus_dir)
    by_id = {d.doc_id: d for d in docs}
    chunks, sentences = _load_records(folder, by_id)
    dense, pvec, svec = _load_arrays(folder)
    lexical = LexicalIndex.load(folder / "bm25", len(chunks))
    if dense.ntotal != len(chunks) or len(pvec) != len(chunks) or len(svec) != len(sentences):
        raise IndexStateError(f"index files in {folder} disagree on their sizes; {REBUILD}")
    sentence_pos = {s.sentence_id: i for i, s in enumerate(sentences)}
    return Index(
        manifest,
        by_id,
        chunks,
        sentences,
        dense,
        pvec,
        svec,
        lexical,
        sentence_pos,
        {c.chunk_id: tuple(sentence_pos[s] for s in c.sentence_ids) for c in chunks},
        folder,
    )


def open_index(
    corpus_dir: Path,
    index_dir: Path,
    embedder: Embedder,
    params: ChunkingParams = ChunkingParams(),
    rebuild: bool = True,
    ann_threshold: int = ANN_THRESHOLD,
) -> Index:
    """Load the index, building it when missing, stale or cut differently (if ``rebuild``).

    A corrupt index is never rebuilt silently: the error names the file.
    """
    try:
        index = load_index(corpus_dir, index_dir, embedder)
    except StaleIndexError as exc:
        if not rebuild:
            raise
        log.warning("%s; rebuilding", exc)
    except IndexStateError:
        if not rebuild or (index_dir / CURRENT).exists():
            raise
        log.warning("no index in %s; building it", index_dir)
    else:
        if index.manifest["chunking"] == asdict(params) or not rebuild:
            return index
        log.warning("chunking settings changed since the index was built; rebuilding")
    build_index(corpus_dir, index_dir, embedder, params, ann_threshold)
    return load_index(corpus_dir, index_dir, embedder)
