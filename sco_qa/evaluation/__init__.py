"""Evaluation against a golden set: loading it, asking, judging, and the reports."""

from .client import RemoteEngine
from .golden import GoldenItem, fact_present, load_golden
from .metrics import (
    MIN_CALIBRATION_ANSWERABLE,
    MIN_CALIBRATION_UNANSWERABLE,
    Outcome,
    Report,
    TradeOff,
    choose_threshold,
    compare,
    evaluate,
    judge,
    load_report,
    metrics,
    threshold_interval,
    trade_offs,
)
from .reports import passed, report_path, write_reports

__all__ = [
    "MIN_CALIBRATION_ANSWERABLE",
    "MIN_CALIBRATION_UNANSWERABLE",
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
    "passed",
    "report_path",
    "threshold_interval",
    "trade_offs",
    "write_reports",
]
