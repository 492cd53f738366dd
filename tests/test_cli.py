"""The command line, end to end in subprocesses."""

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from .conftest import CORPUS
from .samples import write_mixed

pytestmark = pytest.mark.slow


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
    assert "indexed 1 document (0 files skipped): 23 passages" in done.stdout
    assert "  indexed sco-kazakhstan.md" in done.stdout
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
    assert done.stdout.count("Organization of Turkic States") == 1  # each quote once
    assert re.match(r"(high|medium|low) confidence \(0\.\d\d\)\n", done.stdout)
    assert "[1] How Kazakhstan’s SCO Chairmanship" in done.stdout
    assert "characters " in done.stdout and " of sco-kazakhstan" in done.stdout
    done = sco_qa("ask", "How tall is the Independence Palace?", "--json", index=index_dir)
    answer = json.loads(done.stdout)
    assert answer["answered"] is False and answer["citations"] == []
    assert answer["passages"]


def test_eval_writes_each_run_to_its_own_file(index_dir: Path, tmp_path: Path) -> None:
    reports = tmp_path / "reports"
    done = sco_qa("eval", "--report", str(reports), index=index_dir)
    assert done.returncode == 0, done.stderr
    assert "accuracy" in done.stdout and "faithfulness" in done.stdout
    (first,) = reports.glob("eval-golden-*.json")
    assert {p.suffix for p in reports.iterdir()} == {".json", ".md", ".html"}
    payload = first.read_bytes()
    outcomes = json.loads(payload)["outcomes"]
    ans = [o for o in outcomes if o["answerable"]]
    right, ok = (
        sum(o["correct"] for o in ans),
        sum((o["correct"] if o["answerable"] else not o["answered"]) for o in outcomes),
    )
    assert f"{right} of {len(ans)} answerable questions" in done.stdout  # as the report counts
    assert f"ok: {ok} of {len(outcomes)} questions" in done.stdout
    failed = [o for o in outcomes if not (o["correct"] if o["answerable"] else not o["answered"])]
    if failed:
        assert f"failed ({len(failed)}):" in done.stdout
        assert f"  {failed[0]['id']}: " in done.stdout and failed[0]["failure"] in done.stdout
    html = first.with_suffix(".html").read_text()
    assert "<dt>rank</dt>" in html and ("Retrieved passages:" in html or not failed)
    again = sco_qa("eval", "--report", str(reports), "--baseline", str(first), index=index_dir)
    assert again.returncode == 0
    assert "compared with the baseline: no question changed outcome" in again.stdout
    assert first.read_bytes() == payload and len(list(reports.glob("*.json"))) == 2
    clash = sco_qa("eval", "--report", str(first), "--baseline", str(first), index=index_dir)
    assert clash.returncode == 1 and "would replace the baseline" in clash.stderr
    calib = sco_qa("eval", "--calibrate", index=index_dir)
    last = calib.stdout.strip().splitlines()[-1]
    assert re.fullmatch(r"SCO_QA_ABSTAIN_THRESHOLD=0\.\d\d", last), last
    assert "bootstrap interval" in calib.stdout
    assert len(calib.stdout.splitlines()) < 30  # a short table


def test_calibrate_refuses_a_small_question_set(index_dir: Path, tmp_path: Path) -> None:
    rows = [json.loads(x) for x in (CORPUS / "golden.jsonl").read_text().splitlines() if x]
    small = [r for r in rows if r["answerable"]][:8] + [r for r in rows if not r["answerable"]][:4]
    path = tmp_path / "small.jsonl"
    path.write_text("".join(json.dumps(r) + "\n" for r in small), encoding="utf-8")
    done = sco_qa("eval", "--calibrate", "--golden", str(path), index=index_dir)
    assert done.returncode == 1
    assert "not enough questions" in done.stdout and "SCO_QA_ABSTAIN_THRESHOLD=" not in done.stdout
    assert "8 answerable questions and 4 unanswerable ones" in done.stdout


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


