"""Write an evaluation Report as JSON, Markdown and HTML (with a calibration plot)."""

from __future__ import annotations

import html
import json
import time
from pathlib import Path
from typing import Any

from ..durable import replace_atomically
from .metrics import Outcome, Report

_LABELS = {
    "recall@1": "Retrieval recall@1",
    "recall@3": "Retrieval recall@3",
    "recall@5": "Retrieval recall@5",
    "mrr@10": "Retrieval MRR@10",
    "accuracy": "Answer accuracy",
    "fact_recall": "Fact recall",
    "citation_support": "Citation support",
    "faithfulness": "Citation faithfulness",
    "median_answer_chars": "Median answer length (chars)",
    "max_answer_chars": "Max answer length (chars)",
    "unanswerable_refused": "Unanswerable refused",
    "answerable_refused": "Answerable refused",
    "latency_p50_ms": "Latency p50 (ms)",
    "latency_p95_ms": "Latency p95 (ms)",
    "questions": "Questions",
    "latency_p99_ms": "Latency p99 (ms)",
    "answerable_answered": "Answerable answered",
    "confidence_auc": "Confidence AUC (holds the answer)",
    "answerable_auc": "Confidence AUC (answerable vs not)",
    "ece": "Expected calibration error",
    "unanswerable_refused_at_95": "Unanswerable refused, 95 % answered",
    "threshold_at_95": "Threshold for 95 % answered",
}


#: what each metric means, shown beside it in the HTML report
DEFINITIONS = {
    "recall@1": "share of answerable questions whose supporting text is in the first passage",
    "recall@3": "… in one of the first three passages",
    "recall@5": "… in one of the first five passages",
    "mrr@10": "mean of 1/rank of the first passage holding the support (0 past rank 10)",
    "accuracy": "share of answerable questions answered with every expected fact in the answer",
    "fact_recall": "share of expected facts found in the answers, averaged over questions",
    "citation_support": "share of answered questions with a citation overlapping the support",
    "faithfulness": "share of answers whose every quote equals document.text[start:end]",
    "median_answer_chars": "median length of the answers given, in characters",
    "max_answer_chars": "longest answer given, in characters",
    "unanswerable_refused": "share of unanswerable questions refused (higher is better)",
    "answerable_refused": "share of answerable questions wrongly refused (lower is better)",
    "latency_p50_ms": "median time to answer one question",
    "latency_p95_ms": "95th percentile of the time to answer",
    "questions": "questions in the golden set",
    "latency_p99_ms": "99th percentile of the time to answer",
    "answerable_answered": "share of answerable questions answered",
    "confidence_auc": "chance that an answer holding a gold answer is more confident than one "
    "that does not (0.5: no better than chance)",
    "answerable_auc": "chance that an answerable question gets more confidence than an "
    "unanswerable one",
    "ece": "expected calibration error: count-weighted gap between confidence and the share "
    "of answers holding the answer, over 10 bins",
    "unanswerable_refused_at_95": "unanswerable questions refused at the highest threshold "
    "that still answers 95 % of the answerable ones",
    "threshold_at_95": "that threshold",
}


def _value(v: float) -> str:
    """Counts as integers, shares and times as they are: ``92.0`` → ``92``."""
    return f"{v:g}"


def _facts(facts: tuple[tuple[str, ...], ...]) -> str:
    return "; ".join(" / ".join(group) for group in facts) or "(refuse)"


#: the questions table's columns, defined in the HTML report
COLUMNS = {
    "ok": "the outcome is right: an answerable question answered with every expected fact, "
    "or an unanswerable one refused",
    "confidence": "the calibrated probability that the answer holds the answer",
    "rank": "the place, among the passages retrieved, of the first one holding the expected "
    "text (- when none does, or for an unanswerable question)",
    "failure": "what went wrong; with it, the expected text and its document, what was "
    "quoted instead and the passages retrieved",
    "expected facts": "what the answer had to contain (alternatives split by /)",
    "answer": "what was answered (empty when refused)",
}


def passed(o: Outcome) -> bool:
    """The outcome is right (what the ``ok`` column and the failed list count)."""
    return o.correct if o.answerable else not o.answered


def _why(o: Outcome) -> str:
    """For a failure: the expected text and its document, what was quoted, the passages
    retrieved with their ranks."""
    if passed(o):
        return ""
    quoted = "".join(
        f"<li>[{c.n}] {html.escape(c.doc_id)}: {html.escape(c.quote)}</li>" for c in o.citations
    )
    retrieved = "".join(
        f"<li>{rank}. {html.escape(cid)}: {html.escape(text)}…</li>"
        for rank, cid, text in o.retrieved
    )
    expected = (
        f"<p>Expected, in {html.escape(o.support_doc)}: “{html.escape(o.support)}”</p>"
        if o.support
        else "<p>Expected: a refusal</p>"
    )
    return (
        f"<details><summary>why</summary>{expected}<p>Quoted instead:</p>"
        f"<ul>{quoted or '<li>(nothing: refused)</li>'}</ul><p>Retrieved passages:</p>"
        f"<ol>{retrieved}</ol></details>"
    )


