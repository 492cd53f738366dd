"""The app-level guards as plain ASGI, and uploads that put the corpus back when the
build after them fails (fast: a fake embedder, no server)."""

from __future__ import annotations

import asyncio
import errno
import logging
from pathlib import Path

import pytest

from sco_qa import durable
from sco_qa.answer import load_scorer
from sco_qa.api.middleware import HostGuard, SecurityHeaders
from sco_qa.api.uploads import UploadError, Uploads
from sco_qa.config import load_settings
from sco_qa.engine import Engine
from sco_qa.errors import IndexStateError, ModelError

from .fakes import FakeEmbedder


def call(app, path: str = "/ask", host: str = "localhost", method: str = "GET"):
    sent: list[dict] = []
    scope = {"type": "http", "method": method, "path": path, "query_string": b"x=1",
             "headers": [(b"host", host.encode())]}  # fmt: skip

    async def receive():
        return {"type": "http.request", "body": b"", "more_body": False}

    async def send(message):
        sent.append(message)

    asyncio.run(app(scope, receive, send))
    return sent


async def ok(scope, receive, send) -> None:
    await send({"type": "http.response.start", "status": 200, "headers": []})
    await send({"type": "http.response.body", "body": b"fine"})


@pytest.mark.parametrize(
    ("host", "status"),
    [("localhost:8000", 200), ("127.0.0.1", 200), ("[::1]:80", 200),
     ("rebind.attacker.example", 421), ("evil.example:8000", 421)],
)  # fmt: skip
def test_only_allowed_hosts_are_answered(host: str, status: int) -> None:
    guard = HostGuard(ok, ["localhost", "127.0.0.1", "::1"])
    assert call(guard, host=host)[0]["status"] == status
    assert call(HostGuard(ok, ["*"]), host=host)[0]["status"] == 200


def test_a_trailing_slash_redirects_relatively() -> None:
    start = call(HostGuard(ok, ["localhost"]), path="//evil.example/site/")[0]
    assert start["status"] == 307
    assert dict(start["headers"])[b"location"] == b"/evil.example/site?x=1"  # not //host


def test_an_unexpected_error_gets_the_security_headers_and_its_status_logged(
    caplog: pytest.LogCaptureFixture,
) -> None:
    async def broken(scope, receive, send) -> None:
        raise RuntimeError("a bug")

    with caplog.at_level(logging.INFO, logger="sco_qa"):
        sent = call(SecurityHeaders(broken))
    headers = dict(sent[0]["headers"])
    assert sent[0]["status"] == 500 and headers[b"x-content-type-options"] == b"nosniff"
    assert b"internal_error" in sent[1]["body"] and b"a bug" not in sent[1]["body"]
    logged = [r.getMessage().split() for r in caplog.records if r.name == "sco_qa.access"]
    assert logged and logged[-1][:3] == ["GET", "/ask", "500"]


class BreaksAfter(FakeEmbedder):
    """Embeds ``good`` corpora, then fails as a model might (out of memory, a lost file)."""

    def __init__(self, good: int) -> None:
        super().__init__()
        self.left = good

    def embed(self, texts, *, progress: bool = False):
        if texts:  # a build's call (questions go through embed_query)
            if self.left == 0:
                raise ModelError("the model failed")
            self.left -= 1
        return super().embed(texts, progress=progress)


def test_a_failed_build_after_an_upload_or_a_deletion_restores_the_corpus(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    (corpus / "kept.md").write_text("# Kept\n\nThe archive opens at nine.\n", encoding="utf-8")
    (corpus / "old.md").write_text("# Old\n\nThe old note.\n", encoding="utf-8")
    settings = load_settings(corpus_dir=corpus, index_dir=tmp_path / "index")
    engine = Engine.open(settings, BreaksAfter(1), answerer=load_scorer())
    uploads = Uploads.create(engine.spec)
    before = {p.name: p.read_bytes() for p in corpus.iterdir()}
    with pytest.raises(ModelError):
        uploads.add(engine, "new.md", b"# New\n\nA new note.\n")
    with pytest.raises(ModelError):
        uploads.add(engine, "old.md", b"# Old\n\nA replaced note.\n")
    write = durable.write_synced

    def no_space(path: Path, data: bytes) -> None:  # a removal embeds nothing: a disk fails
        if path.is_relative_to(tmp_path / "index"):
            raise OSError(errno.ENOSPC, "No space left on device")
        write(path, data)

    with monkeypatch.context() as m:
        m.setattr(durable, "write_synced", no_space)
        with pytest.raises(IndexStateError, match="no space left"):
            uploads.remove(engine, "kept")
    assert {p.name: p.read_bytes() for p in corpus.iterdir()} == before
    with pytest.raises(UploadError) as shadow:
        uploads.add(engine, "kept.txt", b"Same id as kept.md.\n")
    assert shadow.value.status == 409 and not (corpus / "kept.txt").exists()
