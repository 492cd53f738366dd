"""A running server takes in a new index build, a rollback, and (with --watch) a changed
folder, with every request answered (slow: real model, real uvicorn)."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import threading
import time
from pathlib import Path

import httpx
import pytest

from .conftest import DATA
from .live import free_port, live_server, wait_until

pytestmark = pytest.mark.slow


def cli(*args: str, corpus: Path, index: Path) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "HF_HUB_OFFLINE": "1"}
    return subprocess.run(
        [sys.executable, "-m", "sco_qa", *args, "--corpus", str(corpus), "--index", str(index)],
        capture_output=True, text=True, env=env, timeout=300, check=False,
    )  # fmt: skip


def doc_ids(url: str) -> set[str]:
    return {d["doc_id"] for d in httpx.get(f"{url}/documents").json()["documents"]}


def wait_for(check, seconds: float = 60) -> None:
    deadline = time.monotonic() + seconds
    while not check():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.2)


def test_switch_under_load_and_rollback(tmp_path: Path) -> None:
    corpus, index = tmp_path / "corpus", tmp_path / "index"
    shutil.copytree(DATA / "tricky", corpus)
    assert cli("index", corpus=corpus, index=index).returncode == 0
    with live_server(corpus, index, env={"SCO_QA_RELOAD_INTERVAL": "0.2"}) as url:
        statuses: list[int] = []
        stop = threading.Event()

        def hammer() -> None:
            with httpx.Client(timeout=30) as client:
                while not stop.is_set():
                    r = client.post(f"{url}/ask", json={"question": "Where does work continue?"})
                    statuses.append(r.status_code)
                    statuses.append(client.get(f"{url}/readyz").status_code)

        threads = [threading.Thread(target=hammer) for _ in range(8)]
        for t in threads:
            t.start()
        try:
            (corpus / "kettle.md").write_text("The kettle holds 1.7 litres.\n", "utf-8")
            assert cli("index", corpus=corpus, index=index).returncode == 0
            wait_for(lambda: "kettle" in doc_ids(url))
            (corpus / "kettle.md").unlink()
            (corpus / "bikes.md").write_text("Bikes are parked in the yard.\n", "utf-8")
            assert cli("index", corpus=corpus, index=index).returncode == 0
            wait_for(lambda: doc_ids(url) == {"plain", "tricky-notes", "bikes"})
        finally:
            stop.set()
            for t in threads:
                t.join()
        assert len(statuses) > 20 and set(statuses) == {200}  # no request failed
        back = cli("rollback", corpus=corpus, index=index)
        assert back.returncode == 0 and "rolled back" in back.stdout
        assert "stale" in back.stdout  # the folder no longer holds kettle.md
        wait_for(lambda: "kettle" in doc_ids(url))  # the previous build, served as built
        answer = httpx.post(f"{url}/ask", json={"question": "How much does the kettle hold?"})
        quote = answer.json()["citations"][0]
        doc = httpx.get(f"{url}/documents/kettle").json()
        assert doc["text"][quote["start"] : quote["end"]] == quote["quote"]


def test_serve_watch_rebuilds_when_the_folder_changes(tmp_path: Path) -> None:
    corpus, index = tmp_path / "corpus", tmp_path / "index"
    shutil.copytree(DATA / "tricky", corpus)
    port = free_port()
    env = {
        **os.environ,
        "HF_HUB_OFFLINE": "1",
        "SCO_QA_WATCH_INTERVAL": "0.5",
        "SCO_QA_RELOAD_INTERVAL": "0.2",
    }
    cmd = [sys.executable, "-m", "sco_qa", "serve", "--watch", "--port", str(port),
           "--corpus", str(corpus), "--index", str(index)]  # fmt: skip
    proc = subprocess.Popen(cmd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    url = f"http://127.0.0.1:{port}"
    try:
        wait_until(url, "/readyz", proc, 120)
        (corpus / "sub").mkdir()
        (corpus / "sub" / "bikes.md").write_text("Bikes are parked in the yard.\n", "utf-8")
        wait_for(lambda: "sub/bikes" in doc_ids(url))
        (corpus / "broken.txt").write_bytes(b"\xff\xfe not utf-8")
        wait_for(lambda: any(
            s["path"] == "broken.txt" for s in httpx.get(f"{url}/documents").json()["skipped"]
        ))  # fmt: skip
        assert httpx.get(f"{url}/readyz").status_code == 200
    finally:
        proc.terminate()
        proc.wait(timeout=20)


def test_serve_listens_at_once_and_tells_the_build_progress(tmp_path: Path) -> None:
    from sco_qa.evaluation.squad import load_squad, write_corpus

    data = Path(__file__).resolve().parents[1] / "benchmarks" / "data" / "squad2-dev-part.json"
    corpus, index = tmp_path / "corpus", tmp_path / "index"
    write_corpus(load_squad(data, ["Steam engine", "Immune system"]), corpus)
    port = free_port()
    env = {**os.environ, "HF_HUB_OFFLINE": "1"}
    cmd = [sys.executable, "-m", "sco_qa", "serve", "--port", str(port),
           "--corpus", str(corpus), "--index", str(index)]  # fmt: skip
    proc = subprocess.Popen(cmd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    url = f"http://127.0.0.1:{port}"
    messages: list[str] = []
    try:
        wait_until(url, "/healthz", proc, 60)
        assert not (index / "CURRENT").exists()  # listening before the build is done

        def ready() -> bool:
            resp = httpx.get(f"{url}/readyz")
            if resp.status_code == 503:
                messages.append(resp.json()["error"]["message"])
            return resp.status_code == 200

        wait_for(ready, 300)
    finally:
        proc.terminate()
        proc.wait(timeout=30)
    assert any("embedding" in m and " of " in m for m in messages), messages[-3:]
    assert all("retry in a few seconds" in m for m in messages)
