"""Logging for the edges (the server and the command line); the library configures none."""

from __future__ import annotations

import logging

LOG_FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"


def configure_logging(level: int = logging.INFO, fmt: str = LOG_FORMAT) -> None:
    """The package's messages at ``level`` (one line per request from ``sco_qa.access``);
    other libraries' only from WARNING up, so their chatter (the ONNX quantiser's, a
    loader's) stays off the terminal."""
    root = logging.getLogger()
    if not root.handlers:
        logging.basicConfig(level=logging.WARNING, format=fmt)
        for handler in root.handlers:
            handler.addFilter(_own_or_warning)
    logging.getLogger("sco_qa").setLevel(level)
    quiet_libraries()


def _own_or_warning(record: logging.LogRecord) -> bool:
    """Some libraries set their own loggers to DEBUG on import (bm25s): their records reach
    the terminal only from WARNING up."""
    return record.levelno >= logging.WARNING or record.name.startswith("sco_qa")


def quiet_libraries() -> None:
    """Libraries' INFO chatter (FAISS's loader, HTTP clients) is kept out of our logs."""
    for noisy in ("faiss", "faiss.loader", "httpx", "sentence_transformers", "bm25s"):
        logging.getLogger(noisy).setLevel(logging.WARNING)


def uvicorn_log_config(fmt: str = LOG_FORMAT) -> dict[str, object]:
    """uvicorn's loggers in the package's one format (with timestamps), so a server's log
    reads as one stream."""
    handler = {"class": "logging.StreamHandler", "formatter": "plain", "stream": "ext://sys.stderr"}
    return {
        "version": 1,
        "disable_existing_loggers": False,
        "formatters": {"plain": {"format": fmt}},
        "handlers": {"default": handler},
        "loggers": {
            "uvicorn": {"handlers": ["default"], "level": "INFO", "propagate": False},
            "uvicorn.error": {"level": "INFO"},
            "uvicorn.access": {"handlers": ["default"], "level": "WARNING", "propagate": False},
        },
    }