def _cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


def markdown(report: Report, comparison: dict[str, Any] | None = None) -> str:
    """Summary table, then one row per question."""
    lines = [
        "# Evaluation",
        "",
        f"Abstention threshold: {'the server' if report.threshold is None else report.threshold}",
        "",
        f"Answer scorer: {report.scorer or 'unknown'}",
        "",
        "| metric | value |",
        "| --- | --- |",
    ]
    lines += [f"| {_LABELS.get(k, k)} | {_value(v)} |" for k, v in report.metrics.items()]
    if comparison:
        lines += ["", "## Compared with the baseline", "", "| metric | delta |", "| --- | --- |"]
        lines += [f"| {_LABELS.get(k, k)} | {v:+} |" for k, v in comparison["deltas"].items()]
        lines += [
            "",
            f"Better: {', '.join(comparison['better']) or 'none'}",
            f"Worse: {', '.join(comparison['worse']) or 'none'}",
        ]
    lines += [
        "",
        "## Questions",
        "",
        "| id | question | ok | conf. | rank | failure | expected | answer |",
        "| --- | --- | --- | --- | --- | --- | --- | --- |",
    ]
    for o in report.outcomes:
        ok = passed(o)
        lines.append(
            f"| {o.id} | {_cell(o.question)} | {'yes' if ok else 'NO'} | "
            f"{o.confidence:.3f} | {o.retrieval_rank or '-'} | {o.failure or ''} | "
            f"{_cell(_facts(o.facts))} | {_cell(o.answer[:200])} |"
        )
    return "\n".join(lines) + "\n"


def calibration_svg(report: Report, width: int = 640, height: int = 160) -> str:
    """A strip plot of confidences, answerable above, unanswerable below, threshold drawn."""
    pad = 40

    def x(v: float) -> float:
        return pad + max(0.0, min(1.0, v)) * (width - 2 * pad)

    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" '
        f'role="img" aria-label="answer confidence of answerable and unanswerable questions">',
        f'<line x1="{pad}" y1="{height - 25}" x2="{width - pad}" y2="{height - 25}" '
        'stroke="#555"/>',
    ]
    for tick in range(0, 11, 2):
        parts.append(
            f'<text x="{x(tick / 10):.1f}" y="{height - 8}" font-size="11" '
            f'text-anchor="middle">{tick / 10:.1f}</text>'
        )
    for o in report.outcomes:
        y = 40 if o.answerable else 90
        colour = "#1f77b4" if o.answerable else "#d62728"
        parts.append(
            f'<circle cx="{x(o.confidence):.1f}" cy="{y}" r="4" fill="{colour}" '
            f'fill-opacity="0.6"><title>{html.escape(o.id)}: '
            f"{o.confidence:.3f}</title></circle>"
        )
    if report.threshold is not None:  # unknown when a remote server was evaluated
        tx = x(report.threshold)
        parts += [
            f'<line x1="{tx:.1f}" y1="20" x2="{tx:.1f}" y2="{height - 25}" stroke="#000" '
            'stroke-dasharray="4 3"/>',
            f'<text x="{tx + 4:.1f}" y="18" font-size="11">threshold {report.threshold}</text>',
        ]
    parts += [
        '<text x="4" y="44" font-size="11" fill="#1f77b4">ans.</text>',
        '<text x="4" y="94" font-size="11" fill="#d62728">unans.</text>',
        "</svg>",
    ]
    return "".join(parts)


def reliability_svg(report: Report, size: int = 220) -> str:
    """The reliability diagram: share of answers holding the answer against the mean
    confidence of each bin (the diagonal is perfect calibration; dot area ∝ count)."""
    if not report.reliability:
        return ""
    pad, span = 30, size - 40
    total = max(sum(n for *_, n in report.reliability), 1)

    def at(v: float) -> float:
        return pad + max(0.0, min(1.0, v)) * span

    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{size}" height="{size}" role="img" '
        'aria-label="reliability diagram: accuracy against confidence">',
        f'<line x1="{pad}" y1="{at(0):.0f}" x2="{at(1):.0f}" y2="{pad}" stroke="#999" '
        'stroke-dasharray="4 3" transform="translate(0 0)"/>',
        f'<rect x="{pad}" y="{pad}" width="{span}" height="{span}" fill="none" stroke="#555"/>',
    ]
    for mean, share, n in report.reliability:
        r = 2 + 10 * (n / total) ** 0.5
        cy = pad + span - share * span
        parts.append(
            f'<circle cx="{at(mean):.1f}" cy="{cy:.1f}" r="{r:.1f}" fill="#1f77b4" '
            f'fill-opacity="0.7"><title>confidence {mean}: {share} hold the answer '
            f"({n})</title></circle>"
        )
    parts += [
        f'<text x="{pad}" y="{size - 6}" font-size="11">confidence →</text>',
        '<text x="2" y="20" font-size="11">share correct</text>',
        "</svg>",
    ]
    return "".join(parts)


