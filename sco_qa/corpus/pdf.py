"""The PDF reader (pypdfium2): the text layer, page by page, with lines joined into
paragraphs, words hyphenated at line ends made whole, and running headers, footers and page
numbers dropped. The document keeps where each page starts, so a citation names its page."""

from __future__ import annotations

import re
import statistics
from collections import Counter
from pathlib import Path
from types import MappingProxyType

from ..errors import CorpusError
from ..records import Document

_PAGE_NUMBER = re.compile(r"^(page\s+)?\d+(\s+(of|/)\s+\d+)?$|^[-–—]\s*\d+\s*[-–—]$", re.I)
_END = (".", "!", "?", ":", ";", "”", '"', "’", ")")
#: a line shorter than this share of the page's typical line ends its paragraph
SHORT_LINE = 0.7
#: a line repeated at the top or bottom of at least this share of pages is a running header
RUNNING = 0.5


def _pages(path: Path) -> list[list[str]]:
    import pypdfium2 as pdfium

    try:
        pdf = pdfium.PdfDocument(str(path))
    except pdfium.PdfiumError as exc:
        if "password" in str(exc).lower():
            raise CorpusError("encrypted PDF (it needs a password)") from None
        raise CorpusError(f"not a readable PDF ({exc})") from None
    try:
        pages = []
        for page in pdf:
            text = page.get_textpage().get_text_bounded()
            # pdfium marks a word hyphenated at a line end with \x02 and joins the halves
            text = text.replace("\x02", "").replace("\r\n", "\n").replace("\r", "\n")
            pages.append([line.strip() for line in text.split("\n")])
        return pages
    finally:
        pdf.close()


def _shape(line: str) -> str:
    return re.sub(r"\d+", "#", line.lower())


def _running_lines(pages: list[list[str]]) -> set[str]:
    """Shapes of lines standing first or last on at least half of the pages (2 pages or more)."""
    if len(pages) < 2:
        return set()
    ends: Counter[str] = Counter()
    for lines in pages:
        kept = [line for line in lines if line]
        ends.update({_shape(x) for x in (kept[:1] + kept[-1:])})
    return {s for s, n in ends.items() if n >= RUNNING * len(pages)}


def _paragraphs(lines: list[str]) -> list[str]:
    """Lines joined into paragraphs: a short line, or one with no text, ends a paragraph."""
    typical = statistics.median([len(x) for x in lines if x] or [0])
    blocks: list[str] = []
    current = ""
    for line in lines:
        if not line:
            blocks.append(current)
            current = ""
            continue
        if current.endswith("-") and line[:1].islower():
            current = current[:-1] + line  # "exam-" + "ple"
        else:
            current = f"{current} {line}" if current else line
        if len(line) < SHORT_LINE * typical or (len(line) < typical and line.endswith(_END)):
            blocks.append(current)
            current = ""
    blocks.append(current)
    return [b for b in blocks if b.strip()]


def read(path: Path, doc_id: str) -> Document:
    """Read a PDF's text layer; a CorpusError when it has none or cannot be opened."""
    pages = _pages(path)
    running = _running_lines(pages)
    texts = []
    for lines in pages:
        kept = [x for x in lines if not _PAGE_NUMBER.match(x) and _shape(x) not in running]
        texts.append("\n\n".join(_paragraphs(kept)))
    if not any(t.strip() for t in texts):
        raise CorpusError("no text layer (a scanned PDF?): nothing to quote")
    starts, text = [], ""
    for page_text in texts:
        text += "\n\n" if text else ""
        starts.append(len(text))
        text += page_text
    title = next((p.split("\n", 1)[0] for p in texts if p.strip()), path.stem)[:200]
    meta = MappingProxyType({"format": "pdf", "pages": str(len(pages))})
    return Document(doc_id, title, text + "\n", meta, str(path), tuple(starts))
