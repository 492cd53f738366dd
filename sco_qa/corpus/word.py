"""The Word reader (python-docx): paragraphs and tables in order, headings as sections."""

from __future__ import annotations

from pathlib import Path
from types import MappingProxyType

from ..errors import CorpusError
from ..records import Document


def read(path: Path, doc_id: str) -> Document:
    """Read a ``.docx`` file's headings, paragraphs and table rows."""
    import docx
    from docx.opc.exceptions import PackageNotFoundError

    try:
        document = docx.Document(str(path))
    except (PackageNotFoundError, KeyError, ValueError) as exc:
        raise CorpusError(f"not a readable Word file ({exc})") from None
    blocks = []
    for para in document.paragraphs:
        text = " ".join(para.text.split())
        if not text:
            continue
        style = (para.style.name if para.style is not None else "").lower()
        heading = style.startswith("heading") or style == "title"
        blocks.append(f"# {text}" if heading else text)
    for table in document.tables:
        for row in table.rows:
            cells = [" ".join(c.text.split()) for c in row.cells]
            if any(cells):
                blocks.append(" | ".join(cells))
    if not blocks:
        raise CorpusError("no text in the document")
    title = document.core_properties.title or blocks[0].lstrip("# ")
    meta = MappingProxyType({"format": "docx", "title": title[:200]})
    return Document(doc_id, title[:200], "\n\n".join(blocks) + "\n", meta, str(path))
