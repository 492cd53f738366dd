"""Nothing leaves the machine: the real server, traced from start-up through 50 answers in a
private network namespace, makes no attempt to reach any address but loopback and leaves
no telemetry files (slow; needs strace, unshare and ip, installed by setup)."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from sco_qa.config import load_settings

from .conftest import CORPUS
from .live import free_port

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(
        shutil.which("strace") is None, reason="strace missing: make install-browser"
    ),
]
#: a connect() to an internet address (a local socket, AF_UNIX, is not one)
_CONNECT = re.compile(r"(connect|sendto)\(\d+, .*\{sa_family=AF_INET6?, ")
_LOOPBACK = re.compile(r'inet_addr\("127\.|inet_pton\(AF_INET6, "::1"|"::ffff:127\.')
DRIVER = Path(__file__).with_name("traffic_driver.py")
needs_namespace = pytest.mark.skipif(
    shutil.which("unshare") is None or shutil.which("ip") is None,
    reason="unshare and ip (util-linux, iproute2) missing: make install-browser",
)


def outbound(lines: list[str]) -> list[str]:
    """The traced attempts to reach an address that is not loopback."""
    return [line for line in lines if _CONNECT.search(line) and not _LOOPBACK.search(line)]


@needs_namespace
def test_the_served_answers_make_no_attempt_to_leave_the_machine(tmp_path: Path) -> None:
    """The real ``sco-qa serve`` in a network namespace with loopback only, traced from
    start-up through 50 answers over /ask, /v1 and /mcp: no connect() or sendto() to any
    address but loopback (a DNS lookup is one), and nothing written under
    ``~/.cache/Microsoft`` (HOME is a temp folder)."""
    trace, home = tmp_path / "net.trace", tmp_path / "home"
    home.mkdir()
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "HOME": str(home),
           "SCO_QA_CORPUS_DIR": str(CORPUS), "SCO_QA_INDEX_DIR": str(tmp_path / "index"),
           "SCO_QA_MODEL_CACHE_DIR": str(load_settings().model_cache_dir)}  # fmt: skip
    run = subprocess.run(
        ["unshare", "-n", sys.executable, str(DRIVER), str(trace), str(free_port())],
        env=env, capture_output=True, text=True, timeout=600,
    )  # fmt: skip
    assert run.returncode == 0, run.stderr[-2000:]
    assert run.stdout.split()[-1] == "50"  # every request was answered
    lines = trace.read_text().splitlines()
    assert not outbound(lines), outbound(lines)[:5]
    assert len({line.split()[0] for line in lines if "+++" in line}) > 3  # threads followed
    assert not (home / ".cache" / "Microsoft").exists()


def test_the_trace_reading_tells_outbound_from_loopback() -> None:
    lines = [
        '12 connect(3, {sa_family=AF_INET, sin_port=htons(443), '
        'sin_addr=inet_addr("13.107.5.93")}, 16) = -1 ENETUNREACH',
        '12 connect(5, {sa_family=AF_INET, sin_port=htons(53), '
        'sin_addr=inet_addr("10.0.0.2")}, 16) = -1 ENETUNREACH',
        '12 sendto(5, "x", 1, 0, {sa_family=AF_INET6, sin6_port=htons(53), '
        'inet_pton(AF_INET6, "2001:db8::1", &sin6_addr)}, 28) = -1',
        '12 connect(3, {sa_family=AF_INET, sin_port=htons(8000), '
        'sin_addr=inet_addr("127.0.0.1")}, 16) = 0',
        '12 connect(4, {sa_family=AF_UNIX, sun_path="/run/x.sock"}, 110) = 0',
    ]  # fmt: skip
    assert outbound(lines) == lines[:3]
