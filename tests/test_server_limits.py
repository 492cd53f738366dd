"""`sco-qa serve` under hostile clients: a stalled body does not keep a stopped server alive,
requests beyond the cap get 503 (idle sockets and /healthz aside), the header cap counts
header bytes on every request (slow: real server processes)."""

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

from .conftest import DATA, ROOT
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
        stalled.sendall(b"POST /ask HTTP/1.1\r\nHost: 127.0.0.1\r\n"
                        b"content-type: application/json\r\n"
                        b"content-length: 100\r\n\r\n{\"qu")  # fmt: skip
        time.sleep(0.5)
        started = time.monotonic()
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=30) == 0
    assert time.monotonic() - started < 15


def test_requests_beyond_the_cap_get_503_but_idle_sockets_and_healthz_do_not(
    tmp_path: Path,
) -> None:
    proc, url = start(tmp_path, {"SCO_QA_MAX_CONNECTIONS": "2"})
    port = int(url.rsplit(":", 1)[1])
    stalled = (b"POST /ask HTTP/1.1\r\nHost: 127.0.0.1\r\ncontent-type: application/json\r\n"
               b"content-length: 100\r\n\r\n{\"qu")  # fmt: skip
    try:
        with ExitStack() as stack:
            for _ in range(2):  # two requests in progress: their bodies never finish
                s = stack.enter_context(socket.create_connection(("127.0.0.1", port)))
                s.sendall(stalled)
            time.sleep(0.5)
            busy = httpx.get(f"{url}/readyz", timeout=10)
            assert busy.status_code == 503 and busy.json()["error"]["code"] == "busy"
            assert httpx.get(f"{url}/healthz", timeout=10).status_code == 200
        time.sleep(0.5)
        assert httpx.get(f"{url}/readyz", timeout=10).status_code == 200  # and recovers
    finally:
        proc.terminate()
        proc.wait(timeout=30)


def test_idle_sockets_neither_block_requests_nor_stay_open(tmp_path: Path) -> None:
    """2,000 connections that never send a byte: /healthz and /ask still answer, and the
    sockets are closed after the keep-alive timeout."""
    proc, url = start(tmp_path, {"SCO_QA_KEEP_ALIVE_TIMEOUT": "2"})
    port = int(url.rsplit(":", 1)[1])
    try:
        with ExitStack() as stack:
            idle = [stack.enter_context(socket.create_connection(("127.0.0.1", port)))
                    for _ in range(2000)]  # fmt: skip
            assert httpx.get(f"{url}/healthz", timeout=10).status_code == 200
            ask = httpx.post(f"{url}/ask", json={"question": "Where does work continue?"},
                             timeout=30)  # fmt: skip
            assert ask.status_code == 200
            time.sleep(4)
            closed = 0
            for s in idle[:50]:
                s.settimeout(5)
                closed += s.recv(1) == b""  # the server closed it
            assert closed == 50
    finally:
        proc.terminate()
        proc.wait(timeout=30)


def test_the_header_cap_counts_headers_only_on_every_request(tmp_path: Path) -> None:
    proc, url = start(tmp_path, {})
    try:
        turns = [{"question": f"Question {n}?", "answer": "a" * 1700} for n in range(10)]
        body = {"question": "Where does work continue?", "history": turns}
        big = httpx.post(f"{url}/ask", json=body, timeout=30)  # a 17.6 KB body, headers small
        assert big.status_code == 200, big.text
        assert len(big.request.content) > 17_000
        with httpx.Client() as client:  # a large header on the second request of a connection
            assert client.get(f"{url}/healthz").status_code == 200
            second = client.get(f"{url}/healthz", headers={"x-big": "a" * 20_000})
            assert second.status_code == 431
        with httpx.Client() as client:
            assert client.get(f"{url}/healthz").status_code == 200
            assert client.get(f"{url}/healthz", headers={"x-big": "a" * 60_000}).status_code == 431
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
            big.sendall(
                b"GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Big: " + b"a" * 65536 + b"\r\n\r\n"
            )
            reply = _read_all(big)
        assert reply.startswith(b"HTTP/1.1 431") and b"over 4096 bytes" in reply
        with socket.create_connection(("127.0.0.1", port)) as stalled:
            stalled.sendall(b"POST /ask HTTP/1.1\r\nHost: 127.0.0.1\r\n"
                        b"content-type: application/json\r\n"
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


def test_python_server_py_starts_the_guarded_server(tmp_path: Path) -> None:
    port = free_port()
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "SCO_QA_KEEP_ALIVE_TIMEOUT": "1"}
    cmd = [sys.executable, str(ROOT / "server.py"), "--port", str(port), "--corpus",
           str(DATA / "tricky"), "--index", str(tmp_path / "index")]  # fmt: skip
    proc = subprocess.Popen(cmd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    url = f"http://127.0.0.1:{port}"
    try:
        wait_until(url, "/readyz", proc, 120)
        with socket.create_connection(("127.0.0.1", port)) as big:  # plain uvicorn: 200
            big.sendall(b"GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Big: "
                        + b"a" * 65536 + b"\r\n\r\n")  # fmt: skip
            assert _read_all(big).startswith(b"HTTP/1.1 431")
        with socket.create_connection(("127.0.0.1", port)) as idle:  # sends nothing
            idle.settimeout(10)
            assert idle.recv(1) == b""  # closed by the server
    finally:
        proc.terminate()
        proc.wait(timeout=30)
