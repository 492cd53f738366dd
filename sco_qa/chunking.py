"""Pure: a Document → blocks, passages and sentences with exact character offsets."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from functools import lru_cache

from .config import Settings
from .records import Block, Chunk, Document, Sentence

_BLANK_LINES = re.compile(r"\n[ \t\u00a0]*\n")
_MD_HEADING = re.compile(r"^#{1,6}[ \t]+")
_HEADING_END = (".", ",", ";", ":", '"', "”", "’", ")")


@dataclass(frozen=True)
class ChunkingParams:
    """How passages are cut; stored in the index manifest (defaults: the settings')."""

    max_chars: int = Settings.model_fields["passage_max_chars"].default
    overlap: int = Settings.model_fields["passage_overlap"].default


@lru_cache(maxsize=1)
def _segmenter() -> Callable[[str], list[str]]:
    import pysbd  # a rule-based splitter that knows abbreviations such as "U.S." and "Dr."

    seg = pysbd.Segmenter(language="en", clean=False)
    segment: Callable[[str], list[str]] = seg.segment
    return segment


def _is_heading(text: str, markdown: bool) -> bool:
    if _MD_HEADING.match(text):
        return True
    if markdown or "\n" in text.strip():
        return False
    words = text.split()
    return len(words) <= 16 and len(text) <= 140 and not text.rstrip().endswith(_HEADING_END)


def _raw_blocks(text: str) -> Iterator[tuple[int, int]]:
    """(start, end) of every non-blank block, trimmed of surrounding white space."""
    pos = 0
    for match in [*_BLANK_LINES.finditer(text), None]:
        end = match.start() if match else len(text)
        seg = text[pos:end]
        stripped = seg.strip()
        if stripped:
            start = pos + (len(seg) - len(seg.lstrip()))
            yield start, start + len(stripped)
        pos = match.end() if match else len(text)


def split_blocks(doc: Document) -> list[Block]:
    """Headings and paragraphs of a document, in order, with their section."""
    markdown = doc.path.endswith(".md") or "\n#" in "\n" + doc.text
    blocks: list[Block] = []
    section, paragraph = "", 0
    for start, end in _raw_blocks(doc.text):
        text = doc.text[start:end]
        if _is_heading(text, markdown):
            section = _MD_HEADING.sub("", text).strip()
            blocks.append(Block("heading", start, end, 0, section))
        else:
            paragraph += 1
            blocks.append(Block("paragraph", start, end, paragraph, section))
    return blocks


def sentence_spans(text: str, start: int, end: int) -> list[tuple[int, int]]:
    """Sentence (start, end) offsets inside ``text[start:end]``, trimmed, exact."""
    spans: list[tuple[int, int]] = []
    cursor = start
    for piece in _segmenter()(text[start:end]):
        piece = piece.strip()
        if not piece:
            continue
        found = text.find(piece, cursor, end)
        if found < 0:  # the splitter altered the text: keep the rest whole
            break
        spans.append((found, found + len(piece)))
        cursor = found + len(piece)
    rest = text[cursor:end]
    if rest.strip():
        lead = len(rest) - len(rest.lstrip())
        spans.append((cursor + lead, cursor + len(rest.rstrip())))
    return spans


def _windows(n: int, lengths: list[int], *, max_chars: int, overlap: int) -> list[tuple[int, int]]:
    """Greedy [i, j) windows of sentences, each under ``max_chars`` where possible."""
    windows: list[tuple[int, int]] = []
    i = 0
    while i < n:
        j, size = i, 0
        while j < n and (j == i or size + lengths[j] <= max_chars):
            size += lengths[j] + 1
            j += 1
        windows.append((i, j))
        if j >= n:
            break
        i = max(j - overlap, i + 1)
    return windows


def chunk_document(
    doc: Document, params: ChunkingParams = ChunkingParams()
) -> tuple[list[Chunk], list[Sentence]]:
    """Passages (a paragraph, or windows of its sentences) and the sentences within them."""
    chunks: list[Chunk] = []
    sentences: list[Sentence] = []
    for block in split_blocks(doc):
        if block.kind != "paragraph":
            continue
        spans = sentence_spans(doc.text, block.start, block.end)
        base = f"{doc.doc_id}#p{block.paragraph}"
        sent_ids = [f"{base}.s{i + 1}" for i in range(len(spans))]
        windows = _windows(
            len(spans),
            [e - s for s, e in spans],
            max_chars=params.max_chars,
            overlap=params.overlap,
        )
        for w, (i, j) in enumerate(windows):
            chunk_id = base if len(windows) == 1 else f"{base}.{w + 1}"
            s, e = spans[i][0], spans[j - 1][1]
            chunks.append(
                Chunk(
                    chunk_id,
                    doc.doc_id,
                    block.section,
                    block.paragraph,
                    s,
                    e,
                    doc.text[s:e],
                    tuple(sent_ids[i:j]),
                )
            )
        owner = {sid: c.chunk_id for c in reversed(chunks) for sid in c.sentence_ids}
        for sid, (s, e) in zip(sent_ids, spans, strict=True):
            sentences.append(
                Sentence(
                    sid, doc.doc_id, owner[sid], block.section, block.paragraph, s, e, doc.text[s:e]
                )
            )
    return chunks, sentences


def chunk_corpus(
    docs: list[Document], params: ChunkingParams = ChunkingParams()
) -> tuple[list[Chunk], list[Sentence]]:
    """Chunk every document, keeping document order."""
    chunks: list[Chunk] = []
    sentences: list[Sentence] = []
    for doc in docs:
        c, s = chunk_document(doc, params)
        chunks.extend(c)
        sentences.extend(s)
    return chunks, sentences
