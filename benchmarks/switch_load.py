"""Index switches under load: a server answers /ask at concurrency 32 while the corpus
changes and the index is rebuilt several times (the server switches to each new build and
to a rollback); every response is counted. Usage: python benchmarks/switch_load.py
[--concurrency 32] [--switches 3]"""

from __future__ import annotations

import argparse
import asyncio
import os
import shutil
import subprocess
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

import httpx
from common import ROOT, free_port, golden_questions, stats_ms, write_result

ENV = {**os.environ, "HF_HUB_OFFLINE": "1", "SCO_QA_RELOAD_INTERVAL": "0.5"}


def sco_qa(*args: str) -> None:
    subprocess.run([sys.executable, "-m", "sco_qa", *args], env=ENV, check=True,
                   capture_output=True)  # fmt: skip


async def load(
    url: str, questions: list[str], concurrency: int, stop: asyncio.Event
) -> tuple[Counter[int], list[float]]:
    statuses: Counter[int] = Counter()
    latencies: list[float] = []

    async def client(n: int) -> None:
        async with httpx.AsyncClient(timeout=30) as http:
            i = n
            while not stop.is_set():
                t0 = time.perf_counter()
                try:
                    r = await http.post(
                        f"{url}/ask", json={"question": questions[i % len(questions)]}
                    )
                    statuses[r.status_code] += 1
                except httpx.HTTPError:
                    statuses[0] += 1  # a connection error counts as a failure
                latencies.append((time.perf_counter() - t0) * 1e3)
                i += concurrency

    await asyncio.gather(*(client(n) for n in range(concurrency)))
    return statuses, latencies


async def served(url: str, documents: int) -> float:
    """Seconds until the server serves ``documents`` documents (it switched builds)."""
    t0 = time.perf_counter()
    async with httpx.AsyncClient(timeout=30) as http:
        while (await http.get(f"{url}/readyz")).json()["documents"] != documents:
            await asyncio.sleep(0.05)
    return time.perf_counter() - t0


async def switch(
    url: str, corpus: Path, index: Path, switches: int, stop: asyncio.Event
) -> list[float]:
    """Change the corpus and rebuild ``switches`` times, then roll back once; how long each
    build took to be served after the build command returned."""
    seen = []
    for n in range(switches):
        await asyncio.sleep(2)
        (corpus / f"extra-{n}.md").write_text(f"Extra note number {n} about the summit.\n")
        await asyncio.to_thread(sco_qa, "index", "--corpus", str(corpus), "--index", str(index))
        seen.append(await served(url, n + 2))
    await asyncio.sleep(2)
    await asyncio.to_thread(sco_qa, "rollback", "--corpus", str(corpus), "--index", str(index))
    seen.append(await served(url, switches))
    await asyncio.sleep(2)
    stop.set()
    return seen


async def run(concurrency: int, switches: int) -> dict:
    with tempfile.TemporaryDirectory() as tmp:
        corpus, index = Path(tmp) / "corpus", Path(tmp) / "index"
        shutil.copytree(ROOT / "corpus", corpus)
        sco_qa("index", "--corpus", str(corpus), "--index", str(index))
        port = free_port()
        server = subprocess.Popen(
            [sys.executable, "-m", "uvicorn", "sco_qa.api:make_app", "--factory",
             "--port", str(port), "--log-level", "warning", "--no-access-log"],
            env={**ENV, "SCO_QA_CORPUS_DIR": str(corpus), "SCO_QA_INDEX_DIR": str(index)},
        )  # fmt: skip
        url = f"http://127.0.0.1:{port}"
        try:
            async with httpx.AsyncClient() as http:
                while True:
                    try:
                        if (await http.get(f"{url}/readyz")).status_code == 200:
                            break
                    except httpx.HTTPError:
                        pass
                    await asyncio.sleep(0.2)
            stop = asyncio.Event()
            (statuses, latencies), took = await asyncio.gather(
                load(url, golden_questions(), concurrency, stop),
                switch(url, corpus, index, switches, stop),
            )
        finally:
            server.terminate()
            server.wait(timeout=30)
    return {
        "concurrency": concurrency,
        "switches": switches,
        "rollbacks": 1,
        "requests": sum(statuses.values()),
        "errors": sum(n for code, n in statuses.items() if code != 200),
        "statuses": {str(k): v for k, v in statuses.items()},
        "latency_ms": stats_ms(latencies),
        "seconds_to_serve_each_switch": [round(t, 2) for t in took],
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--concurrency", type=int, default=32)
    parser.add_argument("--switches", type=int, default=3)
    args = parser.parse_args()
    result = asyncio.run(run(args.concurrency, args.switches))
    write_result(
        "switch_load",
        result,
        f"{result['requests']} /ask requests at concurrency {result['concurrency']} across "
        f"{result['switches']} index switches and a rollback: {result['errors']} errors, "
        f"p50 {result['latency_ms']['p50']} ms, p99 {result['latency_ms']['p99']} ms",
    )


if __name__ == "__main__":
    main()
