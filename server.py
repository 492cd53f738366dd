"""ASGI entry point: ``uvicorn server:app``."""

from sco_qa.serving import app as make_app

app = make_app()
