"""A hostile world against the real ``sco-qa serve``: Word and PDF bombs generated here,
uploads that would shadow a document, debris a crash left, a corpus that cannot be rebuilt
at start, forged X-Forwarded-For and Host headers, the README's own curl upload (slow)."""

from __future__ import annotations

import io
import math
import os
import shutil
import subprocess
import sys
import time
import zipfile
import zlib
from pathlib import Path

import httpx
import pytest

from .conftest import DATA
from .live import free_port, wait_until
from .samples import GIFT_CARD_PAGES, HOLIDAY_BLOCKS, write_docx, write_pdf

pytestmark = pytest.mark.slow
TOKEN = "s3cret-admin-token"
AUTH = {"authorization": f"Bearer {TOKEN}"}


def serve(corpus: Path, index: Path, env: dict[str, str], log: Path | None = None):
    port = free_port()
    full = {**os.environ, "HF_HUB_OFFLINE": "1", **env}
    cmd = [sys.executable, "-m", "sco_qa", "serve", "--port", str(port), "--corpus",
           str(corpus), "--index", str(index)]  # fmt: skip
    out = open(log, "w") if log else subprocess.DEVNULL  # noqa: SIM115
    proc = subprocess.Popen(cmd, env=full, stdout=out, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}"
    wait_until(url, "/readyz", proc, 180)
    return proc, url


def stop(proc: subprocess.Popen) -> None:
    proc.terminate()
    proc.wait(timeout=30)


