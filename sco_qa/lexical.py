"""BM25 over passages with bm25s: stemming, stop words, quote and case folding."""

from __future__ import annotations

import json
import re
import unicodedata
from bisect import bisect_left
from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

if TYPE_CHECKING:
    from collections.abc import Container, Sequence

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
EMPTY = "\x00empty"  # stands in for a passage with no content words
WORDS = "words.json"  # the corpus's own words, for reading typos


def normalise(text: str) -> str:
    """Fold compatibility forms, curly quotes, dashes and possessives; lower-case."""
    text = unicodedata.normalize("NFKC", text).translate(_FOLD).lower()
    return _POSSESSIVE.sub(r"\1", text)


@lru_cache(maxsize=1)
def _stemmer() -> Any:
    import Stemmer

    return Stemmer.Stemmer("english")


@lru_cache(maxsize=1)
def stop_words() -> frozenset[str]:
    from bm25s.stopwords import STOPWORDS_EN

    # interrogatives and auxiliaries carry no topic in a question
    extra = {
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
    }
    return frozenset(STOPWORDS_EN) | extra


def content_words(text: str) -> list[str]:
    """Normalised words that are not stop words, in order."""
    return [w for w in _TOKEN.findall(normalise(text)) if w not in stop_words()]


def tokens(text: str) -> list[str]:
    """Stemmed content-word tokens: ``"Geopoconsult?"`` and ``"Geopoconsult,"`` agree."""
    return list(_stemmer().stemWords(content_words(text)))


def max_typos(word: str) -> int:
    """Edits a word may be away from a corpus word and still be read as it (by length)."""
    return 0 if len(word) < 5 else (1 if len(word) < 9 else 2)


def corrected_tokens(text: str, words: Sequence[str], known: Container[str]) -> list[str]:
    """Stemmed tokens, each unknown one read as the nearest corpus word with the same first
    letter within ``max_typos`` edits: ``"sumit"`` → ``"summit"``; short words stay."""
    from rapidfuzz import distance, process

    out = []
    for word, stem in zip(content_words(text), tokens(text), strict=True):
        limit = max_typos(word)
        if stem in known or not limit:
            out.append(stem)
            continue
        lo, hi = bisect_left(words, word[0]), bisect_left(words, chr(ord(word[0]) + 1))
        best = process.extractOne(
            word, words[lo:hi], scorer=distance.Levenshtein.distance, score_cutoff=limit
        )
        out.append(tokens(best[0])[0] if best else stem)
    return out


class LexicalIndex:
    """A BM25 index over a list of texts; scores every text for a query."""

    def __init__(self, model: Any, size: int, words: Sequence[str] = ()) -> None:
        self._model = model
        self._vocab: dict[str, int] = dict(model.vocab_dict) if size else {}
        self._words = sorted(words)  # the corpus's content words, unstemmed, for typos
        self.size = size

    def query_tokens(self, query: str) -> list[str]:
        """The query's stemmed tokens with typos mended against this index's vocabulary."""
        return corrected_tokens(query, self._words, self._vocab)

    @classmethod
    def build(cls, texts: Sequence[str]) -> LexicalIndex:
        import bm25s

        model = bm25s.BM25()
        if texts:
            corpus = [tokens(t) or [EMPTY] for t in texts]
            model.index(corpus, show_progress=False)
        words = {w for t in texts for w in content_words(t) if max_typos(w)}
        return cls(model, len(texts), sorted(words))

    def scores(self, query: str) -> np.ndarray:
        """BM25 score of every text for ``query`` (zeros when nothing matches)."""
        known = [t for t in self.query_tokens(query) if t in self._vocab]
        if not known or not self.size:
            return np.zeros(self.size, dtype=np.float32)
        return np.asarray(self._model.get_scores(known), dtype=np.float32)

    def save(self, folder: Path) -> list[Path]:
        """Write the index as plain numpy/JSON files (no pickle); returns the files."""
        before = set(folder.iterdir())
        if self.size:
            self._model.save(str(folder), allow_pickle=False, show_progress=False)
        (folder / WORDS).write_text(json.dumps(self._words, ensure_ascii=False), "utf-8")
        return sorted(set(folder.iterdir()) - before)

    @classmethod
    def load(cls, folder: Path, size: int) -> LexicalIndex:
        import bm25s

        if not size:
            return cls(bm25s.BM25(), 0)
        model = bm25s.BM25.load(str(folder), allow_pickle=False, show_progress=False)
        words = json.loads((folder / WORDS).read_text("utf-8"))
        return cls(model, size, words)
