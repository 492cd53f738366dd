"""Pure-ASGI guards: body size and encoding, content type, security headers, request log."""

from __future__ import annotations

import hmac
import json
import logging
import time
from collections.abc import Awaitable, Callable, Mapping, MutableMapping, Sequence
from dataclasses import dataclass
from typing import Any

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]

MAX_BODY = 32 * 1024
CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "connect-src 'self'; font-src 'self'; object-src 'none'; base-uri 'none'; "
    "frame-ancestors 'none'; form-action 'self'"
)
# Swagger UI starts itself with an inline script; only the docs page is allowed one.
DOCS_CSP = CSP.replace("script-src 'self'", "script-src 'self' 'unsafe-inline'").replace(
    "style-src 'self'", "style-src 'self' 'unsafe-inline'"
)
access_log = logging.getLogger("sco_qa.access")
#: what load balancers poll every second or two: logged only at DEBUG
PROBES = frozenset({"/healthz", "/readyz"})
log = logging.getLogger(__name__)


def error_body(status: int, code: str, message: str, *, path: str = "") -> dict[str, Any]:
    """The package's error body, ``{"error": {"code", "message"}}``; on the OpenAI-compatible
    routes (``/v1/…``) OpenAI's shape, ``{"error": {"message", "type", "param", "code"}}``."""
    if not path.startswith("/v1/"):
        return {"error": {"code": code, "message": message}}
    kind = "server_error" if status >= 500 else "invalid_request_error"
    kind = "rate_limit_error" if status == 429 else kind
    return {"error": {"message": message, "type": kind, "param": None, "code": code}}


async def send_error(
    send: Send,
    status: int,
    code: str,
    *,
    message: str,
    path: str = "",
    extra: list[tuple[bytes, bytes]] | None = None,
) -> None:
    """The JSON error body, sent from a pure-ASGI guard."""
    body = json.dumps(error_body(status, code, message, path=path)).encode()
    headers = [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())]
    if status == 401:
        headers.append((b"www-authenticate", b"Bearer"))
    await send(
        {"type": "http.response.start", "status": status, "headers": headers + (extra or [])}
    )
    await send({"type": "http.response.body", "body": body})


def header(scope: Scope, name: bytes) -> str | None:
    """A request header's value (the first of that name), or None."""
    for key, value in scope.get("headers", []):
        if key.lower() == name:
            return str(value.decode("latin-1"))
    return None


@dataclass(frozen=True)
class BodyRule:
    """What a guarded POST body must be: at most ``limit`` bytes of ``media_type``, UTF-8
    text when ``text``."""

    limit: int = MAX_BODY
    media_type: str = "application/json"
    text: bool = True
    token: str = ""  # when set, a bearer token checked before the body is read


class BodyGuard:
    """Reads POST bodies of the guarded paths up front: too large → 413, of another media
    type → 415, not UTF-8 where text is due → 400; other requests pass through to routing
    (405 and its Allow header)."""

    def __init__(self, app: ASGIApp, rules: Mapping[str, BodyRule]) -> None:
        self.app, self.rules = app, rules

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        guarded = scope["type"] == "http" and scope["method"] == "POST"
        rule = self.rules.get(scope["path"]) if guarded else None
        if rule is None:
            return await self.app(scope, receive, send)
        if rule.token:
            refused = denied(header(scope, b"authorization"), rule.token)
            if refused:
                status, code, why = refused
                return await send_error(send, status, code, message=why, path=scope["path"])
        too_large = f"request body over {rule.limit} bytes"
        length = header(scope, b"content-length")
        if length and length.isdigit() and int(length) > rule.limit:
            return await send_error(
                send, 413, "body_too_large", message=too_large, path=scope["path"]
            )
        ctype = (header(scope, b"content-type") or "").split(";")[0].strip().lower()
        if ctype != rule.media_type:
            return await send_error(
                send,
                415,
                "unsupported_media_type",
                message=f"send the body as {rule.media_type}",
                path=scope["path"],
            )
        body = bytearray()
        more = True
        while more:
            message = await receive()
            if message["type"] == "http.disconnect":
                return None
            body += message.get("body", b"")
            more = message.get("more_body", False)
            if len(body) > rule.limit:
                return await send_error(
                    send, 413, "body_too_large", message=too_large, path=scope["path"]
                )
        if rule.text:
            try:
                bytes(body).decode("utf-8")
            except UnicodeDecodeError:
                why = "the body is not UTF-8 text"
                return await send_error(send, 400, "bad_encoding", message=why, path=scope["path"])
        return await self.app(scope, _replay(bytes(body), receive), send)


