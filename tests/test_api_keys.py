"""API keys and the rate limit on a real server: missing, wrong and right keys on every kind of
route (the API, OpenAI's, MCP, metrics), the open paths, 429 with Retry-After, no key logged."""

import asyncio
from pathlib import Path

import httpx
import httpx2
import openai
import pytest
from mcp import Client
from mcp.client.streamable_http import streamable_http_client

from sco_qa.engine import Engine
from sco_qa.errors import ScoQaError
from sco_qa.evaluation import RemoteEngine

from .conftest import CORPUS
from .live import live_server

pytestmark = pytest.mark.slow

KEYS = ("key-alpha-0c9d1e", "key-beta-77a2f0", "key-gamma-5b31aa")
LIMITED = "key-limited-e4f8"
ADMIN = "admin-token-9f00"
ORIGIN = "http://app.example"


@pytest.fixture(scope="module")
def server(engine: Engine, tmp_path_factory: pytest.TempPathFactory):
    folder = tmp_path_factory.mktemp("keys")
    keys_file = folder / "keys.txt"
    keys_file.write_text(f"# the team\n{KEYS[2]}\n{LIMITED}  # load test\n", encoding="utf-8")
    log = folder / "server.log"
    env = {
        "SCO_QA_API_KEYS": f"{KEYS[0]},{KEYS[1]}",
        "SCO_QA_API_KEYS_FILE": str(keys_file),
        "SCO_QA_RATE_LIMIT": "10/minute",
        "SCO_QA_ADMIN_TOKEN": ADMIN,
        "SCO_QA_CORS_ORIGINS": ORIGIN,
    }
    with live_server(CORPUS, engine.settings.index_dir, log=log, env=env) as url:
        yield url, log


def _auth(key: str) -> dict[str, str]:
    return {"authorization": f"Bearer {key}"}


def test_open_paths_need_no_key(server) -> None:
    url, _ = server
    for path in ("/healthz", "/readyz", "/", "/static/app.js", "/favicon.ico"):
        assert httpx.get(url + path).status_code == 200, path


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("POST", "/ask"),
        ("GET", "/search?q=summit"),
        ("GET", "/documents"),
        ("GET", "/site"),
        ("GET", "/metrics"),
        ("GET", "/openapi.json"),
        ("GET", "/v1/models"),
        ("POST", "/v1/chat/completions"),
        ("POST", "/mcp"),
    ],
)
def test_missing_and_wrong_keys_get_401(server, method: str, path: str) -> None:
    url, _ = server
    for headers in ({}, _auth("not-a-key"), {"authorization": KEYS[0]}, _auth(KEYS[0] + "x")):
        resp = httpx.request(method, url + path, headers=headers, json={"question": "q"})
        assert resp.status_code == 401, (path, headers)
        assert resp.headers["www-authenticate"] == "Bearer"
        err = resp.json()["error"]
        assert err["code"] == "invalid_api_key" and "Bearer" in err["message"]
        if path.startswith("/v1/"):
            assert set(err) == {"message", "type", "param", "code"}


def test_right_keys_from_the_list_and_the_file(server) -> None:
    url, _ = server
    for key in KEYS:
        resp = httpx.post(f"{url}/ask", json={"question": "Where did the leaders meet?"},
                          headers=_auth(key), timeout=30)  # fmt: skip
        assert resp.status_code == 200 and resp.json()["citations"]
    assert httpx.get(f"{url}/metrics", headers=_auth(KEYS[0])).status_code == 200
    # the admin token opens the API too
    assert httpx.get(f"{url}/documents", headers=_auth(ADMIN)).status_code == 200


