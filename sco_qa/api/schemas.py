"""Request and response models of the HTTP API, built from the package's records
(``from_attributes``): the one definition of the wire shape, read back into records by the
evaluation's HTTP client. Bounds are declared here for the OpenAPI document; the question
itself is cleaned and checked in one place, ``answer.make_query``."""

from __future__ import annotations

from typing import Any

from pydantic import AliasChoices, AliasPath, BaseModel, ConfigDict, Field, field_validator

from ..answer import MAX_CHARS, MAX_TURNS
from ..config import MAX_K
from ..records import Answer, Chunk, Citation, Hit, Phrase, Turn

EXAMPLE_Q = "Which class of train ticket may staff book?"
#: the longest question and answer an earlier turn may carry
TURN_QUESTION_CHARS = MAX_CHARS * 2
TURN_ANSWER_CHARS = 8000


class Record(BaseModel):
    """A response model read from a record's attributes."""

    model_config = ConfigDict(from_attributes=True)


class TurnIn(BaseModel):
    """One earlier exchange of the conversation."""

    model_config = ConfigDict(extra="forbid")
    question: str = Field(max_length=TURN_QUESTION_CHARS)
    answer: str = Field(max_length=TURN_ANSWER_CHARS)

    def to_record(self) -> Turn:
        """The record the engine takes."""
        return Turn(self.question, self.answer)


class AskRequest(BaseModel):
    """The body of ``POST /ask``."""

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={"examples": [{"question": EXAMPLE_Q, "top_k": 5}]},
    )
    question: str = Field(
        min_length=1,
        max_length=MAX_CHARS,
        pattern=r"\S",
        description="1 to 1,000 characters, not only white space",
    )
    top_k: int | None = Field(
        None, ge=1, le=MAX_K, strict=True, description="passages to return (default 5)"
    )
    history: list[TurnIn] = Field(
        default_factory=list,
        max_length=MAX_TURNS,
        description="earlier turns, oldest first, for follow-ups",
    )


class PhraseOut(Record):
    """The short answer inside a quote, by exact document offsets."""

    start: int
    end: int
    text: str = Field(description="exactly document.text[start:end]")


class CitationOut(Record):
    """A verbatim quote with where it stands in its document."""

    n: int
    doc_id: str
    title: str
    section: str
    paragraph: int
    start: int
    end: int
    quote: str = Field(description="exactly document.text[start:end]")
    score: float
    page: int = Field(0, description="the page the quote starts on (PDF); 0 when unpaged")
    phrase: PhraseOut | None = Field(
        None, description="the answer phrase inside the quote, when the reader is sure of it"
    )

    def to_record(self) -> Citation:
        """The record this citation was made from."""
        fields = self.model_dump(exclude={"phrase"})
        phrase = Phrase(**self.phrase.model_dump()) if self.phrase else None
        return Citation(**fields, phrase=phrase)


def _from_chunk(name: str) -> Any:
    """A passage field read from the hit's chunk (a record) or from flat JSON."""
    return Field(validation_alias=AliasChoices(AliasPath("chunk", name), name))


class PassageOut(Record):
    """A retrieved passage with the scores that ranked it."""

    chunk_id: str = _from_chunk("chunk_id")
    doc_id: str = _from_chunk("doc_id")
    section: str = _from_chunk("section")
    paragraph: int = _from_chunk("paragraph")
    start: int = _from_chunk("start")
    end: int = _from_chunk("end")
    text: str = _from_chunk("text")
    score: float = Field(description="fused reciprocal-rank score")
    dense: float = Field(description="cosine similarity to the question")
    lexical: float = Field(description="BM25 score")
    sentence: float = Field(
        description="score of the passage's best sentence for the question; passages are "
        "ranked by it, then by the fused score"
    )
    rank: int

    @field_validator("score", "dense", "lexical", "sentence")
    @classmethod
    def _rounded(cls, v: float) -> float:
        return round(v, 6)

    def to_record(self) -> Hit:
        """The hit this passage was made from (its sentence ids are not sent)."""
        chunk = Chunk(
            self.chunk_id,
            self.doc_id,
            self.section,
            self.paragraph,
            self.start,
            self.end,
            self.text,
            (),
        )
        return Hit(chunk, self.score, self.dense, self.lexical, self.rank, self.sentence)


