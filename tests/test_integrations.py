"""The OpenAI-compatible API, MCP (stdio and HTTP) and /metrics, with the real clients against
a real uvicorn on loopback, end to end on the real index."""

import asyncio
import json
import os
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import httpx
import openai
import pytest
from mcp import Client, StdioServerParameters
from prometheus_client.parser import text_string_to_metric_families

from sco_qa.answer import not_found_text
from sco_qa.engine import Engine
from sco_qa.index import current_build

from .conftest import CORPUS, DATA, ROOT
from .live import free_port, live_server, wait_until

pytestmark = pytest.mark.slow

QUESTION = "Which organizations does Kazakhstan chair?"
UNANSWERABLE = "What is the boiling point of mercury in Kelvin?"


@pytest.fixture(scope="module")
def base(engine: Engine) -> str:
    with live_server(CORPUS, engine.settings.index_dir) as url:
        yield url


def assert_exact(engine: Engine, citations: list[dict[str, Any]]) -> None:
    """The citation invariant, over what a client received."""
    assert citations
    for c in citations:
        text = engine.index.documents[c["doc_id"]].text
        assert text[c["start"] : c["end"]] == c["quote"]


def _client(base: str, key: str = "unused") -> openai.OpenAI:
    return openai.OpenAI(base_url=f"{base}/v1", api_key=key, max_retries=0, timeout=60)


def test_openai_client_lists_the_model_and_gets_cited_answers(base: str, engine: Engine) -> None:
    client = _client(base)
    assert [m.id for m in client.models.list()] == ["sco-qa"]
    done = client.chat.completions.create(
        model="sco-qa",
        messages=[{"role": "user", "content": QUESTION}],
        max_tokens=16,
        temperature=0.3,
    )
    message = done.choices[0].message
    citations = message.model_extra["citations"]
    assert_exact(engine, citations)
    assert "[1]" in message.content and "\n\nSources:\n[1] " in message.content
    assert citations[0]["quote"] in message.content  # quotes are never cut to max_tokens
    assert done.choices[0].finish_reason == "stop" and done.usage.total_tokens > 0


def test_openai_streaming_gives_the_same_answer(base: str, engine: Engine) -> None:
    client = _client(base)
    messages = [{"role": "user", "content": QUESTION}]
    plain = client.chat.completions.create(model="sco-qa", messages=messages)
    stream = client.chat.completions.create(
        model="sco-qa", messages=messages, stream=True, stream_options={"include_usage": True}
    )
    text, citations, finish, usage = [], None, None, None
    for chunk in stream:
        if chunk.usage:
            usage = chunk.usage
        for choice in chunk.choices:
            text.append(choice.delta.content or "")
            citations = (choice.delta.model_extra or {}).get("citations", citations)
            finish = choice.finish_reason or finish
    assert "".join(text) == plain.choices[0].message.content
    assert citations == plain.choices[0].message.model_extra["citations"]
    assert_exact(engine, citations)
    assert finish == "stop" and usage is not None and usage.total_tokens > 0


def test_openai_refusal_is_an_ordinary_answer(base: str) -> None:
    done = _client(base).chat.completions.create(
        model="sco-qa", messages=[{"role": "user", "content": UNANSWERABLE}]
    )
    message = done.choices[0].message
    assert message.content == not_found_text(1)
    assert message.model_extra["citations"] == [] and done.model_extra["answered"] is False


def test_openai_errors_in_openai_shape(base: str) -> None:
    client = _client(base)
    with pytest.raises(openai.NotFoundError) as missing:
        client.chat.completions.create(model="gpt-4o", messages=[{"role": "user", "content": "x"}])
    with pytest.raises(openai.BadRequestError) as not_user:
        client.chat.completions.create(
            model="sco-qa", messages=[{"role": "assistant", "content": "hello"}]
        )
    with pytest.raises(openai.BadRequestError) as empty:
        client.chat.completions.create(model="sco-qa", messages=[])
    for err in (missing, not_user, empty):
        body = err.value.body
        assert set(body) == {"message", "type", "param", "code"} and body["message"]
    assert "GET /v1/models" in missing.value.body["message"]
    assert "last message" in not_user.value.body["message"]
    raw = httpx.post(
        f"{base}/v1/chat/completions",
        content=b"{not json",
        headers={"content-type": "application/json"},
    )
    assert raw.status_code == 400 and raw.json()["error"]["type"] == "invalid_request_error"
    text = httpx.post(f"{base}/v1/chat/completions", content=b"hi")
    assert text.status_code == 415 and set(text.json()["error"]) == {
        "message",
        "type",
        "param",
        "code",
    }


