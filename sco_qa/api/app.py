"""The HTTP API and chat page: ``create_app(settings)``; the engine loads in the lifespan."""

from __future__ import annotations

import logging
import os
import re
import threading
from collections.abc import AsyncIterator, Callable, Sequence
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from dataclasses import asdict
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import anyio.to_thread
from fastapi import FastAPI, File, Query, Request, UploadFile
from fastapi.exceptions import RequestValidationError
from fastapi.responses import FileResponse, JSONResponse, Response
from fastapi.staticfiles import StaticFiles
from fastapi_offline import FastAPIOffline
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.routing import Route

from ..answer import MAX_CHARS
from ..chunking import split_blocks
from ..config import MAX_K, Settings, get_settings, package_version
from ..corpus import remove_upload_debris
from ..engine import Engine
from ..errors import CorpusError, IndexStateError, QuestionError, ScoQaError
from ..index import BuildReport, current_build, remove_unfinished_builds
from ..logs import configure_logging
from ..records import Document
from . import openai_compat
from . import schemas as s
from .auth import ApiKeyGuard, RateLimiter, api_keys, parse_rate
from .mcp_server import build_mcp, transport_security
from .metrics import CONTENT_TYPE, Metrics, RequestMetrics
from .middleware import (
    BodyGuard,
    BodyRule,
    HeadAsGet,
    HostGuard,
    SecurityHeaders,
    error_body,
)
from .uploads import UploadError, Uploads, check_token

if TYPE_CHECKING:
    from mcp.server.mcpserver import MCPServer

WEB = Path(__file__).resolve().parents[1] / "web"
log = logging.getLogger(__name__)
ERRORS: dict[int | str, dict[str, Any]] = {
    code: {"model": s.ErrorOut, "description": d}
    for code, d in (
        (400, "bad input"),
        (401, "no valid key or token"),
        (403, "wrong admin token"),
        (404, "not found"),
        (429, "over the rate limit (see Retry-After)"),
        (413, "body too large"),
        (415, "not JSON"),
        (422, "invalid request"),
        (503, "index not ready"),
    )
}

OPENAI_ERRORS: dict[int | str, dict[str, Any]] = {
    k: ERRORS[k] for k in (400, 401, 404, 413, 415, 429, 503)
}


class EngineHolder:
    """Holds the engine once the background load finishes; the API reads it per request."""

    def __init__(self) -> None:
        self.engine: Engine | None = None
        self.error: str = ""
        self.code = "index_error"
        self.progress = ""  # what the load (or the build it needed) is doing
        self.ready = threading.Event()
        self.stop = threading.Event()
        self._refused = ""  # a build that failed to load, not tried again
        self.rebuild_error = ""  # the corpus could not be rebuilt: the last good build serves

    def load(self, settings: Settings) -> None:
        """Open the engine (in a background thread), then follow the index's ``CURRENT``
        pointer; a failure to load is kept for ``get``."""
        remove_upload_debris(settings.corpus_dir)
        remove_unfinished_builds(settings.index_dir)
        try:
            engine = self._open(settings)
            engine.warm()
            self.engine = engine
            log.info("index loaded from %s", engine.index.path)
        except Exception as exc:  # whatever it was, /readyz must say it, not "loading"
            self.error = str(exc) if isinstance(exc, ScoQaError) else f"{type(exc).__name__}: {exc}"
            self.code = exc.code if isinstance(exc, ScoQaError) else "load_failed"
            log.error("cannot load the index: %s", self.error)
            if settings.exit_after_load_failure:
                self._exit_later(settings.exit_after_load_failure)
        finally:
            self.ready.set()
        if self.engine is not None and settings.reload_interval:
            while not self.stop.wait(settings.reload_interval):
                self.follow(settings.index_dir)

    def _open(self, settings: Settings) -> Engine:
        """The engine on a current build; when the corpus changed and cannot be rebuilt,
        the last good build (served as it was built), with the failure kept for /readyz."""
        try:
            return Engine.open(settings, progress=self._report)
        except (CorpusError, IndexStateError) as exc:
            try:
                engine = Engine.open_live(settings)
            except ScoQaError:
                raise exc from None
            self.rebuild_error = str(exc)
            log.error("the corpus could not be rebuilt (%s); serving %s", exc, engine.index.path)
            return engine

    def _report(self, message: str) -> None:
        self.progress = message
        log.info("%s", message)

    def _exit_later(self, seconds: float) -> None:
        """Exit the process with status 3 after ``seconds`` (for a supervisor to see and
        restart it), having answered /readyz with the error meanwhile."""

        def leave() -> None:
            log.error("exiting: the index cannot be loaded (%s)", self.error)
            logging.shutdown()
            os._exit(3)

        timer = threading.Timer(seconds, leave)
        timer.daemon = True
        timer.start()

    def follow(self, index_dir: Path) -> None:
        """Switch to the build ``CURRENT`` names when it changed (a rebuild, a rollback).
        Requests already running finish on the engine they started with; a build that
        cannot be loaded is logged and the live one goes on serving."""
        engine = self.engine
        try:
            live = current_build(index_dir).name
        except (IndexStateError, OSError):
            return
        if engine is None or live in (engine.index.path.name, self._refused):
            return
        try:
            self.engine = engine.reloaded()
            log.info("switched to the index build %s", live)
        except ScoQaError as exc:
            self._refused = live
            log.error("cannot switch to %s (%s); still serving %s", live, exc, engine.index.path)

    def get(self) -> Engine:
        """The loaded engine; an IndexStateError while it loads or when it failed."""
        if self.engine is None:
            if not self.error:
                doing = f" ({self.progress})" if self.progress else ""
                loading = IndexStateError(
                    f"the index is still loading{doing}; retry in a few seconds"
                )
                loading.code = "index_loading"
                raise loading
            err = IndexStateError(self.error)
            err.code = self.code
            raise err
        return self.engine


