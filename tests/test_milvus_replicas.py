"""Two sco-qa replicas sharing one Milvus Lite gRPC server (started by the test on loopback)
and one index folder: an upload to one replica is served by both after the switch, with no
request failing meanwhile."""

from __future__ import annotations

import shutil
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from .conftest import CORPUS
from .live import free_port, live_server

pytestmark = pytest.mark.slow
ADMIN = "replica-admin-5d1c"
NOTE = b"# Parking\n\nVisitors park in the blue garage behind the library.\n"


@pytest.fixture()
def milvus(tmp_path: Path) -> Iterator[str]:
    port = free_port()
    proc = subprocess.Popen(
        [sys.executable, "-m", "milvus_lite", "server", "--data-dir", str(tmp_path / "milvus"),
         "--host", "127.0.0.1", "--port", str(port)],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        with socket.socket() as s:
            if s.connect_ex(("127.0.0.1", port)) == 0:
                break
        time.sleep(0.2)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        proc.terminate()
        proc.wait(timeout=30)


def test_an_upload_to_one_replica_is_served_by_both(milvus: str, tmp_path: Path) -> None:
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    shutil.copy(CORPUS / "sco-kazakhstan.md", corpus)
    index = tmp_path / "index"
    env = {"SCO_QA_VECTOR_STORE": "milvus", "SCO_QA_MILVUS_URI": milvus,
           "SCO_QA_ADMIN_TOKEN": ADMIN, "SCO_QA_RELOAD_INTERVAL": "0.5"}  # fmt: skip
    with live_server(corpus, index, env=env) as a, live_server(corpus, index, env=env) as b:
        failures: list[str] = []
        stop = threading.Event()

        def load(url: str) -> None:
            with httpx.Client(timeout=60) as client:
                while not stop.is_set():
                    r = client.post(f"{url}/ask", json={"question": "Where did the leaders meet?"})
                    if r.status_code != 200:
                        failures.append(f"{url} {r.status_code}")

        threads = [threading.Thread(target=load, args=(u,)) for u in (a, b) for _ in range(2)]
        for t in threads:
            t.start()
        try:
            up = httpx.post(f"{a}/documents", files={"file": ("parking.md", NOTE)},
                            headers={"authorization": f"Bearer {ADMIN}"}, timeout=300)  # fmt: skip
            assert up.status_code == 201, up.text
            deadline = time.monotonic() + 60
            served = set()
            while time.monotonic() < deadline and served != {a, b}:
                for url in (a, b):
                    got = httpx.post(f"{url}/ask", json={"question": "Where do visitors park?"},
                                     timeout=60).json()  # fmt: skip
                    if got["answered"] and "blue garage" in got["answer"]:
                        served.add(url)
                time.sleep(0.25)
        finally:
            stop.set()
            for t in threads:
                t.join(timeout=60)
        assert served == {a, b}
        assert failures == []
        build = httpx.get(f"{b}/readyz").json()
        assert build["documents"] == 2
