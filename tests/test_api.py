"""The HTTP API against a real uvicorn process on loopback."""

import json
import re
import shutil
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

from .conftest import CORPUS, DATA
from .live import live_server
from .samples import write_mixed

pytestmark = pytest.mark.slow

QUESTION = "Which organizations does Kazakhstan chair?"
SECURITY_HEADERS = ("x-content-type-options", "content-security-policy", "referrer-policy")


@pytest.fixture(scope="module")
def base(engine) -> str:
    # reuses the session's index folder, so the server does not build it again
    with live_server(CORPUS, engine.settings.index_dir) as url:
        yield url


def ask(base: str, **body) -> httpx.Response:
    return httpx.post(f"{base}/ask", json=body, timeout=30)


def assert_error(resp: httpx.Response, status: int, code: str | None = None) -> dict:
    assert resp.status_code == status, resp.text
    assert resp.headers["content-type"].startswith("application/json")
    err = resp.json()["error"]
    assert set(err) == {"code", "message"} and err["message"]
    if code:
        assert err["code"] == code
    return err


def test_ask_happy_path_and_citation_invariant(base: str) -> None:
    resp = ask(base, question=QUESTION, top_k=3)
    assert resp.status_code == 200
    answer = resp.json()
    assert answer["answered"] is True and "Organization of Turkic States" in answer["answer"]
    assert len(answer["passages"]) == 3
    assert set(answer["timings_ms"]) >= {"embed", "search", "score", "compose", "total"}
    for c in answer["citations"]:
        doc = httpx.get(f"{base}/documents/{c['doc_id']}").json()
        assert doc["text"][c["start"] : c["end"]] == c["quote"]
    for p in answer["passages"]:
        doc = httpx.get(f"{base}/documents/{p['doc_id']}").json()
        assert doc["text"][p["start"] : p["end"]] == p["text"]


def test_ask_unanswerable_and_follow_up(base: str) -> None:
    refused = ask(base, question="How tall is the Independence Palace?").json()
    assert refused["answered"] is False and refused["citations"] == [] and refused["passages"]
    first = ask(base, question="Who is Roger Kangas?").json()
    follow = ask(
        base,
        question="And what did he say about trade?",
        history=[{"question": first["question"], "answer": first["answer"]}],
    ).json()
    assert follow["answered"] and "trade partner" in follow["answer"]


def test_search_documents_health(base: str) -> None:
    hits = httpx.get(f"{base}/search", params={"q": QUESTION, "k": 2}).json()["hits"]
    assert len(hits) == 2 and "CSTO" in hits[0]["text"]
    docs = httpx.get(f"{base}/documents").json()["documents"]
    assert docs[0]["doc_id"] == "sco-kazakhstan" and docs[0]["length"] > 9000
    doc = httpx.get(f"{base}/documents/sco-kazakhstan").json()
    assert doc["metadata"]["credit"] == "Facebook/Aqorda"
    assert any(b["kind"] == "heading" for b in doc["blocks"])
    assert httpx.get(f"{base}/healthz").json() == {"status": "ok"}
    ready = httpx.get(f"{base}/readyz").json()
    assert ready["passages"] == 23 and ready["model"].endswith("all-MiniLM-L6-v2")
    assert len(ready["corpus_fingerprint"]) == 64
    assert_error(httpx.get(f"{base}/documents/nope"), 404, "not_found")


def test_docs_work_offline(base: str) -> None:
    page = httpx.get(f"{base}/docs")
    assert page.status_code == 200
    assert (
        "cdn" not in page.text.lower() and "/static-offline-docs/swagger-ui-bundle.js" in page.text
    )
    assert httpx.get(f"{base}/static-offline-docs/swagger-ui-bundle.js").status_code == 200
    schema = httpx.get(f"{base}/openapi.json").json()
    assert {"/ask", "/search", "/documents", "/documents/{doc_id}", "/healthz", "/readyz"} <= set(
        schema["paths"]
    )
    models = schema["components"]["schemas"]
    for name in (
        "AskRequest",
        "AnswerOut",
        "SearchOut",
        "DocumentList",
        "DocumentOut",
        "Health",
        "Ready",
        "ErrorOut",
    ):
        assert models[name].get("examples"), name  # every endpoint documents an example


@pytest.mark.parametrize(
    ("body", "status"),
    [
        ({"question": ""}, 422),
        ({"question": "   \n\t "}, 422),
        ({"question": "x" * 1001}, 422),
        ({"question": 42}, 422),
        ({"question": ["a"]}, 422),
        ({"question": "ok?", "top_k": 0}, 422),
        ({"question": "ok?", "top_k": "five"}, 422),
        ({"question": "ok?", "surprise": 1}, 422),
        ({"question": "ok?", "history": [{"question": "a", "answer": "b"}] * 11}, 422),
        ({"question": "ok?", "history": [{"question": "a"}]}, 422),
        ({}, 422),
        ([], 422),
    ],
)
def test_bad_bodies_get_json_4xx(base: str, body, status: int) -> None:
    assert_error(httpx.post(f"{base}/ask", json=body), status)


