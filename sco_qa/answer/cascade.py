"""The answer stage's learned parts, and the factory that loads them.

``Cascade``: the answer scorer (cheap, over every sentence of the pool) proposes its best
``READ_CANDIDATES``; the reader reads each with the question and re-scores it, marks its
answer phrase, and votes on whether the question has an answer at all. ``load_answerer``
picks the implementation by the format named in the model file.
"""

from __future__ import annotations

import hashlib
import json
import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..errors import ModelError
from .pairs import LAYOUT, LAYOUTS, MAX_TOKENS
from .policy import (
    AnswerPolicy,
    LogisticPolicy,
    Pool,
    Scored,
    Scoring,
    SentenceScorer,
    logit,
    sigmoid,
)
from .query import Query
from .reader import FORMAT as READER_FORMAT
from .reader import META_FILE, OnnxReader, Read, artifact_hash, pair_text
from .scorer import FORMAT as SCORER_FORMAT
from .scorer import MODEL_FILE, ScorerModel, load_scorer

#: sentences the reader reads per question, each a pair of at most 80 tokens (held-out
#: folds, the same fold readers, each pair read alone: 6 / 4 / 3 candidates gave accuracy
#: 0.827 / 0.825 / 0.823; the reader's CPU time is about in proportion, its latency in
#: rounds of one pair a core: on 2 cores three take as long as four; README "The reader")
READ_CANDIDATES = 4
#: the reader's own question-level signals (``reader_signals``) and the retrieval's
#: (``pool_signals``)
READER_SIGNALS = ("answer_1", "answer_2", "null", "p_null", "first_1", "mixed_1", "mixed_2",
                  "span_1", "span_max")  # fmt: skip
POOL_SIGNALS = ("dense_1", "dense_spread")
#: what the reader's policy reads: with the retrieval's signals, on held-out folds (the same
#: readings, six candidates), near misses refused at 95 % answered 14.0 % → 16.9 %, a removed
#: article's questions refused 86.5 % → 96.6 %, ECE 0.065 → 0.041; with the phrase-over-null
#: scores (the null phrase's fold readers, the mix weighing it either way), 21.2 → 21.4 %,
#: AUC 0.702 → 0.705, ECE 0.025 → 0.023 (README "The reader")
POLICY_SIGNALS = (*READER_SIGNALS, *POOL_SIGNALS)


@dataclass(frozen=True)
class Mix:
    """How the cascade ranks a candidate: log-odds ``reader · answer logit + null · the
    pair's own "no answer" logit + phrase · log P(its best phrase) + span · its best phrase's
    score over the null phrase + first · the answer scorer's log-odds + intercept``, a
    logistic regression fitted on fold readers' scorings of articles they did not see
    (``sco-qa train-reader``). The default is the reader alone.
    """

    reader: float = 1.0
    first: float = 0.0
    intercept: float = 0.0
    null: float = 0.0
    phrase: float = 0.0
    span: float = 0.0

    @staticmethod
    def inputs(read: Read, first_probability: float) -> tuple[float, float, float, float, float]:
        """What the mix weighs of a candidate: (answer logit, the scorer's log-odds, "no
        answer" logit, log P(best phrase), the phrase's score over the null phrase), the
        order ``fit_mix`` fits them in."""
        phrase = math.log(max(read.phrase_p, 1e-9))
        return read.answer, logit(first_probability), read.null, phrase, read.span

    def logit(self, read: Read, first_probability: float) -> float:
        """The candidate's log-odds of holding the answer."""
        answer, first, null, phrase, span = self.inputs(read, first_probability)
        return (
            self.reader * answer
            + self.null * null
            + self.phrase * phrase
            + self.span * span
            + self.first * first
            + self.intercept
        )

    def to_json(self) -> dict[str, float]:
        """The mix as plain JSON data."""
        return {"reader": self.reader, "first": self.first, "intercept": self.intercept,
                "null": self.null, "phrase": self.phrase, "span": self.span}  # fmt: skip

    @classmethod
    def from_json(cls, data: Mapping[str, Any] | None) -> Mix:
        """Read what ``to_json`` wrote (the default when absent; a mix written before the
        null, phrase or span weights has them at 0)."""
        if not data:
            return cls()
        return cls(float(data["reader"]), float(data["first"]), float(data["intercept"]),
                   float(data.get("null", 0.0)), float(data.get("phrase", 0.0)),
                   float(data.get("span", 0.0)))  # fmt: skip


