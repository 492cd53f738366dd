"""What each CLI command does, given parsed arguments and settings."""

from __future__ import annotations

import argparse
import json
import time
import urllib.error
import urllib.request
from collections.abc import Mapping
from dataclasses import asdict
from pathlib import Path
from typing import Any

from .config import Settings
from .errors import ScoQaError


def run(command: str, args: argparse.Namespace, settings: Settings) -> int:
    return {
        "index": cmd_index,
        "search": cmd_search,
        "ask": cmd_ask,
        "eval": cmd_eval,
        "serve": cmd_serve,
    }[command](args, settings)


def cmd_index(args: argparse.Namespace, settings: Settings) -> int:
    from .embedding import load_embedder
    from .engine import chunking_params
    from .index import build_index

    report = build_index(
        settings.corpus_dir,
        settings.index_dir,
        load_embedder(settings),
        chunking_params(settings),
        settings.ann_threshold,
    )
    print(
        f"indexed {report.documents} documents: {report.passages} passages, "
        f"{report.sentences} sentences in {report.seconds:.1f} s → {report.path}"
    )
    if report.truncated:
        print(
            f"warning: {len(report.truncated)} pieces exceed the model's input and are cut: "
            + ", ".join(report.truncated)
        )
    return 0


def cmd_search(args: argparse.Namespace, settings: Settings) -> int:
    from .cli import print_json
    from .engine import Engine
    from .records_io import hit_dict

    hits = Engine.open(settings).search(args.question, args.k)
    if args.json:
        print_json({"hits": [hit_dict(h) for h in hits]})
        return 0
    for h in hits:
        print(
            f"{h.rank}. {h.chunk.chunk_id}  sentence={h.sentence:.3f} fused={h.score:.4f} "
            f"dense={h.dense:.3f} bm25={h.lexical:.2f}\n   {h.chunk.text}\n"
        )
    return 0


def cmd_ask(args: argparse.Namespace, settings: Settings) -> int:
    from .cli import print_json
    from .engine import Engine
    from .records_io import answer_dict

    answer = Engine.open(settings).ask(args.question, args.k)
    if args.json:
        print_json(answer_dict(answer))
        return 0
    print(answer.answer + "\n")
    for c in answer.citations:
        where = f"{c.title} › {c.section or 'introduction'} › paragraph {c.paragraph}"
        print(f"[{c.n}] {where} (chars {c.start}–{c.end})\n    “{c.quote}”")
    if not answer.answered:
        for h in answer.passages[:3]:
            print(f"related: {h.chunk.chunk_id}: {h.chunk.text[:160]}…")
    return 0


def _http_json(url: str, body: Mapping[str, Any] | None = None) -> Any:
    data = json.dumps(body).encode() if body is not None else None
    req = urllib.request.Request(url, data=data, headers={"content-type": "application/json"})
    try:
        with urllib.request.urlopen(req, timeout=60) as resp:
            return json.load(resp)
    except (urllib.error.URLError, OSError, ValueError) as exc:
        raise ScoQaError(f"request to {url} failed: {exc}") from None


def _remote(url: str) -> tuple[Any, Any]:
    base = url.rstrip("/")
    texts: dict[str, str] = {}

    def ask(question: str, k: int) -> Any:
        return _http_json(f"{base}/ask", {"question": question, "top_k": min(k, 20)})

    def text_of(doc_id: str) -> str:
        if doc_id not in texts:
            texts[doc_id] = _http_json(f"{base}/documents/{doc_id}")["text"]
        return texts[doc_id]

    return ask, text_of


def cmd_eval(args: argparse.Namespace, settings: Settings) -> int:
    from .corpus import load_corpus
    from .engine import Engine
    from .evaluation import choose_threshold, compare, evaluate, load_report, trade_offs
    from .golden import load_golden
    from .records_io import answer_dict
    from .reports import write_reports

    items = load_golden(
        args.golden or settings.corpus_dir / "golden.jsonl", load_corpus(settings.corpus_dir)
    )
    if args.calibrate:
        settings = settings.model_copy(update={"abstain_threshold": 0.0})
    if args.url and not args.calibrate:
        ask, text_of = _remote(args.url)
        threshold: float | None = None
    else:
        engine = Engine.open(settings)
        ask = lambda q, k: answer_dict(engine.ask(q, k))  # noqa: E731
        text_of = lambda d: engine.index.documents[d].text  # noqa: E731
        threshold = settings.abstain_threshold
    started = time.perf_counter()
    report = evaluate(items, ask, text_of, threshold)
    if args.calibrate:
        return _print_calibration(trade_offs(report.outcomes), choose_threshold)
    comparison = compare(report, load_report(args.baseline)) if args.baseline else None
    paths = write_reports(report, args.report, comparison)
    width = max(len(k) for k in report.metrics)
    for k, v in report.metrics.items():
        print(f"{k:<{width}}  {v}")
    if comparison:
        print(f"better: {comparison['better']}\nworse: {comparison['worse']}")
    print(
        f"{len(items)} questions in {time.perf_counter() - started:.1f} s; wrote "
        + ", ".join(str(p) for p in paths)
    )
    return 0


def _print_calibration(rows: list[Any], choose: Any) -> int:
    print("threshold  unanswerable_refused  answerable_refused  accuracy")
    for r in rows[::2]:
        print(
            f"{r.threshold:9.2f}  {r.unanswerable_refused:20.3f}  "
            f"{r.answerable_refused:18.3f}  {r.accuracy:8.3f}"
        )
    best = choose(rows)
    print(f"chosen (most unanswerable refused with ≤ 5% answerable refused): {asdict(best)}")
    return 0


def _ensure_index(settings: Settings) -> None:
    from .errors import IndexStateError, StaleIndexError
    from .index import CURRENT, load_index

    try:
        load_index(settings.corpus_dir, settings.index_dir)
        return
    except StaleIndexError:
        if not settings.auto_rebuild:
            raise
    except IndexStateError:
        if (settings.index_dir / CURRENT).exists():
            raise
    print("sco-qa: building the index…", flush=True)
    cmd_index(argparse.Namespace(), settings)


def cmd_serve(args: argparse.Namespace, settings: Settings) -> int:
    import os

    import uvicorn

    from .embedding import model_path

    model_path()  # fail now, clearly, if the model is missing
    _ensure_index(settings)  # once, before any worker starts
    if settings.workers > 1 and not settings.model_threads:
        # measured (benchmarks/http_load*): one model thread per core beats oversubscription
        threads = max(1, (os.cpu_count() or 1) // settings.workers)
        os.environ["SCO_QA_MODEL_THREADS"] = str(threads)
    os.environ["SCO_QA_CORPUS_DIR"] = str(Path(settings.corpus_dir).resolve())
    os.environ["SCO_QA_INDEX_DIR"] = str(Path(settings.index_dir).resolve())
    print(
        f"sco-qa: chat page and API at http://{settings.host}:{settings.port}/ (API docs at /docs)",
        flush=True,
    )
    uvicorn.run(
        "sco_qa.serving:app",
        factory=True,
        host=settings.host,
        port=settings.port,
        workers=settings.workers,
        log_level="info",
        access_log=False,
    )
    return 0
