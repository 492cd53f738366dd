"""The HTML reader (Beautiful Soup): the main content of a page — navigation, headers,
footers, scripts, styles and forms dropped — with its headings as sections."""

from __future__ import annotations

import re
from pathlib import Path
from types import MappingProxyType
from typing import Any

from ..errors import CorpusError
from ..records import Document

_DROP = ("script", "style", "noscript", "nav", "header", "footer", "aside", "form", "template")
_HEADINGS = ("h1", "h2", "h3", "h4", "h5", "h6")
_BLOCKS = (*_HEADINGS, "p", "li", "pre", "blockquote", "td", "th", "dt", "dd", "figcaption")
_SPACE = re.compile(r"\s+")


def _text(node: Any) -> str:
    return _SPACE.sub(" ", node.get_text(" ")).strip()


def read(path: Path, doc_id: str) -> Document:
    """Read the main content of an HTML page as headings and paragraphs."""
    from bs4 import BeautifulSoup

    raw = path.read_bytes()
    soup = BeautifulSoup(raw, "html.parser")
    title = _text(soup.title) if soup.title else ""
    for tag in soup(list(_DROP)):
        tag.decompose()
    root = soup.find("main") or soup.find("article") or soup.body or soup
    blocks = []
    for node in root.find_all(list(_BLOCKS)):
        if node.find_parent(list(_BLOCKS)) is not None:
            continue  # a paragraph inside a list item: taken with its parent
        text = _text(node)
        if text:
            blocks.append(f"# {text}" if node.name in _HEADINGS else text)
    if not blocks:
        text = _text(root)
        blocks = [text] if text else []
    if not blocks:
        raise CorpusError("no text in the page")
    title = title or blocks[0].lstrip("# ")
    meta = MappingProxyType({"format": "html", "title": title[:200]})
    return Document(doc_id, title[:200], "\n\n".join(blocks) + "\n", meta, str(path))
