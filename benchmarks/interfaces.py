"""What each way in costs: client-side latency of the same questions through POST /ask, /ask
with an API key, the OpenAI client (plain, and streamed to its last chunk), the MCP client over
streamable HTTP, and a /metrics scrape, against one real server (the question-embedding cache
off, so every answer pays for the model). Usage: python benchmarks/interfaces.py [--rounds 2]"""

from __future__ import annotations

import argparse
import asyncio
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import httpx
import openai
from common import golden_questions, stats_ms, write_result
from http_load import serve
from mcp import Client

KEY = "bench-key"


def over(questions: list[str], call: Callable[[str], object]) -> list[float]:
    out = []
    for q in questions:
        t0 = time.perf_counter()
        call(q)
        out.append((time.perf_counter() - t0) * 1e3)
    return out


def mcp_times(url: str, questions: list[str]) -> list[float]:
    async def run() -> list[float]:
        headers = {"authorization": f"Bearer {KEY}"}
        import httpx2
        from mcp.client.streamable_http import streamable_http_client

        async with (
            httpx2.AsyncClient(headers=headers, timeout=60) as http,
            Client(streamable_http_client(f"{url}/mcp", http_client=http)) as client,
        ):
            out = []
            for q in questions:
                t0 = time.perf_counter()
                result = await client.call_tool("ask", {"question": q})
                assert not result.is_error, result.content
                out.append((time.perf_counter() - t0) * 1e3)
            return out

    return asyncio.run(run())


def measure(url: str, questions: list[str]) -> dict[str, list[float]]:
    auth = {"authorization": f"Bearer {KEY}"}
    http = httpx.Client(timeout=60)
    ai = openai.OpenAI(base_url=f"{url}/v1", api_key=KEY, max_retries=0)

    def ask(q: str) -> None:
        http.post(f"{url}/ask", json={"question": q}, headers=auth).raise_for_status()

    def chat(q: str) -> None:
        ai.chat.completions.create(model="sco-qa", messages=[{"role": "user", "content": q}])

    def stream(q: str) -> None:
        for _ in ai.chat.completions.create(
            model="sco-qa", messages=[{"role": "user", "content": q}], stream=True
        ):
            pass

    ask(questions[0])  # warm
    return {
        "POST /ask with an API key": over(questions, ask),
        "OpenAI client": over(questions, chat),
        "OpenAI client, streamed to [DONE]": over(questions, stream),
        "MCP client (streamable HTTP)": mcp_times(url, questions),
        "GET /metrics": over(
            ["metrics"] * 50, lambda p: http.get(f"{url}/{p}", headers=auth).raise_for_status()
        ),
    }


def baseline(url: str, questions: list[str]) -> list[float]:
    http = httpx.Client(timeout=60)
    http.post(f"{url}/ask", json={"question": questions[0]}).raise_for_status()
    return over(
        questions,
        lambda q: http.post(f"{url}/ask", json={"question": q}).raise_for_status(),
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rounds", type=int, default=2)
    args = parser.parse_args()
    questions = golden_questions() * args.rounds
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        index = Path(tmp) / "index"
        for keys in (False, True):
            url, server = serve(index, 1, 0, {"SCO_QA_API_KEYS": KEY} if keys else None)
            try:
                got = measure(url, questions) if keys else {"POST /ask": baseline(url, questions)}
            finally:
                server.terminate()
                server.wait(timeout=30)
            rows += [{"interface": k, **stats_ms(v)} for k, v in got.items()]
    by = {r["interface"]: r for r in rows}
    write_result(
        "interfaces",
        {"questions": len(questions), "rounds": args.rounds, "rows": rows},
        f"/ask p50 {by['POST /ask']['p50']} ms; OpenAI client p50 {by['OpenAI client']['p50']} "
        f"ms; MCP p50 {by['MCP client (streamable HTTP)']['p50']} ms",
    )


if __name__ == "__main__":
    main()
