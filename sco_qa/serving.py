"""The server edge: logging set up once, then the app (used by ``server.py`` and ``serve``)."""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from fastapi import FastAPI

LOG_FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"


def configure_logging(level: int = logging.INFO) -> None:
    """One line per request from ``sco_qa.access``, plus the package's warnings."""
    root = logging.getLogger()
    if not root.handlers:
        logging.basicConfig(level=level, format=LOG_FORMAT)
    logging.getLogger("sco_qa").setLevel(level)
    quiet_libraries()


def quiet_libraries() -> None:
    """Libraries' INFO chatter (FAISS's loader, HTTP clients) is kept out of our logs."""
    for noisy in ("faiss", "faiss.loader", "httpx", "sentence_transformers"):
        logging.getLogger(noisy).setLevel(logging.WARNING)


def app() -> FastAPI:
    """Factory for uvicorn: ``uvicorn --factory sco_qa.serving:app``."""
    from .api import create_app

    configure_logging()
    return create_app()
