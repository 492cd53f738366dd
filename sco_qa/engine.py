"""The loaded system: settings, model and index behind ``search`` and ``ask``."""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass
from types import MappingProxyType

import numpy as np

from .answer import Scored, SentenceStats, compose, rerank, score_sentences
from .chunking import ChunkingParams
from .config import Settings
from .embedding import Embedder, load_embedder
from .errors import QuestionError
from .index import Index, open_index
from .questions import Query, make_query
from .records import Answer, Hit, Turn
from .retrieval import LexicalMatch, lexical_match
from .retrieval import search as hybrid_search

#: passages whose sentences compete for the answer, whatever ``k`` the caller shows
ANSWER_POOL = 8


def chunking_params(settings: Settings) -> ChunkingParams:
    return ChunkingParams(settings.passage_max_chars, settings.passage_overlap)


def _pool(k: int) -> int:
    """Passages retrieved for ``k`` shown: enough for the answer to choose from."""
    return max(k, ANSWER_POOL)


def check_k(k: int | None, default: int) -> int:
    if k is None:
        return default
    if isinstance(k, bool) or not isinstance(k, int) or not 1 <= k <= 100:
        raise QuestionError("k must be a whole number from 1 to 100")
    return k


@dataclass(frozen=True)
class Engine:
    """Everything needed to answer; build it once with ``Engine.open``."""

    settings: Settings
    embedder: Embedder
    index: Index
    stats: SentenceStats

    @classmethod
    def open(
        cls, settings: Settings, embedder: Embedder | None = None, rebuild: bool | None = None
    ) -> Engine:
        """Load the model and the index (building or rebuilding it where allowed)."""
        emb = embedder or load_embedder(settings)
        allow = settings.auto_rebuild if rebuild is None else rebuild
        index = open_index(
            settings.corpus_dir,
            settings.index_dir,
            emb,
            chunking_params(settings),
            allow,
            settings.ann_threshold,
        )
        return cls(settings, emb, index, SentenceStats.from_sentences(index.sentences))

    def search(self, question: str, k: int | None = None) -> list[Hit]:
        """The top-``k`` passages for a question, ranked by their best sentence for it."""
        k = check_k(k, self.settings.top_k)
        query = make_query(question)
        words = self._read_words(query, k)
        vec = self.embedder.embed_query(query.search_text)
        hits, _ = self._passages(query, vec, k, words)
        return hits[:k]

    def _read_words(self, query: Query, k: int) -> tuple[LexicalMatch, list[str]]:
        """The word side of a question, which needs no model: the BM25 ranking of the
        search text and the topic tokens. Done before the model runs, while the
        interpreter's data is still in the CPU caches (right after the forward pass the
        same code runs several times slower)."""
        depth = max(self.settings.candidates, _pool(k))
        match = lexical_match(self.index, query.search_text, depth)
        return match, self.index.lexical.query_tokens(query.topic_text)

    def _passages(
        self, query: Query, vec: np.ndarray, k: int, words: tuple[LexicalMatch, list[str]]
    ) -> tuple[list[Hit], list[Scored]]:
        """Hybrid retrieval of a pool of passages, their sentences scored, and the pool
        re-ranked by its best sentences."""
        s = self.settings
        match, terms = words
        hits = hybrid_search(
            self.index, vec, query.search_text, _pool(k), s.candidates, s.rrf_k, match
        )
        ranked = score_sentences(self.index, self.stats, query, vec, hits, terms=terms)
        return rerank(self.index, hits, ranked), ranked

    def ask(self, question: str, k: int | None = None, history: Sequence[Turn] = ()) -> Answer:
        """Answer a question by quoting the corpus, or say that it does not say."""
        t0 = time.perf_counter()
        k = check_k(k, self.settings.top_k)
        query = make_query(question, history)
        words = self._read_words(query, k)
        t1 = time.perf_counter()
        vec = self.embedder.embed_query(query.search_text)
        t2 = time.perf_counter()
        hits, ranked = self._passages(query, vec, k, words)
        t3 = time.perf_counter()
        s = self.settings
        result = compose(self.index, query, ranked, s.abstain_threshold, s.max_answer_sentences)
        t4 = time.perf_counter()
        timings = {
            "embed": (t2 - t1) * 1e3,
            "search": (t1 - t0 + t3 - t2) * 1e3,
            "compose": (t4 - t3) * 1e3,
            "total": (t4 - t0) * 1e3,
        }
        return Answer(
            query.question,
            result.answered,
            result.text,
            result.confidence,
            result.citations,
            tuple(hits[:k]),
            MappingProxyType({n: round(v, 3) for n, v in timings.items()}),
        )
