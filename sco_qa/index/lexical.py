"""BM25 over passages with bm25s (stemming, stop words, quote and case folding), and the
reading of question words as the corpus writes them."""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from ..text import content_words, stems, tokens
from .vocabulary import Vocabulary

EMPTY = "\x00empty"  # stands in for a passage with no content words
READINGS_KEPT = 50_000  # query words whose reading is remembered
WORDS = "words.json"  # the corpus's own words and acronyms (vocabulary.py)


class LexicalIndex:
    """A BM25 index over a list of texts; scores every text for a query."""

    def __init__(
        self,
        model: Any,
        size: int,
        *,
        vocabulary: Vocabulary | None = None,
        readings_kept: int = READINGS_KEPT,
    ) -> None:
        self._model = model
        self._vocab: dict[str, int] = dict(model.vocab_dict) if size else {}
        self.vocabulary = vocabulary or Vocabulary()
        self.size = size
        self._readings: dict[str, tuple[str, ...]] = {}  # word → tokens; words recur
        self._readings_kept = readings_kept

    def query_tokens(self, query: str) -> list[str]:
        """The query's stemmed tokens, typos and acronyms read as the corpus writes them."""
        words = content_words(query)
        memo = self._readings
        # .get, not [], as another thread may clear the memo at any moment
        read = {w: r for w in words if (r := memo.get(w)) is not None}
        new = [w for w in dict.fromkeys(words) if w not in read]
        for word, stem in zip(new, stems(new), strict=True):
            read[word] = self.vocabulary.word(word, stem, self._vocab)
        if new and len(memo) + len(new) > self._readings_kept:
            memo.clear()  # a bounded memo: start afresh rather than grow without end
        memo.update((w, read[w]) for w in new[: self._readings_kept])
        return [t for w in words for t in read[w]]

    @classmethod
    def build(cls, texts: Sequence[str]) -> LexicalIndex:
        """A BM25 index (and the corpus's vocabulary) of ``texts``."""
        import bm25s

        model = bm25s.BM25()
        if texts:
            corpus = [tokens(t) or [EMPTY] for t in texts]
            model.index(corpus, show_progress=False)
        return cls(model, len(texts), vocabulary=Vocabulary.from_texts(texts))

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
        """Read an index written by ``save`` (no pickle)."""
        import bm25s

        if not size:
            return cls(bm25s.BM25(), 0)
        model = bm25s.BM25.load(str(folder), allow_pickle=False, show_progress=False)
        words = json.loads((folder / WORDS).read_text("utf-8"))
        return cls(model, size, vocabulary=Vocabulary.from_json(words))
