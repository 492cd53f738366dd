"""uvicorn's httptools protocol with the limits a public server needs: request headers must
arrive within SCO_QA_HEADER_TIMEOUT seconds and stay under SCO_QA_MAX_HEADER_KB (else 408 or
431, and the connection is closed), on every request of a connection, and a request's body
within SCO_QA_BODY_TIMEOUT. Only header bytes count against the header cap: a body is
limited by the body limit (413). A connection that sends nothing is closed after
SCO_QA_KEEP_ALIVE_TIMEOUT seconds, silently, as an idle keep-alive connection is; idle
connections do not count against SCO_QA_MAX_CONNECTIONS, which caps requests in progress
(503 beyond it), and ``/healthz`` is answered whatever the load. ``sco-qa serve`` and
``python server.py`` use it; ``uvicorn --http sco_qa.api.protocol:GuardedHttpToolsProtocol``
takes it too."""

from __future__ import annotations

import asyncio
import json
from typing import Any

from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

from ..config import get_settings

_REASONS = {
    408: b"Request Timeout",
    431: b"Request Header Fields Too Large",
    503: b"Service Unavailable",
}
_END = b"\r\n\r\n"
#: routes answered beyond the request cap (a load balancer must see the process alive)
_ALWAYS = (b"/healthz",)


class GuardedHttpToolsProtocol(HttpToolsProtocol):
    """HttpToolsProtocol with header and body deadlines and a header size cap."""

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        """Wait for the first request: a connection that sends nothing is closed."""
        super().connection_made(transport)
        self.limit_concurrency = None  # the cap is ours: requests in progress, not sockets
        self._timer: asyncio.TimerHandle | None = None
        s = get_settings()
        self._limits = (s.header_timeout, s.body_timeout, s.max_header_kb * 1024)
        self._cap = s.max_connections
        self._await_request()
        self._timer = self.loop.call_later(float(s.keep_alive_timeout), self._close_idle)

    def _await_request(self) -> None:
        """Between requests: the next one's headers count from zero (uvicorn's keep-alive
        timeout closes a connection idle after a response)."""
        self._in_headers, self._header_bytes, self._tail = True, 0, b""
        self._disarm()

    def _close_idle(self) -> None:
        self._timer = None
        if self._header_bytes == 0 and not self.transport.is_closing():
            self.transport.close()

    def data_received(self, data: bytes) -> None:
        """Count the bytes up to the end of the headers; refuse past the cap."""
        if self._in_headers:
            if self._header_bytes == 0:
                self._arm(self._limits[0], "the request headers did not arrive in time")
            seen = self._tail + data
            end = seen.find(_END)
            if end < 0:
                self._header_bytes += len(data)
                self._tail = seen[-3:]
            else:
                self._header_bytes += max(0, end + len(_END) - len(self._tail))
                self._in_headers = False
            if self._header_bytes > self._limits[2]:
                self._refuse(431, f"request headers over {self._limits[2]} bytes")
                return
        super().data_received(data)

    def on_headers_complete(self) -> None:
        """Headers done: the body's clock starts; beyond the request cap, a 503."""
        self._in_headers = False
        self._arm(self._limits[1], "the request body did not arrive in time")
        path = self.url.split(b"?", 1)[0]
        if self._cap and len(self.tasks) >= self._cap and path not in _ALWAYS:
            app, self.app = self.app, _busy
            try:
                super().on_headers_complete()
            finally:
                self.app = app
            return
        super().on_headers_complete()

    def on_message_complete(self) -> None:
        """The whole request arrived: the next one's headers count from zero."""
        super().on_message_complete()
        self._await_request()

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
        if cycle is not None and cycle.response_complete:
            cycle = None  # the connection's last request is done: this one has no cycle yet
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


async def _busy(scope: Any, receive: Any, send: Any) -> None:
    """503 in the package's JSON shape, for requests beyond the cap."""
    body = json.dumps(
        {"error": {"code": "busy", "message": "too many requests in progress; retry shortly"}}
    ).encode()
    await send(
        {
            "type": "http.response.start",
            "status": 503,
            "headers": [
                (b"content-type", b"application/json"),
                (b"content-length", str(len(body)).encode()),
                (b"retry-after", b"1"),
            ],
        }
    )
    await send({"type": "http.response.body", "body": body})
