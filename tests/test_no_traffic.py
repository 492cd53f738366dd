"""Nothing leaves the machine: a server traced from start-up through 100 answers makes no
connection attempt to any address but loopback (slow; needs strace, installed by setup)."""

from __future__ import annotations

import os
import re
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

from .conftest import CORPUS
from .live import free_port

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(
        shutil.which("strace") is None, reason="strace missing: make install-browser"
    ),
]
_CONNECT = re.compile(r"connect\(\d+, \{sa_family=AF_INET6?, .*?(sin6?_addr|inet_addr|inet_pton)")
_LOOPBACK = re.compile(r'inet_addr\("127\.|inet_pton\(AF_INET6, "::1"|"::ffff:127\.')


def test_start_up_and_answers_make_no_outbound_connection(tmp_path: Path) -> None:
    trace = tmp_path / "connect.trace"
    port = free_port()
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "SCO_QA_CORPUS_DIR": str(CORPUS),
           "SCO_QA_INDEX_DIR": str(tmp_path / "index")}  # fmt: skip
    cmd = ["strace", "-f", "-qq", "-e", "trace=connect", "-o", str(trace),
           sys.executable, "-m", "uvicorn", "sco_qa.api:make_app", "--factory",
           "--port", str(port)]  # fmt: skip
    proc = subprocess.Popen(
        cmd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True
    )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 180
        while True:
            assert proc.poll() is None and time.monotonic() < deadline
            try:
                if httpx.get(f"{url}/readyz").status_code == 200:
                    break
            except httpx.TransportError:
                pass
            time.sleep(0.3)
        for n in range(100):
            question = f"Question {n}: which organizations does the country chair?"
            assert httpx.post(f"{url}/ask", json={"question": question}).status_code == 200
        time.sleep(2)  # late telemetry would come after start-up
    finally:
        os.killpg(proc.pid, signal.SIGTERM)  # the server and strace with it
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait(timeout=10)
    lines = trace.read_text().splitlines()
    inet = [line for line in lines if _CONNECT.search(line)]
    outbound = [line for line in inet if not _LOOPBACK.search(line)]
    assert not outbound, outbound[:5]
    followed = {line.split()[0] for line in lines if "+++" in line}
    assert len(followed) > 3  # strace followed the server and its threads to the end


def test_the_trace_reading_tells_outbound_from_loopback() -> None:
    outbound = ('12 connect(3, {sa_family=AF_INET, sin_port=htons(443), '
                'sin_addr=inet_addr("13.107.5.93")}, 16) = -1 ENETUNREACH')  # fmt: skip
    loopback = ('12 connect(3, {sa_family=AF_INET, sin_port=htons(8000), '
                'sin_addr=inet_addr("127.0.0.1")}, 16) = 0')  # fmt: skip
    assert _CONNECT.search(outbound) and not _LOOPBACK.search(outbound)
    assert _CONNECT.search(loopback) and _LOOPBACK.search(loopback)
