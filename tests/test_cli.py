"""The command line, end to end in subprocesses."""

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from .conftest import CORPUS


def sco_qa(*args: str, index: Path, corpus: Path = CORPUS) -> subprocess.CompletedProcess:
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "SCO_QA_INDEX_DIR": str(index)}
    return subprocess.run(
        [sys.executable, "-m", "sco_qa", *args, "--corpus", str(corpus)],
        capture_output=True,
        text=True,
        env=env,
        timeout=300,
        check=False,
    )


@pytest.fixture(scope="module")
def index_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("cli-index")
    done = sco_qa("index", index=folder)
    assert done.returncode == 0, done.stderr
    assert "indexed 1 documents: 23 passages" in done.stdout
    return folder


def test_search_json(index_dir: Path) -> None:
    done = sco_qa(
        "search", "Which organizations does Kazakhstan chair?", "-k", "2", "--json", index=index_dir
    )
    assert done.returncode == 0, done.stderr
    hits = json.loads(done.stdout)["hits"]
    assert len(hits) == 2
    assert {"chunk_id", "doc_id", "text", "start", "end", "score", "dense", "lexical"} <= set(
        hits[0]
    )
    assert "Organization of Turkic States" in hits[0]["text"]
    text = (CORPUS / "sco-kazakhstan.md").read_text(encoding="utf-8")
    body = text[text.index("---", 3) + 4 :]
    assert body[hits[0]["start"] : hits[0]["end"]] == hits[0]["text"]


def test_ask_readable_and_json(index_dir: Path) -> None:
    done = sco_qa("ask", "Which organizations does Kazakhstan chair?", index=index_dir)
    assert done.returncode == 0, done.stderr
    assert "Organization of Turkic States" in done.stdout
    assert "[1] How Kazakhstan’s SCO Chairmanship" in done.stdout
    done = sco_qa("ask", "How tall is the Independence Palace?", "--json", index=index_dir)
    answer = json.loads(done.stdout)
    assert answer["answered"] is False and answer["citations"] == []
    assert answer["passages"]


def test_eval_writes_reports(index_dir: Path, tmp_path: Path) -> None:
    reports = tmp_path / "reports"
    done = sco_qa("eval", "--report", str(reports), index=index_dir)
    assert done.returncode == 0, done.stderr
    assert "accuracy" in done.stdout and "faithfulness" in done.stdout
    assert {p.name for p in reports.iterdir()} == {"eval.json", "eval.md", "eval.html"}
    again = sco_qa(
        "eval",
        "--report",
        str(tmp_path / "r2"),
        "--baseline",
        str(reports / "eval.json"),
        index=index_dir,
    )
    assert again.returncode == 0 and "better: []" in again.stdout
    calib = sco_qa("eval", "--calibrate", index=index_dir)
    assert "chosen (most unanswerable refused" in calib.stdout


def test_errors_are_messages_not_tracebacks(index_dir: Path, tmp_path: Path) -> None:
    done = sco_qa("ask", "   ", index=index_dir)
    assert done.returncode == 1
    assert "error: question is empty" in done.stderr and "Traceback" not in done.stderr
    done = sco_qa("search", "x", index=index_dir, corpus=tmp_path / "missing")
    assert done.returncode == 1 and "does not exist" in done.stderr
    broken = tmp_path / "broken"
    broken.mkdir()
    (broken / "CURRENT").write_text("build-gone\n")
    done = sco_qa("search", "x", index=broken)
    assert done.returncode == 1 and "names a missing folder" in done.stderr
    assert "Traceback" not in done.stderr
