"""Collections on a real server: two corpora behind one uvicorn, picked by URL, by OpenAI's
``model`` and by the MCP tools' ``collection``; keys restricted to one; uploads into one;
metrics and readiness per collection; lazy loading."""

from __future__ import annotations

import asyncio
import json
import shutil
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import httpx2
import openai
import pytest
from mcp import Client
from mcp.client.streamable_http import streamable_http_client

from .conftest import CORPUS
from .live import live_server

pytestmark = pytest.mark.slow

ALL_KEY, HR_KEY, ADMIN = "key-all-3c1f", "key-hr-88d0", "admin-4b2e"
QUESTION = "Which organizations does Kazakhstan chair?"
HANDBOOK = (
    "# Staff handbook\n\n## Leave\n\nEvery employee gets twenty-five days of paid leave a "
    "year. Unused days expire at the end of March.\n\n## Expenses\n\nTravel expenses are "
    "refunded within ten working days of the claim.\n"
)


def _auth(key: str) -> dict[str, str]:
    return {"authorization": f"Bearer {key}"}


def ask(base: str, question: str, collection: str = "hr", key: str = ALL_KEY) -> dict:
    url = f"{base}/collections/{collection}/ask"
    resp = httpx.post(url, json={"question": question}, headers=_auth(key), timeout=60)
    return resp.json()  # type: ignore[no-any-return]


