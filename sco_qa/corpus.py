"""Find and read the documents of a corpus folder (``.md`` and ``.txt``)."""

from __future__ import annotations

import hashlib
import re
from pathlib import Path
from types import MappingProxyType

from .errors import CorpusError
from .records import Document

SUFFIXES = (".md", ".txt")
_FRONT_MATTER = re.compile(r"\A---[ \t]*\r?\n(.*?)\r?\n---[ \t]*(?:\r?\n|\Z)", re.DOTALL)
_DOC_ID = re.compile(r"[^a-z0-9]+")


def doc_id_for(path: Path) -> str:
    """A readable, stable id from the file name: ``SCO Kazakhstan.md`` → ``sco-kazakhstan``."""
    return _DOC_ID.sub("-", path.stem.lower()).strip("-") or "document"


def parse_front_matter(raw: str) -> tuple[dict[str, str], str]:
    """Split ``key: value`` front matter (between ``---`` lines) from the body."""
    match = _FRONT_MATTER.match(raw)
    if not match:
        return {}, raw
    meta: dict[str, str] = {}
    for line in match.group(1).splitlines():
        if not line.strip() or line.lstrip().startswith("#"):
            continue
        key, sep, value = line.partition(":")
        if not sep or not key.strip():
            raise ValueError(f"front matter line is not 'key: value': {line!r}")
        meta[key.strip()] = value.strip().strip('"')
    return meta, raw[match.end() :]


def _title_from_body(body: str, path: Path) -> str:
    for line in body.splitlines():
        if line.strip():
            return line.lstrip("#").strip()[:200]
    return path.stem


def read_document(path: Path) -> Document:
    """Read one document; a CorpusError names the file when it cannot be read."""
    try:
        raw = path.read_bytes().decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise CorpusError(f"{path}: not UTF-8 text ({exc.reason} at byte {exc.start})") from None
    except OSError as exc:
        raise CorpusError(f"{path}: cannot be read ({exc.strerror})") from None
    try:
        meta, body = parse_front_matter(raw)
    except ValueError as exc:
        raise CorpusError(f"{path}: {exc}") from None
    if "\x00" in body:
        raise CorpusError(f"{path}: contains NUL bytes; is it a binary file?")
    title = meta.get("title") or _title_from_body(body, path)
    return Document(
        doc_id=doc_id_for(path),
        title=title,
        text=body,
        metadata=MappingProxyType(meta),
        path=str(path),
    )


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
        doc = read_document(path)
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