def peak_mb(pid: int) -> float:
    """The process's peak resident memory (VmHWM), in MB."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    raise AssertionError("no VmHWM")


@pytest.fixture(scope="module")
def admin(tmp_path_factory: pytest.TempPathFactory):
    root = tmp_path_factory.mktemp("admin")
    corpus = root / "corpus"
    shutil.copytree(DATA / "tricky", corpus)
    env = {"SCO_QA_ADMIN_TOKEN": TOKEN, "SCO_QA_MAX_FILE_MB": "5"}
    proc, url = serve(corpus, root / "index", env)
    yield proc, url, corpus
    stop(proc)


def post(url: str, name: str, data: bytes) -> httpx.Response:
    return httpx.post(f"{url}/documents", files={"file": (name, data)}, headers=AUTH,
                      timeout=120)  # fmt: skip


def ids(url: str) -> set[str]:
    return {d["doc_id"] for d in httpx.get(f"{url}/documents").json()["documents"]}


def _docx_with(tmp: Path, part: str, body: bytes) -> bytes:
    """A real Word file with one part replaced by ``body``."""
    good = write_docx(tmp / "good.docx", "Holidays", HOLIDAY_BLOCKS).read_bytes()
    out = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(good)) as src, zipfile.ZipFile(out, "w") as dst:
        for item in src.infolist():
            data = body if item.filename == part else src.read(item)
            dst.writestr(item.filename, data, zipfile.ZIP_DEFLATED)
    return out.getvalue()


def _bad_crc(tmp: Path) -> bytes:
    data = bytearray(_docx_with(tmp, "word/document.xml", b"<w:document/>" * 2000))
    at = data.find(b"word/document.xml") + 40  # inside the member's compressed bytes
    data[at : at + 8] = b"\x00" * 8
    return bytes(data)


LAUGHS = (
    b'<?xml version="1.0"?><!DOCTYPE lolz [<!ENTITY lol "lol">'
    + b"".join(
        f'<!ENTITY lol{i} "{("&lol" + (str(i - 1) if i > 1 else "") + ";") * 10}">'.encode()
        for i in range(1, 10)
    )
    + b']><w:document xmlns:w="http://schemas.openxmlformats.org/wordprocessingml/2006/main">'
    b"<w:body><w:p><w:r><w:t>&lol9;</w:t></w:r></w:p></w:body></w:document>"
)
HUGE_NODE = (
    b'<w:document xmlns:w="http://schemas.openxmlformats.org/wordprocessingml/2006/main">'
    b"<w:body><w:p><w:r><w:t>" + b"a" * 12_000_000 + b"</w:t></w:r></w:p></w:body></w:document>"
)


def _zip_bomb() -> bytes:
    """A zip whose one member expands to 300 MB (zeros compress about 1000:1)."""
    out = io.BytesIO()
    with (
        zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as z,
        z.open("word/document.xml", "w", force_zip64=True) as f,
    ):
        chunk = b"\0" * (1 << 20)
        for _ in range(300):
            f.write(chunk)
    return out.getvalue()


def _pdf_bomb(expanded_mb: int = 1024) -> bytes:
    """A one-page PDF whose content stream inflates to ``expanded_mb`` MB."""
    z = zlib.compressobj(9)
    chunk = b"0 0 m\n" * (1 << 17)
    stream = b"".join(z.compress(chunk) for _ in range(expanded_mb * 2**20 // len(chunk)))
    stream += z.flush()
    objs = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Contents 4 0 R >>",
        b"<< /Length %d /Filter /FlateDecode >>\nstream\n" % len(stream) + stream + b"\nendstream",
    ]
    out, offsets = bytearray(b"%PDF-1.4\n"), []
    for n, obj in enumerate(objs, start=1):
        offsets.append(len(out))
        out += b"%d 0 obj\n" % n + obj + b"\nendobj\n"
    xref = len(out)
    out += b"xref\n0 %d\n0000000000 65535 f \n" % (len(objs) + 1)
    out += b"".join(b"%010d 00000 n \n" % o for o in offsets)
    out += b"trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (len(objs) + 1, xref)
    return bytes(out)


def test_word_and_pdf_bombs_are_refused_and_the_server_stays_small(admin, tmp_path: Path) -> None:
    proc, url, corpus = admin
    before = set(os.listdir(corpus))
    bombs = {
        "bad-xml.docx": _docx_with(tmp_path, "word/document.xml", b"<w:document><unclosed>"),
        "bad-crc.docx": _bad_crc(tmp_path),
        "laughs.docx": _docx_with(tmp_path, "word/document.xml", LAUGHS),
        "huge-node.docx": _docx_with(tmp_path, "word/document.xml", HUGE_NODE),
        "zip-bomb.docx": _zip_bomb(),
        "stream-bomb.pdf": _pdf_bomb(),
    }
    for name, data in bombs.items():
        assert len(data) < 5 * 2**20, name
        resp = post(url, name, data)
        assert resp.status_code == 422, (name, resp.status_code, resp.text)
        body = resp.json()["error"]
        assert body["code"] == "unreadable_file" and name in body["message"]
        assert ".upload-" not in body["message"] and str(corpus) not in body["message"]
        assert resp.headers["x-content-type-options"] == "nosniff"  # security headers too
    assert set(os.listdir(corpus)) == before  # nothing was written
    assert peak_mb(proc.pid) < 1200  # the server's own memory never held a bomb
    assert httpx.get(f"{url}/readyz").status_code == 200


def test_an_upload_that_would_shadow_a_document_is_refused(admin, tmp_path: Path) -> None:
    _, url, corpus = admin
    shadow = post(url, "plain.md", b"# Plain\n\nA Markdown file with the id of plain.txt.\n")
    assert shadow.status_code == 409, shadow.text
    assert shadow.json()["error"]["code"] == "id_taken" and "plain.txt" in shadow.text
    assert not (corpus / "plain.md").exists() and "plain" in ids(url)
    pdf = write_pdf(tmp_path / "ok.pdf", GIFT_CARD_PAGES).read_bytes()
    assert post(url, "ok.pdf", pdf).status_code == 201
    docx = write_docx(tmp_path / "ok.docx", "Holidays", HOLIDAY_BLOCKS).read_bytes()
    again = post(url, "ok.docx", docx)
    assert again.status_code == 409 and "ok.pdf" in again.text
    assert not (corpus / "ok.docx").exists()
    assert (corpus / "ok.pdf").read_bytes() == pdf and "ok" in ids(url)


def test_the_readme_curl_upload_of_a_large_file_is_accepted(admin, tmp_path: Path) -> None:
    _, url, corpus = admin
    for kb in (20, 512):
        path = tmp_path / f"notes-{kb}.md"
        line = "The archive room opens at nine and closes at five on weekdays.\n\n"
        path.write_text("# Notes\n\n" + line * (kb * 1024 // len(line)), encoding="utf-8")
        run = subprocess.run(
            ["curl", "-s", "-o", "/dev/null", "-w", "%{http_code}", "-H",
             f"Authorization: Bearer {TOKEN}", "-F", f"file=@{path}", f"{url}/documents"],
            capture_output=True, text=True, timeout=120,
        )  # fmt: skip
        assert run.stdout == "201", (kb, run.stdout, run.stderr)
        assert (corpus / path.name).is_file()


def test_a_wrong_admin_token_is_forbidden_when_api_keys_are_on(tmp_path: Path) -> None:
    corpus = tmp_path / "corpus"
    shutil.copytree(DATA / "tricky", corpus)
    env = {"SCO_QA_ADMIN_TOKEN": TOKEN, "SCO_QA_API_KEYS": "key-one"}
    proc, url = serve(corpus, tmp_path / "index", env)
    try:
        files = {"file": ("a.md", b"# A\n\nText.\n")}
        wrong = httpx.post(f"{url}/documents", files=files, headers={"authorization": "Bearer x"})
        assert wrong.status_code == 403 and wrong.json()["error"]["code"] == "forbidden"
        key = httpx.post(f"{url}/documents", files=files,
                         headers={"authorization": "Bearer key-one"})  # fmt: skip
        assert key.status_code == 403  # an API key is not the admin token
        assert httpx.post(f"{url}/documents", files=files).status_code == 401
        asked = httpx.post(f"{url}/ask", json={"question": "Where does work continue?"},
                           headers={"authorization": "Bearer key-one"}, timeout=30)  # fmt: skip
        assert asked.status_code == 200
    finally:
        stop(proc)


def test_forged_forwarded_for_hosts_and_redirects(tmp_path: Path) -> None:
    corpus = tmp_path / "corpus"
    shutil.copytree(DATA / "tricky", corpus)
    proc, url = serve(corpus, tmp_path / "index", {"SCO_QA_RATE_LIMIT": "5/second"})
    try:
        began = time.monotonic()
        codes = [
            httpx.get(f"{url}/documents", headers={"x-forwarded-for": f"10.9.{n}.1"}).status_code
            for n in range(30)
        ]
        refilled = 5 * (time.monotonic() - began)  # the bucket refills 5 a second meanwhile
        # one bucket: the real peer's, whatever the header says (30 buckets would let all pass)
        assert 429 in codes and codes.count(200) <= 5 + math.ceil(refilled), codes
        time.sleep(1.5)
        evil = {"host": "rebind.attacker.example"}
        assert httpx.get(f"{url}/documents/plain", headers=evil).status_code == 421
        forged = httpx.post(f"{url}/ask", json={"question": "Where?"}, headers=evil)
        assert forged.status_code == 421 and "SCO_QA_ALLOWED_HOSTS" in forged.text
        assert httpx.get(f"{url}/site/", headers={"host": "evil.example"}).status_code == 421
        redirect = httpx.get(f"{url}/site/")
        assert redirect.status_code == 307 and redirect.headers["location"] == "/site"
        assert httpx.get(f"{url}/site/", follow_redirects=True).status_code == 200
        assert httpx.get(f"{url}/healthz", headers={"host": "localhost:8000"}).status_code == 200
    finally:
        stop(proc)


def test_debris_is_removed_and_a_corpus_that_cannot_be_rebuilt_serves_the_last_build(
    tmp_path: Path,
) -> None:
    corpus, index = tmp_path / "corpus", tmp_path / "index"
    shutil.copytree(DATA / "tricky", corpus)
    proc, url = serve(corpus, index, {})
    stop(proc)
    for f in corpus.iterdir():  # nothing left to index: the rebuild at start must fail
        f.unlink()
    partial = corpus / ".upload-0a1b2c3d4e5f.md"
    partial.write_text("# half an upload", encoding="utf-8")
    old = time.time() - 3600
    os.utime(partial, (old, old))
    unfinished = index / "build-20260101-000000-abcdef"
    (unfinished / "chunks.json").parent.mkdir()
    (unfinished / "chunks.json").write_text("[", encoding="utf-8")
    log = tmp_path / "server.log"
    proc, url = serve(corpus, index, {"SCO_QA_EXIT_AFTER_LOAD_FAILURE": "1"}, log)
    try:
        ready = httpx.get(f"{url}/readyz").json()
        assert "no document to index" in ready["rebuild_error"]
        assert ready["documents"] == 2
        answer = httpx.post(f"{url}/ask", json={"question": "Where does work continue?"})
        assert answer.status_code == 200 and answer.json()["citations"]
        time.sleep(2)
        assert proc.poll() is None  # it did not exit
    finally:
        stop(proc)
    assert not partial.exists() and not unfinished.exists()
    text = log.read_text()
    assert "an upload that never finished" in text and "never finished (no manifest)" in text
