"""Shared fixtures: the real model and a real index of the article, built once per session."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

os.environ["HF_HUB_OFFLINE"] = "1"

from sco_qa.config import load_settings
from sco_qa.embedding import Embedder, load_embedder
from sco_qa.engine import Engine
from sco_qa.records import Answer

ROOT = Path(__file__).resolve().parents[1]
CORPUS = ROOT / "corpus"
DATA = Path(__file__).resolve().parent / "data"


@pytest.fixture(scope="session", autouse=True)
def model_cache(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The ONNX export goes to a session folder (inherited by the subprocesses tests start),
    so every run exercises the export and nothing is written outside temporary folders."""
    folder = tmp_path_factory.mktemp("model-cache")
    os.environ["SCO_QA_MODEL_CACHE_DIR"] = str(folder)
    return folder


@pytest.fixture(scope="session")
def embedder(model_cache: Path) -> Embedder:
    """The default backend (ONNX Runtime, int8), as users run it."""
    return load_embedder(load_settings())


@pytest.fixture(scope="session")
def engine(embedder: Embedder, tmp_path_factory: pytest.TempPathFactory) -> Engine:
    settings = load_settings(corpus_dir=CORPUS, index_dir=tmp_path_factory.mktemp("index"))
    return Engine.open(settings, embedder)


@pytest.fixture()
def tricky_dir(tmp_path: Path) -> Path:
    folder = tmp_path / "tricky"
    shutil.copytree(DATA / "tricky", folder)
    return folder


def assert_faithful(engine: Engine, answer: Answer) -> None:
    """The citation invariant: every quote is exactly the document slice at its offsets."""
    for c in answer.citations:
        assert engine.index.documents[c.doc_id].text[c.start : c.end] == c.quote
    for h in answer.passages:
        assert engine.index.documents[h.chunk.doc_id].text[h.chunk.start : h.chunk.end] == (
            h.chunk.text
        )


@pytest.fixture()
def ask(engine: Engine):
    """engine.ask with the citation invariant checked on every answer."""

    def _ask(question: str, **kwargs: object) -> Answer:
        answer = engine.ask(question, **kwargs)  # type: ignore[arg-type]
        assert_faithful(engine, answer)
        return answer

    return _ask
