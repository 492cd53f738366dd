"""BM25 over passages with bm25s: stemming, stop words, quote and case folding."""

from __future__ import annotations

import json
import re
import unicodedata
from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

if TYPE_CHECKING:
    from collections.abc import Sequence

    from .vocabulary import Vocabulary

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
READINGS_KEPT = 50_000  # query words whose reading is remembered
WORDS = "words.json"  # the corpus's own words and acronyms (vocabulary.py)


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


def stems(words: list[str]) -> list[str]:
    """Snowball stems of already normalised words."""
    return list(_stemmer().stemWords(words))


def tokens(text: str) -> list[str]:
    """Stemmed content-word tokens: ``"Geopoconsult?"`` and ``"Geopoconsult,"`` agree."""
    return stems(content_words(text))


class LexicalIndex:
    """A BM25 index over a list of texts; scores every text for a query."""

    def __init__(self, model: Any, size: int, vocabulary: Vocabulary | None = None) -> None:
        from .vocabulary import Vocabulary

        self._model = model
        self._vocab: dict[str, int] = dict(model.vocab_dict) if size else {}
        self.vocabulary = vocabulary or Vocabulary()
        self.size = size
        self._readings: dict[str, tuple[str, ...]] = {}  # word → tokens; words recur

    def query_tokens(self, query: str) -> list[str]:
        """The query's stemmed tokens, typos and acronyms read as the corpus writes them."""
        words = content_words(query)
        memo = self._readings
        new = [w for w in dict.fromkeys(words) if w not in memo]
        if len(memo) + len(new) > READINGS_KEPT:
            memo.clear()
        for word, stem in zip(new, stems(new), strict=True):
            memo[word] = self.vocabulary.word(word, stem, self._vocab)
        return [t for w in words for t in memo[w]]

    @classmethod
    def build(cls, texts: Sequence[str]) -> LexicalIndex:
        import bm25s

        model = bm25s.BM25()
        if texts:
            corpus = [tokens(t) or [EMPTY] for t in texts]
            model.index(corpus, show_progress=False)
        from .vocabulary import Vocabulary

        return cls(model, len(texts), Vocabulary.from_texts(texts))

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
        data = json.dumps(self.vocabulary.to_json(), ensure_ascii=False)
        (folder / WORDS).write_text(data, "utf-8")
        return sorted(set(folder.iterdir()) - before)

    @classmethod
    def load(cls, folder: Path, size: int) -> LexicalIndex:
        import bm25s

        if not size:
            return cls(bm25s.BM25(), 0)
        model = bm25s.BM25.load(str(folder), allow_pickle=False, show_progress=False)
        from .vocabulary import Vocabulary

        words = json.loads((folder / WORDS).read_text("utf-8"))
        return cls(model, size, Vocabulary.from_json(words))