def test_a_chat_ui_request_streams_cited_answers(base: str, engine: Engine) -> None:
    body = json.loads((DATA / "chat-ui-request.json").read_text(encoding="utf-8"))
    events = []
    with httpx.stream("POST", f"{base}/v1/chat/completions", json=body, timeout=60) as resp:
        assert resp.status_code == 200
        assert resp.headers["content-type"].startswith("text/event-stream")
        events = [line[6:] for line in resp.iter_lines() if line.startswith("data: ")]
    assert events[-1] == "[DONE]"
    chunks = [json.loads(e) for e in events[:-1]]
    text = "".join(c["choices"][0]["delta"].get("content", "") for c in chunks if c["choices"])
    citations = next(
        c["choices"][0]["delta"]["citations"]
        for c in chunks
        if c["choices"] and "citations" in c["choices"][0]["delta"]
    )
    assert_exact(engine, citations)
    assert "CSTO" in text  # the earlier turns' Sources list did not confuse the follow-up
    assert chunks[-1]["usage"]["completion_tokens"] == len(text.split())


async def _mcp_session(client: Client, engine: Engine) -> None:
    tools = (await client.list_tools()).tools
    assert {t.name for t in tools} == {"ask", "search", "get_document"}
    for t in tools:
        assert t.annotations.read_only_hint and not t.annotations.open_world_hint
        assert t.description and t.output_schema  # structured output, described
    asked = await client.call_tool("ask", {"question": QUESTION})
    assert not asked.is_error and asked.structured_content["answered"]
    citations = asked.structured_content["citations"]
    assert_exact(engine, citations)
    c = citations[0]
    part = await client.call_tool(
        "get_document", {"doc_id": c["doc_id"], "start": c["start"], "end": c["end"]}
    )
    assert part.structured_content["text"] == c["quote"]
    follow = await client.call_tool(
        "ask",
        {
            "question": "And which of them is a security alliance?",
            "history": [{"question": QUESTION, "answer": asked.structured_content["answer"]}],
        },
    )
    assert not follow.is_error
    found = await client.call_tool("search", {"question": QUESTION, "k": 3})
    hits = found.structured_content["hits"]
    assert len(hits) == 3 and [h["rank"] for h in hits] == [1, 2, 3]
    for h in hits:
        assert engine.index.documents[h["doc_id"]].text[h["start"] : h["end"]] == h["text"]
    refused = await client.call_tool("ask", {"question": UNANSWERABLE})
    assert refused.structured_content["answered"] is False
    for bad in (
        ("get_document", {"doc_id": "no-such-doc"}),
        ("get_document", {"doc_id": c["doc_id"], "start": 5, "end": 2}),
        ("ask", {"question": ""}),
        ("search", {"question": "x", "k": 99}),
    ):
        result = await client.call_tool(*bad)
        assert result.is_error and result.content[0].text, bad
    listed = await client.read_resource("documents://list")
    docs = json.loads(listed.contents[0].text)
    assert [d["doc_id"] for d in docs] == list(engine.index.documents)
    whole = await client.read_resource(docs[0]["uri"])
    assert whole.contents[0].text == engine.index.documents[docs[0]["doc_id"]].text


def test_mcp_over_streamable_http(base: str, engine: Engine) -> None:
    async def run() -> None:
        async with Client(f"{base}/mcp") as client:
            await _mcp_session(client, engine)

    asyncio.run(run())


def test_mcp_over_stdio(engine: Engine) -> None:
    params = StdioServerParameters(
        command=sys.executable,
        args=["-m", "sco_qa", "mcp", "--corpus", str(CORPUS)],
        env={"HF_HUB_OFFLINE": "1", "SCO_QA_INDEX_DIR": str(engine.settings.index_dir)},
        cwd=str(ROOT),
    )

    async def run() -> None:
        async with Client(params, read_timeout_seconds=120) as client:
            await _mcp_session(client, engine)

    asyncio.run(run())


