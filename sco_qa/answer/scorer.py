"""The learned answer scorer: for each candidate sentence, the probability that it holds the
answer; for the composed answer, a calibrated probability that it does.

Every number of it is in ``scorer.json`` beside this module, written by ``make train``
(``sco-qa train``) from ``benchmarks/data/squad2-dev-part.json``: which articles, the data's
SHA-256, the seed and the command are recorded in its ``provenance``.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any

import numpy as np

from ..errors import ModelError
from ..records import Hit
from .candidates import gather
from .features import SentenceTable
from .policy import LogisticPolicy, Pool, Scored, Scoring, logit
from .query import Query

MODEL_FILE = Path(__file__).with_name("scorer.json")
FORMAT = "sco-qa-scorer/1"


def _sigmoid(x: np.ndarray) -> np.ndarray:
    out: np.ndarray = 1.0 / (1.0 + np.exp(-np.clip(x, -30, 30)))
    return out


@dataclass(frozen=True)
class ScorerModel:
    """A logistic regression over standardised candidate features, a Platt calibration of
    the answer's confidence, and the answer policy chosen with it on the training articles."""

    names: tuple[str, ...]
    mean: np.ndarray
    scale: np.ndarray
    coef: np.ndarray
    intercept: float
    calibration: tuple[float, float, float]  # a, b, c: sigmoid(a·logit p1 + b·logit p2 + c)
    threshold: float  # default refusal threshold on the calibrated confidence
    runner_up: float  # a second sentence is quoted when its p ≥ runner_up · p1
    products: bool  # whether q∘s columns are among the features
    provenance: dict[str, Any] = field(default_factory=dict)
    version: str = ""

    def probabilities(self, features: np.ndarray) -> np.ndarray:
        """P(holds the answer) for each row of ``features``."""
        z = ((features - self.mean) / self.scale) @ self.coef + self.intercept
        return _sigmoid(z)

    def policy(self) -> LogisticPolicy:
        """Its answer policy: Platt scaling of the two best sentences' log-odds."""
        a, b, c = self.calibration
        return LogisticPolicy(("top", "second"), (a, b), c, self.threshold, self.runner_up)

    def scoring(self, ranked: list[Scored]) -> Scoring:
        """Ranked candidates with the signals its policy reads."""
        second = ranked[1].score if len(ranked) > 1 else 1e-6
        top = ranked[0].score if ranked else 1e-6
        return Scoring(ranked, {"top": logit(top), "second": logit(second)})

    def confidence(self, ranked: list[Scored]) -> float:
        """Calibrated probability that the answer built from ``ranked`` holds the answer."""
        return self.policy().confidence(self.scoring(ranked))

    def warm(self) -> None:
        """Nothing to load: the weights are in memory."""

    def score(self, query: Query, pool: Pool) -> Scoring:
        """Every candidate of the pool with its probability, best first."""
        ranked = score_sentences(
            pool.table, query, pool.vector, hits=pool.hits, terms=pool.terms, model=self
        )
        return self.scoring(ranked)

    def to_json(self) -> dict[str, Any]:
        """The model as plain JSON data (what ``scorer.json`` holds)."""
        return {
            "format": FORMAT,
            "names": list(self.names),
            "mean": [round(float(v), 7) for v in self.mean],
            "scale": [round(float(v), 7) for v in self.scale],
            "coef": [round(float(v), 7) for v in self.coef],
            "intercept": round(self.intercept, 7),
            "calibration": [round(v, 7) for v in self.calibration],
            "threshold": self.threshold,
            "runner_up": self.runner_up,
            "products": self.products,
            "provenance": self.provenance,
        }

    @classmethod
    def from_json(cls, data: dict[str, Any], version: str = "") -> ScorerModel:
        """Read what ``to_json`` wrote."""
        if data.get("format") != FORMAT:
            raise ModelError(f"not a {FORMAT} answer scorer; run `make train` to write one")
        a, b, c = (float(v) for v in data["calibration"])
        return cls(
            tuple(data["names"]),
            np.asarray(data["mean"], dtype=np.float32),
            np.asarray(data["scale"], dtype=np.float32),
            np.asarray(data["coef"], dtype=np.float32),
            float(data["intercept"]),
            (a, b, c),
            float(data["threshold"]),
            float(data["runner_up"]),
            bool(data["products"]),
            dict(data.get("provenance", {})),
            version,
        )


def untrained(names: Sequence[str], products: bool) -> ScorerModel:
    """A scorer that knows nothing (every candidate 0.5): what training retrieves with."""
    n = len(names)
    ones, zeros = np.ones(n, dtype=np.float32), np.zeros(n, dtype=np.float32)
    return ScorerModel(tuple(names), zeros, ones, zeros, 0.0, (1.0, 0.0, 0.0), 0.0, 1.0, products)


def model_version(raw: bytes) -> str:
    """A short id of a scorer file's content: ``lr-<sha256[:12]>``."""
    return "lr-" + hashlib.sha256(raw).hexdigest()[:12]


@lru_cache(maxsize=4)
def load_scorer(path: Path = MODEL_FILE) -> ScorerModel:
    """The trained scorer (``scorer.json`` by default); a ModelError says how to make one."""
    try:
        raw = path.read_bytes()
        return ScorerModel.from_json(json.loads(raw), model_version(raw))
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise ModelError(
            f"cannot read the answer scorer {path} ({exc}); run `make train` to write it"
        ) from None


def score_sentences(
    table: SentenceTable,
    query: Query,
    qvec: np.ndarray,
    *,
    hits: Sequence[Hit],
    terms: Sequence[str],
    model: ScorerModel,
) -> list[Scored]:
    """Every candidate sentence with its probability of holding the answer, best first."""
    cands = gather(table, query, qvec, hits=hits, terms=terms, products=model.products)
    if not cands.positions:
        return []
    if cands.names != model.names:
        raise ModelError(
            "the answer scorer was trained on other features than this code computes: "
            "run `make train` to retrain it"
        )
    probs = model.probabilities(cands.features).tolist()
    quote_previous = table.stats.quote_previous
    out = [
        Scored(pos, p, quote_previous[pos]) for pos, p in zip(cands.positions, probs, strict=True)
    ]
    out.sort(key=lambda s: (-s.score, s.pos))
    return out
