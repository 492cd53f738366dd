"""Liveness under load: /healthz latency while wrk drives POST /ask at concurrency 128
against one server (the question-embedding cache off, so every /ask pays for the model).
Needs Debian's wrk. Usage: python benchmarks/health_under_load.py [--seconds 15]"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
from pathlib import Path

from common import ROOT, free_port, stats_ms, write_result
from http_load import lua_script, wait_ready


def probe(url: str, stop: threading.Event, out: list[float], errors: list[int]) -> None:
    while not stop.is_set():
        t0 = time.perf_counter()
        try:
            with urllib.request.urlopen(url + "/healthz", timeout=10) as resp:
                resp.read()
                if resp.status != 200:
                    errors.append(resp.status)
        except OSError:
            errors.append(0)
        out.append((time.perf_counter() - t0) * 1e3)
        time.sleep(0.02)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seconds", type=int, default=15)
    parser.add_argument("--concurrency", type=int, default=128)
    args = parser.parse_args()
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "SCO_QA_EMBED_CACHE_SIZE": "0",
           "SCO_QA_CORPUS_DIR": str(ROOT / "corpus")}  # fmt: skip
    with tempfile.TemporaryDirectory() as tmp:
        env["SCO_QA_INDEX_DIR"] = str(Path(tmp) / "index")
        server = subprocess.Popen(
            [sys.executable, "-m", "sco_qa", "serve", "--port", str(port)],
            env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        )  # fmt: skip
        try:
            wait_ready(url, server)
            quiet: list[float] = []
            probe_stop, errors = threading.Event(), []
            t = threading.Thread(target=probe, args=(url, probe_stop, quiet, errors))
            t.start()
            time.sleep(3)
            probe_stop.set()
            t.join()
            busy: list[float] = []
            probe_stop = threading.Event()
            t = threading.Thread(target=probe, args=(url, probe_stop, busy, errors))
            t.start()
            wrk = subprocess.run(
                ["wrk", "-t", "2", "-c", str(args.concurrency), "-d", f"{args.seconds}s",
                 "--timeout", "30s", "-s", str(lua_script(Path(tmp))), url],
                capture_output=True, text=True, check=True,
            )  # fmt: skip
            probe_stop.set()
            t.join()
        finally:
            server.terminate()
            server.wait(timeout=30)
    result = {
        "concurrency": args.concurrency,
        "healthz_idle_ms": stats_ms(quiet),
        "healthz_under_load_ms": stats_ms(busy),
        "healthz_errors": len(errors),
        "ask_load": [line for line in wrk.stdout.splitlines() if line.startswith("RESULT")],
    }
    b = result["healthz_under_load_ms"]
    write_result(
        "health_under_load",
        result,
        f"/healthz while /ask runs at concurrency {args.concurrency}: p50 {b['p50']} ms, "
        f"p99 {b['p99']} ms over {b['n']} probes; {len(errors)} errors",
    )


if __name__ == "__main__":
    main()
