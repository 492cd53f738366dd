"""Pure: the candidate sentences of the retrieved passages and the signals the answer scorer
reads for each (one row per candidate, one column per named feature)."""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

import numpy as np

from ..records import Hit
from .features import KINDS, SentenceStats, SentenceTable, needs_antecedent
from .query import Query

_NONE: frozenset[int] = frozenset()
#: weight of the preceding sentence's words for a sentence that refers back to it
CONTEXT = 0.5

BASE_FEATURES = (
    "cos",
    "cos_gap",
    "cos_prev",
    "cos_next",
    "cover",
    "cover_gap",
    "cover_plain",
    "passage_signal",
    "passage_rrank",
    "passage_cos",
    "passage_bm25",
    "length",
    "first",
    "antecedent",
    *(f"kind_{k}" for k in KINDS),
    *(f"match_{k}" for k in KINDS),
)


def feature_names(dim: int, products: bool) -> tuple[str, ...]:
    """The columns of ``Candidates.features``: the base signals, then, with ``products``,
    the element-wise product of question and sentence vectors (``dim`` columns)."""
    return BASE_FEATURES + (tuple(f"qs_{i}" for i in range(dim)) if products else ())


@dataclass(frozen=True)
class Candidates:
    """The sentences that compete for the answer, and their features."""

    positions: list[int]  # sentence positions in the table
    features: np.ndarray  # (len(positions), len(names)) float32
    names: tuple[str, ...]


def coverage(
    query_tokens: Iterable[str], positions: Iterable[int], stats: SentenceStats, *, context: float
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


def _passages(table: SentenceTable, hits: Sequence[Hit]) -> dict[int, Hit]:
    """Each candidate sentence's best passage (the first hit holding it)."""
    owner: dict[int, Hit] = {}
    for hit in hits:
        for pos in table.chunk_sentences[hit.chunk.chunk_id]:
            owner.setdefault(pos, hit)
    return dict(sorted(owner.items()))


def _neighbour_cosines(table: SentenceTable, positions: list[int], cos: np.ndarray) -> np.ndarray:
    """Cosine of the question to the sentence before and after each candidate (0 where the
    paragraph has none)."""
    out = np.zeros((len(positions), 2), dtype=np.float32)
    sents = table.sentences
    for row, pos in enumerate(positions):
        for col, other in enumerate((pos - 1, pos + 1)):
            inside = 0 <= other < len(sents)
            if inside and (sents[other].doc_id, sents[other].paragraph) == (
                sents[pos].doc_id,
                sents[pos].paragraph,
            ):
                out[row, col] = cos[other]
    return out


def gather(
    table: SentenceTable,
    query: Query,
    qvec: np.ndarray,
    *,
    hits: Sequence[Hit],
    terms: Sequence[str],
    products: bool = False,
) -> Candidates:
    """Every sentence of the retrieved passages with its features; ``terms`` are the
    question's topic tokens as the corpus's lexical index reads them."""
    owner = _passages(table, hits)
    positions = list(owner)
    names = feature_names(len(qvec), products)
    if not positions:
        return Candidates([], np.zeros((0, len(names)), dtype=np.float32), names)
    q = qvec.reshape(-1)
    n = len(table.sentences)
    # the candidates and their neighbours: the only vectors fetched
    needed = sorted({p + d for p in positions for d in (-1, 0, 1) if 0 <= p + d < n})
    vectors = table.vectors.rows(needed)
    cos_all = np.zeros(n, dtype=np.float32)
    cos_all[needed] = vectors @ q
    cos = cos_all[positions]
    cover = coverage(terms, positions, table.stats, context=CONTEXT)
    plain = coverage(terms, positions, table.stats, context=0.0)
    top = hits[0].score or 1.0
    bm25_top = max((h.lexical for h in hits), default=0.0) or 1.0
    kinds = table.stats.kinds
    rows = []
    for pos in positions:
        hit, text = owner[pos], table.sentences[pos].text
        first = pos == 0 or table.sentences[pos - 1].paragraph != table.sentences[pos].paragraph
        rows.append(
            [
                cover[pos],
                plain[pos],
                hit.score / top,
                1.0 / hit.rank,
                hit.dense,
                hit.lexical / bm25_top,
                math.log1p(len(text) / 100),
                float(first),
                float(needs_antecedent(text)),
                *(float(query.kind == k) for k in KINDS),
                *(float(query.kind == k) * kinds[k][pos] for k in KINDS),
            ]
        )
    rest = np.asarray(rows, dtype=np.float32)
    covers = rest[:, 0]
    neighbours = _neighbour_cosines(table, positions, cos_all)
    columns = [
        cos,
        cos - cos.max(),
        neighbours[:, 0],
        neighbours[:, 1],
        covers,
        covers - covers.max(),
        *rest[:, 1:].T,
    ]
    features = np.column_stack(columns).astype(np.float32)
    if products:
        row = {p: i for i, p in enumerate(needed)}
        features = np.hstack([features, vectors[[row[p] for p in positions]] * q])
    return Candidates(positions, features, names)
