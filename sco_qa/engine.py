"""The loaded system: settings, model and index behind ``search`` and ``ask``."""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass
from types import MappingProxyType

import numpy as np

from .answer import SentenceStats, compose
from .chunking import ChunkingParams
from .config import Settings
from .embedding import Embedder, load_embedder
from .errors import QuestionError
from .index import Index, open_index
from .questions import clean_question, make_query
from .records import Answer, Hit, Turn
from .retrieval import search as hybrid_search

#: passages whose sentences compete for the answer, whatever ``k`` the caller shows
ANSWER_POOL = 8


def chunking_params(settings: Settings) -> ChunkingParams:
    return ChunkingParams(settings.passage_max_chars, settings.passage_overlap)


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
        """The top-``k`` passages for a question, with dense, lexical and fused scores."""
        text = clean_question(question)
        vec = self.embedder.embed_query(text)
        return self._retrieve(text, vec, check_k(k, self.settings.top_k))

    def _retrieve(self, text: str, vec: np.ndarray, k: int) -> list[Hit]:
        s = self.settings
        return hybrid_search(self.index, vec, text, k, s.candidates, s.rrf_k)

    def ask(self, question: str, k: int | None = None, history: Sequence[Turn] = ()) -> Answer:
        """Answer a question by quoting the corpus, or say that it does not say."""
        t0 = time.perf_counter()
        k = check_k(k, self.settings.top_k)
        query = make_query(question, history)
        vec = self.embedder.embed_query(query.search_text)
        t1 = time.perf_counter()
        hits = self._retrieve(query.search_text, vec, max(k, ANSWER_POOL))
        t2 = time.perf_counter()
        s = self.settings
        result = compose(
            self.index, self.stats, query, vec, hits, s.abstain_threshold, s.max_answer_sentences
        )
        t3 = time.perf_counter()
        timings = {
            "embed": (t1 - t0) * 1e3,
            "search": (t2 - t1) * 1e3,
            "compose": (t3 - t2) * 1e3,
            "total": (t3 - t0) * 1e3,
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
