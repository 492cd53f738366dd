"""Plain-dict views of the records: the JSON shape shared by the API, CLI and evaluation."""

from __future__ import annotations

from dataclasses import asdict
from typing import Any

from .records import Answer, Hit


def hit_dict(hit: Hit) -> dict[str, Any]:
    c = hit.chunk
    return {
        "chunk_id": c.chunk_id,
        "doc_id": c.doc_id,
        "section": c.section,
        "paragraph": c.paragraph,
        "start": c.start,
        "end": c.end,
        "text": c.text,
        "score": round(hit.score, 6),
        "dense": round(hit.dense, 6),
        "lexical": round(hit.lexical, 6),
        "sentence": round(hit.sentence, 6),
        "rank": hit.rank,
    }


def answer_dict(answer: Answer) -> dict[str, Any]:
    return {
        "question": answer.question,
        "answered": answer.answered,
        "answer": answer.answer,
        "confidence": answer.confidence,
        "citations": [asdict(c) for c in answer.citations],
        "passages": [hit_dict(h) for h in answer.passages],
        "timings_ms": dict(answer.timings_ms),
    }
