"""Memory over many requests: one server (`sco-qa serve`, one worker, the question cache off
so every question runs the model) takes a mix of /ask, /v1/chat/completions (plain and
streamed), /search, /metrics and 404s from 4 client threads; its resident set size is read
from /proc after a warm-up and after each block. The golden questions repeat, so the bounded
memos (question vectors, 1,024; word readings, 50,000 words) stay as they are and what grows
would be a leak.
Usage: python benchmarks/memory_soak.py [--requests 20000]"""

from __future__ import annotations

import argparse
import tempfile
import threading
from pathlib import Path

import httpx
from common import golden_questions, write_result
from http_load import serve

THREADS = 4


def rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return round(int(line.split()[1]) / 1024, 1)
    raise RuntimeError("no VmRSS")


def one(http: httpx.Client, url: str, i: int, q: str) -> int:
    kind = i % 10
    chat = {"model": "sco-qa", "messages": [{"role": "user", "content": q}]}
    if kind < 5:
        r = http.post(f"{url}/ask", json={"question": q})
    elif kind < 7:
        r = http.post(f"{url}/v1/chat/completions", json=chat)
    elif kind == 7:
        r = http.post(f"{url}/v1/chat/completions", json={**chat, "stream": True})
    elif kind == 8:
        r = http.get(f"{url}/search", params={"q": q, "k": 5})
    else:
        r = http.get(f"{url}/{'metrics' if i % 20 == 9 else f'no/such/{i}'}")
    return r.status_code


def block(url: str, start: int, n: int, questions: list[str], errors: list[int]) -> None:
    def worker(t: int) -> None:
        with httpx.Client(timeout=60) as http:
            for i in range(start + t, start + n, THREADS):
                code = one(http, url, i, questions[i % len(questions)])
                if code >= 500:
                    errors.append(code)

    threads = [threading.Thread(target=worker, args=(t,)) for t in range(THREADS)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--requests", type=int, default=20000)
    parser.add_argument("--blocks", type=int, default=5)
    args = parser.parse_args()
    questions = golden_questions()
    with tempfile.TemporaryDirectory() as tmp:
        url, server = serve(Path(tmp) / "index", workers=1, cache=0)
        try:
            errors: list[int] = []
            block(url, 0, 1000, questions, errors)  # warm-up: caches fill, arenas settle
            points = [{"requests": 0, "rss_mb": rss_mb(server.pid)}]
            size = args.requests // args.blocks
            for b in range(args.blocks):
                block(url, 1000 + b * size, size, questions, errors)
                points.append({"requests": (b + 1) * size, "rss_mb": rss_mb(server.pid)})
        finally:
            server.terminate()
            server.wait(timeout=30)
    growth = round(points[-1]["rss_mb"] - points[0]["rss_mb"], 1)
    write_result(
        "memory_soak",
        {"threads": THREADS, "points": points, "growth_mb": growth, "server_errors": len(errors)},
        f"RSS {points[0]['rss_mb']} → {points[-1]['rss_mb']} MB over {args.requests} requests "
        f"after warm-up ({growth:+} MB), {len(errors)} server errors",
    )


if __name__ == "__main__":
    main()