def html_page(report: Report, comparison: dict[str, Any] | None = None) -> str:
    """The report as one self-contained page: metrics with their definitions, the
    confidence plot, and every question with its expected facts (failures can be shown alone,
    with no script: a checkbox and CSS)."""
    rows = "".join(
        f"<tr><td>{html.escape(_LABELS.get(k, k))}</td><td>{_value(v)}</td>"
        f"<td>{html.escape(DEFINITIONS.get(k, ''))}</td></tr>"
        for k, v in report.metrics.items()
    )
    qrows = "".join(
        f"<tr class='{'ok' if passed(o) else 'bad'}'>"
        f"<td>{html.escape(o.id)}</td><td>{html.escape(o.question)}</td>"
        f"<td>{'yes' if passed(o) else 'NO'}</td>"
        f"<td>{o.confidence:.3f}</td><td>{o.retrieval_rank or '-'}</td>"
        f"<td>{html.escape(o.failure)}{_why(o)}</td><td>{html.escape(_facts(o.facts))}</td>"
        f"<td>{html.escape(o.answer)}</td></tr>"
        for o in report.outcomes
    )
    columns = "".join(
        f"<dt>{html.escape(k)}</dt><dd>{html.escape(v)}</dd>" for k, v in COLUMNS.items()
    )
    extra = ""
    if comparison:
        extra = (
            f"<h2>Compared with the baseline</h2><pre>"
            f"{html.escape(json.dumps(comparison, indent=2))}</pre>"
        )
    return f"""<!doctype html><html lang="en"><head><meta charset="utf-8">
<title>sco-qa evaluation</title><style>
body{{font-family:system-ui,sans-serif;max-width:1100px;margin:2rem auto;padding:0 1rem}}
table{{border-collapse:collapse;width:100%}}td,th{{border:1px solid #ccc;padding:4px;
vertical-align:top;font-size:14px}}tr.bad{{background:#fde8e8}}
#failures:checked ~ table tr.ok{{display:none}}details{{margin-top:.3rem}}
dl.cols{{font-size:14px}}dl.cols dt{{font-weight:600;float:left;clear:left;width:9rem}}
dl.cols dd{{margin:0 0 .2rem 9.5rem}}</style></head><body>
<h1>Evaluation</h1><p>Answer scorer: {html.escape(report.scorer or "unknown")};
threshold: {report.threshold}</p>
<table><tr><th>metric</th><th>value</th><th>meaning</th></tr>{rows}</table>
<h2>Answer confidence</h2>{calibration_svg(report)}{reliability_svg(report)}{extra}
<h2>Questions</h2><input type="checkbox" id="failures">
<label for="failures">show failures only</label>
<dl class="cols">{columns}</dl>
<table><tr><th>id</th><th>question</th><th>ok</th><th>confidence</th><th>rank</th>
<th>failure</th><th>expected facts</th><th>answer</th></tr>{qrows}</table></body></html>
"""


def report_path(given: Path, set_name: str, when: time.struct_time | None = None) -> Path:
    """Where a run's JSON report goes: ``given`` itself when it names a ``.json`` file,
    else a new file in the folder ``given``, named by the question set and the time
    (``eval-golden-20261204-183000.json``), never one that exists."""
    if given.suffix == ".json":
        return given
    stamp = time.strftime("%Y%m%d-%H%M%S", when or time.localtime())
    path = given / f"eval-{set_name}-{stamp}.json"
    n = 2
    while path.exists():
        path = given / f"eval-{set_name}-{stamp}-{n}.json"
        n += 1
    return path


def write_reports(
    report: Report, target: Path, comparison: dict[str, Any] | None = None
) -> list[Path]:
    """The report as ``target`` (JSON) and beside it the same name in Markdown and HTML;
    a folder as ``target`` means ``target/eval.json``."""
    path = target if target.suffix == ".json" else target / "eval.json"
    path.parent.mkdir(parents=True, exist_ok=True)
    payload = report.to_json() | ({"comparison": comparison} if comparison else {})
    out = {
        path: json.dumps(payload, indent=2, ensure_ascii=False),
        path.with_suffix(".md"): markdown(report, comparison),
        path.with_suffix(".html"): html_page(report, comparison),
    }
    for name, text in out.items():
        replace_atomically(name, text.encode("utf-8"))
    return list(out)