def test_history_file_and_quiet_broken_pipe(index_dir: Path, tmp_path: Path) -> None:
    turns = tmp_path / "turns.json"
    turns.write_text(json.dumps([{"question": "Who is Roger Kangas?", "answer": "…"}]))
    done = sco_qa("ask", "And what did he say about trade?", "--history", str(turns),
                  index=index_dir)  # fmt: skip
    assert done.returncode == 0 and "primary trade partner" in done.stdout
    turns.write_text("[1, 2]")
    bad = sco_qa("ask", "and?", "--history", str(turns), index=index_dir)
    assert bad.returncode == 1 and "--history" in bad.stderr and "Traceback" not in bad.stderr
    env = {**os.environ, "SCO_QA_INDEX_DIR": str(index_dir), "HF_HUB_OFFLINE": "1"}
    piped = subprocess.run(
        f"{sys.executable} -m sco_qa ask 'Which organizations does Kazakhstan chair?' "
        f"--corpus {CORPUS} --json | head -1",
        shell=True, capture_output=True, text=True, env=env, timeout=300, check=False,
    )  # fmt: skip
    assert piped.stdout.strip() == "{" and "BrokenPipe" not in piped.stderr
    assert "Traceback" not in piped.stderr


def test_index_prints_no_library_noise(tmp_path: Path) -> None:
    done = sco_qa("index", index=tmp_path / "index")
    assert done.returncode == 0, done.stderr
    assert "DEBUG" not in done.stderr and "INFO root" not in done.stderr
    assert "Quantization" not in done.stderr and "Building index from tokens" not in done.stderr


def test_port_in_use_says_which_setting(index_dir: Path) -> None:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        s.listen()
        port = s.getsockname()[1]
        done = sco_qa("serve", "--port", str(port), index=index_dir)
    assert done.returncode == 1 and "SCO_QA_PORT" in done.stderr
    assert "http://" not in done.stdout  # no URL printed for a server that cannot start


def test_help_and_version() -> None:
    from sco_qa.cli import build_parser

    parser = build_parser()
    assert "verbatim" in parser.format_help()
    for action in parser._subparsers._group_actions[0].choices.values():  # type: ignore[union-attr]
        for option in action._actions:
            assert option.help, (action.prog, option.dest)
    done = subprocess.run([sys.executable, "-m", "sco_qa", "--version"], capture_output=True,
                          text=True, check=False)  # fmt: skip
    assert done.stdout.startswith("sco-qa ")
    commands = parser._subparsers._group_actions[0].choices  # type: ignore[union-attr]
    assert "the HTTP API" in commands["serve"].format_help()  # names keep their capitals
    assert "MCP" in commands["mcp"].format_help()


def test_squad_benchmark_end_to_end_on_one_article(tmp_path: Path) -> None:
    data = CORPUS.parent / "benchmarks" / "data" / "squad2-dev-part.json"
    done = sco_qa("eval", "--squad", str(data), "--articles", "Normans", "--report",
                  str(tmp_path), index=tmp_path / "unused")  # fmt: skip
    assert done.returncode == 0, done.stderr
    (path,) = tmp_path.glob("eval-squad2-dev-part-*.json")
    report = json.loads(path.read_text())
    m = report["metrics"]
    assert m["questions"] == 208 and m["faithfulness"] == 1.0  # every quote exact
    for key in (
        "accuracy",
        "citation_support",
        "recall@5",
        "answerable_auc",
        "ece",
        "unanswerable_refused_at_95",
        "median_answer_chars",
        "latency_p99_ms",
    ):
        assert m[key] >= 0, key  # fmt: skip
    assert m["accuracy"] > 0.5 and m["recall@5"] > 0.8  # far above chance on a real article
    assert report["scorer"].startswith(("lr-", "reader-")) and report["reliability"]
    page = path.with_suffix(".html").read_text()
    assert "reliability diagram" in page


