"""API keys and a per-key rate limit, as a pure-ASGI guard in front of every route but the
health checks and the chat page's own files."""

from __future__ import annotations

import hashlib
import hmac
import math
import re
import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path

from ..config import Settings
from ..errors import CollectionForbidden, ConfigError
from .middleware import ASGIApp, Receive, Scope, Send, header, send_error

#: reachable without a key: what a load balancer and the chat page's first load need
OPEN_PATHS = frozenset({"/healthz", "/readyz", "/", "/favicon.ico"})
OPEN_PREFIXES = ("/static/",)
PERIODS = {"second": 1.0, "minute": 60.0, "hour": 3600.0, "day": 86400.0}


def _digest(key: str) -> bytes:
    return hashlib.sha256(key.encode("utf-8")).digest()


@dataclass(frozen=True)
class ApiKeys:
    """The accepted keys, kept only as SHA-256 digests; ``match`` compares in constant time.
    ``scopes``: the collections a restricted key may use (a key absent from it: all)."""

    digests: tuple[bytes, ...]
    scopes: dict[bytes, frozenset[str]] = field(default_factory=dict)

    @classmethod
    def of(cls, keys: Iterable[str], scoped: Iterable[tuple[str, frozenset[str]]] = ()) -> ApiKeys:
        """Keys as given, blanks dropped; ``scoped`` adds keys restricted to collections."""
        scopes = {_digest(k): names for k, names in scoped}
        plain = tuple(_digest(k) for k in (k.strip() for k in keys) if k)
        return cls(tuple(dict.fromkeys((*plain, *scopes))), scopes)

    def match(self, presented: str) -> bytes | None:
        """The digest of the key presented when it is one of ours, else None. Every stored
        digest is compared, so the time taken tells nothing of which key came close."""
        probe = _digest(presented)
        found = None
        for d in self.digests:
            if hmac.compare_digest(probe, d):
                found = d
        return found


def read_keys_file(path: Path) -> list[tuple[str, frozenset[str] | None]]:
    """Keys from a file, one a line, each optionally followed by the collections it may use
    (``KEY hr,eng``; none: every collection); blank lines and ``#`` comments skipped."""
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(
            f"cannot read SCO_QA_API_KEYS_FILE {path}: {exc}; give a readable UTF-8 text file "
            "with one key a line"
        ) from None
    out: list[tuple[str, frozenset[str] | None]] = []
    for line in lines:
        parts = line.split("#", 1)[0].split()
        if len(parts) > 2:
            raise ConfigError(
                f"SCO_QA_API_KEYS_FILE {path}: a line holds a key and, optionally, its "
                "collections separated by commas (KEY hr,eng)"
            )
        if parts:
            names = frozenset(n for n in parts[1].split(",") if n) if len(parts) == 2 else None
            out.append((parts[0], names))
    return out


def api_keys(settings: Settings) -> ApiKeys:
    """The keys the settings turn on (SCO_QA_API_KEYS and SCO_QA_API_KEYS_FILE together)."""
    keys = [k.get_secret_value() for k in settings.api_keys]
    scoped: list[tuple[str, frozenset[str]]] = []
    if settings.api_keys_file is not None:
        from_file = read_keys_file(settings.api_keys_file)
        if not from_file:
            raise ConfigError(f"SCO_QA_API_KEYS_FILE {settings.api_keys_file} holds no key")
        keys += [k for k, names in from_file if names is None]
        scoped += [(k, names) for k, names in from_file if names is not None]
    if settings.admin_token is not None and (keys or scoped):
        keys.append(settings.admin_token.get_secret_value())  # the admin may use every route
    return ApiKeys.of(keys, scoped)


#: where the guard leaves, in the request's scope, the collections its key may use
SCOPE_KEY = "sco_qa_collections"


def check_collection(scope: Scope, name: str) -> None:
    """The request's key may use the collection ``name``; CollectionForbidden otherwise."""
    allowed = scope.get("state", {}).get(SCOPE_KEY)
    if allowed is not None and name not in allowed:
        raise CollectionForbidden(
            f"this API key may not use the collection {name!r}; it may use: "
            + ", ".join(sorted(allowed))
        )


