"""From scored sentences to an answer: which sentences to quote, their exact citations, the
refusal when the evidence is weak, and passages re-ranked by their best sentence."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from ..records import Citation, Document, Hit
from .features import SentenceTable, same_paragraph
from .scorer import Scored, ScorerModel


@dataclass(frozen=True)
class Composed:
    """The chosen quotes and how sure the choice is."""

    answered: bool
    text: str
    citations: tuple[Citation, ...]
    confidence: float


def pick(ranked: Sequence[Scored], runner_up: float, most: int) -> list[Scored]:
    """The best sentence, plus those whose probability is at least ``runner_up`` times its
    own (``most`` in all)."""
    floor = runner_up * ranked[0].score
    return [ranked[0], *(c for c in ranked[1:most] if c.score >= floor)]


def spans(table: SentenceTable, chosen: Sequence[Scored]) -> list[tuple[int, int, float]]:
    """(first sentence, last sentence, score) runs, best first, antecedents merged in."""
    merged: list[tuple[int, int, float]] = []
    sents = table.sentences
    for c in chosen:
        first = c.pos - 1 if c.with_antecedent else c.pos
        for i, (a, b, sc) in enumerate(merged):
            if first <= b + 1 and c.pos >= a - 1 and same_paragraph(sents[a], sents[first]):
                merged[i] = (min(a, first), max(b, c.pos), sc)
                break
        else:
            merged.append((first, c.pos, c.score))
    return merged


def cite(
    table: SentenceTable,
    documents: Mapping[str, Document],
    runs: Sequence[tuple[int, int, float]],
) -> tuple[Citation, ...]:
    """Citations numbered from 1; each quote is the exact document slice."""
    out = []
    for n, (first, last, score) in enumerate(runs, start=1):
        head, tail = table.sentences[first], table.sentences[last]
        doc = documents[head.doc_id]
        quote = doc.text[head.start : tail.end]
        out.append(
            Citation(
                n,
                doc.doc_id,
                doc.title,
                head.section,
                head.paragraph,
                head.start,
                tail.end,
                quote,
                round(score, 4),
                doc.page_at(head.start),
            )
        )
    return tuple(out)


def not_found_text(documents: int) -> str:
    """What a refusal says, for a corpus of ``documents`` documents."""
    what = "article does" if documents == 1 else "documents do"
    return (
        f"The {what} not contain an answer to this question. "
        "The closest passages are listed as related context."
    )


def rerank(table: SentenceTable, hits: Sequence[Hit], ranked: Sequence[Scored]) -> list[Hit]:
    """Passages ordered by their best sentence's score, then by fused rank, renumbered: the
    passage that holds the answer comes first."""
    by_pos = {s.pos: s.score for s in ranked}
    sents = table.chunk_sentences
    best = [max([by_pos.get(p, 0.0) for p in sents[h.chunk.chunk_id]], default=0.0) for h in hits]
    order = sorted(range(len(hits)), key=lambda i: (-best[i], hits[i].rank))
    return [
        Hit(hits[i].chunk, hits[i].score, hits[i].dense, hits[i].lexical, r, round(best[i], 6))
        for r, i in enumerate(order, start=1)
    ]


def compose(
    table: SentenceTable,
    documents: Mapping[str, Document],
    ranked: Sequence[Scored],
    model: ScorerModel,
    threshold: float,
    max_sentences: int = 3,
) -> Composed:
    """Quote the best of the scored sentences, or decline when the calibrated confidence
    that the answer holds is under ``threshold``."""
    refusal = not_found_text(len(documents))
    if not ranked:
        return Composed(False, refusal, (), 0.0)
    conf = round(model.confidence(ranked), 4)
    if conf < threshold:
        return Composed(False, refusal, (), conf)
    chosen = pick(ranked, model.runner_up, max_sentences)
    citations = cite(table, documents, spans(table, chosen))
    text = " ".join(f"{c.quote} [{c.n}]" for c in citations)
    return Composed(True, text, citations, conf)