def _error(
    status: int,
    code: str,
    message: str,
    headers: dict[str, str] | None = None,
    path: str = "",
) -> JSONResponse:
    body = error_body(status, code, message, path)
    return JSONResponse(body, status_code=status, headers=headers)


def _openai(request: Request) -> bool:
    """Whether the request is on the OpenAI-compatible routes, whose invalid requests are
    400s (OpenAI's status) rather than 422s."""
    return request.url.path.startswith("/v1/")


def _validation_message(exc: RequestValidationError) -> tuple[int, str, str]:
    errors = exc.errors()
    if any(e.get("type") == "json_invalid" for e in errors):
        return 400, "malformed_json", "the body is not valid JSON"
    parts = []
    for e in errors[:3]:
        where = ".".join(str(p) for p in e.get("loc", ()) if p != "body")
        msg = str(e.get("msg", "invalid")).removeprefix("Value error, ")
        parts.append(f"{where}: {msg}" if where else msg)
    return 422, "invalid_request", "; ".join(parts)


def install_error_handlers(app: FastAPI) -> None:
    """Every error becomes a JSON body with a 4xx (a 503 when the index is not ready)."""

    @app.exception_handler(RequestValidationError)
    async def _invalid(request: Request, exc: RequestValidationError) -> JSONResponse:
        status, code, message = _validation_message(exc)
        status = 400 if _openai(request) else status
        return _error(status, code, message, path=request.url.path)

    @app.exception_handler(StarletteHTTPException)
    async def _http(request: Request, exc: StarletteHTTPException) -> JSONResponse:
        code = {404: "not_found", 405: "method_not_allowed"}.get(exc.status_code, "http_error")
        headers = getattr(exc, "headers", None)
        return _error(exc.status_code, code, str(exc.detail), headers, request.url.path)

    @app.exception_handler(ScoQaError)
    async def _ours(request: Request, exc: ScoQaError) -> JSONResponse:
        if isinstance(exc, UploadError):
            auth = {"www-authenticate": "Bearer"} if exc.status == 401 else None
            return _error(exc.status, exc.code, str(exc), auth)
        # a bad question is the caller's; anything else means the service is not usable yet
        status = 503
        if isinstance(exc, QuestionError):
            status = 400 if _openai(request) else 422
        return _error(status, exc.code, str(exc), path=request.url.path)

    @app.exception_handler(Exception)
    async def _bug(request: Request, exc: Exception) -> JSONResponse:
        log.exception("unexpected error", exc_info=exc)
        message = "unexpected server error; see the server log"
        return _error(500, "internal_error", message, path=request.url.path)


