"""Shared fixtures. The fast tier uses ``FakeEmbedder`` on small hand-written documents; the
real model and a real index of the article are built once per session for the slow tier."""

from __future__ import annotations

import os
import shutil
from collections.abc import Callable
from pathlib import Path

import pytest

os.environ["HF_HUB_OFFLINE"] = "1"

from sco_qa.answer import load_scorer
from sco_qa.config import load_settings
from sco_qa.embedding import Embedder, load_embedder
from sco_qa.engine import Engine
from sco_qa.records import Answer

from .fakes import FakeEmbedder

ROOT = Path(__file__).resolve().parents[1]
CORPUS = ROOT / "corpus"
DATA = Path(__file__).resolve().parent / "data"
CHROMIUM = Path(os.environ.get("SCO_QA_CHROMIUM", "/usr/bin/chromium"))
FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


def _require_slow(request: pytest.FixtureRequest) -> None:
    if request.node.get_closest_marker("slow") is None:
        pytest.fail("this test loads the real model or a server: mark it `slow`")


@pytest.fixture(scope="session")
def embedder() -> Embedder:
    """The default backend (ONNX Runtime, int8), as users run it. The ONNX export is kept
    in the user's cache folder by model key, so it is made once, not every run."""
    return load_embedder(load_settings())


@pytest.fixture(autouse=True)
def _slow_fixtures_only_in_slow_tests(request: pytest.FixtureRequest) -> None:
    if {"embedder", "engine", "ask", "base"} & set(request.fixturenames):
        _require_slow(request)


@pytest.fixture(scope="session")
def engine(embedder: Embedder, tmp_path_factory: pytest.TempPathFactory) -> Engine:
    settings = load_settings(corpus_dir=CORPUS, index_dir=tmp_path_factory.mktemp("index"))
    return Engine.open(settings, embedder)


@pytest.fixture()
def tricky_dir(tmp_path: Path) -> Path:
    folder = tmp_path / "tricky"
    shutil.copytree(DATA / "tricky", folder)
    return folder


@pytest.fixture()
def fake_embedder() -> FakeEmbedder:
    return FakeEmbedder()


@pytest.fixture()
def fake_engine(tricky_dir: Path, tmp_path: Path, fake_embedder: FakeEmbedder) -> Engine:
    """A real index (FAISS, BM25, files on disk) of the tricky documents, fake vectors."""
    settings = load_settings(corpus_dir=tricky_dir, index_dir=tmp_path / "index")
    return Engine.open(settings, fake_embedder, answerer=load_scorer())


def assert_faithful(engine: Engine, answer: Answer) -> None:
    """The citation invariant: every quote is exactly the document slice at its offsets."""
    for c in answer.citations:
        assert engine.index.documents[c.doc_id].text[c.start : c.end] == c.quote
    for h in answer.passages:
        assert engine.index.documents[h.chunk.doc_id].text[h.chunk.start : h.chunk.end] == (
            h.chunk.text
        )


@pytest.fixture()
def ask(engine: Engine) -> Callable[..., Answer]:
    """engine.ask with the citation invariant checked on every answer."""

    def _ask(question: str, **kwargs: object) -> Answer:
        answer = engine.ask(question, **kwargs)  # type: ignore[arg-type]
        assert_faithful(engine, answer)
        return answer

    return _ask


@pytest.fixture(scope="module")
def shots(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Where screenshots go: SCO_QA_SCREENSHOTS, or a temporary folder."""
    wanted = os.environ.get("SCO_QA_SCREENSHOTS")
    return Path(wanted) if wanted else tmp_path_factory.mktemp("screenshots")


@pytest.fixture(scope="module")
def browser():
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=str(CHROMIUM), headless=True, args=FLAGS)
        yield b
        b.close()
