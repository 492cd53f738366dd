"""The ``sco-qa`` command line: parse the arguments, call the package, format the result."""

from __future__ import annotations

import argparse
import json
import os
import signal
import socket
import sys
import tempfile
import time
from collections.abc import Sequence
from dataclasses import replace
from pathlib import Path
from typing import Any

from . import training
from .answer import MODEL_FILE, load_answerer
from .api.holder import Collections
from .api.mcp_server import build_mcp
from .api.protocol import GuardedHttpToolsProtocol
from .api.schemas import AnswerOut, PassageOut, TurnIn
from .config import Settings, load_settings, package_version
from .corpus import load_corpus, read_corpus
from .embedding import load_embedder, model_path
from .engine import Engine
from .errors import ScoQaError
from .evaluation import (
    MIN_CALIBRATION_ANSWERABLE,
    MIN_CALIBRATION_UNANSWERABLE,
    RemoteEngine,
    Report,
    choose_threshold,
    compare,
    evaluate,
    load_golden,
    load_report,
    passed,
    report_path,
    threshold_interval,
    trade_offs,
    write_reports,
)
from .index import (
    Collection,
    build_bytes,
    build_index,
    collections_of,
    current_build,
    read_manifest,
    rebuild_reason,
    rollback,
)
from .logs import LOG_FORMAT, configure_logging, uvicorn_log_config
from .records import Skipped, Turn
from .text import plural
from .watch import CorpusWatcher

SQUAD = Path("benchmarks/data/squad2-dev-part.json")
RESULTS = Path("benchmarks/results")
READER_DATA = (SQUAD, Path("benchmarks/data/squad2-train-part.json"))
DESCRIPTION = """\
sco-qa answers questions about a folder of documents by quoting the sentences that hold
the answer, verbatim, with citations (document, section, character offsets); when the
documents do not say, it says so and shows the closest passages."""

EXAMPLES = {
    "index": "sco-qa index --corpus corpus/ --index index/",
    "search": 'sco-qa search "What is the notice period?" -k 3',
    "ask": 'sco-qa ask "What is the notice period?"\n'
    '  sco-qa ask "And for managers?" --history turns.json --json',
    "eval": "sco-qa eval --report reports/ --baseline reports/eval-golden-20261204-101500.json\n"
    "  sco-qa eval --calibrate --golden my-questions.jsonl\n"
    "  sco-qa eval --squad benchmarks/data/squad2-dev-part.json --articles Normans",
    "serve": "sco-qa serve --host 127.0.0.1 --port 8000 --workers 2",
    "status": "sco-qa status --index index/",
    "rollback": "sco-qa rollback --index index/",
    "train": "sco-qa train --data benchmarks/data/squad2-dev-part.json",
    "train-reader": "sco-qa train-reader --work .train/   (run again to resume)",
    "mcp": "sco-qa mcp --corpus ~/notes   (an MCP client starts it and talks over stdio)",
}
HELPS = {
    "index": "build the index of the corpus",
    "search": "rank passages for a question",
    "ask": "answer a question with verbatim citations",
    "eval": "evaluate against a golden question set",
    "serve": "serve the HTTP API and the chat page",
    "status": "show what the index holds, what it skipped and whether it is current",
    "rollback": "point the index at the build before the live one",
    "train": "train the answer scorer on SQuAD articles (leave-one-article-out figures)",
    "train-reader": "train the reader on the SQuAD articles (shipped model and fold models)",
    "mcp": "serve the MCP tools (ask, search, get_document) over stdio",
}


