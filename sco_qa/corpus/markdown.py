"""The reader of Markdown and plain-text files (optional ``key: value`` front matter)."""

from __future__ import annotations

import re
from pathlib import Path
from types import MappingProxyType

from ..errors import CorpusError
from ..records import Document

_FRONT_MATTER = re.compile(r"\A---[ \t]*\r?\n(.*?)\r?\n---[ \t]*(?:\r?\n|\Z)", re.DOTALL)


def parse_front_matter(raw: str) -> tuple[dict[str, str], str]:
    """Split ``key: value`` front matter (between ``---`` lines) from the body.

    >>> parse_front_matter("---\\ntitle: T\\n---\\nBody")
    ({'title': 'T'}, 'Body')
    """
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


def read_document(path: Path, doc_id: str) -> Document:
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
        doc_id=doc_id,
        title=title,
        text=body,
        metadata=MappingProxyType(meta),
        path=str(path),
    )
