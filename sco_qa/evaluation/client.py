"""A running server seen as ``ask`` and ``text_of``: ``/ask`` JSON read back into Answer
records through the API's own response models."""

from __future__ import annotations

import json
import urllib.error
import urllib.request
from collections.abc import Mapping
from typing import Any

from ..api.schemas import AnswerOut
from ..config import MAX_K
from ..errors import ScoQaError
from ..records import Answer


def http_json(
    url: str,
    body: Mapping[str, Any] | None = None,
    *,
    timeout: float = 60,
    api_key: str | None = None,
) -> Any:
    """GET (or POST ``body`` as JSON) and parse the reply; a ScoQaError when it fails."""
    data = json.dumps(body).encode() if body is not None else None
    headers = {"content-type": "application/json"}
    if api_key:
        headers["authorization"] = f"Bearer {api_key}"
    req = urllib.request.Request(url, data=data, headers=headers)
    try:
        with urllib.request.urlopen(req, timeout=timeout) as resp:
            return json.load(resp)
    except urllib.error.HTTPError as exc:
        hint = " (the server wants an API key: pass --api-key KEY)" if exc.code == 401 else ""
        raise ScoQaError(f"request to {url} failed: {exc}{hint}") from None
    except (urllib.error.URLError, OSError, ValueError) as exc:
        raise ScoQaError(f"request to {url} failed: {exc}") from None


class RemoteEngine:
    """``ask`` and ``text_of`` of a server at ``url`` (document texts fetched once), of its
    default collection or of the one named."""

    def __init__(self, url: str, api_key: str | None = None, collection: str | None = None) -> None:
        root = url.rstrip("/")
        self.base = f"{root}/collections/{collection}" if collection else root
        self.api_key = api_key
        self._texts: dict[str, str] = {}

    def ask(self, question: str, k: int) -> Answer:
        """The server's Answer to ``question`` with ``k`` passages."""
        body = {"question": question, "top_k": min(k, MAX_K)}
        raw = http_json(f"{self.base}/ask", body, api_key=self.api_key)
        try:
            return AnswerOut.model_validate(raw).to_record()
        except ValueError as exc:
            raise ScoQaError(f"{self.base}/ask did not answer with an Answer: {exc}") from None

    def text_of(self, doc_id: str) -> str:
        """The full text of one of the server's documents."""
        if doc_id not in self._texts:
            url = f"{self.base}/documents/{doc_id}"
            self._texts[doc_id] = http_json(url, api_key=self.api_key)["text"]
        return self._texts[doc_id]