@pytest.fixture(scope="module")
def folders(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    root = tmp_path_factory.mktemp("collections")
    sco, hr = root / "sco", root / "hr"
    sco.mkdir()
    shutil.copy(CORPUS / "sco-kazakhstan.md", sco)
    hr.mkdir()
    (hr / "handbook.md").write_text(HANDBOOK, encoding="utf-8")
    keys = root / "keys.txt"
    keys.write_text(f"{ALL_KEY}\n{HR_KEY} hr\n", encoding="utf-8")
    return {"root": root, "sco": sco, "hr": hr, "keys": keys}


@pytest.fixture(scope="module")
def base(folders: dict[str, Path]) -> Iterator[str]:
    env = {
        "SCO_QA_COLLECTIONS": f"sco={folders['sco']},hr={folders['hr']}",
        "SCO_QA_API_KEYS_FILE": str(folders["keys"]),
        "SCO_QA_ADMIN_TOKEN": ADMIN,
    }
    index = folders["root"] / "index"
    with live_server(folders["sco"], index, env=env) as url:
        deadline = time.monotonic() + 300  # /readyz says the default; wait for both
        while time.monotonic() < deadline:
            state = httpx.get(f"{url}/readyz", timeout=10).json()
            if all(c["status"] == "ready" for c in state["collections"]):
                break
            time.sleep(0.5)
        yield url


def test_each_collection_answers_from_its_own_documents(base: str) -> None:
    listed = httpx.get(f"{base}/collections", headers=_auth(ALL_KEY)).json()
    assert listed["default"] == "sco"
    assert [c["name"] for c in listed["collections"]] == ["sco", "hr"]
    assert all(c["memory_bytes"] > 0 and c["status"] == "ready" for c in listed["collections"])
    hr = ask(base, "How many days of paid leave does an employee get?")
    assert hr["answered"] and "twenty-five days" in hr["answer"]
    cite = hr["citations"][0]
    doc = httpx.get(f"{base}/collections/hr/documents/{cite['doc_id']}", headers=_auth(ALL_KEY))
    assert doc.json()["text"][cite["start"] : cite["end"]] == cite["quote"]
    default = httpx.post(
        f"{base}/ask", json={"question": QUESTION}, headers=_auth(ALL_KEY), timeout=60
    ).json()
    assert default["answered"] and default["citations"][0]["doc_id"] == "sco-kazakhstan"
    not_here = ask(base, QUESTION)
    assert not any(c["doc_id"] == "sco-kazakhstan" for c in not_here["citations"])
    site = httpx.get(f"{base}/collections/hr/site", headers=_auth(ALL_KEY)).json()
    assert site["documents"] == 1 and "Staff handbook" in site["subtitle"]
    ready = httpx.get(f"{base}/readyz").json()
    assert [c["name"] for c in ready["collections"]] == ["sco", "hr"]


def test_unknown_and_forbidden_collections_are_clear_errors(base: str) -> None:
    missing = httpx.post(
        f"{base}/collections/sales/ask", json={"question": "x?"}, headers=_auth(ALL_KEY)
    )
    assert missing.status_code == 404
    assert missing.json()["error"]["code"] == "unknown_collection"
    assert "sco, hr" in missing.json()["error"]["message"]
    for path in ("/collections/sco/ask", "/ask"):  # the default is sco: not this key's
        refused = httpx.post(f"{base}{path}", json={"question": QUESTION}, headers=_auth(HR_KEY))
        assert refused.status_code == 403, path
        assert refused.json()["error"]["code"] == "collection_forbidden"
    assert httpx.get(f"{base}/collections/sco/documents", headers=_auth(HR_KEY)).status_code == 403
    mine = httpx.get(f"{base}/collections", headers=_auth(HR_KEY)).json()
    assert [c["name"] for c in mine["collections"]] == ["hr"]
    ok = httpx.get(f"{base}/collections/hr/search", params={"q": "leave"}, headers=_auth(HR_KEY))
    assert ok.status_code == 200 and ok.json()["hits"]


def test_openai_models_are_the_collections(base: str) -> None:
    client = openai.OpenAI(base_url=f"{base}/v1", api_key=ALL_KEY, max_retries=0, timeout=60)
    assert [m.id for m in client.models.list()] == ["sco", "hr"]
    reply = client.chat.completions.create(
        model="hr", messages=[{"role": "user", "content": "When are travel expenses refunded?"}]
    )
    assert "ten working days" in (reply.choices[0].message.content or "")
    alias = client.chat.completions.create(  # the one-folder model id names the default
        model="sco-qa", messages=[{"role": "user", "content": QUESTION}]
    )
    assert "Turkic" in (alias.choices[0].message.content or "")
    with pytest.raises(openai.NotFoundError, match="GET /v1/models lists 'sco', 'hr'"):
        client.chat.completions.create(model="sales", messages=[{"role": "user", "content": "x"}])
    hr_only = openai.OpenAI(base_url=f"{base}/v1", api_key=HR_KEY, max_retries=0, timeout=60)
    with pytest.raises(openai.PermissionDeniedError):
        hr_only.chat.completions.create(model="sco", messages=[{"role": "user", "content": "x"}])


def test_mcp_tools_take_a_collection(base: str) -> None:
    async def run(key: str) -> tuple[dict, list, bool]:
        http = httpx2.AsyncClient(headers=_auth(key), timeout=60)
        async with http, Client(streamable_http_client(f"{base}/mcp", http_client=http)) as c:
            asked = await c.call_tool(
                "ask", {"question": "When do unused leave days expire?", "collection": "hr"}
            )
            listed = json.loads((await c.read_resource("collections://list")).contents[0].text)
            other = await c.call_tool("ask", {"question": QUESTION, "collection": "sco"})
            return asked.structured_content, listed, other.is_error

    answer, listed, refused = asyncio.run(run(ALL_KEY))
    assert answer["answered"] and "end of March" in answer["answer"]
    assert [c["name"] for c in listed] == ["sco", "hr"] and not refused
    _, _, refused = asyncio.run(run(HR_KEY))
    assert refused  # a key restricted to hr may not ask sco


def test_an_upload_goes_into_one_collection_and_reuses_its_vectors(
    base: str, folders: dict[str, Path]
) -> None:
    note = b"# Parking\n\nStaff park in the north garage after six.\n"
    resp = httpx.post(
        f"{base}/collections/hr/documents",
        files={"file": ("parking.md", note, "text/markdown")},
        headers=_auth(ADMIN),
        timeout=300,
    )
    assert resp.status_code == 201, resp.text
    body = resp.json()
    assert body["documents"] == 2 and body["embedded"] <= 3 and body["reused"] > 0
    assert (folders["hr"] / "parking.md").is_file() and not (folders["sco"] / "parking.md").exists()
    answer = ask(base, "Where does staff park after six?")
    assert answer["answered"] and "north garage" in answer["answer"]
    sco_docs = httpx.get(f"{base}/collections/sco/documents", headers=_auth(ALL_KEY)).json()
    assert [d["doc_id"] for d in sco_docs["documents"]] == ["sco-kazakhstan"]


def test_metrics_are_labelled_by_collection(base: str) -> None:
    text = httpx.get(f"{base}/metrics", headers=_auth(ALL_KEY)).text
    assert 'sco_qa_index_ready{collection="hr"} 1.0' in text
    assert 'sco_qa_index_ready{collection="sco"} 1.0' in text
    assert 'collection="hr",interface="api",outcome="answered"' in text


def test_lazy_collections_load_at_their_first_question(folders: dict[str, Path]) -> None:
    env = {
        "SCO_QA_COLLECTIONS": f"sco={folders['sco']},hr={folders['hr']}",
        "SCO_QA_LOAD_COLLECTIONS": "lazy",
    }
    index = folders["root"] / "lazy-index"
    with live_server(folders["sco"], index, env=env) as url:
        states = {c["name"]: c["status"] for c in httpx.get(f"{url}/readyz").json()["collections"]}
        assert states == {"sco": "ready", "hr": "not loaded"}
        first = httpx.post(f"{url}/collections/hr/ask", json={"question": "leave?"}, timeout=60)
        assert first.status_code in (200, 503)
        if first.status_code == 503:
            assert first.json()["error"]["code"] == "index_loading"
        deadline = time.monotonic() + 300
        while time.monotonic() < deadline:
            hr = httpx.get(f"{url}/collections").json()["collections"][1]
            if hr["status"] == "ready":
                break
            time.sleep(0.5)
        assert hr["status"] == "ready" and hr["memory_bytes"] > 0
