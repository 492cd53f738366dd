"""Question + retrieved passages → an extractive Answer quoting the corpus verbatim."""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import TYPE_CHECKING, NamedTuple

import numpy as np

from .features import KINDS, STRICT_KINDS, kind_match, needs_antecedent, refers_back
from .lexical import tokens
from .records import Citation, Hit, Sentence

if TYPE_CHECKING:
    from collections.abc import Iterable, Sequence

    from .index import Index
    from .questions import Query


@dataclass(frozen=True)
class Weights:
    """How the signals that pick a sentence are combined (all signals lie in 0..1)."""

    dense: float = 0.45
    lexical: float = 0.30
    passage: float = 0.10
    kind: float = 0.15
    context: float = 0.5  # weight of the preceding sentence's words, when referred to
    runner_up: float = 0.93  # a second quote must score this share of the best
    redundant: float = 0.8  # cosine above which two sentences say the same thing
    max_chars: int = 420  # no further quote once the answer is this long


@dataclass(frozen=True)
class SentenceStats:
    """What scoring needs of every sentence, computed once per index: which sentences hold
    each token (and which refer back to a sentence that does), IDF over sentences, the
    kinds of fact each can state, and which open with a reference to the one before."""

    postings: dict[str, frozenset[int]]  # token → sentences holding it
    context: dict[str, frozenset[int]]  # token → sentences referring back to one holding it
    idf: dict[str, float]
    unseen_idf: float
    kinds: dict[str, tuple[float, ...]]
    quote_previous: tuple[bool, ...]  # opens with a reference: quote the sentence before

    @classmethod
    def from_sentences(cls, sentences: list[Sentence]) -> SentenceStats:
        postings: dict[str, set[int]] = {}
        for pos, s in enumerate(sentences):
            for t in set(tokens(s.text)):
                postings.setdefault(t, set()).add(pos)
        n = max(len(sentences), 1)
        idf = {t: math.log(1 + n / len(ps)) for t, ps in postings.items()}
        kinds = {k: tuple(kind_match(k, s.text) for s in sentences) for k in KINDS}
        has_prev = [
            i > 0 and _same_paragraph_sentences(sentences[i - 1], s)
            for i, s in enumerate(sentences)
        ]
        quote = tuple(
            p and needs_antecedent(s.text) for p, s in zip(has_prev, sentences, strict=True)
        )
        leans = [
            q or (p and refers_back(s.text))
            for q, p, s in zip(quote, has_prev, sentences, strict=True)
        ]
        context = {
            t: frozenset(p + 1 for p in ps if p + 1 < n and leans[p + 1])
            for t, ps in postings.items()
        }
        frozen = {t: frozenset(ps) for t, ps in postings.items()}
        return cls(frozen, context, idf, math.log(1 + n / 0.5), kinds, quote)


def _same_paragraph_sentences(a: Sentence, b: Sentence) -> bool:
    return a.doc_id == b.doc_id and a.paragraph == b.paragraph


class Scored(NamedTuple):
    """A candidate sentence with its combined score and signals."""

    pos: int
    score: float
    dense: float
    lexical: float
    kind: float
    with_antecedent: bool


_NONE: frozenset[int] = frozenset()


@dataclass(frozen=True)
class Composed:
    """The chosen quotes and how sure the choice is."""

    answered: bool
    text: str
    citations: tuple[Citation, ...]
    confidence: float


def coverage(
    query_tokens: Iterable[str], positions: Iterable[int], stats: SentenceStats, context: float
) -> dict[int, float]:
    """IDF-weighted share of the question's words each sentence contains (0..1); a word
    only the sentence before holds counts ``context`` when the sentence refers back."""
    got = dict.fromkeys(positions, 0.0)
    cands = set(got)
    total = 0.0
    for tok in dict.fromkeys(query_tokens):
        w = stats.idf.get(tok, stats.unseen_idf)
        total += w
        holding = stats.postings.get(tok, _NONE)
        for p in holding & cands:
            got[p] += w
        for p in (stats.context.get(tok, _NONE) & cands) - holding:
            got[p] += w * context
    return {p: g / total for p, g in got.items()} if total else got


def _candidates(index: Index, hits: list[Hit]) -> list[tuple[int, float]]:
    """(sentence position, passage signal) for every sentence of the retrieved passages."""
    if not hits:
        return []
    top = hits[0].score or 1.0
    seen: dict[int, float] = {}
    for hit in hits:
        signal = hit.score / top
        for pos in index.chunk_sentences[hit.chunk.chunk_id]:
            if seen.get(pos, -1.0) < signal:
                seen[pos] = signal
    return sorted(seen.items())


