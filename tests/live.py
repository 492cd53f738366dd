"""A real uvicorn process on a free loopback port, for API and browser tests."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class Live(str):
    """The base URL of a running server, which can also wait for readiness."""

    proc: subprocess.Popen

    def wait_ready(self) -> None:
        wait_until(self, "/readyz", self.proc)


@contextmanager
def live_server(
    corpus: Path,
    index: Path,
    wait_ready: bool = True,
    log: Path | None = None,
    env: dict[str, str] | None = None,
) -> Iterator[Live]:
    """Start ``uvicorn sco_qa.api:make_app`` and yield its base URL; stop it afterwards."""
    port = free_port()
    env = {
        **os.environ,
        "HF_HUB_OFFLINE": "1",
        "SCO_QA_CORPUS_DIR": str(corpus),
        "SCO_QA_INDEX_DIR": str(index),
        **(env or {}),
    }
    out = open(log, "w") if log else subprocess.DEVNULL  # noqa: SIM115
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "uvicorn",
            "sco_qa.api:make_app",
            "--factory",
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
        ],
        env=env,
        stdout=out,
        stderr=subprocess.STDOUT,
    )
    base = Live(f"http://127.0.0.1:{port}")
    base.proc = proc
    try:
        wait_until(base, "/healthz", proc)
        if wait_ready:
            wait_until(base, "/readyz", proc)
        yield base
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            proc.kill()
        if log:
            out.close()  # type: ignore[union-attr]


def wait_until(base: str, path: str, proc: subprocess.Popen, timeout: float = 180) -> None:
    """Wait until ``base + path`` answers 200; an error if the server exits or time runs out."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"server exited with code {proc.returncode}")
        try:
            if httpx.get(base + path, timeout=2).status_code == 200:
                return
        except httpx.TransportError:
            pass
        time.sleep(0.2)
    raise TimeoutError(f"{base}{path} not ready after {timeout} s")