def make_app() -> FastAPI:
    """Factory for uvicorn (``uvicorn --factory sco_qa.api:make_app``): logging set up
    once, then the app with the settings from the environment."""
    configure_logging()
    return create_app()


def create_app(settings: Settings | None = None) -> FastAPI:
    """The ASGI app; nothing heavy happens until the lifespan starts."""
    settings = settings or get_settings()
    holder = EngineHolder()
    metrics = Metrics(lambda: holder.engine, settings.model_backend)
    mcp = build_mcp(holder.get, lambda a: metrics.observe(a, "mcp"))
    app = FastAPIOffline(
        title="sco-qa",
        version=package_version(),
        lifespan=_lifespan(settings, holder, mcp),
        description="Questions answered by verbatim quotes from the corpus.",
    )
    app.state.holder = holder
    app.state.settings = settings
    app.state.metrics = metrics
    install_error_handlers(app)
    add_routes(app, holder, settings, metrics)
    observe = lambda a: metrics.observe(a, "openai")  # noqa: E731
    openai_compat.add_routes(app, holder.get, settings.openai_model, observe, OPENAI_ERRORS)
    mount_mcp(app, mcp, settings.host)
    app.mount("/static", StaticFiles(directory=WEB), name="static")
    add_guards(app, holder, settings, metrics)
    return app


def _lifespan(
    settings: Settings, holder: EngineHolder, mcp: MCPServer
) -> Callable[[FastAPI], AbstractAsyncContextManager[None]]:
    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        # few request threads: more only queue for the model and slow the event loop (GIL)
        threads = settings.request_threads or os.cpu_count() or 1
        anyio.to_thread.current_default_thread_limiter().total_tokens = threads
        thread = threading.Thread(target=holder.load, args=(settings,), daemon=True)
        thread.start()
        async with mcp.session_manager.run():
            yield
        holder.stop.set()

    return lifespan


def mount_mcp(app: FastAPI, mcp: MCPServer, host: str) -> None:
    """The MCP server at ``/mcp``: streamable HTTP, stateless (any worker may take any
    request), answered as JSON; POST only, as a stateless server sends nothing unasked and a
    GET stream would idle forever."""
    sub = mcp.streamable_http_app(
        streamable_http_path="/mcp",
        stateless_http=True,
        json_response=True,
        transport_security=transport_security(host),
    )
    transport = next(r for r in sub.routes if isinstance(r, Route) and r.path == "/mcp")
    app.router.routes.append(Route("/mcp", transport.endpoint, methods=["POST"]))


def add_guards(app: FastAPI, holder: EngineHolder, settings: Settings, metrics: Metrics) -> None:
    """The middleware, inside out: bodies, keys and rate limit, metrics, HEAD, CORS, security
    headers and the request log (and the upload routes, which the body guard knows)."""
    keys = api_keys(settings)  # a ConfigError now, not at the first request
    limiter = RateLimiter(*parse_rate(settings.rate_limit)) if settings.rate_limit else None
    rules = {"/ask": BodyRule(), "/v1/chat/completions": BodyRule(CHAT_BODY)}
    if settings.admin_token:
        token = settings.admin_token.get_secret_value()
        limit = settings.max_file_bytes + UPLOAD_OVERHEAD
        rules["/documents"] = BodyRule(limit, "multipart/form-data", False, token)
        add_upload_routes(app, holder, settings, token)
    app.add_middleware(BodyGuard, rules=rules)
    if keys.digests or limiter:
        admin = settings.admin_token is not None
        app.add_middleware(ApiKeyGuard, keys=keys, limiter=limiter, admin=admin)
    app.add_middleware(RequestMetrics, metrics=metrics, routes=app.router.routes)
    app.add_middleware(HeadAsGet)
    if settings.cors_origins:  # outside the guards, so their 401, 413 and 429 can be read
        from fastapi.middleware.cors import CORSMiddleware

        app.add_middleware(
            CORSMiddleware,
            allow_origins=settings.cors_origins,
            allow_methods=["GET", "POST"],
            allow_headers=["content-type", "authorization"],
            expose_headers=["retry-after"],
        )
    # Swagger UI's OAuth2 redirect page: no route here uses OAuth2
    app.router.routes[:] = [
        r for r in app.router.routes if getattr(r, "path", "") != "/docs/oauth2-redirect"
    ]
    app.add_middleware(HostGuard, allowed=settings.hosts_allowed)
    app.add_middleware(SecurityHeaders)


