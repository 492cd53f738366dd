"""The build's ``manifest.json``: what it records, and the checks made against it on load."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import TYPE_CHECKING, Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from .. import durable
from ..corpus import CorpusRead, corpus_fingerprint, document_hash
from ..errors import IndexStateError, StaleIndexError

if TYPE_CHECKING:
    from ..embedding import Embedder

FORMAT = "sco-qa-index/1"
MANIFEST = "manifest.json"
#: the file naming the live build folder (switched atomically)
CURRENT = "CURRENT"


def rebuild_hint(index_dir: Path, corpus_dir: Path | None = None) -> str:
    """What to run to rebuild the index in ``index_dir`` (of ``corpus_dir`` when known)."""
    corpus = f"--corpus {corpus_dir} " if corpus_dir is not None else ""
    return f"run `sco-qa index {corpus}--index {index_dir}` to rebuild it"


_FILE_NAME = re.compile(r"^(bm25/)?[\w.-]+$")


class _Strict(BaseModel):
    model_config = ConfigDict(strict=True, extra="allow")


class _Model(_Strict):
    name: str
    dim: int = Field(gt=0)
    max_tokens: int = Field(gt=0)


class _Corpus(_Strict):
    fingerprint: str
    documents: dict[str, str]  # document id → content hash
    files: dict[str, dict[str, str]] = Field(default_factory=dict)
    skipped: list[dict[str, str]] = Field(default_factory=list)


class _Chunking(_Strict):
    max_chars: int
    overlap: int


class _Counts(_Strict):
    documents: int = Field(ge=0)
    passages: int = Field(ge=0)
    sentences: int = Field(ge=0)


class _Embedding(_Strict):
    """How many of the build's texts were embedded, and how many reused from the build
    before it (``sco-qa index`` reports both)."""

    texts: int = Field(ge=0)
    embedded: int = Field(ge=0)
    reused: int = Field(ge=0)
    from_build: str = ""


class Manifest(_Strict):
    """A build's manifest, as read and checked; a checksum names a file inside its build
    folder."""

    format: str
    model: _Model
    corpus: _Corpus
    chunking: _Chunking
    counts: _Counts
    built_at: str
    checksums: dict[str, str]
    dense_index: dict[str, Any] = Field(default_factory=dict)
    answer_scorer: str = ""
    spec: dict[str, Any] = Field(default_factory=dict)
    embedding: _Embedding | None = None
    truncated: list[str] | None = None  # ids of passages and sentences cut to the model's input
    vector_store: dict[str, Any] | None = None  # an external store's record; None: FAISS files

    @field_validator("checksums")
    @classmethod
    def _inside(cls, value: dict[str, str]) -> dict[str, str]:
        for name in value:
            if not _FILE_NAME.match(name) or ".." in name.split("/"):
                raise ValueError(f"{name!r} is not a file name inside the build folder")
        return value


def read_manifest(folder: Path) -> Manifest:
    """The manifest of a build folder, checked against its schema; an IndexStateError naming
    the file and the field when it is not one."""
    path = folder / MANIFEST
    hint = rebuild_hint(folder.parent)
    try:
        manifest = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise IndexStateError(f"{path} is missing or unreadable ({exc}); {hint}") from None
    if not isinstance(manifest, dict) or manifest.get("format") != FORMAT:
        raise IndexStateError(f"{path} is not a {FORMAT} manifest; {hint}")
    try:
        return Manifest.model_validate(manifest)
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(p) for p in first["loc"])
        msg = str(first["msg"]).removeprefix("Value error, ")
        raise IndexStateError(f"{path}: field {where}: {msg}; {hint}") from None


def verify_checksums(folder: Path, manifest: Manifest) -> None:
    """Every file the manifest lists is there with the recorded SHA-256."""
    hint = rebuild_hint(folder.parent)
    for name, expected in manifest.checksums.items():
        path = folder / name
        if not path.is_file():
            raise IndexStateError(f"index file {path} is missing; {hint}")
        if durable.sha256_file(path) != expected:
            raise IndexStateError(
                f"index file {path} is corrupt or truncated (checksum mismatch); {hint}"
            )


def check_model(manifest: Manifest, embedder: Embedder | None, index_dir: Path) -> None:
    """The index was built by the model that will embed the questions."""
    if embedder is None:
        return
    model = manifest.model
    if model.name != embedder.name or model.dim != embedder.dim:
        error = StaleIndexError(
            f"the index was built with {model.name} ({model.dim}d), not "
            f"{embedder.name} ({embedder.dim}d); {rebuild_hint(index_dir)}"
        )
        error.change = f"the embedding model changed ({model.name} → {embedder.name})"
        raise error


def check_fresh(
    manifest: Manifest, corpus: CorpusRead, *, corpus_dir: Path, index_dir: Path
) -> None:
    """The corpus is the one the index was built from; a StaleIndexError says what changed."""
    docs = corpus.documents
    if manifest.corpus.fingerprint == corpus_fingerprint(docs, corpus.skipped):
        return
    built = set(manifest.corpus.documents)
    now = {d.doc_id for d in docs}
    changed = sorted(
        d.doc_id
        for d in docs
        if manifest.corpus.documents.get(d.doc_id) not in (None, document_hash(d))
    )
    detail = f"added {sorted(now - built)}, removed {sorted(built - now)}, changed {changed}"
    if not (now - built or built - now or changed):
        detail = "the files it skips changed"
    error = StaleIndexError(
        f"the corpus in {corpus_dir} changed since the index was built ({detail}); "
        f"{rebuild_hint(index_dir, corpus_dir)}"
    )
    error.change = f"the corpus changed since the index was built ({detail})"
    raise error


def corpus_section(corpus: CorpusRead) -> dict[str, Any]:
    """The manifest's record of the corpus: its fingerprint, every document's hash, source
    file and title, and every file skipped with the reason."""
    docs = corpus.documents
    return {
        "fingerprint": corpus_fingerprint(docs, corpus.skipped),
        "documents": {d.doc_id: document_hash(d) for d in docs},
        "files": {d.doc_id: {"path": d.path, "title": d.title} for d in docs},
        "skipped": [{"path": s.path, "reason": s.reason} for s in corpus.skipped],
    }