def test_mcp_over_stdio_reports_a_corpus_it_cannot_serve(tmp_path: Path) -> None:
    (tmp_path / "corpus").mkdir()
    params = StdioServerParameters(
        command=sys.executable,
        args=["-m", "sco_qa", "mcp", "--corpus", str(tmp_path / "corpus")],
        env={"HF_HUB_OFFLINE": "1", "SCO_QA_INDEX_DIR": str(tmp_path / "index")},
        cwd=str(ROOT),
    )

    async def run() -> tuple[bool, str]:
        async with Client(params, read_timeout_seconds=120) as client:
            result = await client.call_tool("ask", {"question": QUESTION})
            return result.is_error, result.content[0].text

    failed, message = asyncio.run(run())
    assert failed and "no document to index" in message and "add .md" in message


def test_mcp_refuses_a_foreign_host_or_origin(base: str) -> None:
    body = {"jsonrpc": "2.0", "id": 1, "method": "tools/list", "params": {}}
    headers = {"accept": "application/json, text/event-stream"}
    foreign = httpx.post(f"{base}/mcp", json=body, headers={**headers, "host": "evil.example"})
    assert foreign.status_code == 421
    origin = {**headers, "origin": "http://evil.example"}
    assert httpx.post(f"{base}/mcp", json=body, headers=origin).status_code == 403
    for host in ("localhost", "127.0.0.1:1234"):  # a proxy on this machine naming loopback
        ok = httpx.post(f"{base}/mcp", json=body, headers={**headers, "host": host})
        assert ok.status_code != 421, host


def _samples(text: str) -> dict[tuple[str, frozenset], float]:
    return {
        (s.name, frozenset(s.labels.items())): s.value
        for family in text_string_to_metric_families(text)
        for s in family.samples
    }


def test_metrics_count_what_was_served(engine: Engine, tmp_path: Path) -> None:
    with live_server(CORPUS, engine.settings.index_dir) as url:
        for q in (QUESTION, "Where did the leaders meet?", UNANSWERABLE):
            assert httpx.post(f"{url}/ask", json={"question": q}, timeout=30).status_code == 200
        assert httpx.post(f"{url}/ask", json={"question": ""}).status_code == 422
        assert httpx.get(f"{url}/documents/nope").status_code == 404
        _client(url).chat.completions.create(
            model="sco-qa", messages=[{"role": "user", "content": QUESTION}]
        )
        resp = httpx.get(f"{url}/metrics")
    assert resp.status_code == 200 and resp.headers["content-type"].startswith("text/plain")
    got = _samples(resp.text)

    def value(name: str, **labels: str) -> float:
        return got.get((name, frozenset(labels.items())), 0.0)

    one = {"collection": "default"}
    assert value("sco_qa_answers_total", outcome="answered", interface="api", **one) == 2
    assert value("sco_qa_answers_total", outcome="refused", interface="api", **one) == 1
    assert value("sco_qa_answers_total", outcome="answered", interface="openai", **one) == 1
    ok = value("sco_qa_http_requests_total", route="/ask", method="POST", status="200")
    assert ok == 3
    assert value("sco_qa_http_requests_total", route="/ask", method="POST", status="422") == 1
    not_found = {"route": "/documents/{doc_id:path}", "method": "GET", "status": "404"}
    assert value("sco_qa_http_requests_total", **not_found) == 1
    for stage in ("embed", "search", "score", "compose", "total"):
        assert value("sco_qa_ask_stage_seconds_count", stage=stage, **one) == 4, stage
        assert value("sco_qa_ask_stage_seconds_sum", stage=stage, **one) > 0
    info = next(k for k in got if k[0] == "sco_qa_index_info")
    labels = dict(info[1])
    assert labels["build"] == current_build(engine.settings.index_dir).name
    assert labels["backend"] == "onnx-int8" and labels["answer_scorer"] == engine.answerer.version
    assert value("sco_qa_documents", **one) == 1 and value("sco_qa_index_ready", **one) == 1


