"""The command line: index | search | ask | eval | serve. Parse, call, format."""

from __future__ import annotations

import argparse
import json
import logging
import sys
from pathlib import Path
from typing import Any

from .config import Settings, load_settings
from .errors import ScoQaError
from .serving import quiet_libraries

EPILOGS = {
    "index": "example: sco-qa index --corpus corpus/ --index index/",
    "search": 'example: sco-qa search "Which international bodies is Kazakhstan chairing?" -k 3',
    "ask": 'example: sco-qa ask "Which international bodies is Kazakhstan chairing?" --json',
    "eval": "example: sco-qa eval --report reports/ --baseline reports/eval.json",
    "serve": "example: sco-qa serve --host 127.0.0.1 --port 8000",
}


def _common(p: argparse.ArgumentParser) -> None:
    p.add_argument("--corpus", type=Path, help="documents folder (SCO_QA_CORPUS_DIR, corpus/)")
    p.add_argument("--index", type=Path, help="index folder (SCO_QA_INDEX_DIR, index/)")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="sco-qa", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)
    helps = {
        "index": "build the index",
        "search": "rank passages for a question",
        "ask": "answer a question with verbatim citations",
        "eval": "evaluate against the golden set",
        "serve": "serve the API and chat page",
    }
    cmds = {n: sub.add_parser(n, help=h, epilog=EPILOGS[n]) for n, h in helps.items()}
    for p in cmds.values():
        _common(p)
    for name in ("search", "ask"):
        cmds[name].add_argument("question")
        cmds[name].add_argument("-k", type=int, default=None, help="passages to return")
        cmds[name].add_argument("--json", action="store_true", help="machine-readable output")
    ev = cmds["eval"]
    ev.add_argument("--golden", type=Path, help="golden set (default: CORPUS/golden.jsonl)")
    ev.add_argument("--url", help="evaluate a running server, e.g. http://127.0.0.1:8000")
    ev.add_argument("--report", type=Path, default=Path("reports"), help="where reports go")
    ev.add_argument("--baseline", type=Path, help="an earlier eval.json to compare with")
    ev.add_argument("--calibrate", action="store_true", help="print the threshold trade-off")
    sv = cmds["serve"]
    sv.add_argument("--host")
    sv.add_argument("--port", type=int)
    sv.add_argument("--workers", type=int)
    return parser


def settings_from(args: argparse.Namespace) -> Settings:
    overrides: dict[str, Any] = {}
    for arg, field in (
        ("corpus", "corpus_dir"),
        ("index", "index_dir"),
        ("host", "host"),
        ("port", "port"),
        ("workers", "workers"),
    ):
        value = getattr(args, arg, None)
        if value is not None:
            overrides[field] = value
    return load_settings(**overrides)


def main(argv: list[str] | None = None) -> int:
    """Entry point of the ``sco-qa`` command; returns the exit code."""
    args = build_parser().parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")
    quiet_libraries()
    from . import commands

    try:
        return commands.run(args.command, args, settings_from(args))
    except ScoQaError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        return 130


def print_json(data: Any) -> None:
    print(json.dumps(data, indent=2, ensure_ascii=False))
