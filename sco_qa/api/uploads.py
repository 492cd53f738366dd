"""Adding and removing documents over HTTP (only when SCO_QA_ADMIN_TOKEN is set): a bearer
token compared in constant time, file names reduced to a safe base name, the file checked by
its reader before it is written into the corpus atomically, then one rebuild at a time."""

from __future__ import annotations

import os
import re
import secrets
import threading
import unicodedata
from dataclasses import dataclass
from pathlib import Path

from .. import durable
from ..corpus import READERS, UPLOAD_PREFIX, doc_id_for, read_corpus, read_file
from ..engine import Engine
from ..errors import CorpusError, ScoQaError
from ..index import BuildReport, IndexSpec, build_index
from .middleware import denied

_UNSAFE = re.compile(r"[^\w .()+-]+")
MAX_NAME = 120


class UploadError(ScoQaError):
    """An upload or deletion that cannot be done; ``status`` is its HTTP status."""

    code = "bad_upload"

    def __init__(self, status: int, code: str, message: str) -> None:
        super().__init__(message)
        self.status, self.code = status, code


def check_token(header: str | None, token: str) -> None:
    """The request carries ``Authorization: Bearer <token>``; 401 without, 403 when wrong."""
    refused = denied(header, token)
    if refused:
        raise UploadError(*refused)


def safe_name(name: str | None) -> str:
    """A plain file name from what a client sent: no folders, no leading dots, no control or
    unusual characters, a known document type.

    >>> safe_name("../../etc/Travel Policy.PDF")
    'Travel Policy.PDF'
    """
    raw = unicodedata.normalize("NFC", name or "").replace("\\", "/").split("/")[-1]
    cleaned = _UNSAFE.sub("_", "".join(ch for ch in raw if ch.isprintable())).strip(" .")
    if not cleaned or len(cleaned) > MAX_NAME:
        raise UploadError(422, "bad_file_name", f"give a file name of 1 to {MAX_NAME} characters")
    suffix = Path(cleaned).suffix.lower()
    if suffix not in READERS:
        kinds = ", ".join(READERS)
        raise UploadError(415, "unsupported_type", f"{suffix or 'no type'}: send one of {kinds}")
    return cleaned


@dataclass
class Uploads:
    """Writes into one collection's corpus and rebuilds, one change at a time."""

    spec: IndexSpec
    lock: threading.Lock

    @classmethod
    def create(cls, spec: IndexSpec) -> Uploads:
        """Uploads for the corpus of ``spec``."""
        return cls(spec, threading.Lock())

    def add(self, engine: Engine, name: str, data: bytes) -> tuple[str, bool, BuildReport]:
        """Check, write and index one file; (doc id, whether it is new, the build). A file
        that would be skipped or would take another document's id is refused (409) before
        anything is written; a failed build puts the corpus back as it was."""
        corpus = self.spec.corpus_dir
        if len(data) > self.spec.max_file_bytes:
            raise UploadError(413, "file_too_large", "the file is over SCO_QA_MAX_FILE_MB")
        if not data:
            raise UploadError(422, "unreadable_file", "the file is empty")
        target = corpus / safe_name(name)
        doc_id = doc_id_for(Path(target.name))
        with self.lock:
            _check_free(corpus, target, doc_id)
            previous = target.read_bytes() if target.is_file() else None
            self._write_checked(target, doc_id, data)
            try:
                report = self._rebuild(engine)
            except ScoQaError:
                _restore(target, previous)
                raise
            left_out = next((k for k in report.skipped if k.path == target.name), None)
            if left_out is not None:  # cannot happen after the checks above; never say "added"
                _restore(target, previous)
                raise UploadError(409, "not_indexed", f"{target.name}: {left_out.reason}")
            return doc_id, previous is None, report

    def _write_checked(self, target: Path, doc_id: str, data: bytes) -> None:
        """Read the upload as its reader would (within the readers' budgets) from a hidden
        temp file, then move it into place atomically."""
        tmp = target.with_name(f"{UPLOAD_PREFIX}{secrets.token_hex(6)}{target.suffix.lower()}")
        try:
            durable.write_synced(tmp, data)
            read_file(tmp, doc_id)
            os.replace(tmp, target)
        except CorpusError as exc:
            message = str(exc).replace(str(tmp), target.name).replace(tmp.name, target.name)
            raise UploadError(422, "unreadable_file", f"{target.name}: {message}") from None
        finally:
            tmp.unlink(missing_ok=True)

    def remove(self, engine: Engine, doc_id: str) -> BuildReport:
        """Delete a document's file from the corpus and rebuild (the file comes back when
        the build fails)."""
        doc = engine.index.documents.get(doc_id)
        root = self.spec.corpus_dir.resolve()
        if doc is None or not doc.path:
            raise UploadError(404, "not_found", f"no document with id {doc_id!r}")
        path = Path(doc.path).resolve()
        if not path.is_relative_to(root):
            raise UploadError(409, "outside_corpus", f"{doc_id!r} is not a file of the corpus")
        with self.lock:
            previous = path.read_bytes() if path.is_file() else None
            path.unlink(missing_ok=True)
            try:
                return self._rebuild(engine)
            except ScoQaError:
                _restore(path, previous)
                raise

    def _rebuild(self, engine: Engine) -> BuildReport:
        """A build of the corpus as it now is (reusing what did not change)."""
        spec = engine.spec
        corpus = read_corpus(spec.corpus_dir, spec.max_file_bytes)
        return build_index(spec, engine.embedder, corpus=corpus)


def _check_free(corpus: Path, target: Path, doc_id: str) -> None:
    """409 when another file of the corpus folder has the id ``target`` would get."""
    for other in sorted(corpus.iterdir()):
        same = other.suffix.lower() in READERS and doc_id_for(Path(other.name)) == doc_id
        if same and other.name != target.name and other.is_file():
            raise UploadError(
                409,
                "id_taken",
                f"{target.name} would have the id {doc_id!r} of {other.name}: rename the "
                f"file, or delete {doc_id!r} first",
            )


def _restore(path: Path, previous: bytes | None) -> None:
    """Put a file back as it was before a change (or remove it if it was new)."""
    if previous is None:
        path.unlink(missing_ok=True)
    else:
        durable.replace_atomically(path, previous)
