"""The answer stage's learned parts, and the factory that loads them.

``Cascade``: the answer scorer (cheap, over every sentence of the pool) proposes its best
``READ_CANDIDATES``; the reader reads each with the question and re-scores it, marks its
answer phrase, and votes on whether the question has an answer at all. ``load_answerer``
picks the implementation by the format named in the model file.
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..errors import ModelError
from .pairs import LAYOUT, MAX_TOKENS
from .policy import (
    AnswerPolicy,
    LogisticPolicy,
    Pool,
    Scored,
    Scoring,
    SentenceScorer,
    sigmoid,
)
from .query import Query
from .reader import FORMAT as READER_FORMAT
from .reader import META_FILE, OnnxReader, artifact_hash, pair_text
from .scorer import FORMAT as SCORER_FORMAT
from .scorer import MODEL_FILE, ScorerModel, load_scorer

#: sentences the reader reads per question (6 pairs of 80 tokens: README "the reader")
READ_CANDIDATES = 6
#: the signals the reader's policy may read (see ``reader_signals``)
READER_SIGNALS = ("answer_1", "answer_2", "null", "p_null", "first_1")


def reader_signals(answers: list[float], nulls: list[float], first: float) -> dict[str, float]:
    """Question-level signals from the reader's logits: the two best answer logits, the mean
    null logit, the log-odds of "no answer" in one softmax over the candidates and the null,
    and the answer scorer's own best log-odds."""
    top = sorted(answers, reverse=True)
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
    }


@dataclass(frozen=True)
class Cascade:
    """The answer scorer proposes, the reader decides."""

    first: ScorerModel
    reader: OnnxReader
    provenance: Mapping[str, Any]
    version: str
    candidates: int = READ_CANDIDATES

    def warm(self) -> None:
        """Export the reader (the first time) and open its session."""
        self.reader.warm()

    def score(self, query: Query, pool: Pool) -> Scoring:
        """The reader's candidates best first by its probability, with its signals."""
        proposed = self.first.score(query, pool)
        top = proposed.ranked[: self.candidates]
        if not top:
            return proposed
        texts = [pair_text(pool.table, pool.titles, query.search_text, s.pos) for s in top]
        reads = self.reader.read(texts, [s.pos for s in top])
        ranked = [
            Scored(s.pos, sigmoid(r.answer), s.with_antecedent, (*r.phrase, r.phrase_p))
            for s, r in zip(top, reads, strict=True)
        ]
        ranked.sort(key=lambda s: (-s.score, s.pos))
        signals = reader_signals(
            [r.answer for r in reads], [r.null for r in reads], proposed.signals["top"]
        )
        return Scoring(ranked, signals)


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
    """The answer scorer alone: on held-out articles it chooses the answering sentence more
    often than the reader does so far (README "The reader"); the reader is opt-in."""
    return MODEL_FILE


def load_cascade(meta: Mapping[str, Any], folder: Path, cache_dir: Path, threads: int) -> Answerer:
    """The reader described by ``meta`` (``reader.json``) over the shipped answer scorer."""
    if meta.get("layout") != LAYOUT or meta.get("max_tokens") != MAX_TOKENS:
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
    reader = OnnxReader(weights, int(meta["frozen_layers"]), cache_dir, threads, digest)
    cascade = Cascade(first, reader, dict(meta["provenance"]), reader.version,
                      int(meta["candidates"]))  # fmt: skip
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
            return load_cascade(data, path.parent, cache_dir, threads)
        except (KeyError, TypeError, ValueError) as exc:
            raise ModelError(f"{path} is not a complete reader description ({exc})") from None
    raise ModelError(
        f"{path} names the format {fmt!r}; expected {SCORER_FORMAT} or {READER_FORMAT}"
    )
