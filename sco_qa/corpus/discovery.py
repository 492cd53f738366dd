"""Which files of a corpus folder are documents, their ids, and the corpus fingerprint."""

from __future__ import annotations

import hashlib
import re
from pathlib import Path

from ..errors import CorpusError
from ..records import Document
from .markdown import read_document

SUFFIXES = (".md", ".txt")
_DOC_ID = re.compile(r"[^a-z0-9]+")


def doc_id_for(path: Path) -> str:
    """A readable, stable id from the file name.

    >>> doc_id_for(Path("SCO Kazakhstan.md"))
    'sco-kazakhstan'
    """
    return _DOC_ID.sub("-", path.stem.lower()).strip("-") or "document"


def document_paths(corpus_dir: Path) -> list[Path]:
    """The document files of a folder (not recursive), sorted by name."""
    if not corpus_dir.is_dir():
        raise CorpusError(f"corpus folder {corpus_dir} does not exist; pass --corpus DIR")
    return sorted(p for p in corpus_dir.iterdir() if p.suffix.lower() in SUFFIXES and p.is_file())


def load_corpus(corpus_dir: Path) -> list[Document]:
    """Every document in ``corpus_dir``; ids must be unique."""
    docs: list[Document] = []
    seen: dict[str, str] = {}
    for path in document_paths(corpus_dir):
        doc = read_document(path, doc_id_for(path))
        if doc.doc_id in seen:
            raise CorpusError(
                f"{path} and {seen[doc.doc_id]} both give the id {doc.doc_id!r}; rename one"
            )
        seen[doc.doc_id] = str(path)
        docs.append(doc)
    return docs


def document_hash(doc: Document) -> str:
    """Content hash of what the index depends on: id, title and text."""
    h = hashlib.sha256()
    for part in (doc.doc_id, doc.title, doc.text):
        h.update(part.encode("utf-8"))
        h.update(b"\x00")
    return h.hexdigest()


def corpus_fingerprint(docs: list[Document]) -> str:
    """One hash for the whole corpus, independent of file order."""
    lines = sorted(f"{d.doc_id} {document_hash(d)}" for d in docs)
    return hashlib.sha256("\n".join(lines).encode("utf-8")).hexdigest()
