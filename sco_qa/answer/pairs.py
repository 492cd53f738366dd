"""Pure: a (question, candidate sentence) pair as the reader's token ids.

The layout is ``[CLS] question [SEP] title: preceding sentence [SEP] candidate [SEP]``, the
candidate alone in the second segment (token type 1), so the reader always knows which
sentence it judges and which is only context. Layout 3 reads the preceding sentence only for
a candidate that opens by referring back to it ("It was…", "These…"); layout 2 read it for
every candidate. The candidate is kept whole (up to the
budget); the preceding sentence is cut from its start, the question and the title from their
end. Each candidate token keeps its
character span inside the sentence, so a phrase the reader marks maps back to exact
document offsets.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Protocol

import numpy as np

#: tokens in one pair (measured on the MiniLM body, int8, 2 cores: 4 pairs of up to 80
#: tokens, each run alone, take p50 24 ms; README "The reader")
MAX_TOKENS = 80
#: the question's share of the budget, in tokens
QUESTION_TOKENS = 24
TITLE_TOKENS = 8
CLS, SEP, PAD = 101, 102, 0
#: the layout's version, recorded with every trained reader (a new layout needs retraining);
#: readers of the layouts in ``LAYOUTS`` load
LAYOUT = 3
LAYOUTS = (2, 3)


class Encoding(Protocol):
    """What the pair builder reads of a ``tokenizers`` encoding."""

    ids: list[int]
    offsets: list[tuple[int, int]]


class Tokenizer(Protocol):
    """The part of ``tokenizers.Tokenizer`` the pair builder uses (no special tokens)."""

    def encode_batch(self, texts: Sequence[str], add_special_tokens: bool = ...) -> list[Any]:
        """Encodings of ``texts``."""
        ...


@dataclass(frozen=True)
class PairInput:
    """One pair's token ids, and where the candidate sentence's tokens stand."""

    ids: tuple[int, ...]
    types: tuple[int, ...]
    first: int  # index of the candidate's first token
    offsets: tuple[tuple[int, int], ...]  # char spans, within the sentence, of its tokens


@dataclass(frozen=True)
class PairText:
    """The texts of one pair."""

    question: str
    title: str
    previous: str
    sentence: str


def build_pair(
    question: Encoding, *, title: Encoding, previous: Encoding, sentence: Encoding
) -> PairInput:
    """Assemble one pair from its pieces' encodings, within ``MAX_TOKENS``."""
    q = question.ids[:QUESTION_TOKENS]
    t = title.ids[:TITLE_TOKENS]
    budget = MAX_TOKENS - 4 - len(q)  # [CLS] q [SEP] context [SEP] sentence [SEP]
    s_ids = sentence.ids[:budget]
    s_off = sentence.offsets[: len(s_ids)]
    room = budget - len(s_ids)
    t = t[:room]
    room -= len(t)
    p = previous.ids[max(0, len(previous.ids) - room) :] if room > 0 else []
    context = [*t, *p]
    ids = (CLS, *q, SEP, *context, SEP, *s_ids, SEP)
    types = (0,) * (len(q) + len(context) + 3) + (1,) * (len(s_ids) + 1)
    first = len(q) + len(context) + 3
    return PairInput(ids, types, first, tuple((int(a), int(b)) for a, b in s_off))


def encode_pairs(tokenizer: Tokenizer, pairs: Sequence[PairText]) -> list[PairInput]:
    """Every pair's input, tokenised in one batch."""
    texts: list[str] = []
    for p in pairs:
        texts += [p.question, p.title, p.previous, p.sentence]
    enc = tokenizer.encode_batch(texts, add_special_tokens=False)
    return [
        build_pair(enc[i], title=enc[i + 1], previous=enc[i + 2], sentence=enc[i + 3])
        for i in range(0, len(enc), 4)
    ]


def batch_arrays(inputs: Sequence[PairInput]) -> dict[str, np.ndarray]:
    """The model's inputs for a batch of pairs, padded to the longest."""
    width = max(len(p.ids) for p in inputs)
    ids = np.full((len(inputs), width), PAD, dtype=np.int64)
    types = np.zeros((len(inputs), width), dtype=np.int64)
    mask = np.zeros((len(inputs), width), dtype=np.int64)
    for row, p in enumerate(inputs):
        n = len(p.ids)
        ids[row, :n] = p.ids
        types[row, :n] = p.types
        mask[row, :n] = 1
    return {"input_ids": ids, "attention_mask": mask, "token_type_ids": types}


def token_span(pair: PairInput, start: int, end: int) -> tuple[int, int] | None:
    """The (first, last) token positions covering characters ``start:end`` of the sentence,
    or None when the span is not inside the tokens kept."""
    first = last = None
    for i, (a, b) in enumerate(pair.offsets):
        if first is None and b > start:
            first = i
        if a < end:
            last = i
    if first is None or last is None or last < first:
        return None
    if pair.offsets[first][0] > start or pair.offsets[last][1] < end:
        return None
    return pair.first + first, pair.first + last


def char_span(pair: PairInput, first: int, last: int) -> tuple[int, int]:
    """Characters of the sentence covered by token positions ``first..last``."""
    a = pair.offsets[first - pair.first][0]
    b = pair.offsets[last - pair.first][1]
    return a, b


def best_span(
    pair: PairInput, start_logits: np.ndarray, end_logits: np.ndarray, *, max_tokens: int = 24
) -> tuple[int, int, float]:
    """The most likely (first, last) token positions inside the sentence, with the
    probability of that pair under the start and end softmaxes over the sentence's tokens."""
    lo, hi = pair.first, pair.first + len(pair.offsets)
    s = start_logits[lo:hi].astype(np.float64)
    e = end_logits[lo:hi].astype(np.float64)
    ps = np.exp(s - s.max())
    ps /= ps.sum()
    pe = np.exp(e - e.max())
    pe /= pe.sum()
    joint = np.where(_band(len(s), max_tokens), np.outer(ps, pe), 0.0)
    i, j = np.unravel_index(int(np.argmax(joint)), joint.shape)
    return lo + int(i), lo + int(j), float(joint[i, j])


def span_gap(
    pair: PairInput, start_logits: np.ndarray, end_logits: np.ndarray, *, max_tokens: int = 24
) -> float:
    """How far the best phrase inside the sentence outscores "no phrase": the largest
    ``start[i] + end[j]`` over its tokens (``i <= j < i + max_tokens``) less ``start + end`` at
    [CLS], where a reader trained with a null phrase (``Schedule.null_span``) points when
    the sentence does not hold the answer."""
    lo, hi = pair.first, pair.first + len(pair.offsets)
    s = start_logits[lo:hi].astype(np.float64)
    e = end_logits[lo:hi].astype(np.float64)
    best = float((s[:, None] + e[None, :])[_band(len(s), max_tokens)].max())
    return best - float(start_logits[0] + end_logits[0])


def _band(n: int, max_tokens: int) -> np.ndarray:
    """Which (first, last) token pairs of an ``n``-token sentence make a phrase: the last
    not before the first and fewer than ``max_tokens`` after it."""
    i, j = np.indices((n, n))
    return (i <= j) & (j < i + max_tokens)
