"""Cold start: index build time, process start to /readyz = 200 and to the first answer,
and the server's peak resident memory. Usage: python benchmarks/cold_start.py [--runs 3]"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

from common import ROOT, free_port, write_result

ENV = {**os.environ, "HF_HUB_OFFLINE": "1", "SCO_QA_CORPUS_DIR": str(ROOT / "corpus")}


def poll(url: str, proc: subprocess.Popen, body: bytes | None = None) -> float:
    while True:
        if proc.poll() is not None:
            raise SystemExit("server exited")
        req = urllib.request.Request(url, data=body, headers={"content-type": "application/json"})
        try:
            with urllib.request.urlopen(req, timeout=5) as resp:
                if resp.status == 200:
                    return time.perf_counter()
        except OSError:
            time.sleep(0.02)


def peak_rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def one_start(index: Path) -> dict[str, float]:
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    t0 = time.perf_counter()
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "uvicorn",
            "sco_qa.api:make_app",
            "--factory",
            "--port",
            str(port),
            "--no-access-log",
        ],
        env={**ENV, "SCO_QA_INDEX_DIR": str(index)},
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        health = poll(url + "/healthz", proc)
        ready = poll(url + "/readyz", proc)
        body = json.dumps({"question": "Which organizations does Kazakhstan chair?"}).encode()
        answer = poll(url + "/ask", proc, body)
        for _ in range(20):
            poll(url + "/ask", proc, body)
        rss = peak_rss_mb(proc.pid)
    finally:
        proc.terminate()
        proc.wait(timeout=30)
    return {
        "to_healthz_s": health - t0,
        "to_readyz_s": ready - t0,
        "to_first_answer_s": answer - t0,
        "peak_rss_mb": rss,
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--runs", type=int, default=3)
    args = ap.parse_args()
    tmp = Path(tempfile.mkdtemp(prefix="sco-qa-cold-"))
    t0 = time.perf_counter()
    out = subprocess.run(
        [sys.executable, "-m", "sco_qa", "index", "--index", str(tmp / "i")],
        env=ENV,
        capture_output=True,
        text=True,
        check=True,
    )
    build_cmd = time.perf_counter() - t0
    build_only = float(out.stdout.split(" in ")[1].split(" s")[0])
    runs = [one_start(tmp / "i") for _ in range(args.runs)]
    med = {k: round(statistics.median(r[k] for r in runs), 3) for k in runs[0]}
    result = {
        "index_build_seconds": build_only,
        "index_command_seconds": round(build_cmd, 3),
        "runs": runs,
        "median": med,
    }
    line = (
        f"cold start to /readyz {med['to_readyz_s']} s, to first answer "
        f"{med['to_first_answer_s']} s; server peak RSS {med['peak_rss_mb']:.0f} MB; index "
        f"build {build_only} s (the `sco-qa index` command, model load included, "
        f"{build_cmd:.1f} s)"
    )
    write_result("cold_start", result, line)


if __name__ == "__main__":
    main()