def test_the_readme_python_example_runs(engine: Engine) -> None:
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    section = readme.split("### Python API", 1)[1]
    code = section.split("```python\n", 1)[1].split("```", 1)[0]
    assert len([line for line in code.splitlines() if line.strip()]) <= 6
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "SCO_QA_INDEX_DIR": str(engine.settings.index_dir)}
    done = subprocess.run(
        [sys.executable, "-c", code],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    lines = done.stdout.splitlines()
    assert lines and all(line.endswith(" True") for line in lines)
    assert "Organization of Turkic States" in done.stdout


def test_metrics_are_summed_over_workers(engine: Engine, tmp_path: Path) -> None:
    port = free_port()
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "SCO_QA_INDEX_DIR": str(engine.settings.index_dir),
           "PROMETHEUS_MULTIPROC_DIR": str(tmp_path / "metrics")}  # fmt: skip
    (tmp_path / "metrics").mkdir()
    (tmp_path / "metrics" / "counter_1.db").write_bytes(b"left by an earlier run")
    server = subprocess.Popen(
        [sys.executable, "-m", "sco_qa", "serve", "--workers", "2", "--port", str(port),
         "--corpus", str(CORPUS)],
        env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    url = f"http://127.0.0.1:{port}"
    try:
        wait_until(url, "/readyz", server)
        ready = 0
        for _ in range(3000):  # both workers ready: 20 answers in a row, whoever gave them
            ready = ready + 1 if httpx.get(f"{url}/readyz").status_code == 200 else 0
            if ready == 20:
                break
            time.sleep(0.05 if ready else 0.2)
        assert ready == 20, "the second worker never became ready"
        for _ in range(8):
            fresh = httpx.Client()  # a new connection each time: spread over the workers
            assert fresh.post(f"{url}/ask", json={"question": QUESTION}).status_code == 200
            fresh.close()
        for _ in range(4):  # whichever worker answers the scrape, it counts them all
            got = _samples(httpx.Client().get(f"{url}/metrics").text)
            labels = {"outcome": "answered", "interface": "api", "collection": "default"}
            key = frozenset(labels.items())
            assert got[("sco_qa_answers_total", key)] == 8
    finally:
        server.terminate()
        server.wait(timeout=30)


@pytest.mark.parametrize(
    ("method", "body", "ctype"),
    [
        ("POST", b"{not json", "application/json"),
        ("POST", b"[]", "application/json"),
        ("POST", b'{"jsonrpc": "2.0"}', "application/json"),
        ("POST", b'{"jsonrpc": "2.0", "id": 1, "method": "no/such"}', "application/json"),
        (
            "POST",
            b'{"jsonrpc": "2.0", "id": 1, "method": "tools/call", "params": 7}',
            "application/json",
        ),
        ("POST", b'{"jsonrpc": "2.0", "id": 1, "method": "tools/call"}', "text/plain"),
        ("POST", "\udcff".encode("utf-8", "surrogatepass"), "application/json"),
        ("GET", b"", ""),
        ("DELETE", b"", ""),
        ("PUT", b"{}", "application/json"),
    ],
)
def test_mcp_endpoint_answers_bad_requests_without_a_server_error(
    base: str, method: str, body: bytes, ctype: str
) -> None:
    headers = {"accept": "application/json, text/event-stream"}
    if ctype:
        headers["content-type"] = ctype
    resp = httpx.request(method, f"{base}/mcp", content=body, headers=headers, timeout=30)
    assert 200 <= resp.status_code < 500, (resp.status_code, resp.text[:200])
    if method != "POST":  # stateless: no stream to open with GET, no session to DELETE
        assert resp.status_code == 405 and resp.json()["error"]["code"] == "method_not_allowed"


def test_the_readme_openai_example_runs(base: str) -> None:
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    section = readme.split("### OpenAI-compatible API", 1)[1]
    code = section.split("```python\n", 1)[1].split("```", 1)[0]
    code = code.replace("http://127.0.0.1:8000", base)
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=120, check=False
    )
    assert done.returncode == 0, done.stderr
    assert "[1]" in done.stdout and "Sources:" in done.stdout and "'quote':" in done.stdout
