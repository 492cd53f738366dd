"""`sco-qa serve` under hostile clients: a stalled body does not keep a stopped server alive,
and connections beyond the cap get 503, not a reset (slow: real server processes)."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from contextlib import ExitStack
from pathlib import Path

import httpx
import pytest

from .conftest import DATA
from .live import free_port, wait_until

pytestmark = pytest.mark.slow


def start(tmp_path: Path, env: dict[str, str], *args: str) -> tuple[subprocess.Popen[bytes], str]:
    port = free_port()
    full = {**os.environ, "HF_HUB_OFFLINE": "1", **env}
    cmd = [sys.executable, "-m", "sco_qa", "serve", "--port", str(port), "--corpus",
           str(DATA / "tricky"), "--index", str(tmp_path / "index"), *args]  # fmt: skip
    proc = subprocess.Popen(cmd, env=full, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    url = f"http://127.0.0.1:{port}"
    wait_until(url, "/readyz", proc, 120)
    return proc, url


@pytest.mark.parametrize("workers", ["1", "2"])
def test_sigterm_with_a_stalled_client_exits_cleanly(tmp_path: Path, workers: str) -> None:
    proc, url = start(tmp_path, {"SCO_QA_SHUTDOWN_TIMEOUT": "2"}, "--workers", workers)
    port = int(url.rsplit(":", 1)[1])
    with socket.create_connection(("127.0.0.1", port)) as stalled:
        stalled.sendall(b"POST /ask HTTP/1.1\r\nHost: x\r\ncontent-type: application/json\r\n"
                        b"content-length: 100\r\n\r\n{\"qu")  # fmt: skip
        time.sleep(0.5)
        started = time.monotonic()
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=30) == 0
    assert time.monotonic() - started < 15


def test_connections_beyond_the_cap_get_503(tmp_path: Path) -> None:
    proc, url = start(tmp_path, {"SCO_QA_MAX_CONNECTIONS": "4"})
    port = int(url.rsplit(":", 1)[1])
    try:
        with ExitStack() as stack:
            for _ in range(6):  # clients that send one byte and wait
                s = stack.enter_context(socket.create_connection(("127.0.0.1", port)))
                s.sendall(b"G")
            time.sleep(0.5)
            assert httpx.get(f"{url}/healthz", timeout=10).status_code == 503
        time.sleep(0.5)
        assert httpx.get(f"{url}/healthz", timeout=10).status_code == 200  # and recovers
    finally:
        proc.terminate()
        proc.wait(timeout=30)


def _read_all(sock: socket.socket) -> bytes:
    sock.settimeout(10)
    data = b""
    while chunk := sock.recv(65536):
        data += chunk
    return data


def test_slow_and_oversized_requests_are_cut_off(tmp_path: Path) -> None:
    env = {"SCO_QA_HEADER_TIMEOUT": "1", "SCO_QA_BODY_TIMEOUT": "1", "SCO_QA_MAX_HEADER_KB": "4"}
    proc, url = start(tmp_path, env)
    port = int(url.rsplit(":", 1)[1])
    try:
        with socket.create_connection(("127.0.0.1", port)) as slow:  # one byte, then nothing
            slow.sendall(b"G")
            reply = _read_all(slow)
        assert reply.startswith(b"HTTP/1.1 408") and b"headers did not arrive" in reply
        with socket.create_connection(("127.0.0.1", port)) as big:
            big.sendall(b"GET /healthz HTTP/1.1\r\nHost: x\r\nX-Big: " + b"a" * 65536 + b"\r\n\r\n")
            reply = _read_all(big)
        assert reply.startswith(b"HTTP/1.1 431") and b"over 4096 bytes" in reply
        with socket.create_connection(("127.0.0.1", port)) as stalled:
            stalled.sendall(b"POST /ask HTTP/1.1\r\nHost: x\r\ncontent-type: application/json\r\n"
                            b"content-length: 100\r\n\r\n{\"qu")  # fmt: skip
            reply = _read_all(stalled)
        assert reply.startswith(b"HTTP/1.1 408") and b"body did not arrive" in reply
        with httpx.Client() as client:  # ordinary keep-alive requests are untouched
            for _ in range(3):
                r = client.post(f"{url}/ask", json={"question": "Where does work continue?"})
                assert r.status_code == 200
        assert httpx.head(f"{url}/healthz").status_code == 200
    finally:
        proc.terminate()
        proc.wait(timeout=30)
