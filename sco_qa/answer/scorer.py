"""Scoring the candidate sentences of the retrieved passages for a question, and the
confidence that the best one answers it.

The weights are hand-set: chosen by reading answers on the SCO article (see the README's
"How it works"); none was fitted by a command.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import NamedTuple

import numpy as np

from ..records import Hit
from .features import STRICT_KINDS, SentenceStats, SentenceTable
from .query import Query


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


class Scored(NamedTuple):
    """A candidate sentence with its combined score and signals."""

    pos: int
    score: float
    dense: float
    lexical: float
    kind: float
    with_antecedent: bool


_NONE: frozenset[int] = frozenset()


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


def candidates(table: SentenceTable, hits: Sequence[Hit]) -> list[tuple[int, float]]:
    """(sentence position, passage signal) for every sentence of the retrieved passages;
    the signal is the passage's fused score relative to the best passage's."""
    if not hits:
        return []
    top = hits[0].score or 1.0
    seen: dict[int, float] = {}
    for hit in hits:
        signal = hit.score / top
        for pos in table.chunk_sentences[hit.chunk.chunk_id]:
            if seen.get(pos, -1.0) < signal:
                seen[pos] = signal
    return sorted(seen.items())


def score_sentences(
    table: SentenceTable,
    query: Query,
    qvec: np.ndarray,
    hits: Sequence[Hit],
    terms: Sequence[str],
    w: Weights = Weights(),
) -> list[Scored]:
    """Every candidate sentence scored, best first; ``terms`` are the question's topic
    tokens as the corpus's lexical index reads them."""
    cands = candidates(table, hits)
    if not cands:
        return []
    positions = [p for p, _ in cands]
    dense = (np.asarray(table.vectors[positions]) @ qvec.reshape(-1)).tolist()
    lex = coverage(terms, positions, table.stats, w.context)
    kinds = table.stats.kinds[query.kind]
    quote_previous = table.stats.quote_previous
    out = []
    for (pos, passage), d in zip(cands, dense, strict=True):
        score = w.dense * d + w.lexical * lex[pos] + w.passage * passage + w.kind * kinds[pos]
        out.append(Scored(pos, score, d, lex[pos], kinds[pos], quote_previous[pos]))
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
