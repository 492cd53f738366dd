"""Adding and removing documents over HTTP, off by default, against a live server (slow)."""

from __future__ import annotations

import shutil
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
import pytest

from .conftest import DATA
from .live import live_server
from .samples import HOLIDAY_BLOCKS, write_docx

pytestmark = pytest.mark.slow
TOKEN = "s3cret-admin-token"
AUTH = {"authorization": f"Bearer {TOKEN}"}


@pytest.fixture()
def server(tmp_path: Path):
    corpus = tmp_path / "corpus"
    shutil.copytree(DATA / "tricky", corpus)
    env = {"SCO_QA_ADMIN_TOKEN": TOKEN, "SCO_QA_MAX_FILE_MB": "0.1"}
    with live_server(corpus, tmp_path / "index", env=env) as url:
        yield url, corpus


def post(url: str, name: str, data: bytes, headers: dict[str, str] | None = None):
    return httpx.post(f"{url}/documents", files={"file": (name, data)}, headers=headers or AUTH,
                      timeout=120)  # fmt: skip


def ids(url: str) -> set[str]:
    return {d["doc_id"] for d in httpx.get(f"{url}/documents").json()["documents"]}


def test_routes_do_not_exist_without_a_token(tmp_path: Path) -> None:
    corpus = tmp_path / "corpus"
    shutil.copytree(DATA / "tricky", corpus)
    with live_server(corpus, tmp_path / "index") as url:
        assert post(url, "a.md", b"# A\n\nText.").status_code == 405
        assert httpx.delete(f"{url}/documents/plain", headers=AUTH).status_code == 405
        assert "post" not in httpx.get(f"{url}/openapi.json").json()["paths"]["/documents"]


def test_add_replace_and_remove(server, tmp_path: Path) -> None:
    url, corpus = server
    docx = write_docx(tmp_path / "holidays.docx", "Holidays", HOLIDAY_BLOCKS).read_bytes()
    added = post(url, "holidays.docx", docx)
    assert added.status_code == 201, added.text
    assert added.json()["doc_id"] == "holidays" and added.json()["action"] == "added"
    assert (corpus / "holidays.docx").read_bytes() == docx
    assert "holidays" in ids(url)  # the server switched to the new build already
    answer = httpx.post(f"{url}/ask", json={"question": "How many days of paid holiday?"})
    c = answer.json()["citations"][0]
    assert c["doc_id"] == "holidays" and "28 days" in c["quote"]
    again = post(url, "holidays.docx", docx)
    assert again.status_code == 200 and again.json()["action"] == "replaced"
    gone = httpx.delete(f"{url}/documents/holidays", headers=AUTH, timeout=120)
    assert gone.status_code == 200 and gone.json()["action"] == "removed"
    assert "holidays" not in ids(url) and not (corpus / "holidays.docx").exists()
    missing = httpx.delete(f"{url}/documents/holidays", headers=AUTH)
    assert missing.status_code == 404 and missing.json()["error"]["code"] == "not_found"


@pytest.mark.parametrize(
    ("headers", "status"),
    [({}, 401), ({"authorization": "Bearer wrong"}, 403), ({"authorization": TOKEN}, 401)],
)
def test_tokens(server, headers: dict[str, str], status: int) -> None:
    url, corpus = server
    resp = httpx.post(f"{url}/documents", files={"file": ("a.md", b"x")}, headers=headers)
    assert resp.status_code == status and resp.json()["error"]["message"]
    if status == 401:
        assert resp.headers["www-authenticate"] == "Bearer"
    assert httpx.delete(f"{url}/documents/plain", headers=headers).status_code == status
    assert not (corpus / "a.md").exists() and "plain" in ids(url)


def test_file_names_cannot_leave_the_corpus(server) -> None:
    url, corpus = server
    for name in ("../../escape.md", "..\\..\\escape.md", "/etc/escape.md", "sub/escape.md"):
        resp = post(url, name, b"# Escape\n\nThe tunnel opens at dawn.\n")
        assert resp.status_code in (200, 201), resp.text
        assert resp.json()["doc_id"] == "escape"
    assert (corpus / "escape.md").is_file()
    assert not (corpus.parent / "escape.md").exists() and not Path("/etc/escape.md").exists()
    assert not list(corpus.parent.parent.glob("escape.md"))
    hidden = post(url, ".hidden.md", b"# H\n\nText.\n")
    assert hidden.status_code == 201 and (corpus / "hidden.md").is_file()  # not a dotfile
    for name in ("...", "", "a\x00b", "x" * 200 + ".md"):
        resp = post(url, name, b"# X\n\nText.\n")
        assert resp.status_code in (415, 422), (name, resp.text)
    assert not [p for p in corpus.iterdir() if p.name.startswith(".")]  # no temp file left


def test_size_type_and_unreadable_files(server) -> None:
    url, corpus = server
    big = post(url, "big.txt", b"word " * 40_000)  # 200 KB over a 0.1 MB limit
    assert big.status_code == 413 and big.json()["error"]["code"] == "body_too_large"
    exe = post(url, "tool.exe", b"MZ")
    assert exe.status_code == 415 and exe.json()["error"]["code"] == "unsupported_type"
    latin = post(url, "latin.txt", "café".encode("latin-1"))
    assert latin.status_code == 422 and "not UTF-8" in latin.json()["error"]["message"]
    fake = post(url, "fake.pdf", b"not a pdf at all")
    assert fake.status_code == 422 and "PDF" in fake.json()["error"]["message"]
    form = httpx.post(f"{url}/documents", json={"file": "x"}, headers=AUTH)
    assert form.status_code == 415
    assert {p.name for p in corpus.iterdir()} == {"plain.txt", "tricky-notes.md"}


def test_concurrent_uploads_all_land(server) -> None:
    url, _ = server
    names = [f"note-{n}.md" for n in range(4)]
    with ThreadPoolExecutor(4) as pool:
        results = list(pool.map(lambda n: post(url, n, f"# {n}\n\nNote {n}.\n".encode()), names))
    assert all(r.status_code == 201 for r in results), [r.text for r in results]
    assert {f"note-{n}" for n in range(4)} <= ids(url)
