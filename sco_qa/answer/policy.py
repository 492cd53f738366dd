"""The seam between scoring sentences and deciding what to answer.

A ``SentenceScorer`` turns a question's pool of sentences into ``Scoring``: the candidates
best first (each with its probability of holding the answer, and the answer phrase where the
scorer marks one) plus named question-level signals. An ``AnswerPolicy`` turns a scoring
into a calibrated confidence, says whether a phrase is sure enough to show, and how many
sentences to quote. ``compose`` reads only these two, never one model's fields.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, NamedTuple, Protocol

import numpy as np

from ..errors import ModelError
from ..records import Hit
from .features import SentenceTable
from .query import Query


class Scored(NamedTuple):
    """A candidate sentence with the probability that it holds the answer, and the answer
    phrase inside it (characters within the sentence, and its own probability) when the
    scorer marks one."""

    pos: int
    score: float
    with_antecedent: bool
    phrase: tuple[int, int, float] | None = None


@dataclass(frozen=True)
class Pool:
    """What a scorer may read of one question: the sentence table, the titles, the
    question's vector, its retrieved passages and its topic tokens."""

    table: SentenceTable
    titles: Mapping[str, str]
    vector: np.ndarray
    hits: Sequence[Hit]
    terms: Sequence[str]


@dataclass(frozen=True)
class Scoring:
    """Candidates best first, and the question-level signals a policy reads; when ``ranked``
    holds only what a later stage re-scored, ``proposed`` is the first stage's ranking of the
    whole pool (passages none of whose sentences were re-scored are ordered by it)."""

    ranked: list[Scored]
    signals: Mapping[str, float] = field(default_factory=dict)
    proposed: list[Scored] = field(default_factory=list)


class SentenceScorer(Protocol):
    """Scores a question's candidate sentences."""

    @property
    def version(self) -> str:
        """A short id of the model's content."""
        ...

    @property
    def provenance(self) -> Mapping[str, Any]:
        """Where it came from: data hash, embedder, pool size, command."""
        ...

    def score(self, query: Query, pool: Pool) -> Scoring:
        """The pool's candidates, best first, with question-level signals."""
        ...

    def warm(self) -> None:
        """Load whatever the first ``score`` would wait for."""
        ...


class AnswerPolicy(Protocol):
    """Decides from a scoring how sure the answer is and what to quote."""

    @property
    def threshold(self) -> float:
        """The default refusal threshold on the calibrated confidence."""
        ...

    @property
    def runner_up(self) -> float:
        """A further sentence is quoted when its p ≥ runner_up · p1."""
        ...

    def confidence(self, scoring: Scoring) -> float:
        """Calibrated probability that the answer built from ``scoring`` holds the answer."""
        ...

    def shows_phrase(self, probability: float) -> bool:
        """Whether a phrase of this (uncalibrated) probability is shown."""
        ...


def sigmoid(x: float) -> float:
    """The logistic function, clipped so that it never overflows."""
    return 1.0 / (1.0 + math.exp(-min(max(x, -30.0), 30.0)))


@dataclass(frozen=True)
class LogisticPolicy:
    """A logistic regression over named signals gives the confidence; another over the
    phrase probability's log gives P(the phrase is right), shown from ``phrase_threshold``.
    Every number is fitted on training articles (see the scorer's provenance)."""

    names: tuple[str, ...]
    coef: tuple[float, ...]
    intercept: float
    threshold: float
    runner_up: float
    phrase: tuple[float, float] | None = None  # a, b: sigmoid(a·log p + b)
    phrase_threshold: float = 1.0
    calibration: tuple[float, float] | None = None  # the Platt step folded into coef, intercept

    def confidence(self, scoring: Scoring) -> float:
        """sigmoid(coef · signals + intercept); 0 without candidates."""
        if not scoring.ranked:
            return 0.0
        try:
            z = sum(c * scoring.signals[n] for n, c in zip(self.names, self.coef, strict=True))
        except KeyError as exc:
            raise ModelError(
                f"the answer policy reads a signal the scorer does not give ({exc}); "
                "run `make train` to retrain both"
            ) from None
        return sigmoid(z + self.intercept)

    def phrase_probability(self, probability: float) -> float:
        """Calibrated probability that a phrase of this raw probability is right."""
        if self.phrase is None:
            return 0.0
        a, b = self.phrase
        return sigmoid(a * math.log(max(probability, 1e-9)) + b)

    def shows_phrase(self, probability: float) -> bool:
        """A phrase is shown when its calibrated probability clears the threshold."""
        return self.phrase is not None and self.phrase_probability(probability) >= (
            self.phrase_threshold
        )

    def to_json(self) -> dict[str, Any]:
        """The policy as plain JSON data."""
        return {
            "names": list(self.names),
            "coef": [round(c, 7) for c in self.coef],
            "intercept": round(self.intercept, 7),
            "threshold": self.threshold,
            "runner_up": self.runner_up,
            "phrase": list(self.phrase) if self.phrase else None,
            "phrase_threshold": self.phrase_threshold,
            "calibration": list(self.calibration) if self.calibration else None,
        }

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> LogisticPolicy:
        """Read what ``to_json`` wrote."""
        phrase = data.get("phrase")
        return cls(
            tuple(str(n) for n in data["names"]),
            tuple(float(c) for c in data["coef"]),
            float(data["intercept"]),
            float(data["threshold"]),
            float(data["runner_up"]),
            (float(phrase[0]), float(phrase[1])) if phrase else None,
            float(data.get("phrase_threshold", 1.0)),
            _pair(data.get("calibration")),
        )


def _pair(value: Any) -> tuple[float, float] | None:
    return (float(value[0]), float(value[1])) if value else None


def logit(p: float) -> float:
    """The log-odds of a probability (clipped away from 0 and 1)."""
    p = min(max(p, 1e-6), 1 - 1e-6)
    return math.log(p / (1 - p))