def test_transport_level_errors(base: str) -> None:
    url = f"{base}/ask"
    assert_error(
        httpx.post(url, content=b'{"question": ', headers={"content-type": "application/json"}),
        400,
        "malformed_json",
    )
    assert_error(
        httpx.post(
            url, content=b'{"question": "caf\xe9"}', headers={"content-type": "application/json"}
        ),
        400,
        "bad_encoding",
    )
    assert_error(
        httpx.post(
            url,
            content=b"question=hi",
            headers={"content-type": "application/x-www-form-urlencoded"},
        ),
        415,
        "unsupported_media_type",
    )
    big = json.dumps({"question": "x" * 40_000}).encode()
    assert_error(
        httpx.post(url, content=big, headers={"content-type": "application/json"}),
        413,
        "body_too_large",
    )

    def chunks():
        for _ in range(40):
            yield b" " * 1024

    resp = httpx.post(url, content=chunks(), headers={"content-type": "application/json"})
    assert "content-length" not in resp.request.headers  # sent chunked
    assert_error(resp, 413, "body_too_large")
    assert_error(httpx.get(f"{base}/search", params={"q": "", "k": 3}), 422)
    assert_error(httpx.get(f"{base}/search", params={"q": "x", "k": 99}), 422)
    assert_error(httpx.put(f"{base}/ask", json={}), 405)


@pytest.mark.parametrize(
    "raw",
    [
        b'{"question": "\\ud800"}',  # lone surrogate in a JSON escape
        b'{"question": "ok", "history": [{"question": "\\udfff", "answer": "x"}]}',
        b'{"question": "\\u0000"}',  # NUL only: empty once cleaned
    ],
)
def test_hostile_unicode_rejected(base: str, raw: bytes) -> None:
    resp = httpx.post(f"{base}/ask", content=raw, headers={"content-type": "application/json"})
    assert_error(resp, 422)


@pytest.mark.parametrize(
    "question",
    [
        "what\u0000 is the SCO?",
        "\u202eWho chairs the SCO?\u202c",
        "\U0001f1f0\U0001f1ff" * 200,
        "Cafe\u0301 in Astana?",
    ],
)
def test_hostile_unicode_answered(base: str, question: str) -> None:
    resp = ask(base, question=question)
    assert resp.status_code == 200, resp.text
    assert "\u0000" not in resp.json()["question"]


def test_ten_thousand_emoji_is_a_4xx(base: str) -> None:
    resp = ask(base, question="😀" * 10_000)
    assert resp.status_code in (413, 422)
    assert "error" in resp.json()


def test_nfc_normalisation(base: str) -> None:
    assert ask(base, question="Cafe\u0301?").json()["question"] == "Caf\u00e9?"


def test_security_headers_everywhere(base: str) -> None:
    for resp in (
        httpx.get(f"{base}/healthz"),
        httpx.get(f"{base}/documents/nope"),
        ask(base, question=""),
        httpx.get(f"{base}/"),
    ):
        for header in SECURITY_HEADERS:
            assert header in resp.headers
        assert resp.headers["x-content-type-options"] == "nosniff"
        assert "access-control-allow-origin" not in resp.headers  # CORS off by default
    assert "script-src 'self'" in httpx.get(f"{base}/").headers["content-security-policy"]


def test_readiness_reports_a_load_that_failed(tmp_path: Path) -> None:
    corpus = tmp_path / "corpus"
    shutil.copytree(DATA / "tricky", corpus)
    # no index, and not allowed to build one; stay up long enough to be asked
    env = {"SCO_QA_AUTO_REBUILD": "false", "SCO_QA_EXIT_AFTER_LOAD_FAILURE": "60"}
    with live_server(corpus, tmp_path / "index", wait_ready=False, env=env) as url:
        deadline = time.monotonic() + 120
        while "still loading" in (body := httpx.get(f"{url}/readyz").text):
            assert time.monotonic() < deadline
            time.sleep(0.2)
        err = assert_error(httpx.get(f"{url}/readyz"), 503, "index_error")
        assert "no index in" in err["message"], body
        assert_error(ask(url, question="anything?"), 503)
        assert httpx.get(f"{url}/healthz").status_code == 200


def test_readiness_after_a_build_at_start_up(tmp_path: Path) -> None:
    corpus = tmp_path / "corpus"
    shutil.copytree(DATA / "tricky", corpus)
    log = tmp_path / "server.log"
    with live_server(corpus, tmp_path / "index", wait_ready=False, log=log) as url:
        url.wait_ready()
        assert httpx.get(f"{url}/readyz").json()["documents"] == 2
        assert httpx.get(f"{url}/documents").status_code == 200
    text = log.read_text()
    assert "GET /documents 200" in text  # one log line per request, with timing
    assert not re.search(r"GET /(healthz|readyz) 200 [\d.]+ms", text)  # probes: DEBUG only
    assert "no index in" in text and "building the index" in text