def denied(authorization: str | None, token: str) -> tuple[int, str, str] | None:
    """Why a request's bearer token is refused (status, code, message), or None."""
    if not authorization or not authorization.lower().startswith("bearer "):
        return 401, "unauthorized", "send Authorization: Bearer <SCO_QA_ADMIN_TOKEN>"
    if not hmac.compare_digest(authorization[7:].strip().encode("utf-8"), token.encode("utf-8")):
        return 403, "forbidden", "the admin token is wrong"
    return None


def _replay(body: bytes, receive: Receive) -> Receive:
    """The body read up front, then the client's own messages: a streamed response waits on
    them for the client to go away, so they must not be made up."""
    sent = False

    async def replayed() -> Message:
        nonlocal sent
        if not sent:
            sent = True
            return {"type": "http.request", "body": body, "more_body": False}
        return await receive()

    return replayed


class SecurityHeaders:
    """Adds nosniff, CSP and Referrer-Policy to every response; logs one line a request."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        started = time.perf_counter()
        status = 0
        csp = DOCS_CSP if scope["path"] in ("/docs", "/redoc") else CSP

        async def wrapped(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                headers = [
                    (k, v)
                    for k, v in message.get("headers", [])
                    if k.lower() not in (b"content-security-policy",)
                ]
                headers += [
                    (b"x-content-type-options", b"nosniff"),
                    (b"content-security-policy", csp.encode()),
                    (b"referrer-policy", b"no-referrer"),
                    (b"x-frame-options", b"DENY"),
                ]
                message["headers"] = headers
            await send(message)

        try:
            await self.app(scope, receive, wrapped)
        except Exception:  # a bug: answered here so the 500 carries the headers and is logged
            log.exception("unexpected error")
            if status == 0:
                message = "unexpected server error; see the server log"
                await send_error(
                    wrapped, 500, "internal_error", message=message, path=scope["path"]
                )
        finally:
            access_log.log(
                logging.DEBUG if scope["path"] in PROBES else logging.INFO,
                "%s %s %d %.1fms",
                scope["method"],
                scope["path"],
                status,
                (time.perf_counter() - started) * 1e3,
            )


LOOPBACK_NAMES = ("localhost", "127.0.0.1", "::1")


def host_name(value: str) -> str:
    """The name in a Host header, without its port, lower case.

    >>> host_name("[::1]:8000"), host_name("LocalHost:80"), host_name("example.org")
    ('::1', 'localhost', 'example.org')
    """
    value = value.strip().lower()
    if value.startswith("["):
        return value[1 : value.find("]")] if "]" in value else value
    return value.rsplit(":", 1)[0] if value.count(":") == 1 else value


class HostGuard:
    """Requests must name an allowed host (DNS rebinding: a page on another name that
    resolves to this machine cannot read the corpus); ``*`` allows any. A path ending in a
    slash is redirected to the same path without it, by a relative Location."""

    def __init__(self, app: ASGIApp, allowed: Sequence[str]) -> None:
        self.app = app
        self.any = "*" in allowed
        self.allowed = frozenset(a.lower().strip("[]") for a in allowed)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        given = header(scope, b"host")
        if given is not None and not self.any and host_name(given) not in self.allowed:
            message = (
                f"this server does not answer for the host {host_name(given)[:100]!r}; "
                "add it to SCO_QA_ALLOWED_HOSTS"
            )
            return await send_error(send, 421, "misdirected_request", message=message)
        path = scope["path"]
        if scope["method"] in ("GET", "HEAD") and len(path) > 1 and path.endswith("/"):
            query = scope.get("query_string", b"").decode("latin-1")
            target = "/" + path.strip("/") + (f"?{query}" if query else "")
            headers = [(b"location", target.encode("utf-8")), (b"content-length", b"0")]
            await send({"type": "http.response.start", "status": 307, "headers": headers})
            return await send({"type": "http.response.body", "body": b""})
        return await self.app(scope, receive, send)


class HeadAsGet:
    """HEAD answered as the GET of the same path, without the body (RFC 9110, 9.3.2)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] != "HEAD":
            return await self.app(scope, receive, send)

        async def headers_only(message: Message) -> None:
            if message["type"] == "http.response.body":
                message = {**message, "body": b""}
            await send(message)

        return await self.app({**scope, "method": "GET"}, receive, headers_only)
