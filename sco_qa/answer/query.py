"""Pure: question validation, the kind of answer a question asks for, and follow-ups."""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass

from ..errors import QuestionError
from ..records import Turn

MAX_CHARS = 1000
MAX_TURNS = 10

# What kind of fact a question asks for, by its wh-phrase (ordinary English grammar).
_KINDS: tuple[tuple[str, re.Pattern[str]], ...] = (
    (
        "quantity",
        re.compile(
            r"\b(how (many|much|long|tall|high|big|large|old|far|often)|"
            r"what (share|percentage|percent|proportion|amount|number))\b"
        ),
    ),
    ("date", re.compile(r"\b(when|what (year|date|month|day)|which (year|date|month))\b")),
    ("reason", re.compile(r"\b(why|for what reason|what for)\b")),
    (
        "place",
        re.compile(
            r"\b(where|wh?ich (city|country|place|region|town)|"
            r"what (city|country|place|region|town))\b"
        ),
    ),
    ("person", re.compile(r"\b(who|whom|whose)\b")),
    # a plural noun after the wh-word; "is", "was", "has", "does" are verbs, not plurals
    ("list", re.compile(r"\b(wh?ich|what) (?!(is|was|has|does)\b)\w*(ies|[^s]s)\b")),
)
_ANAPHORA = re.compile(
    r"\b(he|she|it|its|they|them|their|his|her|this|that|these|those|there|the latter|"
    r"the former)\b|^(and|but|also|what about|how about)\b",
    re.IGNORECASE,
)


# Nouns that name the kind of answer wanted ("what year", "which city"): they say what
# the answer is, not what it is about, so lexical matching leaves them out.
_TYPE_NOUN = re.compile(
    r"\b(what|which|wh?ich)\s+(year|date|month|day|city|country|countries|place|region|town|"
    r"percentage|percent|proportion|share|amount|number|person|people)\b",
    re.IGNORECASE,
)


@dataclass(frozen=True)
class Query:
    """A validated question and the text retrieval should use for it."""

    question: str
    search_text: str
    kind: str  # one of the _KINDS names, or "other"
    follow_up: bool

    @property
    def topic_text(self) -> str:
        """The search text without the words that only name the kind of answer."""
        return _TYPE_NOUN.sub(r"\1", self.search_text)


def has_surrogates(text: str) -> bool:
    """Lone UTF-16 surrogates (from JSON escapes like ``\\ud800``) cannot be encoded back."""
    return any(0xD800 <= ord(ch) <= 0xDFFF for ch in text)


def clean_question(text: object, field: str = "question") -> str:
    """NFC-normalised, trimmed text of 1..1000 characters; a QuestionError otherwise."""
    if not isinstance(text, str):
        raise QuestionError(f"{field} must be a string")
    if has_surrogates(text):
        raise QuestionError(f"{field} contains an unpaired surrogate; send valid Unicode text")
    text = unicodedata.normalize("NFC", text).replace("\x00", "").strip()
    if not any(not ch.isspace() and unicodedata.category(ch) not in ("Cf", "Cc") for ch in text):
        raise QuestionError(f"{field} is empty; ask something about the documents")
    if len(text) > MAX_CHARS:
        raise QuestionError(f"{field} has {len(text)} characters; the limit is {MAX_CHARS}")
    return text


def question_kind(question: str) -> str:
    """The kind of answer asked for: quantity, date, reason, place, person, list or other."""
    lowered = question.lower()
    for kind, pattern in _KINDS:
        if pattern.search(lowered):
            return kind
    return "other"


def is_follow_up(question: str) -> bool:
    """True for elliptical questions that lean on what was said before."""
    words = re.findall(r"\w+", question)
    return bool(_ANAPHORA.search(question)) or len(words) <= 3


def _check_history(history: Sequence[Turn]) -> None:
    if len(history) > MAX_TURNS:
        raise QuestionError(f"history has {len(history)} turns; the limit is {MAX_TURNS}")
    for n, turn in enumerate(history, start=1):
        if not isinstance(turn.question, str) or not isinstance(turn.answer, str):
            raise QuestionError(f"history turn {n}: question and answer must be strings")
        if has_surrogates(turn.question) or has_surrogates(turn.answer):
            raise QuestionError(f"history turn {n} contains an unpaired surrogate")


def make_query(question: object, history: Sequence[Turn] = ()) -> Query:
    """Validate a question (the one place questions are cleaned and checked) and, for a
    follow-up, fold in the previous question."""
    text = clean_question(question)
    _check_history(history)
    follow = bool(history) and is_follow_up(text)
    search_text = f"{history[-1].question} {text}" if follow else text
    return Query(text, search_text, question_kind(text), follow)