def reader_signals(
    answers: list[float],
    nulls: list[float],
    *,
    first: float,
    mixed: list[float],
    spans: list[float],
) -> dict[str, float]:
    """Question-level signals from the reader's logits: the two best answer logits, the mean
    null logit, the log-odds of "no answer" in one softmax over the candidates and the null,
    the answer scorer's own best log-odds, the two best mixed log-odds, and of the
    candidates' phrase-over-null scores (``spans``, in ``mixed``'s order) the best mixed
    candidate's and the largest."""
    top = sorted(answers, reverse=True)
    best = sorted(mixed, reverse=True)
    null = sum(nulls) / len(nulls)
    peak = max(null, top[0])
    total = math.exp(null - peak) + sum(math.exp(a - peak) for a in top)
    p_null = math.exp(null - peak) / total
    return {
        "answer_1": top[0],
        "answer_2": top[1] if len(top) > 1 else -10.0,
        "null": null,
        "p_null": math.log(max(p_null, 1e-9) / max(1 - p_null, 1e-9)),
        "first_1": first,
        "mixed_1": best[0],
        "mixed_2": best[1] if len(best) > 1 else -10.0,
        "span_1": spans[max(range(len(mixed)), key=lambda i: mixed[i])],
        "span_max": max(spans),
    }


def pool_signals(pool: Pool) -> dict[str, float]:
    """Question-level signals of the retrieval: the best passage's cosine to the question
    (how near the corpus comes to it at all) and how far it stands above the pool's mean."""
    dense = [h.dense for h in pool.hits] or [0.0]
    return {"dense_1": max(dense), "dense_spread": max(dense) - sum(dense) / len(dense)}


@dataclass(frozen=True)
class Reading:
    """What both stages said of one question: the answer scorer's scoring, the reader's
    reads of its best candidates (in the scorer's order) and the retrieval's signals."""

    first: Scoring
    top: list[Scored]
    reads: list[Read]
    pool: Mapping[str, float] = field(default_factory=dict)

    def scoring(self, mix: Mix) -> Scoring:
        """The candidates best first by the mixed probability, with the policy's signals."""
        if not self.top:
            return self.first
        mixed = [mix.logit(r, s.score) for s, r in zip(self.top, self.reads, strict=True)]
        ranked = [
            Scored(s.pos, sigmoid(m), s.with_antecedent, (*r.phrase, r.phrase_p))
            for s, r, m in zip(self.top, self.reads, mixed, strict=True)
        ]
        ranked.sort(key=lambda s: (-s.score, s.pos))
        signals = reader_signals(
            [r.answer for r in self.reads],
            [r.null for r in self.reads],
            first=self.first.signals["top"],
            mixed=mixed,
            spans=[r.span for r in self.reads],
        )
        return Scoring(ranked, signals | dict(self.pool), self.first.ranked)


@dataclass(frozen=True)
class Cascade:
    """The answer scorer proposes, the reader decides."""

    first: ScorerModel
    reader: OnnxReader
    provenance: Mapping[str, Any]
    version: str
    candidates: int = READ_CANDIDATES
    mix: Mix = Mix()
    layout: int = LAYOUT

    def warm(self) -> None:
        """Export the reader (the first time) and open its session."""
        self.reader.warm()

    def read(self, query: Query, pool: Pool) -> Reading:
        """The answer scorer's scoring, and the reader's reads of its best candidates."""
        proposed = self.first.score(query, pool)
        top = proposed.ranked[: self.candidates]
        if not top:
            return Reading(proposed, [], [])
        texts = [
            pair_text(pool.table, pool.titles, query.search_text, pos=s.pos, layout=self.layout)
            for s in top
        ]
        reads = self.reader.read(texts, [s.pos for s in top])
        return Reading(proposed, top, reads, pool_signals(pool))

    def score(self, query: Query, pool: Pool) -> Scoring:
        """The read candidates best first by the mixed probability, with the signals."""
        return self.read(query, pool).scoring(self.mix)


