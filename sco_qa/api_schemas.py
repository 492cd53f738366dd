"""Request and response models of the HTTP API (pydantic lives only at this edge)."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field, field_validator

from .errors import QuestionError
from .questions import MAX_CHARS, MAX_TURNS, clean_question, has_surrogates

EXAMPLE_Q = "Which international bodies is Kazakhstan chairing?"


def _clean(value: str, field: str) -> str:
    try:
        return clean_question(value, field)
    except QuestionError as exc:
        raise ValueError(str(exc)) from None


def _valid_text(value: str) -> str:
    if has_surrogates(value):
        raise ValueError("text contains an unpaired surrogate; send valid Unicode")
    return value


class TurnIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    question: str = Field(max_length=MAX_CHARS * 2)
    answer: str = Field(max_length=8000)

    @field_validator("question", "answer")
    @classmethod
    def _text(cls, v: str) -> str:
        return _valid_text(v)


class AskRequest(BaseModel):
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
    top_k: int | None = Field(None, ge=1, le=20, description="passages to return (default 5)")
    history: list[TurnIn] = Field(
        default_factory=list,
        max_length=MAX_TURNS,
        description="earlier turns, oldest first, for follow-ups",
    )

    @field_validator("question")
    @classmethod
    def _question(cls, v: str) -> str:
        return _clean(v, "question")


class CitationOut(BaseModel):
    n: int
    doc_id: str
    title: str
    section: str
    paragraph: int
    start: int
    end: int
    quote: str = Field(description="exactly document.text[start:end]")
    score: float


class PassageOut(BaseModel):
    chunk_id: str
    doc_id: str
    section: str
    paragraph: int
    start: int
    end: int
    text: str
    score: float = Field(description="fused reciprocal-rank score")
    dense: float = Field(description="cosine similarity to the question")
    lexical: float = Field(description="BM25 score")
    sentence: float = Field(
        description="score of the passage's best sentence for the question; passages are "
        "ranked by it, then by the fused score"
    )
    rank: int


class AnswerOut(BaseModel):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "question": EXAMPLE_Q,
                    "answered": True,
                    "confidence": 0.72,
                    "answer": "This year, in addition to the SCO, the country is chairing five "
                    "other international organizations, including the CSTO, … [1]",
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
    confidence: float
    citations: list[CitationOut]
    passages: list[PassageOut]
    timings_ms: dict[str, float]


PASSAGE_EXAMPLE: dict[str, Any] = {
    "chunk_id": "sco-kazakhstan#p10",
    "doc_id": "sco-kazakhstan",
    "section": "Kazakhstan’s Chairmanship",
    "paragraph": 10,
    "start": 4476,
    "end": 5210,
    "text": "Kazakhstan’s growing role in international institutions …",
    "score": 0.0328,
    "dense": 0.69,
    "lexical": 2.07,
    "sentence": 0.74,
    "rank": 1,
}


class SearchOut(BaseModel):
    model_config = ConfigDict(
        json_schema_extra={"examples": [{"query": EXAMPLE_Q, "hits": [PASSAGE_EXAMPLE]}]}
    )
    query: str
    hits: list[PassageOut]


class BlockOut(BaseModel):
    kind: str = Field(description="heading or paragraph")
    start: int
    end: int
    paragraph: int
    section: str


DOC_EXAMPLE: dict[str, Any] = {
    "doc_id": "sco-kazakhstan",
    "title": "How Kazakhstan’s SCO Chairmanship Has Navigated East-West Tensions",
    "metadata": {"credit": "Facebook/Aqorda"},
    "length": 9986,
}


class DocumentSummary(BaseModel):
    model_config = ConfigDict(json_schema_extra={"examples": [DOC_EXAMPLE]})
    doc_id: str
    title: str
    metadata: dict[str, str]
    length: int


class DocumentOut(DocumentSummary):
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
    model_config = ConfigDict(json_schema_extra={"examples": [{"documents": [DOC_EXAMPLE]}]})
    documents: list[DocumentSummary]


class Health(BaseModel):
    model_config = ConfigDict(json_schema_extra={"examples": [{"status": "ok"}]})
    status: str


class Ready(BaseModel):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "status": "ready",
                    "documents": 1,
                    "passages": 23,
                    "sentences": 58,
                    "model": "sentence-transformers/all-MiniLM-L6-v2",
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
    built_at: str
    corpus_fingerprint: str


class ErrorDetail(BaseModel):
    code: str
    message: str


class ErrorOut(BaseModel):
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
