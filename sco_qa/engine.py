"""The loaded system: settings, model, index and sentence table behind ``search`` and ``ask``.

One question goes: read the question → the word side of retrieval (BM25, topic tokens) →
embed → hybrid retrieval (FAISS + BM25, fused) → sentences scored → passages re-ranked by
their best sentence → the answer composed.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from types import MappingProxyType
from typing import TypeVar, cast

import numpy as np

from .answer import (
    Answerer,
    Pool,
    Query,
    ScorerModel,
    Scoring,
    SentenceTable,
    compose,
    load_answerer,
    lr_answerer,
    make_query,
    rerank,
)
from .answer.reader import Titles
from .config import MAX_K, Settings
from .embedding import Embedder, load_embedder
from .errors import QuestionError
from .index import Index, IndexSpec, load_index, open_index
from .index.store import StoreRows
from .records import Answer, Hit, Turn
from .retrieval import lexical_match
from .retrieval import search as hybrid_search

T = TypeVar("T")


def check_k(k: object, default: int) -> int:
    """``k`` as given (1..MAX_K), or the default when None; a QuestionError otherwise."""
    if k is None:
        return default
    if isinstance(k, bool) or not isinstance(k, int) or not 1 <= k <= MAX_K:
        raise QuestionError(f"k must be a whole number from 1 to {MAX_K}")
    return k


_models: dict[tuple[object, ...], object] = {}
_models_lock = threading.Lock()


def _shared(key: tuple[object, ...], make: Callable[[], T]) -> T:
    """One model per key in a process, made at its first use."""
    with _models_lock:
        if key not in _models:
            _models[key] = make()
        return cast(T, _models[key])


def shared_embedder(settings: Settings) -> Embedder:
    """One embedder per model setting in a process: the collections of a server share it
    (benchmarks/many_collections.py: the model is most of a small collection's memory)."""
    key = ("embedder", settings.model_backend, str(settings.model_cache_dir),
           settings.embed_cache_size, settings.model_threads, settings.embed_processes)  # fmt: skip
    return _shared(key, lambda: load_embedder(settings))


def shared_answerer(settings: Settings) -> Answerer:
    """One answer stage per answer-model setting in a process (shared as the embedder is)."""
    key = ("answerer", str(settings.answer_model), str(settings.model_cache_dir),
           settings.model_threads)  # fmt: skip
    return _shared(key, lambda: load_answerer(
        settings.answer_model, settings.model_cache_dir, settings.model_threads
    ))  # fmt: skip


def _table(index: Index, previous: SentenceTable | None = None) -> SentenceTable:
    """The answer stage's view of an index: its sentences, their vectors through the store
    (what ``previous``, the table of the build before, knows of a text is reused)."""
    rows = StoreRows(index.store, [s.sentence_id for s in index.sentences])
    return SentenceTable.build(index.sentences, rows, index.chunk_sentences, previous=previous)


@dataclass(frozen=True)
class Retrieved:
    """A question's passages before the answer stage: fused ranking, its vector, and its
    topic tokens as the corpus's lexical index reads them."""

    query: Query
    vector: np.ndarray
    hits: list[Hit]  # ranked by the fused score
    terms: list[str]
    embed_ms: float


@dataclass(frozen=True)
class _Ranked:
    query: Query
    hits: list[Hit]  # re-ranked by their best sentence
    scoring: Scoring  # candidates best first
    timings: dict[str, float]


@dataclass(frozen=True)
class Engine:
    """Everything needed to answer; build it once with ``Engine.open``.

    >>> engine = Engine.open(Settings())  # doctest: +SKIP
    >>> engine.ask("Where did the leaders meet?").answer  # doctest: +SKIP
    """

    settings: Settings
    embedder: Embedder
    index: Index
    table: SentenceTable
    answerer: Answerer
    spec: IndexSpec

    @classmethod
    def open(
        cls,
        settings: Settings,
        embedder: Embedder | None = None,
        *,
        spec: IndexSpec | None = None,
        rebuild: bool | None = None,
        answerer: Answerer | ScorerModel | None = None,
        progress: Callable[[str], None] | None = None,
    ) -> Engine:
        """Load the model, the index of ``spec`` (by default the settings' one folder),
        building or rebuilding it where allowed, and the answer stage (the shipped one
        unless another is given)."""
        emb = embedder or shared_embedder(settings)
        if isinstance(answerer, ScorerModel):
            answerer = lr_answerer(answerer)
        answerer = answerer or shared_answerer(settings)
        spec = (spec or IndexSpec.from_settings(settings)).with_scorer(answerer.version)
        index = open_index(spec, emb, rebuild=rebuild, progress=progress)
        table = _table(index)
        return cls(settings, emb, index, table, answerer, spec)

    @classmethod
    def open_live(
        cls, settings: Settings, embedder: Embedder | None = None, *, spec: IndexSpec | None = None
    ) -> Engine:
        """The engine on the live build as it was built, whatever the corpus folder holds
        now (what a server serves when the corpus cannot be rebuilt)."""
        emb = embedder or shared_embedder(settings)
        answerer = shared_answerer(settings)
        spec = (spec or IndexSpec.from_settings(settings)).with_scorer(answerer.version)
        index = load_index(spec, emb, check_corpus=False)
        table = _table(index)
        return cls(settings, emb, index, table, answerer, spec)

    def reloaded(self) -> Engine:
        """The same engine on the build the index's ``CURRENT`` now names, served as it was
        built (its documents stored with it), whatever the corpus folder holds."""
        index = load_index(self.spec, self.embedder, check_corpus=False)
        table = _table(index, previous=self.table)
        return replace(self, index=index, table=table)

    def warm(self) -> None:
        """Load what the first question would wait for: the question encoder's session and
        the answer stage's models (the reader's ONNX export, the first time)."""
        self.embedder.embed_query("warm up")
        self.answerer.scorer.warm()

    @property
    def threshold(self) -> float:
        """The refusal threshold in force: the setting, or else the scorer's own."""
        chosen = self.settings.abstain_threshold
        return self.answerer.policy.threshold if chosen is None else chosen

    def search(self, question: str, k: int | None = None) -> list[Hit]:
        """The top-``k`` passages for a question, ranked by their best sentence for it."""
        k = check_k(k, self.settings.top_k)
        return self._rank(make_query(question), k).hits[:k]

    def ask(self, question: str, k: int | None = None, history: Sequence[Turn] = ()) -> Answer:
        """Answer a question by quoting the corpus, or say that it does not say."""
        t0 = time.perf_counter()
        k = check_k(k, self.settings.top_k)
        ranked = self._rank(make_query(question, history), k)
        t1 = time.perf_counter()
        s = self.settings
        result = compose(
            self.table,
            self.index.documents,
            ranked.scoring,
            policy=self.answerer.policy,
            threshold=self.threshold,
            max_sentences=s.max_answer_sentences,
        )
        t2 = time.perf_counter()
        timings = {
            "embed": ranked.timings["embed"],
            "search": (t1 - t0) * 1e3 - ranked.timings["embed"] - ranked.timings["score"],
            "score": ranked.timings["score"],
            "compose": (t2 - t1) * 1e3,
            "total": (t2 - t0) * 1e3,
        }
        return Answer(
            ranked.query.question,
            result.answered,
            result.text,
            result.confidence,
            result.citations,
            tuple(ranked.hits[:k]),
            MappingProxyType({n: round(v, 3) for n, v in timings.items()}),
        )

    def retrieve(self, query: Query, k: int) -> Retrieved:
        """Hybrid retrieval of ``max(k, answer_pool)`` passages for ``query``; the answer stage
        reads the first ``answer_pool`` of them whatever ``k`` is.

        The word side (BM25 ranking, topic tokens) needs no model and runs first, while the
        interpreter's data is still in the CPU caches: right after the forward pass the same
        code runs several times slower (docs/scaling.md).
        """
        s = self.settings
        pool = max(k, self.spec.answer_pool)
        words = lexical_match(self.index, query.search_text, max(s.candidates, pool))
        terms = self.index.lexical.query_tokens(query.topic_text)
        t0 = time.perf_counter()
        vec = self.embedder.embed_query(query.search_text)
        t1 = time.perf_counter()
        hits = hybrid_search(
            self.index,
            vec,
            query.search_text,
            k=pool,
            candidates=s.candidates,
            rrf_k=s.rrf_k,
            lexical=words,
        )
        return Retrieved(query, vec, hits, terms, (t1 - t0) * 1e3)

    def _rank(self, query: Query, k: int) -> _Ranked:
        """Retrieval, sentence scoring and the re-ranking of passages by their best sentence."""
        got = self.retrieve(query, k)
        hits = got.hits[: self.spec.answer_pool]
        pool = Pool(self.table, Titles(self.index.documents), got.vector, hits, got.terms)
        t0 = time.perf_counter()
        scoring = self.answerer.scorer.score(query, pool)
        scored_ms = (time.perf_counter() - t0) * 1e3
        reranked = rerank(self.table, got.hits, scoring)
        return _Ranked(query, reranked, scoring, {"embed": got.embed_ms, "score": scored_ms})
