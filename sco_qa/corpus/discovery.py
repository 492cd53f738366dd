"""Which files of a corpus folder are documents: the folder is read recursively, every file
is either read into a Document (by the reader of its type) or reported as skipped with the
reason; one file that fails never stops the others."""

from __future__ import annotations

import hashlib
import logging
import os
import re
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

from ..config import Settings
from ..errors import CorpusError
from ..records import Document, Skipped
from . import html, markdown, pdf, word
from .guarded import check_docx, read_guarded

Reader = Callable[[Path, str], Document]
READERS: dict[str, Reader] = {
    ".md": markdown.read_document,
    ".markdown": markdown.read_document,
    ".txt": markdown.read_document,
    ".pdf": pdf.read,
    ".html": html.read,
    ".htm": html.read,
    ".docx": word.read,
}
SUFFIXES = tuple(READERS)
#: formats whose parsers expand compressed data: read in a child process with budgets
GUARDED = frozenset({".pdf", ".docx"})
#: files larger than this are skipped: the default of SCO_QA_MAX_FILE_MB (README, "Your documents")
MAX_FILE_BYTES = int(Settings.model_fields["max_file_mb"].default * 1024 * 1024)
#: files that belong to the corpus folder but are not documents (the golden question set)
NOT_DOCUMENTS = ("golden.jsonl",)
_DOC_ID = re.compile(r"[^a-z0-9]+")
#: the hidden temp files an upload is checked in before it moves into place
UPLOAD_PREFIX = ".upload-"
#: an upload temp file older than this was left by a crash (a check takes at most a minute)
UPLOAD_DEBRIS_SECONDS = 120
log = logging.getLogger(__name__)


@dataclass(frozen=True)
class CorpusRead:
    """The documents of a corpus folder, and the files that were not read, with reasons."""

    documents: list[Document]
    skipped: list[Skipped]


def doc_id_for(path: Path) -> str:
    """A readable, stable id from the path relative to the corpus folder.

    >>> doc_id_for(Path("SCO Kazakhstan.md"))
    'sco-kazakhstan'
    >>> doc_id_for(Path("Policies/Travel Policy.PDF"))
    'policies/travel-policy'
    """
    parts = [*path.parent.parts, path.stem]
    slugs = [_DOC_ID.sub("-", p.lower()).strip("-") for p in parts]
    return "/".join(s for s in slugs if s) or "document"


def _walk(corpus_dir: Path) -> tuple[list[Path], list[Skipped]]:
    """Every file below the folder, sorted; hidden files and folders, links that lead
    outside the folder and files of no known type are reported, not read."""
    root = corpus_dir.resolve()
    files: list[Path] = []
    skipped: list[Skipped] = []
    for folder, dirs, names in os.walk(corpus_dir):
        here = Path(folder)
        for d in sorted(dirs):
            if d.startswith("."):
                skipped.append(Skipped(str((here / d).relative_to(corpus_dir)), "hidden folder"))
        dirs[:] = sorted(d for d in dirs if not d.startswith("."))
        for name in sorted(names):
            path = here / name
            rel = str(path.relative_to(corpus_dir))
            if name in NOT_DOCUMENTS and here == corpus_dir:
                continue
            if name.startswith("."):
                skipped.append(Skipped(rel, "hidden file"))
            elif path.is_symlink() and not path.resolve().is_relative_to(root):
                skipped.append(Skipped(rel, "a link to a file outside the corpus folder"))
            elif path.suffix.lower() not in READERS:
                kinds = ", ".join(SUFFIXES)
                skipped.append(Skipped(rel, f"unsupported type (sco-qa reads {kinds})"))
            else:
                files.append(path)
    return files, skipped


def remove_upload_debris(corpus_dir: Path, older_than: float = UPLOAD_DEBRIS_SECONDS) -> list[Path]:
    """Remove upload temp files a crash left in the corpus folder."""
    if not corpus_dir.is_dir():
        return []
    now, removed = time.time(), []
    for path in corpus_dir.glob(f"{UPLOAD_PREFIX}*"):
        try:
            if path.is_file() and now - path.stat().st_mtime > older_than:
                path.unlink()
                removed.append(path)
                log.warning("removed %s: an upload that never finished", path)
        except OSError:
            continue
    return removed


def read_file(path: Path, doc_id: str) -> Document:
    """One file by the reader of its type (PDF and Word in a child process with memory and
    time budgets); a CorpusError says why it cannot be read."""
    suffix = path.suffix.lower()
    if suffix == ".docx":
        check_docx(path)
    reader = READERS[suffix]
    doc = read_guarded(reader, path, doc_id) if suffix in GUARDED else reader(path, doc_id)
    if not doc.text.strip():
        raise CorpusError("no text")
    return doc


def _read_one(path: Path, corpus_dir: Path, max_bytes: int) -> Document:
    size = path.stat().st_size
    if size > max_bytes:
        raise CorpusError(
            f"too large ({size / 2**20:.1f} MB; the limit is {max_bytes / 2**20:.1f} MB, "
            "SCO_QA_MAX_FILE_MB)"
        )
    if size == 0:
        raise CorpusError("empty file")
    return read_file(path, doc_id_for(path.relative_to(corpus_dir)))


def read_corpus(corpus_dir: Path, max_bytes: int = MAX_FILE_BYTES) -> CorpusRead:
    """Every document below ``corpus_dir`` and every file skipped, with the reason."""
    if not corpus_dir.is_dir():
        raise CorpusError(f"corpus folder {corpus_dir} does not exist; pass --corpus DIR")
    paths, skipped = _walk(corpus_dir)
    docs: list[Document] = []
    seen: dict[str, str] = {}
    for path in paths:
        rel = str(path.relative_to(corpus_dir))
        try:
            doc = _read_one(path, corpus_dir, max_bytes)
        except CorpusError as exc:
            skipped.append(Skipped(rel, str(exc).removeprefix(f"{path}: ")))
            continue
        except Exception as exc:  # a reader library failing on one file must not stop the rest
            log.warning("%s could not be read: %r", rel, exc)
            skipped.append(Skipped(rel, f"cannot be read ({type(exc).__name__}: {exc})"))
            continue
        if doc.doc_id in seen:
            skipped.append(
                Skipped(rel, f"same id {doc.doc_id!r} as {seen[doc.doc_id]}; rename one")
            )
            continue
        seen[doc.doc_id] = rel
        docs.append(doc)
    return CorpusRead(docs, sorted(skipped, key=lambda s: s.path))


def load_corpus(corpus_dir: Path, max_bytes: int = MAX_FILE_BYTES) -> list[Document]:
    """The documents below ``corpus_dir`` (the skipped files are in ``read_corpus``)."""
    return read_corpus(corpus_dir, max_bytes).documents


def document_hash(doc: Document) -> str:
    """Content hash of what the index depends on: id, title and text."""
    h = hashlib.sha256()
    for part in (doc.doc_id, doc.title, doc.text):
        h.update(part.encode("utf-8"))
        h.update(b"\x00")
    return h.hexdigest()


def corpus_fingerprint(docs: Sequence[Document], skipped: Sequence[Skipped] = ()) -> str:
    """One hash for the whole corpus (and the files it skips), independent of file order."""
    lines = sorted(f"{d.doc_id} {document_hash(d)}" for d in docs)
    lines += sorted(f"skipped {s.path} {s.reason}" for s in skipped)
    return hashlib.sha256("\n".join(lines).encode("utf-8")).hexdigest()