def parse_rate(text: str) -> tuple[int, float]:
    """``"60/minute"`` → ``(60, 60.0)``: requests and the period they are allowed in.

    >>> parse_rate("10 / second")
    (10, 1.0)
    """
    m = re.fullmatch(r"\s*(\d+)\s*/\s*(second|minute|hour|day)\s*", text)
    if m is None or int(m[1]) < 1:
        raise ConfigError(f"SCO_QA_RATE_LIMIT {text!r}: give COUNT/PERIOD, e.g. 60/minute")
    return int(m[1]), PERIODS[m[2]]


@dataclass
class RateLimiter:
    """A token bucket per caller: ``count`` requests at once, refilled evenly over ``period``
    seconds. ``take`` says 0 when a request may go, else the seconds to wait."""

    count: int
    period: float
    clock: Callable[[], float] = time.monotonic
    _buckets: dict[bytes, tuple[float, float]] = field(default_factory=dict)
    _lock: threading.Lock = field(default_factory=threading.Lock)
    _scan_at: int = 10_000  # buckets held before the full ones are dropped

    def take(self, caller: bytes) -> float:
        """Spend one request of ``caller``'s allowance; the wait in seconds when none is left."""
        rate = self.count / self.period
        now = self.clock()
        with self._lock:
            tokens, then = self._buckets.get(caller, (float(self.count), now))
            tokens = min(float(self.count), tokens + (now - then) * rate)
            if tokens >= 1.0:
                self._buckets[caller] = (tokens - 1.0, now)
                self._forget_full(now, rate)
                return 0.0
            self._buckets[caller] = (tokens, now)
            return (1.0 - tokens) / rate

    def _forget_full(self, now: float, rate: float) -> None:
        """Drop callers whose bucket has refilled, so memory stays with the active ones; the
        next look waits until the count has doubled, so many active callers cost no scan
        per request."""
        if len(self._buckets) < self._scan_at:
            return
        full = [k for k, (t, at) in self._buckets.items() if t + (now - at) * rate >= self.count]
        for k in full:
            del self._buckets[k]
        self._scan_at = max(10_000, 2 * len(self._buckets))


def is_open(path: str) -> bool:
    """Whether ``path`` is served without a key."""
    return path in OPEN_PATHS or path.startswith(OPEN_PREFIXES)


def bearer(authorization: str | None) -> str | None:
    """The token of an ``Authorization: Bearer …`` header, or None."""
    if not authorization or authorization[:7].lower() != "bearer ":
        return None
    return authorization[7:].strip() or None


_UPLOAD_PATH = re.compile(r"^(/collections/[^/]+)?/documents(/.*)?$")


def is_upload(scope: Scope) -> bool:
    """A request to the admin routes that change a corpus."""
    changes = scope["method"] in ("POST", "DELETE")
    return changes and bool(_UPLOAD_PATH.match(scope["path"]))


class ApiKeyGuard:
    """401 without a valid bearer key (when keys are set), 429 with Retry-After over the rate
    limit; CORS preflights and the open paths pass. Keys are never logged or echoed."""

    def __init__(
        self, app: ASGIApp, *, keys: ApiKeys, limiter: RateLimiter | None, admin: bool = False
    ) -> None:
        self.app, self.keys, self.limiter, self.admin = app, keys, limiter, admin

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] == "OPTIONS" or is_open(scope["path"]):
            return await self.app(scope, receive, send)
        if self.admin and is_upload(scope):  # the admin token's own check says 401 or 403
            return await self.app(scope, receive, send)
        caller = self._caller(scope)
        if caller is None:
            return await send_error(
                send,
                401,
                "invalid_api_key",
                message="a valid API key is required: send Authorization: Bearer <key>",
                path=scope["path"],
            )
        if caller in self.keys.scopes:
            scope.setdefault("state", {})[SCOPE_KEY] = self.keys.scopes[caller]
        wait = self.limiter.take(caller) if self.limiter else 0.0
        if wait:
            retry = str(max(1, math.ceil(wait)))
            return await send_error(
                send,
                429,
                "rate_limit_exceeded",
                message=f"too many requests for this key; retry in {retry} s",
                path=scope["path"],
                extra=[(b"retry-after", retry.encode())],
            )
        return await self.app(scope, receive, send)

    def _caller(self, scope: Scope) -> bytes | None:
        """Who is calling: the key's digest, or the client address when keys are off."""
        if not self.keys.digests:
            host = (scope.get("client") or ("?", 0))[0]
            return _digest(f"address:{host}")
        token = bearer(header(scope, b"authorization"))
        return self.keys.match(token) if token else None
