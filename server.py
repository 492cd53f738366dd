"""ASGI entry point: ``uvicorn server:app``."""

from sco_qa.api import create_app

app = create_app()