class AnswerOut(Record):
    """The answer to a question, its citations and the passages it drew on."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "question": EXAMPLE_Q,
                    "answered": True,
                    "confidence": 0.72,
                    "confidence_label": "medium",
                    "answer": "Staff book second-class tickets through the travel desk; first "
                    "class needs a manager's approval. [1]",
                    "citations": [],
                    "passages": [],
                    "timings_ms": {"total": 12.0},
                }
            ]
        }
    )
    question: str
    answered: bool = Field(description="false when the corpus does not contain an answer")
    answer: str
    confidence: float = Field(description="calibrated probability that the answer holds")
    confidence_label: str = Field(
        description="the confidence in a word: high (≥ 0.8), medium (≥ 0.5) or low"
    )
    citations: list[CitationOut]
    passages: list[PassageOut]
    timings_ms: dict[str, float]

    def to_record(self) -> Answer:
        """The Answer record, as the engine made it."""
        return Answer(
            self.question,
            self.answered,
            self.answer,
            self.confidence,
            tuple(c.to_record() for c in self.citations),
            tuple(p.to_record() for p in self.passages),
            self.timings_ms,
        )


PASSAGE_EXAMPLE: dict[str, Any] = {
    "chunk_id": "handbook#p10",
    "doc_id": "handbook",
    "section": "Travel",
    "paragraph": 10,
    "start": 4476,
    "end": 4604,
    "text": "Staff book second-class tickets through the travel desk; first class needs a …",
    "score": 0.0328,
    "dense": 0.69,
    "lexical": 2.07,
    "sentence": 0.74,
    "rank": 1,
}


class SearchOut(Record):
    """The passages ranked for a query."""

    model_config = ConfigDict(
        json_schema_extra={"examples": [{"query": EXAMPLE_Q, "hits": [PASSAGE_EXAMPLE]}]}
    )
    query: str
    hits: list[PassageOut]


class BlockOut(Record):
    """A heading or paragraph of a document, by character offsets."""

    kind: str = Field(description="heading or paragraph")
    start: int
    end: int
    paragraph: int
    section: str


DOC_EXAMPLE: dict[str, Any] = {
    "doc_id": "handbook",
    "title": "Staff handbook",
    "metadata": {"format": "docx"},
    "length": 9986,
    "pages": [],
}
SKIPPED_EXAMPLE: dict[str, Any] = {
    "path": "scans/receipt.pdf",
    "reason": "no text layer (a scanned PDF?)",
}


class DocumentSummary(Record):
    """A document's id, title, metadata and length."""

    model_config = ConfigDict(json_schema_extra={"examples": [DOC_EXAMPLE]})
    doc_id: str
    title: str
    metadata: dict[str, str]
    length: int
    pages: list[int] = Field(description="where each page starts in the text (PDF); else []")


class SkippedOut(BaseModel):
    """A file of the corpus folder that is not indexed, and why."""

    path: str = Field(description="relative to the corpus folder")
    reason: str


