"""Pure: surface features of a sentence (what kind of fact it can state, whether it leans
on the sentence before), and the table of them computed once per index."""

from __future__ import annotations

import math
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Protocol

import numpy as np

from ..records import Sentence
from ..text import tokens

_NUMBER_WORDS = (
    r"one|two|three|four|five|six|seven|eight|nine|ten|eleven|twelve|twenty|"
    r"thirty|forty|fifty|hundred|thousand|million|billion|trillion|dozen|half"
)
_QUANTITY = re.compile(rf"(\d|\b({_NUMBER_WORDS})\b|percent|%|\$|€|£)", re.IGNORECASE)
_MONTHS = (
    r"January|February|March|April|May|June|July|August|September|October|November|"
    r"December"
)
# a digit counts as an amount unless it is a year or a day of the month
_NOT_AMOUNT = re.compile(
    rf"\b({_MONTHS})\s+\d{{1,2}}\b|\b\d{{1,2}}\s+({_MONTHS})\b|"
    r"\b(1[5-9]|20)\d\d\b(?![\d.,]*\s*(percent|%|billion|million))"
)
_DATE = re.compile(
    rf"\b(1[5-9]\d\d|20\d\d|{_MONTHS}|(last|next|this|previous) "
    r"(week|month|year|decade)|yesterday|today|ago|since|until)\b"
)
_REASON = re.compile(
    r"\b(because|since|due to|owing to|in order to|so that|aims? to|seeks? to|"
    r"reason|therefore|thus|which is why|as a result)\b",
    re.IGNORECASE,
)
_PLACE = re.compile(r"\b(in|at|from|to|near|between|across|within|located)\s+(the\s+)?[A-Z]\w+")
_NAME = re.compile(
    r"(?<![.!?]\s)(?<!^)\b[A-Z][\w’'-]+(\s+(of|the|for|and|de|van|al)?\s*"
    r"[A-Z][\w’'-]+)*"
)
_PERSON_CUE = re.compile(
    r"\b(Dr|Mr|Ms|Mrs|Prof|President|Minister|Chancellor|leader|director|"
    r"fellow|professor|chair(man|woman)?|said|noted|wrote)\b"
)
_QUOTED = re.compile(r"“[^”]*”|\"[^\"]*\"")  # a quoted title's commas do not make a list
_LIST_ITEM = re.compile(r",\s+(and\s+|or\s+)?(the\s+)?[A-Z]")


def proper_names(text: str) -> int:
    """How many capitalised names stand in the text (not counting its first word)."""
    return sum(1 for m in _NAME.finditer(text) if m.start() > 0)


#: every kind of answer a question can ask for (see query.question_kind)
KINDS = ("quantity", "date", "reason", "place", "person", "list", "other")
#: kinds whose sign in a sentence is reliable enough that its absence lowers confidence
STRICT_KINDS = frozenset({"quantity", "date"})


def kind_match(kind: str, text: str) -> float:
    """How well a sentence can answer a question of ``kind``: 0 (no sign) to 1."""
    if kind == "quantity":
        return 1.0 if _QUANTITY.search(_NOT_AMOUNT.sub(" ", text)) else 0.0
    if kind == "date":
        return 1.0 if _DATE.search(text) else 0.0
    if kind == "reason":
        return 1.0 if _REASON.search(text) else 0.3
    if kind == "place":
        return 1.0 if _PLACE.search(text) else (0.7 if proper_names(text) else 0.0)
    if kind == "person":
        names = proper_names(text)
        return 1.0 if names and _PERSON_CUE.search(text) else (0.6 if names else 0.0)
    if kind == "list":
        items = len(_LIST_ITEM.findall(_QUOTED.sub("", text)))
        return 1.0 if items >= 2 else (0.5 if items == 1 else 0.0)
    return 0.5


# Pronouns and demonstratives: ordinary English, no word of any one document. A demonstrative
# followed by a time word ("this year") points at a time, not at the sentence before.
_TIME_WORDS = r"year|week|month|day|time|morning|evening|spring|summer|autumn|winter|decade|century"
_ANAPHORIC_START = re.compile(
    r"^[“\"‘']?(he|she|it|its|they|their|his|her|such|"
    rf"(this|that|these|those)(?! ({_TIME_WORDS})\b)|the (former|latter))\b",
    re.IGNORECASE,
)
_REFERS_BACK = re.compile(
    r"\b(he|she|it|its|they|their|his|her|this|these|the (former|latter))\b", re.IGNORECASE
)


def refers_back(text: str) -> bool:
    """True when a sentence mentions someone or something by pronoun or demonstrative."""
    return bool(_REFERS_BACK.search(text))


def needs_antecedent(text: str) -> bool:
    """True when a sentence opens with a pronoun or a demonstrative pointing back."""
    return bool(_ANAPHORIC_START.match(text))


