"""From scored sentences to an answer: which sentences to quote, their exact citations, the
refusal when the evidence is weak, and passages re-ranked by their best sentence."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from ..records import Citation, Document, Hit, Phrase
from .features import SentenceTable, same_paragraph
from .policy import AnswerPolicy, Scored, Scoring


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


#: a run of quoted sentences: first and last position, score, and the answer phrase (as
#: document offsets) when one is shown
Run = tuple[int, int, float, tuple[int, int] | None]


def spans(
    table: SentenceTable, chosen: Sequence[Scored], policy: AnswerPolicy | None = None
) -> list[Run]:
    """Runs of sentences, best first, antecedents merged in; the best sentence's phrase
    rides along when ``policy`` shows it."""
    merged: list[Run] = []
    sents = table.sentences
    for n, c in enumerate(chosen):
        first = c.pos - 1 if c.with_antecedent else c.pos
        phrase = None
        if (
            n == 0
            and c.phrase is not None
            and policy is not None
            and policy.shows_phrase(c.phrase[2])
        ):
            base = sents[c.pos].start
            phrase = (base + c.phrase[0], base + c.phrase[1])
        for i, (a, b, sc, ph) in enumerate(merged):
            if first <= b + 1 and c.pos >= a - 1 and same_paragraph(sents[a], sents[first]):
                merged[i] = (min(a, first), max(b, c.pos), sc, ph)
                break
        else:
            merged.append((first, c.pos, c.score, phrase))
    return merged


def cite(
    table: SentenceTable,
    documents: Mapping[str, Document],
    runs: Sequence[Run],
) -> tuple[Citation, ...]:
    """Citations numbered from 1 in the order given; each quote (and phrase) is the exact
    document slice."""
    out = []
    for n, (first, last, score, span) in enumerate(runs, start=1):
        head, tail = table.sentences[first], table.sentences[last]
        doc = documents[head.doc_id]
        quote = doc.text[head.start : tail.end]
        phrase = phrase_slice(doc, span, lo=head.start, hi=tail.end)
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
                phrase,
            )
        )
    return tuple(out)


def phrase_slice(doc: Document, span: tuple[int, int] | None, *, lo: int, hi: int) -> Phrase | None:
    """The phrase as an exact slice, trimmed of spaces and edge punctuation, inside the
    quote; None when nothing is left."""
    if span is None:
        return None
    a, b = max(span[0], lo), min(span[1], hi)
    while a < b and (doc.text[a].isspace() or doc.text[a] in ",;:.)"):
        a += 1
    while b > a and (doc.text[b - 1].isspace() or doc.text[b - 1] in ",;:.("):
        b -= 1
    return Phrase(a, b, doc.text[a:b]) if a < b else None


def not_found_text(documents: int) -> str:
    """What a refusal says, for a corpus of ``documents`` documents."""
    what = "document does" if documents == 1 else "documents do"
    return (
        f"The {what} not answer this question. The passages closest to it are listed, "
        "for context only."
    )


def in_document_order(
    table: SentenceTable, documents: Mapping[str, Document], runs: Sequence[Run]
) -> list[Run]:
    """Runs as they stand in the corpus: by document (in the index's order), then offset."""
    order = {doc_id: i for i, doc_id in enumerate(documents)}
    sents = table.sentences
    return sorted(runs, key=lambda r: (order.get(sents[r[0]].doc_id, 0), sents[r[0]].start))


def rerank(table: SentenceTable, hits: Sequence[Hit], scoring: Scoring) -> list[Hit]:
    """Passages ordered by their best sentence's score, then (those none of whose sentences
    the last stage scored) by the first stage's, then by fused rank, renumbered: the passage
    that holds the answer comes first."""
    sents = table.chunk_sentences

    def best(ranked: Sequence[Scored]) -> list[float]:
        by_pos = {s.pos: s.score for s in ranked}
        return [max([by_pos.get(p, 0.0) for p in sents[h.chunk.chunk_id]], default=0.0)
                for h in hits]  # fmt: skip

    last, first = best(scoring.ranked), best(scoring.proposed)
    order = sorted(range(len(hits)), key=lambda i: (-last[i], -first[i], hits[i].rank))
    return [
        Hit(hits[i].chunk, hits[i].score, hits[i].dense, hits[i].lexical, r, round(last[i], 6))
        for r, i in enumerate(order, start=1)
    ]


def compose(
    table: SentenceTable,
    documents: Mapping[str, Document],
    scoring: Scoring,
    *,
    policy: AnswerPolicy,
    threshold: float,
    max_sentences: int,
) -> Composed:
    """Quote the best of the scored sentences, or decline when the calibrated confidence
    that the answer holds is under ``threshold``."""
    refusal = not_found_text(len(documents))
    ranked = scoring.ranked
    if not ranked:
        return Composed(False, refusal, (), 0.0)
    conf = round(policy.confidence(scoring), 4)
    if conf < threshold:
        return Composed(False, refusal, (), conf)
    chosen = pick(ranked, policy.runner_up, max_sentences)
    runs = in_document_order(table, documents, spans(table, chosen, policy))
    citations = cite(table, documents, runs)
    text = " ".join(f"{c.quote} [{c.n}]" for c in citations)
    return Composed(True, text, citations, conf)
