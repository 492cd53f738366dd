"""Plain frozen records passed between the pipeline stages."""

from __future__ import annotations

from bisect import bisect_right
from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType


@dataclass(frozen=True)
class Block:
    """A heading or paragraph of a document, by character offsets."""

    kind: str  # "heading" | "paragraph"
    start: int
    end: int
    paragraph: int  # 1-based paragraph number; 0 for headings
    section: str


@dataclass(frozen=True)
class Document:
    """One source document; offsets everywhere refer to ``text``."""

    doc_id: str
    title: str
    text: str
    metadata: Mapping[str, str] = field(default_factory=lambda: MappingProxyType({}))
    path: str = ""
    pages: tuple[int, ...] = ()  # where each page starts in ``text`` (paged formats)

    def page_at(self, offset: int) -> int:
        """The 1-based page holding ``offset``; 0 for a document without pages.

        >>> Document("d", "D", "one two", pages=(0, 4)).page_at(5)
        2
        """
        return bisect_right(self.pages, offset) if self.pages else 0


@dataclass(frozen=True)
class Skipped:
    """A file of the corpus folder that is not indexed, and why."""

    path: str  # relative to the corpus folder
    reason: str


@dataclass(frozen=True)
class Sentence:
    """A sentence: ``document.text[start:end] == text``."""

    sentence_id: str
    doc_id: str
    chunk_id: str
    section: str
    paragraph: int
    start: int
    end: int
    text: str


@dataclass(frozen=True)
class Chunk:
    """A passage of a few sentences: ``document.text[start:end] == text``."""

    chunk_id: str
    doc_id: str
    section: str
    paragraph: int
    start: int
    end: int
    text: str
    sentence_ids: tuple[str, ...]


@dataclass(frozen=True)
class Hit:
    """A retrieved passage with the scores that ranked it."""

    chunk: Chunk
    score: float  # fused (RRF) score
    dense: float  # cosine similarity to the question
    lexical: float  # BM25 score
    rank: int
    sentence: float = 0.0  # score of its best sentence for the question: what orders hits


#: words for the calibrated confidence: at 0.8 or more, four answers in five hold the answer
#: (README "Evaluation", reliability table); below 0.5, more likely wrong than right
CONFIDENCE_WORDS = ((0.8, "high"), (0.5, "medium"), (0.0, "low"))


def confidence_label(confidence: float) -> str:
    """``high``, ``medium`` or ``low``.

    >>> confidence_label(0.83), confidence_label(0.5), confidence_label(0.2)
    ('high', 'medium', 'low')
    """
    return next(word for floor, word in CONFIDENCE_WORDS if confidence >= floor)


@dataclass(frozen=True)
class Phrase:
    """The short answer inside a quote: ``documents[doc_id].text[start:end] == text``."""

    start: int
    end: int
    text: str


@dataclass(frozen=True)
class Citation:
    """A verbatim quote: ``documents[doc_id].text[start:end] == quote``."""

    n: int
    doc_id: str
    title: str
    section: str
    paragraph: int
    start: int
    end: int
    quote: str
    score: float
    page: int = 0  # the page the quote starts on; 0 for a document without pages
    phrase: Phrase | None = None  # the answer phrase inside the quote, when one is sure


@dataclass(frozen=True)
class Turn:
    """One earlier exchange of a conversation."""

    question: str
    answer: str


@dataclass(frozen=True)
class Answer:
    """What ``ask`` returns; ``passages`` are returned whether answered or not."""

    question: str
    answered: bool
    answer: str
    confidence: float
    citations: tuple[Citation, ...]
    passages: tuple[Hit, ...]
    timings_ms: Mapping[str, float]

    @property
    def confidence_label(self) -> str:
        """The confidence in a word a person reads at a glance (see ``CONFIDENCE_WORDS``)."""
        return confidence_label(self.confidence)
