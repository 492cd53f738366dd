"""The HTTP API and the chat page."""

from .app import create_app, make_app

__all__ = ["create_app", "make_app"]
