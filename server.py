"""ASGI entry point: ``uvicorn server:app``."""

from sco_qa.api import make_app

app = make_app()
