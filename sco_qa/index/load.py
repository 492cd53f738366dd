"""Load the live index, verified against its manifest and the corpus; and the one policy of
when a missing or stale index is (re)built."""

from __future__ import annotations

import json
import logging
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from functools import lru_cache
from pathlib import Path
from types import MappingProxyType
from typing import TYPE_CHECKING, Any

import numpy as np

from ..corpus import CorpusRead, read_corpus
from ..errors import IndexStateError, StaleIndexError
from ..records import Chunk, Document, Sentence
from .build import Progress, build_index, quiet
from .dense import load_dense
from .kinds import versions_of
from .lexical import LexicalIndex
from .lock import build_lock
from .manifest import (
    CURRENT,
    Manifest,
    check_fresh,
    check_model,
    read_manifest,
    rebuild_hint,
    verify_checksums,
)
from .reuse import read_records
from .spec import IndexSpec
from .store import FaissStore, VectorStore, outdated, store_kind

if TYPE_CHECKING:
    from ..embedding import Embedder

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Index:
    """Everything search and answering need: the records in memory, the vectors behind the
    store (the build's files memory-mapped, or an external engine)."""

    manifest: Manifest
    documents: dict[str, Document]
    chunks: list[Chunk]
    sentences: list[Sentence]
    store: VectorStore
    lexical: LexicalIndex
    chunk_sentences: dict[str, tuple[int, ...]] = field(default_factory=dict)  # positions
    path: Path = Path()
    chunk_position: dict[str, int] = field(default_factory=dict)  # passage id → position


@lru_cache(maxsize=64)
def build_bytes(folder: Path) -> int:
    """About what a build takes in memory once loaded: its files' sizes (vectors, FAISS,
    BM25, documents and records are each held or mapped whole). Cached: a finished build
    never changes, and readiness probes ask at every call."""
    return sum(p.stat().st_size for p in folder.rglob("*") if p.is_file())


def current_build(index_dir: Path) -> Path:
    """The live build folder; an IndexStateError when there is none."""
    pointer = index_dir / CURRENT
    if pointer.exists() and not pointer.is_file():
        raise IndexStateError(f"{pointer} is not a file; {rebuild_hint(index_dir)}")
    if not pointer.is_file():
        raise IndexStateError(f"no index in {index_dir}: run `sco-qa index` to build it")
    try:
        name = pointer.read_text(encoding="utf-8").strip()
    except (OSError, UnicodeDecodeError) as exc:
        raise IndexStateError(
            f"{pointer} is unreadable ({exc}); {rebuild_hint(index_dir)}"
        ) from None
    if not name or "/" in name or name in (".", ".."):
        raise IndexStateError(f"{pointer} does not name a build; {rebuild_hint(index_dir)}")
    folder = index_dir / name
    if not folder.is_dir():
        raise IndexStateError(
            f"{pointer} names a missing folder {folder.name}; {rebuild_hint(index_dir)}"
        )
    return folder


def _load_arrays(folder: Path) -> tuple[Any, np.ndarray, np.ndarray]:
    try:
        dense = load_dense(folder / "passages.faiss")
        # plain ndarray views of the mapped files: shared between processes, fast to index
        pvec = np.asarray(np.load(folder / "passages.npy", mmap_mode="r", allow_pickle=False))
        svec = np.asarray(np.load(folder / "sentences.npy", mmap_mode="r", allow_pickle=False))
    except Exception as exc:  # FAISS raises RuntimeError, numpy ValueError/OSError
        raise IndexStateError(
            f"index files in {folder} cannot be read ({exc}); {rebuild_hint(folder.parent)}"
        ) from None
    return dense, pvec, svec


def _load_records(folder: Path, docs: dict[str, Document]) -> tuple[list[Chunk], list[Sentence]]:
    path = folder / "chunks.json"
    hint = rebuild_hint(folder.parent)
    try:
        chunks, sentences = read_records(folder)
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise IndexStateError(f"{path} is unreadable ({exc}); {hint}") from None
    records: list[Chunk | Sentence] = [*chunks, *sentences]
    for rec in records:
        doc = docs.get(rec.doc_id)
        if doc is None or doc.text[rec.start : rec.end] != rec.text:
            raise StaleIndexError(f"{path} does not match the corpus; {hint}")
    return chunks, sentences


def _load_documents(folder: Path) -> dict[str, Document] | None:
    """The documents stored with a build (None for builds made before they were)."""
    path = folder / "documents.json"
    if not path.is_file():
        return None
    try:
        raw = json.loads(path.read_text(encoding="utf-8"))
        docs = [
            Document(
                **{
                    **d,
                    "metadata": MappingProxyType(dict(d["metadata"])),
                    "pages": tuple(d["pages"]),
                }
            )
            for d in raw
        ]
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise IndexStateError(
            f"{path} is unreadable ({exc}); {rebuild_hint(folder.parent)}"
        ) from None
    return {d.doc_id: d for d in docs}