def add_routes(app: FastAPI, holder: EngineHolder, settings: Settings, metrics: Metrics) -> None:
    """The page, health, metrics, ask, search and document routes."""

    @app.get("/", include_in_schema=False)
    def page() -> FileResponse:
        return FileResponse(WEB / "index.html")

    @app.get("/healthz", response_model=s.Health)
    async def healthz() -> dict[str, str]:
        """The process is alive (answered on the event loop, never behind busy workers)."""
        return {"status": "ok"}

    @app.get("/readyz", response_model=s.Ready, responses={503: ERRORS[503]})
    def readyz() -> Any:
        """The index is loaded and questions can be answered."""
        engine = holder.get()
        m = engine.index.manifest
        return {
            "status": "ready",
            **m["counts"],
            "model": m["model"]["name"],
            "answer_scorer": engine.answerer.version,
            "threshold": engine.threshold,
            "built_at": m["built_at"],
            "corpus_fingerprint": m["corpus"]["fingerprint"],
            "rebuild_error": holder.rebuild_error,
        }

    @app.post(
        "/ask",
        response_model=s.AnswerOut,
        responses={k: ERRORS[k] for k in (400, 413, 415, 422, 503)},
    )
    def ask(body: s.AskRequest) -> s.AnswerOut:
        """Answer a question with verbatim quotes, or say the corpus does not contain it."""
        history = [t.to_record() for t in body.history]
        answer = holder.get().ask(body.question, body.top_k, history)
        metrics.observe(answer, "api")
        return s.AnswerOut.model_validate(answer)

    @app.get(
        "/metrics",
        response_class=Response,
        responses={200: {"content": {CONTENT_TYPE: {}}, "description": "Prometheus text"}},
    )
    def prometheus() -> Response:
        """Prometheus metrics: requests, ask latency by stage, answers, the loaded index."""
        return Response(metrics.render(), media_type=CONTENT_TYPE)

    @app.get(
        "/search", response_model=s.SearchOut, responses={k: ERRORS[k] for k in (400, 422, 503)}
    )
    def search(
        q: Annotated[
            str,
            Query(description="the question", min_length=1, max_length=MAX_CHARS, pattern=r"\S"),
        ],
        k: Annotated[int | None, Query(ge=1, le=MAX_K)] = None,
    ) -> s.SearchOut:
        """The best passages for a question, ranked by their best sentence for it, with
        sentence, fused, dense and lexical scores."""
        hits = holder.get().search(q, k)
        return s.SearchOut(query=q, hits=[s.PassageOut.model_validate(h) for h in hits])

    @app.get("/site", response_model=s.SiteOut, responses={503: ERRORS[503]})
    def site_info() -> s.SiteOut:
        """The chat page's title, subtitle and example questions."""
        engine = holder.get()
        sections = [c.section for c in engine.index.chunks]
        return site(settings, list(engine.index.documents.values()), sections)

    @app.get("/favicon.ico", include_in_schema=False)
    def favicon() -> FileResponse:
        return FileResponse(WEB / "favicon.svg", media_type="image/svg+xml")

    @app.get("/documents", response_model=s.DocumentList, responses={503: ERRORS[503]})
    def documents() -> Any:
        """Every document: id, title, metadata and length."""
        docs = holder.get().index.documents.values()
        skipped = holder.get().index.manifest["corpus"].get("skipped", [])
        return {"documents": [_summary(d) for d in docs], "skipped": skipped}

    @app.get(
        "/documents/{doc_id:path}",
        response_model=s.DocumentOut,
        responses={404: ERRORS[404], 503: ERRORS[503]},
    )
    def document(doc_id: str) -> Any:
        """One document's full text and structure, so citations can be shown in place."""
        doc = holder.get().index.documents.get(doc_id)
        if doc is None:
            raise StarletteHTTPException(404, f"no document with id {doc_id!r}")
        blocks = [asdict(b) for b in split_blocks(doc)]
        return {**_summary(doc), "text": doc.text, "blocks": blocks}


