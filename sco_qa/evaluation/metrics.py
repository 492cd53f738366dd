"""Run the golden set through ``ask`` and measure retrieval, answers and abstention (pure,
but for the ``ask`` it is given)."""

from __future__ import annotations

import json
import random
import statistics
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from ..records import Answer, Citation, Hit
from .golden import GoldenItem, fact_present

KS = (1, 3, 5)
MRR_K = 10
EVAL_TOP_K = 10

#: ask(question, top_k) → the Answer (from the engine, or read back from a server's JSON)
AskFn = Callable[[str, int], Answer]
#: doc_id → the document's full text
TextFn = Callable[[str], str]


@dataclass(frozen=True)
class Outcome:
    """What happened to one golden question."""

    id: str
    question: str
    answerable: bool
    answered: bool
    correct: bool
    fact_recall: float
    supported: bool
    faithful: bool
    retrieval_rank: int | None
    confidence: float
    answer: str
    citations: tuple[Citation, ...]
    latency_ms: float
    failure: str
    facts: tuple[tuple[str, ...], ...] = ()  # what the answer had to hold (from the golden set)
    support: str = ""  # the text that answers it, as the golden set gives it
    support_doc: str = ""  # the document that holds it
    #: the passages retrieved: (rank, passage id, the start of its text)
    retrieved: tuple[tuple[int, str, str], ...] = ()


@dataclass(frozen=True)
class Report:
    """Metrics over the whole set plus every question's outcome."""

    metrics: dict[str, float]
    outcomes: list[Outcome]
    threshold: float | None  # None when a remote server was evaluated
    #: (mean confidence, share holding the answer, count) per confidence bin, where measured
    reliability: tuple[tuple[float, float, int], ...] = ()
    scorer: str = ""  # the answer scorer's version
    #: whether each question's best answer, refused or not, held a gold answer (SQuAD runs)
    held: tuple[bool, ...] = ()
    #: whether each question's first quoted sentence, refused or not, held a gold answer
    first_held: tuple[bool, ...] = ()

    def to_json(self) -> dict[str, Any]:
        """The report as plain JSON data (what ``eval.json`` holds)."""
        return {
            "metrics": self.metrics,
            "threshold": self.threshold,
            "scorer": self.scorer,
            "reliability": [list(r) for r in self.reliability],
            "outcomes": [asdict(o) for o in self.outcomes],
        }


def overlaps(a_start: int, a_end: int, b_start: int, b_end: int) -> bool:
    """The character spans [a_start, a_end) and [b_start, b_end) share a character.

    >>> overlaps(0, 5, 4, 9), overlaps(0, 5, 5, 9)
    (True, False)
    """
    return a_start < b_end and b_start < a_end


def retrieval_rank(item: GoldenItem, passages: Sequence[Hit]) -> int | None:
    """1-based rank of the first passage overlapping the support span, or None."""
    for rank, hit in enumerate(passages, start=1):
        c = hit.chunk
        if c.doc_id == item.doc_id and overlaps(c.start, c.end, item.start, item.end):
            return rank
    return None


def faithful(citations: Sequence[Citation], text_of: TextFn) -> bool:
    """Every quote equals its document's text at its offsets."""
    return all(text_of(c.doc_id)[c.start : c.end] == c.quote for c in citations)


def _failure(item: GoldenItem, answered: bool, correct: bool, *, rank: int | None) -> str:
    if not item.answerable:
        return "answered an unanswerable question" if answered else ""
    if correct:
        return ""
    if not answered:
        return "wrongly refused"
    if rank is None:
        return "retrieval missed the supporting passage"
    return "passage retrieved but the wrong sentence was quoted"


def judge(item: GoldenItem, result: Answer, text_of: TextFn, *, latency_ms: float) -> Outcome:
    """Score one answer against its golden item."""
    answered = result.answered
    cites = result.citations
    text = result.answer if answered else ""
    groups = [fact_present(g, text) for g in item.facts]
    correct = item.answerable and answered and all(groups)
    rank = retrieval_rank(item, result.passages) if item.answerable else None
    supported = any(
        c.doc_id == item.doc_id and overlaps(c.start, c.end, item.start, item.end) for c in cites
    )
    return Outcome(
        item.id,
        item.question,
        item.answerable,
        answered,
        correct,
        sum(groups) / len(groups) if groups else 0.0,
        supported,
        faithful(cites, text_of),
        rank,
        result.confidence,
        result.answer,
        cites,
        round(latency_ms, 3),
        _failure(item, answered, correct, rank=rank),
        item.facts,
        item.support,
        item.doc_id,
        tuple((h.rank, h.chunk.chunk_id, h.chunk.text[:200]) for h in result.passages),
    )


def _share(values: Sequence[bool]) -> float:
    return round(sum(values) / len(values), 4) if values else 0.0


def _pct(values: Sequence[float], q: float) -> float:
    if not values:
        return 0.0
    ordered = sorted(values)
    return round(ordered[min(len(ordered) - 1, int(q * len(ordered)))], 3)


