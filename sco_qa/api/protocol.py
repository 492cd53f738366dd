"""uvicorn's httptools protocol with the limits a public server needs: request headers must
arrive within SCO_QA_HEADER_TIMEOUT seconds and stay under SCO_QA_MAX_HEADER_KB (else 408 or
431, and the connection is closed), and a request's body within SCO_QA_BODY_TIMEOUT. Slow
clients that send a byte now and then no longer hold connections, and a 32 MB header no
longer reaches memory. ``sco-qa serve`` uses it; ``uvicorn --http
sco_qa.api.protocol:GuardedHttpToolsProtocol`` takes it too."""

from __future__ import annotations

import asyncio
import json
from typing import Any

from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

from ..config import get_settings

_REASONS = {408: b"Request Timeout", 431: b"Request Header Fields Too Large"}


class GuardedHttpToolsProtocol(HttpToolsProtocol):
    """HttpToolsProtocol with header and body deadlines and a header size cap."""

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        """Start the clock for the first request's headers."""
        super().connection_made(transport)
        self._in_headers = True
        self._header_bytes = 0
        self._timer: asyncio.TimerHandle | None = None
        s = get_settings()
        self._limits = (s.header_timeout, s.body_timeout, s.max_header_kb * 1024)
        self._arm(self._limits[0], "the request headers did not arrive in time")

    def data_received(self, data: bytes) -> None:
        """Count header bytes; refuse a request whose headers grow past the cap."""
        if self._in_headers:
            self._header_bytes += len(data)
            if self._header_bytes > self._limits[2]:
                self._refuse(431, f"request headers over {self._limits[2]} bytes")
                return
        super().data_received(data)

    def on_message_begin(self) -> None:
        """A new request on the connection: its headers' clock starts."""
        super().on_message_begin()
        self._in_headers, self._header_bytes = True, 0
        self._arm(self._limits[0], "the request headers did not arrive in time")

    def on_headers_complete(self) -> None:
        """Headers done: the body's clock starts."""
        self._in_headers = False
        self._arm(self._limits[1], "the request body did not arrive in time")
        super().on_headers_complete()

    def on_message_complete(self) -> None:
        """The whole request arrived: no deadline until the next one."""
        self._disarm()
        super().on_message_complete()

    def connection_lost(self, exc: Exception | None) -> None:
        """No timer outlives its connection."""
        self._disarm()
        super().connection_lost(exc)

    def _arm(self, seconds: float, why: str) -> None:
        self._disarm()
        self._timer = self.loop.call_later(seconds, self._refuse, 408, why)

    def _disarm(self) -> None:
        if getattr(self, "_timer", None) is not None:
            self._timer.cancel()  # type: ignore[union-attr]
            self._timer = None

    def _refuse(self, status: int, message: str) -> None:
        """Answer with the package's JSON error if no response has started, then close."""
        self._disarm()
        if self.transport.is_closing():
            return
        cycle: Any = self.cycle
        if cycle is None or not cycle.response_started:
            body = json.dumps({"error": {"code": "bad_request", "message": message}}).encode()
            head = (
                b"HTTP/1.1 %d %s\r\ncontent-type: application/json\r\n"
                b"content-length: %d\r\nconnection: close\r\n\r\n"
                % (status, _REASONS[status], len(body))
            )
            self.transport.write(head + body)
        if cycle is not None:
            cycle.disconnected = True
            cycle.message_event.set()
        self.transport.close()