def same_paragraph(a: Sentence, b: Sentence) -> bool:
    """Both sentences stand in one paragraph of one document."""
    return a.doc_id == b.doc_id and a.paragraph == b.paragraph


@dataclass(frozen=True)
class Facts:
    """What scoring reads of one sentence's text: its tokens, the kinds of fact it can
    state, and whether it opens with or holds a reference back."""

    tokens: frozenset[str]
    kinds: tuple[float, ...]  # by KINDS
    opens_with_reference: bool
    refers_back: bool

    @classmethod
    def of(cls, text: str) -> Facts:
        """The facts of ``text``."""
        return cls(
            frozenset(tokens(text)),
            tuple(kind_match(k, text) for k in KINDS),
            needs_antecedent(text),
            refers_back(text),
        )


@dataclass(frozen=True)
class SentenceStats:
    """What scoring needs of every sentence, computed once per index: which sentences hold
    each token (and which refer back to a sentence that does), IDF over sentences, the
    kinds of fact each can state, and which open with a reference to the one before; and
    each text's facts, which the next build's stats reuse for the texts it keeps."""

    postings: dict[str, frozenset[int]]  # token → sentences holding it
    context: dict[str, frozenset[int]]  # token → sentences referring back to one holding it
    idf: dict[str, float]
    unseen_idf: float
    kinds: dict[str, tuple[float, ...]]
    quote_previous: tuple[bool, ...]  # opens with a reference: quote the sentence before
    facts: Mapping[str, Facts] = field(default_factory=dict, repr=False)  # by sentence text

    @classmethod
    def from_sentences(
        cls, sentences: Sequence[Sentence], previous: SentenceStats | None = None
    ) -> SentenceStats:
        """Computed once per index (the facts of texts ``previous`` knows are taken from it:
        a one-document change costs that document's sentences only)."""
        known = previous.facts if previous is not None else {}
        facts: dict[str, Facts] = {}
        for s in sentences:
            if s.text not in facts:
                facts[s.text] = known.get(s.text) or Facts.of(s.text)
        each = [facts[s.text] for s in sentences]
        postings: dict[str, set[int]] = {}
        for pos, f in enumerate(each):
            for t in f.tokens:
                postings.setdefault(t, set()).add(pos)
        n = max(len(sentences), 1)
        idf = {t: math.log(1 + n / len(ps)) for t, ps in postings.items()}
        kinds = {k: tuple(f.kinds[i] for f in each) for i, k in enumerate(KINDS)}
        has_prev = [i > 0 and same_paragraph(sentences[i - 1], s) for i, s in enumerate(sentences)]
        quote = tuple(p and f.opens_with_reference for p, f in zip(has_prev, each, strict=True))
        leans = [q or (p and f.refers_back) for q, p, f in zip(quote, has_prev, each, strict=True)]
        context = {
            t: frozenset(p + 1 for p in ps if p + 1 < n and leans[p + 1])
            for t, ps in postings.items()
        }
        frozen = {t: frozenset(ps) for t, ps in postings.items()}
        return cls(frozen, context, idf, math.log(1 + n / 0.5), kinds, quote, facts)


class Rows(Protocol):
    """Sentence vectors fetched by position: only the rows asked for (the index's vector
    store, wherever it keeps them)."""

    def rows(self, positions: Sequence[int]) -> np.ndarray:
        """The L2-normalised vectors of the sentences at ``positions``, in their order."""
        ...


@dataclass(frozen=True)
class ArrayRows:
    """Rows of an array in memory."""

    array: np.ndarray

    def rows(self, positions: Sequence[int]) -> np.ndarray:
        """The rows at ``positions``."""
        return np.asarray(self.array[list(positions)], dtype=np.float32)


@dataclass(frozen=True)
class SentenceTable:
    """What the answer stage reads of an index: the sentences, their vectors (fetched as
    needed), which sentences each passage holds, and their features."""

    sentences: Sequence[Sentence]
    vectors: Rows
    chunk_sentences: Mapping[str, tuple[int, ...]]  # passage id → sentence positions
    stats: SentenceStats

    @classmethod
    def build(
        cls,
        sentences: Sequence[Sentence],
        vectors: Rows | np.ndarray,
        chunk_sentences: Mapping[str, tuple[int, ...]],
        *,
        previous: SentenceTable | None = None,
    ) -> SentenceTable:
        """The table of an index's sentences (features computed here, once; those of texts
        the ``previous`` table holds taken from it)."""
        rows = ArrayRows(vectors) if isinstance(vectors, np.ndarray) else vectors
        stats = SentenceStats.from_sentences(sentences, previous.stats if previous else None)
        return cls(sentences, rows, chunk_sentences, stats)