def metrics(outcomes: Sequence[Outcome]) -> dict[str, float]:
    """The summary table; pure."""
    ans = [o for o in outcomes if o.answerable]
    una = [o for o in outcomes if not o.answerable]
    ranks = [o.retrieval_rank for o in ans]
    lengths = [len(o.answer) for o in outcomes if o.answered]
    lat = [o.latency_ms for o in outcomes]
    m = {f"recall@{k}": _share([r is not None and r <= k for r in ranks]) for k in KS}
    m["mrr@10"] = (
        round(statistics.fmean(1 / r if r and r <= MRR_K else 0 for r in ranks), 4)
        if ranks
        else 0.0
    )
    m |= {
        "accuracy": _share([o.correct for o in ans]),
        "fact_recall": round(statistics.fmean(o.fact_recall for o in ans), 4) if ans else 0.0,
        "citation_support": _share([o.supported for o in ans if o.answered]),
        "faithfulness": _share([o.faithful for o in outcomes]),
        "median_answer_chars": float(statistics.median(lengths)) if lengths else 0.0,
        "max_answer_chars": float(max(lengths, default=0)),
        "unanswerable_refused": _share([not o.answered for o in una]),
        "answerable_refused": _share([not o.answered for o in ans]),
        "latency_p50_ms": _pct(lat, 0.5),
        "latency_p95_ms": _pct(lat, 0.95),
        "questions": float(len(outcomes)),
    }
    return m


def evaluate(
    items: Sequence[GoldenItem], ask: AskFn, text_of: TextFn, *, threshold: float | None
) -> Report:
    """Ask every golden question and judge the answers."""
    outcomes = []
    for item in items:
        t0 = time.perf_counter()
        result = ask(item.question, EVAL_TOP_K)
        outcomes.append(judge(item, result, text_of, latency_ms=(time.perf_counter() - t0) * 1e3))
    return Report(metrics(outcomes), outcomes, threshold)


@dataclass(frozen=True)
class TradeOff:
    """What one abstention threshold gives on a golden set."""

    threshold: float
    unanswerable_refused: float
    answerable_refused: float
    accuracy: float


def trade_offs(outcomes: Sequence[Outcome], steps: int = 100) -> list[TradeOff]:
    """What each threshold would give, from a run made with threshold 0 (pure)."""
    ans = [o for o in outcomes if o.answerable]
    una = [o for o in outcomes if not o.answerable]
    rows = []
    for i in range(steps + 1):
        t = i / steps
        rows.append(
            TradeOff(
                t,
                _share([o.confidence < t for o in una]),
                _share([o.confidence < t for o in ans]),
                _share([o.correct and o.confidence >= t for o in ans]),
            )
        )
    return rows


#: the fewest answerable questions a threshold is recommended from: with fewer, "at most 5 %
#: of answerable refused" cannot tell one question from none
MIN_CALIBRATION_ANSWERABLE = 20
#: the fewest unanswerable ones: with fewer, one question moves the refused share by > 10 %
MIN_CALIBRATION_UNANSWERABLE = 10


def threshold_interval(
    outcomes: Sequence[Outcome], rounds: int = 200, seed: int = 0
) -> tuple[float, float]:
    """A 90 % bootstrap interval of the chosen threshold (questions resampled, seeded)."""
    rng = random.Random(seed)
    ans = [o for o in outcomes if o.answerable]
    una = [o for o in outcomes if not o.answerable]
    picks = []
    for _ in range(rounds):
        sample = rng.choices(ans, k=len(ans)) + rng.choices(una, k=len(una))
        picks.append(choose_threshold(trade_offs(sample)).threshold)
    picks.sort()
    return picks[int(0.05 * rounds)], picks[int(0.95 * rounds) - 1]


def choose_threshold(rows: Sequence[TradeOff], max_wrongly_refused: float = 0.05) -> TradeOff:
    """The threshold refusing most unanswerable questions within the false-refusal budget,
    then refusing fewest answerable ones; among equals, the middle of the run, so that the
    choice does not sit on one question's confidence."""
    ok = [r for r in rows if r.answerable_refused <= max_wrongly_refused]
    if not ok:
        return rows[0]
    best = max(ok, key=lambda r: (r.unanswerable_refused, -r.answerable_refused))
    tied = [
        r
        for r in ok
        if (r.unanswerable_refused, r.answerable_refused)
        == (best.unanswerable_refused, best.answerable_refused)
    ]
    return tied[len(tied) // 2]


def compare(current: Report, baseline: Mapping[str, Any]) -> dict[str, Any]:
    """Metric deltas and the questions that got better or worse than ``baseline``."""
    before = {o["id"]: o for o in baseline.get("outcomes", [])}
    deltas = {
        k: round(v - baseline["metrics"].get(k, 0.0), 4)
        for k, v in current.metrics.items()
        if k in baseline.get("metrics", {})
    }

    def good(o: Mapping[str, Any]) -> bool:
        return bool(o["correct"]) if o["answerable"] else not o["answered"]

    better = [
        o.id
        for o in current.outcomes
        if o.id in before and good(asdict(o)) and not good(before[o.id])
    ]
    worse = [
        o.id
        for o in current.outcomes
        if o.id in before and not good(asdict(o)) and good(before[o.id])
    ]
    return {"deltas": deltas, "better": better, "worse": worse}


def load_report(path: Path) -> dict[str, Any]:
    """An ``eval.json`` written earlier (for ``compare``)."""
    with open(path, encoding="utf-8") as fh:
        report: dict[str, Any] = json.load(fh)
    return report