def _subparser(sub: Any, name: str) -> argparse.ArgumentParser:
    p: argparse.ArgumentParser = sub.add_parser(
        name,
        help=HELPS[name],
        description=HELPS[name][0].upper() + HELPS[name][1:] + ".",
        epilog="example:\n  " + EXAMPLES[name],
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("--corpus", type=Path, help="documents folder (SCO_QA_CORPUS_DIR; corpus/)")
    p.add_argument("--index", type=Path, help="index folder (SCO_QA_INDEX_DIR; index/)")
    p.add_argument(
        "--collection",
        metavar="NAME",
        help="which collection (SCO_QA_COLLECTIONS; default: the first)"
        + (": serve only this one" if name in ("serve", "mcp") else ""),
    )
    return p


def build_parser() -> argparse.ArgumentParser:
    """The argument parser of every command."""
    parser = argparse.ArgumentParser(
        prog="sco-qa",
        description=DESCRIPTION,
        epilog="example:\n  " + EXAMPLES["ask"].split("\n")[0],
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--version", action="version", version=f"sco-qa {package_version()}")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    cmds = {name: _subparser(sub, name) for name in HELPS}
    for name in ("search", "ask"):
        cmds[name].add_argument("question", help="the question, in quotes")
        cmds[name].add_argument("-k", type=int, help="passages to return (1–20; default 5)")
        cmds[name].add_argument("--json", action="store_true", help="print JSON, for programs")
    cmds["ask"].add_argument(
        "--history",
        type=Path,
        help='earlier turns, a JSON file: [{"question": …, "answer": …}, …] (oldest first)',
    )
    cmds["index"].add_argument(
        "--strict", action="store_true", help="fail, building nothing, if any file is skipped"
    )
    cmds["index"].add_argument(
        "--no-wait", action="store_true", help="fail if another build is running, not wait"
    )
    cmds["index"].add_argument(
        "--full", action="store_true", help="embed every text anew, reusing nothing"
    )
    cmds["status"].add_argument("--json", action="store_true", help="print JSON, for programs")
    ev = cmds["eval"]
    ev.add_argument("--golden", type=Path, help="golden set (default: CORPUS/golden.jsonl)")
    ev.add_argument("--url", help="evaluate a running server, e.g. http://127.0.0.1:8000")
    ev.add_argument(
        "--api-key",
        help="with --url: the key a server with API keys wants (default: the "
        "first of SCO_QA_API_KEYS)",
    )
    ev.add_argument("--report", type=Path, default=Path("reports"), help="where reports go")
    ev.add_argument("--baseline", type=Path, help="an earlier eval.json to compare with")
    ev.add_argument(
        "--calibrate", action="store_true", help="print the abstention threshold trade-off"
    )
    ev.add_argument(
        "--squad",
        type=Path,
        help="a SQuAD 2.0 file: its articles become the corpus, asked open-book",
    )
    ev.add_argument("--articles", nargs="+", default=(), help="with --squad: only these titles")
    trr = cmds["train-reader"]
    trr.add_argument(
        "--data", type=Path, nargs="+", default=READER_DATA, help="SQuAD 2.0 files (both parts)"
    )
    trr.add_argument(
        "--work", type=Path, default=Path(".train"), help="index, checkpoints, models (.train/)"
    )
    trr.add_argument(
        "--results", type=Path, default=RESULTS, help=f"where the held-out figures go ({RESULTS})"
    )
    tr = cmds["train"]
    tr.add_argument("--data", type=Path, default=SQUAD, help=f"SQuAD 2.0 file ({SQUAD})")
    tr.add_argument(
        "--results", type=Path, default=RESULTS, help=f"where the held-out figures go ({RESULTS})"
    )
    sv = cmds["serve"]
    sv.add_argument("--host", help="address to listen on (SCO_QA_HOST; 127.0.0.1)")
    sv.add_argument("--port", type=int, help="port to listen on (SCO_QA_PORT; 8000)")
    sv.add_argument("--workers", type=int, help="worker processes (SCO_QA_WORKERS; 1)")
    sv.add_argument(
        "--watch", action="store_true", help="rebuild the index when the corpus folder changes"
    )
    return parser


def settings_from(args: argparse.Namespace) -> Settings:
    """Settings from the environment, with the command line's choices on top."""
    names = {"corpus": "corpus_dir", "index": "index_dir", "host": "host", "port": "port"}
    names |= {"workers": "workers", "collection": "collection"}
    overrides = {f: getattr(args, a) for a, f in names.items() if getattr(args, a, None)}
    return load_settings(**overrides)


def main(argv: list[str] | None = None) -> int:
    """Entry point of the ``sco-qa`` command; returns the exit code."""
    args = build_parser().parse_args(argv)
    # a server's log has timestamps, in one format with uvicorn's; a command's is terse
    configure_logging(fmt=LOG_FORMAT if args.command == "serve" else "sco-qa: %(message)s")
    try:
        return COMMANDS[args.command](args, settings_from(args))
    except ScoQaError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        return 130
    except BrokenPipeError:  # `sco-qa ask … --json | head`: the reader left, quietly
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 0


def print_json(data: Any) -> None:
    """Pretty JSON on stdout."""
    print(json.dumps(data, indent=2, ensure_ascii=False))


def _print_skipped(skipped: Sequence[Skipped]) -> None:
    for s in skipped:
        print(f"  skipped {s.path}: {s.reason}")


def chosen(settings: Settings) -> Collection:
    """The collection a command works on (``--collection``; the default one otherwise)."""
    return collections_of(settings)[0]


def cmd_index(args: argparse.Namespace, settings: Settings) -> int:
    """Build the index and say what went in, what did not, and what was embedded anew."""
    spec = chosen(settings).spec
    corpus = read_corpus(spec.corpus_dir, spec.max_file_bytes)
    if args.strict and corpus.skipped:
        _print_skipped(corpus.skipped)
        raise ScoQaError(
            f"{plural(len(corpus.skipped), 'file')} of {spec.corpus_dir} cannot be indexed "
            "(--strict): fix or remove them"
        )
    scorer = load_answerer(settings.answer_model, settings.model_cache_dir).version
    report = build_index(
        spec.with_scorer(scorer),
        load_embedder(settings),
        corpus=corpus,
        full=args.full,
        wait=not args.no_wait,
        progress=lambda m: print(f"  {m}", flush=True),
    )
    for path in report.files:
        print(f"  indexed {Path(path).relative_to(spec.corpus_dir)}")
    _print_skipped(report.skipped)
    print(
        f"indexed {plural(report.documents, 'document')} "
        f"({plural(len(report.skipped), 'file skipped', 'files skipped')}): "
        f"{report.passages} passages, {report.sentences} sentences in {report.seconds:.1f} s "
        f"→ {report.path}"
    )
    why = f" ({report.full_reason})" if report.full_reason else ""
    print(
        f"reused the vectors of {report.reused:,} of {report.texts:,} texts{why}; embedded "
        f"{plural(report.embedded, 'new text')} (each distinct text once)"
    )
    if report.truncated:
        print(
            f"warning: {len(report.truncated)} pieces exceed the model's input and are cut: "
            + ", ".join(report.truncated)
        )
    return 0


def cmd_rollback(args: argparse.Namespace, settings: Settings) -> int:
    """Point the index at the build before the live one."""
    spec = chosen(settings).spec
    before = current_build(spec.index_dir).name
    now = rollback(spec.index_dir)
    print(f"rolled back from {before} to {now.name}; a running server switches by itself")
    reason = rebuild_reason(spec, read_corpus(spec.corpus_dir, spec.max_file_bytes))
    if reason and spec.auto_rebuild:
        print(
            f"note: that build is stale ({reason}); a server that restarts would rebuild it: "
            "set SCO_QA_AUTO_REBUILD=false to keep serving it"
        )
    return 0


def cmd_status(args: argparse.Namespace, settings: Settings) -> int:
    """Say what the live index holds, what it skipped, and whether it is current."""
    spec = chosen(settings).spec
    folder = current_build(spec.index_dir)
    m = read_manifest(folder)
    corpus = read_corpus(spec.corpus_dir, spec.max_file_bytes)
    reason = rebuild_reason(spec, corpus)
    memory = build_bytes(folder)
    if args.json:
        print_json(
            {"build": folder.name, "collection": spec.collection, **m.model_dump(),
             "current": reason is None, "stale": reason, "memory_bytes": memory}
        )  # fmt: skip
        return 0
    counts = m.counts
    print(f"index {folder} built {m.built_at}, answer scorer {m.answer_scorer or '-'}")
    print(
        f"{counts.documents} documents, {counts.passages} passages, {counts.sentences} "
        f"sentences; about {memory / 2**20:.1f} MiB in memory when loaded"
    )
    for doc_id, info in m.corpus.files.items():
        print(f"  {doc_id}: {info['title']}")
    _print_skipped([Skipped(**s) for s in m.corpus.skipped])
    print("current with the corpus" if reason is None else f"stale: {reason}")
    return 0


def cmd_search(args: argparse.Namespace, settings: Settings) -> int:
    """Print the ranked passages."""
    c = chosen(settings)
    hits = Engine.open(c.settings, spec=c.spec).search(args.question, args.k)
    if args.json:
        print_json({"hits": [PassageOut.model_validate(h).model_dump() for h in hits]})
        return 0
    for h in hits:
        print(
            f"{h.rank}. {h.chunk.chunk_id}  sentence={h.sentence:.3f} fused={h.score:.4f} "
            f"dense={h.dense:.3f} bm25={h.lexical:.2f}\n   {h.chunk.text}\n"
        )
    return 0


def _history(path: Path | None) -> list[Turn]:
    if path is None:
        return []
    try:
        raw = json.loads(path.read_text(encoding="utf-8"))
        return [TurnIn.model_validate(t).to_record() for t in raw]
    except (OSError, ValueError, TypeError) as exc:
        raise ScoQaError(
            f"--history {path}: not a JSON list of {{question, answer}} turns ({exc})"
        ) from None


def cmd_ask(args: argparse.Namespace, settings: Settings) -> int:
    """Print the answer (each quote once, with its marker) and where each quote stands."""
    coll = chosen(settings)
    engine = Engine.open(coll.settings, spec=coll.spec)
    answer = engine.ask(args.question, args.k, _history(args.history))
    if args.json:
        print_json(AnswerOut.model_validate(answer).model_dump())
        return 0
    if answer.answered:
        print(f"{answer.confidence_label} confidence ({answer.confidence:.2f})\n")
    print(answer.answer + "\n")
    for c in answer.citations:
        where = " › ".join(x for x in (c.title, c.section, f"paragraph {c.paragraph}") if x)
        print(f"[{c.n}] {where}, characters {c.start}–{c.end} of {c.doc_id}")
        if c.phrase is not None:
            print(f"    answer: {c.phrase.text}")
    if not answer.answered:
        print("passages closest to the question (they do not answer it):")
        for h in answer.passages[:3]:
            print(f"  {h.chunk.chunk_id}: {h.chunk.text[:160]}…")
    return 0


def cmd_train_reader(args: argparse.Namespace, settings: Settings) -> int:
    """Train the reader (resuming what a stopped run left in the work folder)."""
    plan = training.Plan(tuple(args.data), args.work, args.results)
    summary = training.train_all(plan)
    m, base = summary["pooled"], summary["baseline"]
    for name, fig in (("answer scorer alone", base), ("with the reader", m)):
        print(
            f"{name} (grouped folds): accuracy {fig['accuracy']}, first sentence holds "
            f"{fig['first_sentence_holds']}, AUC {fig['answerable_auc']}, ECE {fig['ece']}, "
            f"unanswerable refused at 95 % answered {fig['unanswerable_refused_at_95']}"
        )
    print(f"wrote the reader {summary['reader_version']} and {args.results / 'reader.json'}")
    return 0


def cmd_train(args: argparse.Namespace, settings: Settings) -> int:
    """Train the answer scorer and print its held-out figures."""
    summary = training.run(args.data, args.results)
    for variant, figures in summary["variants"].items():
        m = figures["pooled"]
        print(
            f"{variant}: accuracy {m['accuracy']}, support {m['citation_support']}, "
            f"AUC {m['answerable_auc']}, ECE {m['ece']}, "
            f"unanswerable refused at 95 % answered {m['unanswerable_refused_at_95']}"
        )
    print(
        f"chose {summary['chosen']}: wrote {MODEL_FILE} ({summary['scorer_version']}) "
        f"and {args.results / 'scorer.json'} in {summary['seconds']} s"
    )
    return 0


def _print_metrics(report: Report) -> None:
    width = max(len(k) for k in report.metrics)
    for k, v in report.metrics.items():
        print(f"{k:<{width}}  {v:g}")


def cmd_eval(args: argparse.Namespace, settings: Settings) -> int:
    """Run the golden set in process (or against ``--url``, or a SQuAD file with
    ``--squad``) and write the reports, each run to its own file."""
    if args.squad:
        report = training.squad_report(args.squad, args.articles)
        paths = write_reports(report, report_path(args.report, args.squad.stem))
        _print_metrics(report)
        _print_failures(report)
        print(f"{len(report.outcomes)} questions; wrote " + ", ".join(str(p) for p in paths))
        return 0
    # a server's collection is the server's to know; here, the local one's folders
    c = None if args.url else chosen(settings)
    settings = c.settings if c is not None else settings
    golden = args.golden or settings.corpus_dir / "golden.jsonl"
    items = load_golden(golden, load_corpus(settings.corpus_dir))
    if args.calibrate:
        settings = settings.model_copy(update={"abstain_threshold": 0.0})
    target = report_path(args.report, golden.stem)
    if args.baseline and target.resolve() == args.baseline.resolve():
        raise ScoQaError(
            f"the report would replace the baseline {args.baseline}: pass another --report"
        )
    started = time.perf_counter()
    if args.url and not args.calibrate:
        keys = settings.api_keys
        key = args.api_key or (keys[0].get_secret_value() if keys else None)
        remote = RemoteEngine(args.url, key, args.collection)
        report = evaluate(items, remote.ask, remote.text_of, threshold=None)
    else:
        engine = Engine.open(settings, spec=c.spec if c is not None else None)
        docs = engine.index.documents
        report = evaluate(items, engine.ask, lambda d: docs[d].text, threshold=engine.threshold)
        report = replace(report, scorer=engine.answerer.version)
    if args.calibrate:
        return _print_calibration(report)
    comparison = compare(report, load_report(args.baseline)) if args.baseline else None
    paths = write_reports(report, target, comparison)
    _print_metrics(report)
    _print_failures(report)
    if comparison is not None:
        _print_comparison(comparison)
    print(
        f"{plural(len(items), 'question')} in {time.perf_counter() - started:.1f} s; wrote "
        + ", ".join(str(p) for p in paths)
    )
    return 0


def _print_failures(report: Report) -> None:
    """The failed questions (id, question, why), and the counts the report's ok column
    and accuracy use."""
    failed = [o for o in report.outcomes if not passed(o)]
    ans = [o for o in report.outcomes if o.answerable]
    right = sum(o.correct for o in ans)
    print(
        f"\naccuracy {report.metrics['accuracy']:g}: {right} of "
        f"{plural(len(ans), 'answerable question')} answered with every expected fact; "
        f"ok: {len(report.outcomes) - len(failed)} of {len(report.outcomes)} questions "
        "(unanswerable ones are ok when refused)"
    )
    if failed:
        print(f"failed ({len(failed)}):")
        for o in failed:
            print(f"  {o.id}: {o.question[:80]} — {o.failure}")


def _print_comparison(comparison: dict[str, Any]) -> None:
    if not comparison["better"] and not comparison["worse"]:
        print("compared with the baseline: no question changed outcome")
    else:
        print(f"better than the baseline: {', '.join(comparison['better']) or 'none'}")
        print(f"worse than the baseline: {', '.join(comparison['worse']) or 'none'}")


def _print_calibration(report: Report) -> int:
    ans = sum(o.answerable for o in report.outcomes)
    una = len(report.outcomes) - ans
    if ans < MIN_CALIBRATION_ANSWERABLE or una < MIN_CALIBRATION_UNANSWERABLE:
        print(
            f"not enough questions to choose a threshold: {plural(ans, 'answerable question')} "
            f"and {plural(una, 'unanswerable one')}; at least {MIN_CALIBRATION_ANSWERABLE} "
            f"answerable (so that '5 % of answerable refused' is at least one question) and "
            f"{MIN_CALIBRATION_UNANSWERABLE} unanswerable are needed. Keep the answer stage's "
            "own threshold (leave SCO_QA_ABSTAIN_THRESHOLD unset)."
        )
        return 1
    rows = trade_offs(report.outcomes)
    best = choose_threshold(rows)
    low, high = threshold_interval(report.outcomes)
    print("threshold  unanswerable refused  answerable refused  accuracy")
    for r in rows[::5]:
        mark = "  ← chosen" if abs(r.threshold - best.threshold) < 1e-9 else ""
        print(
            f"{r.threshold:9.2f}  {r.unanswerable_refused:20.1%}  "
            f"{r.answerable_refused:18.1%}  {r.accuracy:8.3f}{mark}"
        )
    print(
        f"\nchosen: most unanswerable questions refused while at most 5% of answerable ones "
        f"are ({best.unanswerable_refused:.0%} refused, {best.answerable_refused:.0%} "
        f"answerable refused, accuracy {best.accuracy:.3f}); from {ans} answerable and {una} "
        f"unanswerable questions the threshold is uncertain: 90 % bootstrap interval "
        f"{low:.2f}–{high:.2f}. To apply it:\nSCO_QA_ABSTAIN_THRESHOLD={best.threshold:.2f}"
    )
    return 0


def _port_free(host: str, port: int) -> bool:
    with socket.socket() as s:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            s.bind((host, port))
        except OSError:
            return False
    return True


def _stopped(signum: int, frame: object) -> None:
    raise SystemExit(0)


def cmd_serve(args: argparse.Namespace, settings: Settings) -> int:
    """Build the index if needed (once, before any worker starts), then run uvicorn."""
    import uvicorn

    if not _port_free(settings.host, settings.port):
        raise ScoQaError(
            f"port {settings.port} on {settings.host} is in use: pick another with "
            f"--port or SCO_QA_PORT (e.g. SCO_QA_PORT={settings.port + 1} make run)"
        )
    served = collections_of(settings)
    _check_folders(served)
    model_path()  # fail now, clearly, if the model is missing
    load_answerer(settings.answer_model, settings.model_cache_dir)  # and the answer stage
    # no build here: the server listens at once and builds a missing or stale index behind
    # the build lock (one worker builds, the others wait), telling /readyz how far it got
    if settings.workers > 1 and not settings.model_threads:
        # measured (benchmarks/http_load*): one model thread per core beats oversubscription
        threads = max(1, (os.cpu_count() or 1) // settings.workers)
        os.environ["SCO_QA_MODEL_THREADS"] = str(threads)
    if settings.workers > 1:
        metrics_folder()
    if args.watch:
        for c in served:
            CorpusWatcher(c.settings, c.spec).start()
    os.environ["SCO_QA_CORPUS_DIR"] = str(Path(settings.corpus_dir).resolve())
    os.environ["SCO_QA_INDEX_DIR"] = str(Path(settings.index_dir).resolve())
    if settings.collection:
        os.environ["SCO_QA_COLLECTION"] = settings.collection
    url = f"http://{settings.host}:{settings.port}/"
    print(f"sco-qa: chat page and API at {url} (API docs at {url}docs)", flush=True)
    # uvicorn re-raises SIGTERM once it has shut down gracefully; a requested stop is a clean
    # exit (status 0), with one worker as with several
    signal.signal(signal.SIGTERM, _stopped)
    uvicorn.run(
        "sco_qa.api:make_app",
        factory=True,
        host=settings.host,
        port=settings.port,
        workers=settings.workers,
        log_level="info",
        log_config=uvicorn_log_config(),
        access_log=False,
        timeout_keep_alive=settings.keep_alive_timeout,
        http=GuardedHttpToolsProtocol,
        timeout_graceful_shutdown=settings.shutdown_timeout,
        # the request cap is the protocol's (idle sockets and /healthz do not count)
        proxy_headers=bool(settings.trusted_proxies),
        forwarded_allow_ips=",".join(settings.trusted_proxies) or None,
    )
    return 0


def metrics_folder() -> Path:
    """The folder several workers keep their metrics in (prometheus-client's multiprocess
    mode): PROMETHEUS_MULTIPROC_DIR emptied of an earlier run's files, or a new one."""
    given = os.environ.get("PROMETHEUS_MULTIPROC_DIR")
    if not given:
        given = tempfile.mkdtemp(prefix="sco-qa-metrics-")
        os.environ["PROMETHEUS_MULTIPROC_DIR"] = given
    folder = Path(given)
    folder.mkdir(parents=True, exist_ok=True)
    for old in folder.glob("*.db"):
        old.unlink()
    return folder


def cmd_mcp(args: argparse.Namespace, settings: Settings) -> int:
    """Serve the MCP server over stdin/stdout. The index loads (or builds) in the background
    while the client connects; a tool called before it is ready waits for it."""
    stay = settings.model_copy(update={"exit_after_load_failure": 0})  # tools tell the error
    served = Collections.of(stay)
    _check_folders([c.collection for c in served])
    model_path()  # fail now, clearly, if the model is missing
    served.start(lazy=settings.load_collections == "lazy")

    def resolve(name: str | None, request: object) -> tuple[str, Engine]:
        c = served.get(name)
        c.holder.start()
        c.holder.ready.wait()
        return c.collection.name, c.holder.get()

    build_mcp(resolve, lambda: [c.holder.state() for c in served]).run("stdio")
    served.stop()
    return 0


def _check_folders(collections: Sequence[Collection]) -> None:
    """Every collection's corpus folder exists; a ScoQaError names the first that does not."""
    for c in collections:
        if not Path(c.spec.corpus_dir).is_dir():
            which = "" if len(collections) == 1 else f" (collection {c.name})"
            raise ScoQaError(
                f"corpus folder {c.spec.corpus_dir}{which} does not exist; pass --corpus DIR"
            )


COMMANDS = {
    "index": cmd_index,
    "search": cmd_search,
    "ask": cmd_ask,
    "eval": cmd_eval,
    "serve": cmd_serve,
    "status": cmd_status,
    "rollback": cmd_rollback,
    "train": cmd_train,
    "train-reader": cmd_train_reader,
    "mcp": cmd_mcp,
}