def test_index_lists_every_file_and_strict_refuses_skips(tmp_path: Path) -> None:
    corpus = write_mixed(tmp_path / "corpus")
    (corpus / "scan.png").write_bytes(b"\x89PNG")
    strict = sco_qa("index", "--strict", index=tmp_path / "index", corpus=corpus)
    assert strict.returncode == 1 and "--strict" in strict.stderr
    assert "skipped scan.png: unsupported type" in strict.stdout
    assert not (tmp_path / "index" / "CURRENT").exists()  # nothing was built
    done = sco_qa("index", index=tmp_path / "index", corpus=corpus)
    assert done.returncode == 0, done.stderr
    for name in ("handbook/giftcards.pdf", "office/holidays.docx", "notes.md"):
        assert f"  indexed {name}" in done.stdout
    assert "skipped scan.png: unsupported type" in done.stdout
    assert "indexed 4 documents (1 file skipped)" in done.stdout
    status = sco_qa("status", index=tmp_path / "index", corpus=corpus)
    assert status.returncode == 0 and "current with the corpus" in status.stdout
    assert "handbook/giftcards: Gift cards" in status.stdout and "scan.png" in status.stdout
    (corpus / "notes.md").write_text("Changed.", encoding="utf-8")
    stale = sco_qa("status", "--json", index=tmp_path / "index", corpus=corpus)
    report = json.loads(stale.stdout)
    assert report["current"] is False and "changed ['notes']" in report["stale"]
    empty = tmp_path / "empty"
    empty.mkdir()
    nothing = sco_qa("index", index=tmp_path / "index2", corpus=empty)
    assert nothing.returncode == 1 and "no document to index" in nothing.stderr


def test_two_index_commands_at_once(tmp_path: Path) -> None:
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "SCO_QA_INDEX_DIR": str(tmp_path / "index")}
    cmd = [sys.executable, "-m", "sco_qa", "index", "--corpus", str(CORPUS)]
    for _ in range(3):
        procs = [subprocess.Popen(cmd, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                  text=True) for _ in range(2)]  # fmt: skip
        outs = [p.communicate(timeout=300) for p in procs]
        assert [p.returncode for p in procs] == [0, 0], outs
    busy = subprocess.Popen(cmd, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    quick = sco_qa("index", "--no-wait", index=tmp_path / "index")
    busy.communicate(timeout=300)
    assert quick.returncode in (0, 1)  # 1 only when it met the other build
    if quick.returncode:
        assert "another build" in quick.stderr and "Traceback" not in quick.stderr
    assert sco_qa("status", index=tmp_path / "index").returncode == 0


def test_collections_and_incremental_builds_on_the_command_line(tmp_path: Path) -> None:
    hr = tmp_path / "hr"
    hr.mkdir()
    (hr / "handbook.md").write_text(
        "# Handbook\n\nEvery employee gets twenty-five days of paid leave a year.\n\n"
        "Expenses are refunded within ten days.\n",
        encoding="utf-8",
    )
    env = {
        **os.environ,
        "HF_HUB_OFFLINE": "1",
        "SCO_QA_INDEX_DIR": str(tmp_path / "index"),
        "SCO_QA_COLLECTIONS": f"sco={CORPUS},hr={hr}",
    }

    def run(*args: str) -> subprocess.CompletedProcess:
        return subprocess.run([sys.executable, "-m", "sco_qa", *args], capture_output=True,
                              text=True, env=env, timeout=300, check=False)  # fmt: skip

    first = run("index", "--collection", "hr")
    assert first.returncode == 0, first.stderr
    assert "indexed 1 document" in first.stdout and (tmp_path / "index" / "hr").is_dir()
    assert not (tmp_path / "index" / "sco").exists()  # only the collection asked
    (hr / "parking.md").write_text("Staff park in the north garage.\n", encoding="utf-8")
    again = run("index", "--collection", "hr")
    # one new one-sentence passage: two texts, one distinct
    assert "reused the vectors of 4 of 6 texts; embedded 1 new text (" in again.stdout
    full = run("index", "--collection", "hr", "--full")
    assert "of 0 of 6 texts (a full build was asked for); embedded 3 new texts" in full.stdout
    asked = run("ask", "How many days of paid leave a year?", "--collection", "hr")
    assert asked.returncode == 0 and "twenty-five days" in asked.stdout
    status = json.loads(run("status", "--collection", "hr", "--json").stdout)
    assert status["collection"] == "hr" and status["memory_bytes"] > 0
    assert status["embedding"]["reused"] == 0 and status["counts"]["documents"] == 2
    wrong = run("ask", "x?", "--collection", "sales")
    assert wrong.returncode == 1 and "no collection 'sales'; there are: sco, hr" in wrong.stderr