def score_sentences(
    index: Index,
    stats: SentenceStats,
    query: Query,
    qvec: np.ndarray,
    hits: list[Hit],
    w: Weights = Weights(),
    terms: Sequence[str] | None = None,
) -> list[Scored]:
    """Every candidate sentence scored, best first; ``terms`` are the question's topic
    tokens when already read (``index.lexical.query_tokens(query.topic_text)``)."""
    cands = _candidates(index, hits)
    if not cands:
        return []
    positions = [p for p, _ in cands]
    dense = (np.asarray(index.sentence_vectors[positions]) @ qvec.reshape(-1)).tolist()
    if terms is None:
        terms = index.lexical.query_tokens(query.topic_text)
    lex = coverage(terms, positions, stats, w.context)
    kinds = stats.kinds[query.kind]
    out = []
    for (pos, passage), d in zip(cands, dense, strict=True):
        score = w.dense * d + w.lexical * lex[pos] + w.passage * passage + w.kind * kinds[pos]
        out.append(Scored(pos, score, d, lex[pos], kinds[pos], stats.quote_previous[pos]))
    out.sort(key=lambda s: (-s.score, s.pos))
    return out


def confidence(best: Scored, kind: str) -> float:
    """How likely the best sentence answers the question (0..1, higher is surer).

    A question asking for a number or a date whose best sentence holds none is
    most often one the corpus does not answer, so its confidence is cut.
    """
    base = 0.5 * best.dense + 0.5 * best.lexical
    if kind in STRICT_KINDS and best.kind == 0.0:
        base *= 0.6
    return max(0.0, min(1.0, base))


def _pick(index: Index, ranked: list[Scored], w: Weights, most: int) -> list[Scored]:
    """The best sentence, plus runners-up scoring close to it that say something else."""
    chosen = [ranked[0]]
    length = len(index.sentences[ranked[0].pos].text)
    vec = index.sentence_vectors
    for cand in ranked[1:]:
        full = length >= w.max_chars or len(chosen) >= most
        if full or cand.score < w.runner_up * ranked[0].score:
            break
        if any(float(vec[cand.pos] @ vec[c.pos]) > w.redundant for c in chosen):
            continue
        chosen.append(cand)
        length += len(index.sentences[cand.pos].text)
    return chosen


def _spans(index: Index, chosen: list[Scored]) -> list[tuple[int, int, float]]:
    """(first sentence, last sentence, score) runs, best first, antecedents merged in."""
    merged: list[tuple[int, int, float]] = []
    for c in chosen:
        first = c.pos - 1 if c.with_antecedent else c.pos
        for i, (a, b, sc) in enumerate(merged):
            if first <= b + 1 and c.pos >= a - 1 and _same_paragraph(index, a, first):
                merged[i] = (min(a, first), max(b, c.pos), sc)
                break
        else:
            merged.append((first, c.pos, c.score))
    return merged


def _same_paragraph(index: Index, a: int, b: int) -> bool:
    return _same_paragraph_sentences(index.sentences[a], index.sentences[b])


def cite(index: Index, runs: list[tuple[int, int, float]]) -> tuple[Citation, ...]:
    """Citations numbered from 1; each quote is the exact document slice."""
    out = []
    for n, (first, last, score) in enumerate(runs, start=1):
        head, tail = index.sentences[first], index.sentences[last]
        doc = index.documents[head.doc_id]
        out.append(
            Citation(
                n,
                doc.doc_id,
                doc.title,
                head.section,
                head.paragraph,
                head.start,
                tail.end,
                doc.text[head.start : tail.end],
                round(score, 4),
            )
        )
    return tuple(out)


def not_found_text(index: Index) -> str:
    what = "article does" if len(index.documents) == 1 else "documents do"
    return (
        f"The {what} not contain an answer to this question. "
        "The closest passages are listed as related context."
    )


def rerank(index: Index, hits: list[Hit], ranked: list[Scored]) -> list[Hit]:
    """Passages ordered by their best sentence's score, then by fused rank, renumbered: the
    passage that holds the answer comes first."""
    by_pos = {s.pos: s.score for s in ranked}
    sents = index.chunk_sentences
    best = [max([by_pos.get(p, 0.0) for p in sents[h.chunk.chunk_id]], default=0.0) for h in hits]
    order = sorted(range(len(hits)), key=lambda i: (-best[i], hits[i].rank))
    return [
        Hit(hits[i].chunk, hits[i].score, hits[i].dense, hits[i].lexical, r, round(best[i], 6))
        for r, i in enumerate(order, start=1)
    ]


def compose(
    index: Index,
    query: Query,
    ranked: list[Scored],
    threshold: float,
    max_sentences: int = 3,
    w: Weights = Weights(),
) -> Composed:
    """Quote the best of the scored sentences, or decline when the evidence is weak."""
    if not ranked:
        return Composed(False, not_found_text(index), (), 0.0)
    conf = round(confidence(ranked[0], query.kind), 4)
    if conf < threshold:
        return Composed(False, not_found_text(index), (), conf)
    citations = cite(index, _spans(index, _pick(index, ranked, w, max_sentences)))
    text = " ".join(f"{c.quote} [{c.n}]" for c in citations)
    return Composed(True, text, citations, conf)