def test_openai_client_with_and_without_its_key(server) -> None:
    url, _ = server
    bad = openai.OpenAI(base_url=f"{url}/v1", api_key="wrong", max_retries=0)
    with pytest.raises(openai.AuthenticationError):
        bad.models.list()
    good = openai.OpenAI(base_url=f"{url}/v1", api_key=KEYS[1], max_retries=0)
    done = good.chat.completions.create(
        model="sco-qa", messages=[{"role": "user", "content": "Where did the leaders meet?"}]
    )
    assert done.choices[0].message.model_extra["citations"]


def test_mcp_client_with_its_key(server) -> None:
    url, _ = server

    async def run() -> list[str]:
        http = httpx2.AsyncClient(headers=_auth(KEYS[2]), timeout=60)
        async with http, Client(streamable_http_client(f"{url}/mcp", http_client=http)) as c:
            return [t.name for t in (await c.list_tools()).tools]

    assert sorted(asyncio.run(run())) == ["ask", "get_document", "search"]


def test_rate_limit_per_key_with_retry_after(server) -> None:
    url, _ = server
    codes = [httpx.get(f"{url}/documents", headers=_auth(LIMITED)).status_code for _ in range(10)]
    assert codes == [200] * 10
    over = httpx.get(f"{url}/documents", headers=_auth(LIMITED))
    assert over.status_code == 429
    assert over.json()["error"]["code"] == "rate_limit_exceeded"
    assert 1 <= int(over.headers["retry-after"]) <= 6  # one request refills every 6 s
    v1 = httpx.get(f"{url}/v1/models", headers=_auth(LIMITED))
    assert v1.status_code == 429 and v1.json()["error"]["type"] == "rate_limit_error"
    # another key has its own allowance; the health checks are never limited
    assert httpx.get(f"{url}/documents", headers=_auth(KEYS[0])).status_code == 200
    assert all(httpx.get(f"{url}/healthz").status_code == 200 for _ in range(6))


def test_keys_never_reach_the_log(server) -> None:
    url, log = server
    httpx.get(f"{url}/documents", headers=_auth(KEYS[1]))
    httpx.get(f"{url}/documents", headers=_auth("a-wrong-key-123"))
    text = Path(log).read_text(encoding="utf-8")
    assert "GET /documents 401" in text and "GET /documents 200" in text
    for secret in (*KEYS, LIMITED, ADMIN, "a-wrong-key-123"):
        assert secret not in text


def test_a_key_is_not_the_admin_token(server) -> None:
    url, _ = server
    files = {"file": ("note.md", b"# Note\n\nA short note.\n", "text/markdown")}
    resp = httpx.post(f"{url}/documents", files=files, headers=_auth(KEYS[0]))
    assert resp.status_code == 403 and resp.json()["error"]["code"] == "forbidden"


def test_the_evaluation_client_sends_its_key(server) -> None:
    url, _ = server
    with pytest.raises(ScoQaError, match="--api-key"):
        RemoteEngine(url).ask("Where did the leaders meet?", 3)
    remote = RemoteEngine(url, KEYS[2])
    answer = remote.ask("Where did the leaders meet?", 3)
    c = answer.citations[0]
    assert remote.text_of(c.doc_id)[c.start : c.end] == c.quote


def test_a_page_on_an_allowed_origin_can_read_the_refusal(server) -> None:
    url, _ = server
    preflight = httpx.options(
        f"{url}/ask",
        headers={
            "origin": ORIGIN,
            "access-control-request-method": "POST",
            "access-control-request-headers": "authorization, content-type",
        },
    )
    assert preflight.status_code == 200
    assert preflight.headers["access-control-allow-origin"] == ORIGIN
    assert "authorization" in preflight.headers["access-control-allow-headers"].lower()
    refused = httpx.post(f"{url}/ask", json={"question": "q"}, headers={"origin": ORIGIN})
    assert refused.status_code == 401
    assert refused.headers["access-control-allow-origin"] == ORIGIN
    other = httpx.post(
        f"{url}/ask", json={"question": "q"}, headers={"origin": "http://evil.example"}
    )
    assert "access-control-allow-origin" not in other.headers
