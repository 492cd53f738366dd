"""HTTP load on loopback with wrk: POST /ask over the golden questions.

Starts ``sco-qa serve`` with 1 and 2 workers and drives it at concurrency 1, 8 and 32 for a
bounded time each, with the question-embedding cache off (every request pays for the model)
and, once, on (a chat's repeated questions). Needs Debian's ``wrk`` (apt-get install wrk).
Usage: python benchmarks/http_load.py [--seconds 10] [--url http://127.0.0.1:8000]
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

from common import ROOT, free_port, golden_questions, write_result

LUA = """
local bodies = {BODIES}
local i = 0
request = function()
  i = i % #bodies + 1
  return wrk.format("POST", "/ask", {["content-type"] = "application/json"}, bodies[i])
end
local non2xx = 0
response = function(status, headers, body)
  if status < 200 or status > 299 then non2xx = non2xx + 1 end
end
done = function(summary, latency, requests)
  local e = summary.errors
  io.write(string.format(
    'RESULT {"requests": %d, "seconds": %.3f, "p50_us": %d, "p95_us": %d, "p99_us": %d, '
    .. '"max_us": %d, "socket_errors": %d, "status_errors": %d}\\n',
    summary.requests, summary.duration / 1e6, latency:percentile(50), latency:percentile(95),
    latency:percentile(99), latency.max, e.connect + e.read + e.write + e.timeout, e.status))
end
"""


def lua_script(folder: Path) -> Path:
    bodies = [json.dumps(json.dumps({"question": q})) for q in golden_questions()]
    path = folder / "ask.lua"
    path.write_text(LUA.replace("{BODIES}", "{" + ", ".join(bodies) + "}"))
    return path


def wait_ready(url: str, proc: subprocess.Popen, timeout: float = 300) -> None:
    deadline, ok = time.monotonic() + timeout, 0
    while time.monotonic() < deadline and ok < 10:  # every worker must answer
        if proc.poll() is not None:
            raise SystemExit(f"server exited: {proc.returncode}")
        try:
            with urllib.request.urlopen(url + "/readyz", timeout=2) as resp:
                ok = ok + 1 if resp.status == 200 else 0
        except OSError:
            ok = 0
            time.sleep(0.3)
    if ok < 10:
        raise SystemExit("server not ready")


def wrk(url: str, script: Path, conc: int, seconds: int) -> dict:
    threads = str(min(conc, 2))
    out = subprocess.run(
        [
            "wrk",
            "-t",
            threads,
            "-c",
            str(conc),
            "-d",
            f"{seconds}s",
            "--timeout",
            "10s",
            "-s",
            str(script),
            url + "/ask",
        ],
        capture_output=True,
        text=True,
        check=True,
        timeout=seconds + 60,
    ).stdout
    raw = json.loads(next(line for line in out.splitlines() if line.startswith("RESULT "))[7:])
    return {
        "concurrency": conc,
        "rps": round(raw["requests"] / raw["seconds"], 1),
        "p50_ms": raw["p50_us"] / 1e3,
        "p95_ms": raw["p95_us"] / 1e3,
        "p99_ms": raw["p99_us"] / 1e3,
        "max_ms": raw["max_us"] / 1e3,
        "requests": raw["requests"],
        "errors": raw["socket_errors"] + raw["status_errors"],
    }


def serve(
    index: Path, workers: int, cache: int, extra_env: dict[str, str] | None = None
) -> tuple[str, subprocess.Popen]:
    """``sco-qa serve`` over the article on a free port, ready; its URL and process."""
    port = free_port()
    env = {
        **os.environ,
        "HF_HUB_OFFLINE": "1",
        "SCO_QA_INDEX_DIR": str(index),
        "SCO_QA_EMBED_CACHE_SIZE": str(cache),
        "SCO_QA_CORPUS_DIR": str(ROOT / "corpus"),
        **(extra_env or {}),
    }
    proc = subprocess.Popen(
        [sys.executable, "-m", "sco_qa", "serve", "--port", str(port), "--workers", str(workers)],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    url = f"http://127.0.0.1:{port}"
    wait_ready(url, proc)
    return url, proc


def measure(
    index: Path, script: Path, workers: int, cache: int, concs: list[int], seconds: int
) -> list[dict]:
    url, proc = serve(index, workers, cache)
    try:
        wrk(url, script, 2, 3)  # warm-up
        rows = [wrk(url, script, c, seconds) | {"workers": workers, "cache": cache} for c in concs]
    finally:
        proc.terminate()
        proc.wait(timeout=30)
    for r in rows:
        print(r, flush=True)
    return rows


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--seconds", type=int, default=10)
    ap.add_argument("--threads", type=int, default=0, help="model threads per worker")
    args = ap.parse_args()
    os.environ["SCO_QA_MODEL_THREADS"] = str(args.threads)
    if not shutil.which("wrk"):
        raise SystemExit("wrk is not installed: apt-get install wrk")
    tmp = Path(tempfile.mkdtemp(prefix="sco-qa-http-"))
    subprocess.run(
        [sys.executable, "-m", "sco_qa", "index", "--index", str(tmp / "index")],
        check=True,
        env={**os.environ, "HF_HUB_OFFLINE": "1"},
    )
    script = lua_script(tmp)
    rows = []
    for workers in (1, 2):
        rows += measure(tmp / "index", script, workers, 0, [1, 8, 32], args.seconds)
    rows += measure(tmp / "index", script, 2, 4096, [1, 8, 32], args.seconds)
    shutil.rmtree(tmp, ignore_errors=True)
    pick = {(r["workers"], r["cache"], r["concurrency"]): r for r in rows}
    c1, w2c8, c32 = pick[(1, 0, 1)], pick[(2, 0, 8)], pick[(2, 0, 32)]
    cached = pick[(2, 4096, 8)]
    line = (
        f"HTTP /ask, no embedding cache: c=1 p50 {c1['p50_ms']} ms; 2 workers c=8 "
        f"{w2c8['rps']} req/s (p99 {w2c8['p99_ms']} ms); c=32 errors {c32['errors']}; "
        f"with the cache (repeated questions) 2 workers c=8 {cached['rps']} req/s"
    )
    name = "http_load" + (f"_t{args.threads}" if args.threads else "")
    line += f"; model threads per worker {args.threads or 'default'}"
    write_result(name, {"seconds": args.seconds, "model_threads": args.threads, "rows": rows}, line)


if __name__ == "__main__":
    main()