class DocumentOut(DocumentSummary):
    """A document's full text and its blocks, to show citations in place."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    **DOC_EXAMPLE,
                    "text": "\nLast week, leaders of Eurasian nations gathered …",
                    "blocks": [
                        {"kind": "paragraph", "start": 1, "end": 494, "paragraph": 1, "section": ""}
                    ],
                }
            ]
        }
    )
    text: str
    blocks: list[BlockOut]


class DocumentList(BaseModel):
    """Every document of the corpus."""

    model_config = ConfigDict(
        json_schema_extra={"examples": [{"documents": [DOC_EXAMPLE], "skipped": [SKIPPED_EXAMPLE]}]}
    )
    documents: list[DocumentSummary]
    skipped: list[SkippedOut] = Field(description="files not indexed, with the reason")


class ChangeOut(BaseModel):
    """What an upload or a deletion did: the document, and the index build now live."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "doc_id": "travel-policy",
                    "action": "added",
                    "build": "build-20261128-120000-a1b2c3",
                    "documents": 5,
                    "skipped": [],
                }
            ]
        }
    )
    doc_id: str
    action: str = Field(description="added, replaced or removed")
    build: str
    documents: int
    skipped: list[SkippedOut]
    embedded: int = Field(0, description="texts the build embedded (new or changed ones)")
    reused: int = Field(0, description="texts whose vectors the build took from the one before")


class SiteOut(BaseModel):
    """What the chat page says of itself (SCO_QA_TITLE, SCO_QA_SUBTITLE, SCO_QA_EXAMPLES,
    or words derived from the corpus)."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "title": "Ask the documents",
                    "subtitle": "Answers are quoted word for word from 3 documents, with "
                    "citations you can open.",
                    "examples": ["How much is the travel allowance?"],
                    "documents": 3,
                }
            ]
        }
    )
    title: str
    subtitle: str
    examples: list[str]
    documents: int


class Health(BaseModel):
    """The process is alive."""

    model_config = ConfigDict(json_schema_extra={"examples": [{"status": "ok"}]})
    status: str


class CollectionOut(BaseModel):
    """A served collection and its state; counts, build time and memory once loaded."""

    name: str
    title: str
    status: str = Field(description="ready, loading, not loaded (lazy) or error")
    error: str = ""
    rebuild_error: str = ""
    documents: int | None = None
    passages: int | None = None
    built_at: str | None = None
    memory_bytes: int | None = Field(
        None, description="about what its loaded index holds in memory (its build's files)"
    )


class CollectionList(BaseModel):
    """The collections a server serves (the default answers the unprefixed routes)."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "default": "hr",
                    "collections": [
                        {"name": "hr", "title": "HR handbook", "status": "ready",
                         "documents": 12, "passages": 340, "built_at": "2026-11-28T05:12:21Z",
                         "memory_bytes": 1843200},
                        {"name": "eng", "title": "Runbooks", "status": "not loaded"},
                    ],
                }
            ]
        }
    )  # fmt: skip
    default: str
    collections: list[CollectionOut]


class Ready(BaseModel):
    """The loaded index: counts, model, build time and corpus fingerprint."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "status": "ready",
                    "documents": 1,
                    "passages": 23,
                    "sentences": 58,
                    "model": "sentence-transformers/all-MiniLM-L6-v2",
                    "answer_scorer": "lr-3f9a0c1d2e4b",
                    "threshold": 0.2,
                    "built_at": "2026-11-28T05:12:21Z",
                    "corpus_fingerprint": "e314845d…",
                }
            ]
        }
    )
    status: str
    documents: int
    passages: int
    sentences: int
    model: str
    answer_scorer: str = Field(description="version of the learned answer scorer")
    threshold: float = Field(description="confidence under which answers are refused")
    built_at: str
    corpus_fingerprint: str
    rebuild_error: str = Field(
        "", description="why the corpus could not be rebuilt (the last good build is served)"
    )
    collections: list[CollectionOut] = Field(
        default_factory=list, description="every collection served, the default first"
    )


class ErrorDetail(BaseModel):
    """A machine-readable code and a message that says what to do."""

    code: str
    message: str


class ErrorOut(BaseModel):
    """The body of every error response."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "error": {
                        "code": "invalid_request",
                        "message": "question: String should have at most 1000 characters",
                    }
                }
            ]
        }
    )
    error: ErrorDetail
