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
from ..config import Settings
from ..corpus import READERS, doc_id_for, read_corpus
from ..engine import Engine, chunking_params
from ..errors import CorpusError, ScoQaError
from ..index import BuildReport, build_index
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
    """Writes into the corpus and rebuilds, one change at a time."""

    settings: Settings
    lock: threading.Lock

    @classmethod
    def create(cls, settings: Settings) -> Uploads:
        """Uploads for the corpus of ``settings``."""
        return cls(settings, threading.Lock())

    def add(self, engine: Engine, name: str, data: bytes) -> tuple[str, bool, BuildReport]:
        """Check, write and index one file; (doc id, whether it is new, the build)."""
        corpus = self.settings.corpus_dir
        if len(data) > self.settings.max_file_bytes:
            raise UploadError(413, "file_too_large", "the file is over SCO_QA_MAX_FILE_MB")
        target = corpus / safe_name(name)
        tmp = corpus / f".upload-{secrets.token_hex(6)}{target.suffix.lower()}"
        with self.lock:
            try:
                durable.write_synced(tmp, data)
                doc = READERS[target.suffix.lower()](tmp, doc_id_for(Path(target.name)))
                if not doc.text.strip():
                    raise CorpusError("no text")
                new = not target.exists()
                os.replace(tmp, target)
            except CorpusError as exc:
                raise UploadError(422, "unreadable_file", f"{target.name}: {exc}") from None
            finally:
                tmp.unlink(missing_ok=True)
            return doc_id_for(Path(target.name)), new, self._rebuild(engine)

    def remove(self, engine: Engine, doc_id: str) -> BuildReport:
        """Delete a document's file from the corpus and rebuild."""
        doc = engine.index.documents.get(doc_id)
        root = self.settings.corpus_dir.resolve()
        if doc is None or not doc.path:
            raise UploadError(404, "not_found", f"no document with id {doc_id!r}")
        path = Path(doc.path).resolve()
        if not path.is_relative_to(root):
            raise UploadError(409, "outside_corpus", f"{doc_id!r} is not a file of the corpus")
        with self.lock:
            path.unlink(missing_ok=True)
            return self._rebuild(engine)

    def _rebuild(self, engine: Engine) -> BuildReport:
        s = self.settings
        corpus = read_corpus(s.corpus_dir, s.max_file_bytes)
        return build_index(
            s.corpus_dir,
            s.index_dir,
            engine.embedder,
            chunking_params(s),
            s.ann_threshold,
            corpus,
            engine.answerer.version,
            s.keep_builds,
        )
