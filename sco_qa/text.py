"""Pure: text normalisation and word tokens, shared by lexical search, question reading and
the evaluation's fact matching (so the judge and the retriever fold text the same way)."""

from __future__ import annotations

import re
import unicodedata
from functools import lru_cache
from typing import Any

_FOLD = str.maketrans(
    {
        "‘": "'",
        "’": "'",
        "‚": "'",
        "‛": "'",
        "“": '"',
        "”": '"',
        "„": '"',
        "\u00a0": " ",
        "‐": "-",
        "‑": "-",
        "–": "-",
        "—": "-",
    }
)
_POSSESSIVE = re.compile(r"(\w)'s\b")
_TOKEN = re.compile(r"(?u)\b\w\w+\b")
_SPACE = re.compile(r"\s+")

# interrogatives and auxiliaries carry no topic in a question
_QUESTION_WORDS = frozenset(
    [
        "which",
        "what",
        "who",
        "whom",
        "whose",
        "when",
        "where",
        "why",
        "how",
        "does",
        "did",
        "do",
        "doing",
        "done",
        "has",
        "have",
        "had",
        "is",
        "are",
        "was",
        "were",
        "much",
        "many",
    ]
)


def normalise(text: str) -> str:
    """Fold compatibility forms, curly quotes, dashes and possessives; lower-case.

    >>> normalise("The Committee’s “Final” Report")
    'the committee "final" report'
    """
    text = unicodedata.normalize("NFKC", text).translate(_FOLD).lower()
    return _POSSESSIVE.sub(r"\1", text)


def fold(text: str) -> str:
    """``normalise`` with runs of white space made one space (for matching facts).

    >>> fold("Ada\\n  LOVELACE’s")
    'ada lovelace'
    """
    return _SPACE.sub(" ", normalise(text))


@lru_cache(maxsize=1)
def _stemmer() -> Any:
    import Stemmer

    return Stemmer.Stemmer("english")


@lru_cache(maxsize=1)
def stop_words() -> frozenset[str]:
    """English stop words plus question words."""
    from bm25s.stopwords import STOPWORDS_EN

    return frozenset(STOPWORDS_EN) | _QUESTION_WORDS


def content_words(text: str) -> list[str]:
    """Normalised words that are not stop words, in order.

    >>> content_words("Which engines does the factory build?")
    ['engines', 'factory', 'build']
    """
    return [w for w in _TOKEN.findall(normalise(text)) if w not in stop_words()]


def stems(words: list[str]) -> list[str]:
    """Snowball stems of already normalised words."""
    return list(_stemmer().stemWords(words))


def tokens(text: str) -> list[str]:
    """Stemmed content-word tokens: ``"Geopoconsult?"`` and ``"Geopoconsult,"`` agree.

    >>> tokens("Engineers gathered in Lisbon")
    ['engin', 'gather', 'lisbon']
    """
    return stems(content_words(text))


def plural(n: int, one: str, many: str = "") -> str:
    """``1 document``, ``2 documents``; ``many`` where the plural is not ``one + s``.

    >>> plural(1, "document"), plural(3, "document"), plural(2, "file skipped", "files skipped")
    ('1 document', '3 documents', '2 files skipped')
    """
    return f"{n} {one if n == 1 else (many or one + 's')}"