def test_schemathesis_finds_no_server_error(base: str, tmp_path: Path) -> None:
    st = Path(sys.executable).with_name("st")
    done = subprocess.run(
        [
            str(st),
            "run",
            f"{base}/openapi.json",
            "--max-examples",
            "60",
            "--seed",
            "7",
            "--checks",
            "not_a_server_error,status_code_conformance,content_type_conformance,"
            "response_schema_conformance,response_headers_conformance",
            "--phases",
            "examples,coverage,fuzzing",
            "--report-dir",
            str(tmp_path),
            "--output-truncate",
            "true",
        ],
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    assert done.returncode == 0, done.stdout[-3000:]
    assert " passed" in done.stdout


def test_nothing_heavy_at_import() -> None:
    code = (
        "import sys, server, sco_qa.cli, sco_qa.engine; "
        "heavy = {'torch', 'sentence_transformers', 'faiss', 'bm25s'} & set(sys.modules); "
        "assert not heavy, heavy; print(type(server.app).__name__)"
    )
    done = subprocess.run(
        [sys.executable, "-c", code],
        cwd=CORPUS.parent,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "FastAPI"


def test_health_answers_while_the_model_is_busy(base: str) -> None:
    from concurrent.futures import ThreadPoolExecutor

    questions = [f"Question number {i} about the SCO summit in Astana?" for i in range(24)]
    with ThreadPoolExecutor(12) as pool:
        asks = [pool.submit(ask, base, question=q) for q in questions]
        health = httpx.get(f"{base}/healthz", timeout=5)
        assert health.status_code == 200
        assert all(f.result().status_code == 200 for f in asks)


def test_eval_against_the_running_server(base: str, tmp_path: Path) -> None:
    done = subprocess.run(
        [sys.executable, "-m", "sco_qa", "eval", "--url", base, "--report", str(tmp_path)],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
        cwd=CORPUS.parent,
    )
    assert done.returncode == 0, done.stderr
    (path,) = tmp_path.glob("eval-golden-*.json")
    report = json.loads(path.read_text())
    assert report["metrics"]["faithfulness"] == 1.0  # checked against /documents/{id}
    assert report["metrics"]["accuracy"] >= 0.84  # the floor of tests/test_evaluation.py


def test_site_favicon_and_skipped_files(base: str, tmp_path: Path) -> None:
    site = httpx.get(f"{base}/site").json()
    assert site["title"] == "Ask the document" and site["documents"] == 1
    assert "How Kazakhstan’s SCO Chairmanship" in site["subtitle"]
    assert site["examples"] == []  # none of its headings asks a question: none made up
    icon = httpx.get(f"{base}/favicon.ico")
    assert icon.status_code == 200 and icon.headers["content-type"].startswith("image/svg")
    corpus = write_mixed(tmp_path / "corpus")
    (corpus / "scan.png").write_bytes(b"\x89PNG")
    env = {"SCO_QA_TITLE": "Staff handbook", "SCO_QA_EXAMPLES": "Where do I park?, Holidays?"}
    with live_server(corpus, tmp_path / "index", env=env) as url:
        listed = httpx.get(f"{url}/documents").json()
        assert len(listed["documents"]) == 4
        assert listed["skipped"][0]["path"] == "scan.png"
        assert listed["skipped"][0]["reason"].startswith("unsupported type")
        pdf = httpx.get(f"{url}/documents/handbook/giftcards").json()
        assert pdf["metadata"]["format"] == "pdf" and len(pdf["pages"]) == 2
        site = httpx.get(f"{url}/site").json()
        assert site["title"] == "Staff handbook"
        assert site["examples"] == ["Where do I park?", "Holidays?"]
        answer = ask(url, question="How long are gift cards valid after the purchase?").json()
        c = answer["citations"][0]
        assert (c["doc_id"], c["page"]) == ("handbook/giftcards", 1)
        assert pdf["text"][c["start"] : c["end"]] == c["quote"]


def test_head_strict_types_and_no_oauth_page(base: str) -> None:
    for path in ("/healthz", "/readyz", "/documents", "/"):
        got, head = httpx.get(f"{base}{path}"), httpx.head(f"{base}{path}")
        assert head.status_code == got.status_code == 200, path
        assert head.content == b"" and head.headers["content-type"] == got.headers["content-type"]
    for bad in (True, "5", 2.0):
        assert_error(ask(base, question="ok?", top_k=bad), 422)
    assert httpx.get(f"{base}/docs/oauth2-redirect").status_code == 404


def test_a_server_that_cannot_load_exits_non_zero(tmp_path: Path) -> None:
    corpus = tmp_path / "corpus"
    shutil.copytree(DATA / "tricky", corpus)
    log = tmp_path / "server.log"
    env = {"SCO_QA_AUTO_REBUILD": "false", "SCO_QA_EXIT_AFTER_LOAD_FAILURE": "3"}
    with live_server(corpus, tmp_path / "index", wait_ready=False, log=log, env=env) as url:
        assert url.proc.wait(timeout=120) == 3  # for a supervisor to restart it
    text = log.read_text()
    assert "cannot load the index: no index in" in text and "exiting:" in text