def load_index(
    spec: IndexSpec,
    embedder: Embedder | None = None,
    *,
    corpus: CorpusRead | None = None,
    check_corpus: bool = True,
) -> Index:
    """Load and verify the live index; never returns a partial index. With ``check_corpus``
    the corpus folder must still be what the index was built from (a StaleIndexError
    otherwise); without it the build is served as it was made (a rollback, a switch)."""
    index_dir = spec.index_dir
    folder = current_build(index_dir)
    manifest = read_manifest(folder)
    check_model(manifest, embedder, index_dir)
    verify_checksums(folder, manifest)
    if check_corpus:
        corpus = _read(spec) if corpus is None else corpus
        check_fresh(manifest, corpus, corpus_dir=spec.corpus_dir, index_dir=index_dir)
    by_id = _load_documents(folder)
    if by_id is None:
        corpus = _read(spec) if corpus is None else corpus
        by_id = {d.doc_id: d for d in corpus.documents}
    chunks, sentences = _load_records(folder, by_id)
    store = _open_store(spec, folder, manifest, chunks, sentences)
    lexical = LexicalIndex.load(folder / "bm25", len(chunks))
    if store.count("passages") != len(chunks) or store.count("sentences") != len(sentences):
        raise IndexStateError(
            f"the vectors of {folder} disagree with its records on their number; "
            f"{rebuild_hint(index_dir)}"
        )
    position = {s.sentence_id: i for i, s in enumerate(sentences)}
    chunk_sentences = {c.chunk_id: tuple(position[s] for s in c.sentence_ids) for c in chunks}
    chunk_position = {c.chunk_id: i for i, c in enumerate(chunks)}
    return Index(manifest, by_id, chunks, sentences, store, lexical, chunk_sentences, folder,
                 chunk_position)  # fmt: skip


def _open_store(
    spec: IndexSpec, folder: Path, manifest: Manifest, chunks: list[Chunk],
    sentences: list[Sentence],
) -> VectorStore:  # fmt: skip
    """The build's vectors: its own files (FAISS), or the external store its manifest names
    (a StaleIndexError when the build was made for another store than the spec's)."""
    record = manifest.vector_store
    made = record.get("kind", "faiss") if record else "faiss"
    if made != spec.vector_store:
        error = StaleIndexError(
            f"the live build keeps its vectors in {made}, not {spec.vector_store}; "
            f"{rebuild_hint(folder.parent)}"
        )
        error.change = f"the vector store changed ({made} → {spec.vector_store})"
        raise error
    if made != "faiss":
        versions = versions_of(chunks, sentences, manifest.model.name)
        return store_kind(spec).open(spec, record=record or {}, versions=versions)
    dense, pvec, svec = _load_arrays(folder)
    if dense.ntotal != len(chunks) or len(pvec) != len(chunks) or len(svec) != len(sentences):
        raise IndexStateError(
            f"index files in {folder} disagree on their sizes; {rebuild_hint(folder.parent)}"
        )
    ids = {
        "passages": [c.chunk_id for c in chunks],
        "sentences": [s.sentence_id for s in sentences],
    }
    docs = {"passages": [c.doc_id for c in chunks], "sentences": [s.doc_id for s in sentences]}
    return FaissStore(dense, {"passages": pvec, "sentences": svec}, ids, docs)  # type: ignore[arg-type]


def _read(spec: IndexSpec) -> CorpusRead:
    return read_corpus(spec.corpus_dir, spec.max_file_bytes)


def rebuild_reason(
    spec: IndexSpec, corpus: CorpusRead, embedder: Embedder | None = None
) -> str | None:
    """Why the live index must be (re)built, or None when it serves this corpus as it is.

    A damaged index (a pointer to nothing, an unreadable manifest) is never rebuilt
    silently: that raises an IndexStateError naming the file.
    """
    index_dir = spec.index_dir
    if not (index_dir / CURRENT).exists():
        return f"no index in {index_dir}"
    manifest = read_manifest(current_build(index_dir))
    made = manifest.vector_store.get("kind", "faiss") if manifest.vector_store else "faiss"
    if made != spec.vector_store:
        return f"the vector store changed ({made} → {spec.vector_store})"
    why = outdated(spec, manifest.vector_store)
    if why:
        return why
    try:
        check_model(manifest, embedder, index_dir)
        check_fresh(manifest, corpus, corpus_dir=spec.corpus_dir, index_dir=index_dir)
    except StaleIndexError as exc:
        return exc.change or str(exc)
    if manifest.chunking.model_dump() != asdict(spec.chunking):
        return "chunking settings changed since the index was built"
    return None


def ensure_index(
    spec: IndexSpec,
    embedder: Callable[[], Embedder],
    *,
    corpus: CorpusRead | None = None,
    model: Embedder | None = None,
    progress: Progress | None = None,
) -> bool:
    """Build the index when it is missing or stale (or built by another ``model``); True
    when a build was made. ``embedder`` is called only when a build is needed. Processes
    that start together on one stale index: one builds, the others wait, then find it built."""
    corpus = _read(spec) if corpus is None else corpus
    if rebuild_reason(spec, corpus, model) is None:
        return False
    with build_lock(spec.index_dir, on_wait=progress):
        reason = rebuild_reason(spec, corpus, model)
        if reason is None:  # another process built it while this one waited
            return False
        log.warning("%s; building the index", reason)
        build_index(spec, embedder(), corpus=corpus, locked=True, progress=progress or quiet)
    return True


def open_index(
    spec: IndexSpec,
    embedder: Embedder,
    *,
    corpus: CorpusRead | None = None,
    rebuild: bool | None = None,
    progress: Progress | None = None,
) -> Index:
    """Load the index, building it first when missing, stale or cut differently (when
    ``rebuild``, by default the spec's ``auto_rebuild``); otherwise a missing or stale index
    is an error."""
    corpus = _read(spec) if corpus is None else corpus
    if spec.auto_rebuild if rebuild is None else rebuild:
        ensure_index(spec, lambda: embedder, corpus=corpus, model=embedder, progress=progress)
    return load_index(spec, embedder, corpus=corpus)