@dataclass(frozen=True)
class Answerer:
    """A sentence scorer with the policy fitted with it."""

    scorer: SentenceScorer
    policy: AnswerPolicy

    @property
    def version(self) -> str:
        """The scorer's id, as manifests and reports record it."""
        return self.scorer.version


def lr_answerer(model: ScorerModel) -> Answerer:
    """The answer scorer on its own, with its Platt policy."""
    return Answerer(model, model.policy())


#: the shipped models by name, for SCO_QA_ANSWER_MODEL
SHIPPED = {"scorer": MODEL_FILE, "reader": META_FILE}


def default_model_file() -> Path:
    """The answer scorer alone: on held-out articles the cascade is right more often and
    refuses better, but on the golden set it is right as often and refuses more answerable
    questions (9.2 % against 6.6 %), and it costs about 16 ms more a question (README "The
    reader"); the reader is opt-in."""
    return MODEL_FILE


def reader_version(meta: Mapping[str, Any]) -> str:
    """The id of a reader description (``reader.json``): a hash of everything in it that
    decides an answer (the weights' hash, the first stage's version, the mix, the policy, the
    candidates, the layout), not of its provenance; a refitted policy is a new version."""
    decides = {k: v for k, v in meta.items() if k != "provenance"}
    digest = hashlib.sha256(json.dumps(decides, sort_keys=True).encode()).hexdigest()
    return "reader-" + digest[:12]


def load_cascade(
    meta: Mapping[str, Any], folder: Path, *, cache_dir: Path, threads: int
) -> Answerer:
    """The reader described by ``meta`` (``reader.json``) over the shipped answer scorer."""
    if meta.get("layout") not in LAYOUTS or meta.get("max_tokens") != MAX_TOKENS:
        raise ModelError(
            "the reader was trained on pairs laid out otherwise than this code builds them; "
            "run `make train` to retrain it"
        )
    weights = folder / str(meta["weights"])
    if not weights.is_file():
        raise ModelError(f"the reader's weights {weights} are missing; run `make train`")
    digest = artifact_hash(weights)
    if digest != meta["weights_sha256"]:
        raise ModelError(
            f"{weights} does not match the hash recorded in reader.json; run `make train`"
        )
    first = load_scorer(folder / str(meta["first_stage"]))
    if first.version != meta["first_stage_version"]:
        raise ModelError(
            "the reader was trained over another answer scorer than the one shipped; "
            "run `make train` to retrain both"
        )
    reader = OnnxReader(
        weights, int(meta["frozen_layers"]), cache_dir, threads=threads, digest=digest
    )
    cascade = Cascade(first, reader, dict(meta["provenance"]), reader_version(meta),
                      int(meta["candidates"]), Mix.from_json(meta.get("mix")),
                      int(meta["layout"]))  # fmt: skip
    return Answerer(cascade, LogisticPolicy.from_json(meta["policy"]))


def load_answerer(path: Path | None, cache_dir: Path, threads: int = 0) -> Answerer:
    """The answer stage described by ``path`` (default: the shipped one), chosen by the
    format its file names."""
    path = SHIPPED.get(str(path), path) if path is not None else default_model_file()
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
        fmt = data.get("format")
    except (OSError, ValueError, AttributeError) as exc:
        raise ModelError(f"cannot read the answer model {path} ({exc}); run `make train`") from None
    if fmt == SCORER_FORMAT:
        return lr_answerer(load_scorer(path))
    if fmt == READER_FORMAT:
        try:
            return load_cascade(data, path.parent, cache_dir=cache_dir, threads=threads)
        except (KeyError, TypeError, ValueError) as exc:
            raise ModelError(f"{path} is not a complete reader description ({exc})") from None
    raise ModelError(
        f"{path} names the format {fmt!r}; expected {SCORER_FORMAT} or {READER_FORMAT}"
    )
