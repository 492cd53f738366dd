"""Evaluation against a golden set: loading it, asking, judging, and the reports."""

from .client import RemoteEngine
from .golden import GoldenItem, fact_present, load_golden
from .metrics import (
    Outcome,
    Report,
    TradeOff,
    choose_threshold,
    compare,
    evaluate,
    judge,
    load_report,
    metrics,
    trade_offs,
)
from .reports import write_reports

__all__ = [
    "GoldenItem",
    "Outcome",
    "RemoteEngine",
    "Report",
    "TradeOff",
    "choose_threshold",
    "compare",
    "evaluate",
    "fact_present",
    "judge",
    "load_golden",
    "load_report",
    "metrics",
    "trade_offs",
    "write_reports",
]