#: a chat request's body: conversations carry their history (the rest of the API: 32 KiB)
CHAT_BODY = 512 * 1024
#: room for the multipart envelope around an uploaded file
UPLOAD_OVERHEAD = 64 * 1024


def add_upload_routes(app: FastAPI, holder: EngineHolder, settings: Settings, token: str) -> None:
    """POST and DELETE /documents, for bearers of the admin token only."""
    uploads = Uploads.create(settings)
    errors: dict[int | str, dict[str, Any]] = {
        k: ERRORS[k] for k in (401, 403, 404, 413, 415, 422, 503)
    }

    @app.post("/documents", response_model=s.ChangeOut, status_code=201, responses=errors)
    def upload(
        request: Request, file: Annotated[UploadFile, File(description="the document")]
    ) -> JSONResponse:
        """Add (or replace) a document and rebuild the index; the server switches to it."""
        check_token(request.headers.get("authorization"), token)
        data = file.file.read(settings.max_file_bytes + 1)
        doc_id, new, report = uploads.add(holder.get(), file.filename or "", data)
        holder.follow(settings.index_dir)
        body = _change(doc_id, "added" if new else "replaced", report)
        return JSONResponse(body.model_dump(), status_code=201 if new else 200)

    @app.delete("/documents/{doc_id:path}", response_model=s.ChangeOut, responses=errors)
    def delete(request: Request, doc_id: str) -> s.ChangeOut:
        """Remove a document's file from the corpus and rebuild the index."""
        check_token(request.headers.get("authorization"), token)
        report = uploads.remove(holder.get(), doc_id)
        holder.follow(settings.index_dir)
        return _change(doc_id, "removed", report)


def _change(doc_id: str, action: str, report: BuildReport) -> s.ChangeOut:
    return s.ChangeOut(
        doc_id=doc_id,
        action=action,
        build=report.path.name,
        documents=report.documents,
        skipped=[s.SkippedOut(path=k.path, reason=k.reason) for k in report.skipped],
    )


def site(settings: Settings, documents: Sequence[Document], sections: Sequence[str]) -> s.SiteOut:
    """What the chat page says of itself: the settings' words, or words derived from the
    corpus it serves (its document titles and section headings)."""
    titles = [d.title for d in documents]
    if len(titles) == 1:
        title, source = "Ask the document", f"“{titles[0]}”"
    else:
        title, source = "Ask the documents", f"{len(titles)} documents"
    subtitle = f"Answers are quoted word for word from {source}, with citations you can open."
    # a heading that is itself a question (an FAQ's) is an example as it stands; no
    # question is made up from a heading that is not one
    examples = list(dict.fromkeys(x.strip() for x in sections if question_heading(x)))[:3]
    return s.SiteOut(
        title=settings.title or title,
        subtitle=settings.subtitle or subtitle,
        examples=settings.examples or examples,
        documents=len(titles),
    )


#: how an English question opens (ordinary grammar: wh-words and auxiliaries)
_ASKS = re.compile(
    r"^(what|which|who|whom|whose|when|where|why|how|can|could|do|does|did|is|are|was|"
    r"were|will|would|should|shall|may|must|has|have)\b",
    re.IGNORECASE,
)


def question_heading(heading: str) -> bool:
    """A heading written as a question a reader might ask, as an FAQ's are.

    >>> question_heading("How much is the stipend?"), question_heading("Parking")
    (True, False)
    >>> question_heading("Competition between the two?")  # a rhetorical title, not a question
    False
    """
    text = heading.strip()
    return text.endswith("?") and bool(_ASKS.match(text)) and 3 <= len(text.split()) <= 20


def _summary(doc: Document) -> dict[str, Any]:
    return {
        "doc_id": doc.doc_id,
        "title": doc.title,
        "metadata": dict(doc.metadata),
        "length": len(doc.text),
        "pages": list(doc.pages),
    }
