"""The HTTP API and chat page: ``create_app(settings)``; the engine loads in the lifespan."""

from __future__ import annotations

import logging
import os
import re
from collections.abc import AsyncIterator, Callable, Sequence
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from dataclasses import asdict
from enum import Enum
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import anyio.to_thread
from fastapi import Depends, FastAPI, File, Query, Request, UploadFile
from fastapi.exceptions import RequestValidationError
from fastapi.responses import FileResponse, JSONResponse, Response
from fastapi.staticfiles import StaticFiles
from fastapi_offline import FastAPIOffline
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.routing import Route

from ..answer import MAX_CHARS
from ..chunking import split_blocks
from ..config import MAX_K, Settings, get_settings, package_version
from ..engine import Engine
from ..errors import CollectionError, ConfigError, QuestionError, ScoQaError
from ..index import DEFAULT_COLLECTION, BuildReport
from ..logs import configure_logging
from ..records import Document
from . import openai_compat
from . import schemas as s
from .auth import ApiKeyGuard, RateLimiter, api_keys, check_collection, parse_rate
from .holder import Collections, Served
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
from .uploads import UploadError, check_token

if TYPE_CHECKING:
    from mcp.server.mcpserver import MCPServer

WEB = Path(__file__).resolve().parents[1] / "web"
log = logging.getLogger(__name__)
ERRORS: dict[int | str, dict[str, Any]] = {
    code: {"model": s.ErrorOut, "description": d}
    for code, d in (
        (400, "bad input"),
        (401, "no valid key or token"),
        (403, "wrong admin token, or a key not allowed this collection"),
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


def _error(
    status: int,
    code: str,
    message: str,
    *,
    headers: dict[str, str] | None = None,
    path: str = "",
) -> JSONResponse:
    body = error_body(status, code, message, path=path)
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
        return _error(
            exc.status_code, code, str(exc.detail), headers=headers, path=request.url.path
        )

    @app.exception_handler(ScoQaError)
    async def _ours(request: Request, exc: ScoQaError) -> JSONResponse:
        if isinstance(exc, UploadError):
            auth = {"www-authenticate": "Bearer"} if exc.status == 401 else None
            return _error(exc.status, exc.code, str(exc), headers=auth)
        # a bad question is the caller's, as is an unknown or forbidden collection; anything
        # else means the service is not usable yet
        status = exc.status if isinstance(exc, CollectionError) else 503
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
    served = Collections.of(settings)  # a ConfigError now, not at the first request
    metrics = Metrics(
        lambda: [(c.holder.name, c.holder.engine) for c in served], settings.model_backend
    )
    mcp = build_mcp(
        lambda name, request: _resolve(served, name, request),
        lambda: [c.holder.state() for c in served],
        lambda a, name: metrics.observe(a, "mcp", name),
    )
    app = FastAPIOffline(
        title="sco-qa",
        version=package_version(),
        lifespan=_lifespan(settings, served, mcp),
        description="Questions answered by verbatim quotes from the corpus.",
    )
    app.state.collections = served
    app.state.holder = served.default.holder
    app.state.settings = settings
    app.state.metrics = metrics
    install_error_handlers(app)
    add_routes(app, served, metrics)
    add_collection_routes(app, served, metrics)
    add_openai_routes(app, served, settings=settings, metrics=metrics)
    mount_mcp(app, mcp, settings.host)
    app.mount("/static", StaticFiles(directory=WEB), name="static")
    add_guards(app, served, settings=settings, metrics=metrics)
    return app


def _resolve(served: Collections, name: str | None, request: Any) -> tuple[str, Engine]:
    """The collection ``name`` names (the default for None), if the request's key may use
    it, with its engine."""
    c = served.get(name)
    if request is not None:
        check_collection(request.scope, c.collection.name)
    return c.collection.name, c.holder.get()


def add_openai_routes(
    app: FastAPI, served: Collections, *, settings: Settings, metrics: Metrics
) -> None:
    """The OpenAI-compatible routes: one model per collection (the one-folder server's is
    ``SCO_QA_OPENAI_MODEL``, which also names the default collection when there are
    several)."""
    one = len(served) == 1 and served.default.collection.name == DEFAULT_COLLECTION

    def ids() -> list[str]:
        return [settings.openai_model] if one else [c.collection.name for c in served]

    def resolve(model: str, request: Request) -> tuple[str, Engine]:
        if model == settings.openai_model:
            return _resolve(served, None, request)
        if one or model not in ids():
            raise openai_compat.unknown_model(model, ids())
        return _resolve(served, model, request)

    observe = lambda a, name: metrics.observe(a, "openai", name)  # noqa: E731
    openai_compat.add_routes(app, resolve, model_ids=ids, observe=observe, errors=OPENAI_ERRORS)


def _lifespan(
    settings: Settings, served: Collections, mcp: MCPServer
) -> Callable[[FastAPI], AbstractAsyncContextManager[None]]:
    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        # few request threads: more only queue for the model and slow the event loop (GIL)
        threads = settings.request_threads or os.cpu_count() or 1
        anyio.to_thread.current_default_thread_limiter().total_tokens = threads
        served.start(lazy=settings.load_collections == "lazy")
        async with mcp.session_manager.run():
            yield
        served.stop()

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


def add_guards(app: FastAPI, served: Collections, *, settings: Settings, metrics: Metrics) -> None:
    """The middleware, inside out: bodies, keys and rate limit, metrics, HEAD, CORS, security
    headers and the request log (and the upload routes, which the body guard knows)."""
    keys = api_keys(settings)  # a ConfigError now, not at the first request
    unknown = sorted(
        {n for ns in keys.scopes.values() for n in ns} - {c.collection.name for c in served}
    )
    if unknown:
        raise ConfigError(
            f"SCO_QA_API_KEYS_FILE names collections not served: {', '.join(unknown)}"
        )
    limiter = RateLimiter(*parse_rate(settings.rate_limit)) if settings.rate_limit else None
    rules = {"/ask": BodyRule(), "/v1/chat/completions": BodyRule(CHAT_BODY)}
    for c in served:
        rules[f"/collections/{c.collection.name}/ask"] = BodyRule()
    if settings.admin_token:
        token = settings.admin_token.get_secret_value()
        limit = settings.max_file_bytes + UPLOAD_OVERHEAD
        upload = BodyRule(limit, "multipart/form-data", False, token)
        rules["/documents"] = upload
        for c in served:
            rules[f"/collections/{c.collection.name}/documents"] = upload
        add_upload_routes(app, served, settings=settings, token=token)
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


def add_routes(app: FastAPI, served: Collections, metrics: Metrics) -> None:
    """The page, health, metrics and collections routes, and the default collection's
    ask, search, site and document routes (unprefixed)."""
    holder = served.default.holder

    @app.get("/", include_in_schema=False)
    def page() -> FileResponse:
        return FileResponse(WEB / "index.html")

    @app.get("/healthz", response_model=s.Health)
    async def healthz() -> dict[str, str]:
        """The process is alive (answered on the event loop, never behind busy workers)."""
        return {"status": "ok"}

    @app.get("/readyz", response_model=s.Ready, responses={503: ERRORS[503]})
    def readyz() -> Any:
        """The default collection is loaded and questions can be answered; every
        collection's state (and memory, once loaded) is listed."""
        engine = holder.get()
        m = engine.index.manifest
        return {
            "status": "ready",
            **m.counts.model_dump(),
            "model": m.model.name,
            "answer_scorer": engine.answerer.version,
            "threshold": engine.threshold,
            "built_at": m.built_at,
            "corpus_fingerprint": m.corpus.fingerprint,
            "rebuild_error": holder.rebuild_error,
            "collections": [c.holder.state() for c in served],
        }

    @app.get(
        "/metrics",
        response_class=Response,
        responses={200: {"content": {CONTENT_TYPE: {}}, "description": "Prometheus text"}},
    )
    def prometheus() -> Response:
        """Prometheus metrics: requests, ask latency by stage, answers, the loaded indexes."""
        return Response(metrics.render(), media_type=CONTENT_TYPE)

    @app.get("/favicon.ico", include_in_schema=False)
    def favicon() -> FileResponse:
        return FileResponse(WEB / "favicon.svg", media_type="image/svg+xml")

    @app.get("/collections", response_model=s.CollectionList)
    def collections(request: Request) -> Any:
        """The collections served, the default first: name, title and state (documents
        and memory once loaded); a key restricted to some sees only those."""
        visible = []
        for c in served:
            try:
                check_collection(request.scope, c.collection.name)
            except CollectionError:
                continue
            visible.append(c.holder.state())
        return {"default": served.default.collection.name, "collections": visible}

    def default(request: Request) -> Served:
        check_collection(request.scope, served.default.collection.name)
        return served.default

    add_corpus_routes(app, "", pick=default, metrics=metrics)


def add_collection_routes(app: FastAPI, served: Collections, metrics: Metrics) -> None:
    """The same ask, search, site and document routes under ``/collections/{name}``."""

    def named(collection: str, request: Request) -> Served:
        c = served.get(collection)
        check_collection(request.scope, c.collection.name)
        return c

    add_corpus_routes(app, "/collections/{collection}", pick=named, metrics=metrics)


def add_corpus_routes(
    app: FastAPI, prefix: str, *, pick: Callable[..., Served], metrics: Metrics
) -> None:
    """Ask, search, site and the documents of the collection ``pick`` chooses, at
    ``prefix``."""
    # a default, not Annotated[...]: the annotation is read from the module, where ``pick``
    # (a closure) is not
    chosen = Depends(pick)
    tag: list[str | Enum] | None = ["collections"] if prefix else None

    @app.post(
        f"{prefix}/ask",
        response_model=s.AnswerOut,
        responses={k: ERRORS[k] for k in (400, 403, 404, 413, 415, 422, 503)},
        tags=tag,
    )
    def ask(body: s.AskRequest, c: Served = chosen) -> s.AnswerOut:
        """Answer a question with verbatim quotes, or say the corpus does not contain it."""
        history = [t.to_record() for t in body.history]
        answer = c.holder.get().ask(body.question, body.top_k, history)
        metrics.observe(answer, "api", c.collection.name)
        return s.AnswerOut.model_validate(answer)

    @app.get(
        f"{prefix}/search",
        response_model=s.SearchOut,
        responses={k: ERRORS[k] for k in (400, 403, 404, 422, 503)},
        tags=tag,
    )
    def search(
        q: Annotated[
            str,
            Query(description="the question", min_length=1, max_length=MAX_CHARS, pattern=r"\S"),
        ],
        k: Annotated[int | None, Query(ge=1, le=MAX_K)] = None,
        c: Served = chosen,
    ) -> s.SearchOut:
        """The best passages for a question, ranked by their best sentence for it, with
        sentence, fused, dense and lexical scores."""
        hits = c.holder.get().search(q, k)
        return s.SearchOut(query=q, hits=[s.PassageOut.model_validate(h) for h in hits])

    @app.get(
        f"{prefix}/site",
        response_model=s.SiteOut,
        responses={k: ERRORS[k] for k in (403, 404, 503)},
        tags=tag,
    )
    def site_info(c: Served = chosen) -> s.SiteOut:
        """The chat page's title, subtitle and example questions."""
        engine = c.holder.get()
        sections = [ch.section for ch in engine.index.chunks]
        return site(c.collection.settings, list(engine.index.documents.values()), sections)

    @app.get(
        f"{prefix}/documents",
        response_model=s.DocumentList,
        responses={k: ERRORS[k] for k in (403, 404, 503)},
        tags=tag,
    )
    def documents(c: Served = chosen) -> Any:
        """Every document: id, title, metadata and length."""
        index = c.holder.get().index
        skipped = index.manifest.corpus.skipped
        return {"documents": [_summary(d) for d in index.documents.values()], "skipped": skipped}

    @app.get(
        f"{prefix}/documents/{{doc_id:path}}",
        response_model=s.DocumentOut,
        responses={k: ERRORS[k] for k in (403, 404, 503)},
        tags=tag,
    )
    def document(doc_id: str, c: Served = chosen) -> Any:
        """One document's full text and structure, so citations can be shown in place."""
        doc = c.holder.get().index.documents.get(doc_id)
        if doc is None:
            raise StarletteHTTPException(404, f"no document with id {doc_id!r}")
        blocks = [asdict(b) for b in split_blocks(doc)]
        return {**_summary(doc), "text": doc.text, "blocks": blocks}


#: a chat request's body: conversations carry their history (the rest of the API: 32 KiB)
CHAT_BODY = 512 * 1024
#: room for the multipart envelope around an uploaded file
UPLOAD_OVERHEAD = 64 * 1024


def add_upload_routes(app: FastAPI, served: Collections, *, settings: Settings, token: str) -> None:
    """POST and DELETE /documents (the default collection) and
    /collections/{name}/documents, for bearers of the admin token only."""
    errors: dict[int | str, dict[str, Any]] = {
        k: ERRORS[k] for k in (401, 403, 404, 413, 415, 422, 503)
    }

    def default() -> Served:
        return served.default

    def named(collection: str) -> Served:
        return served.get(collection)

    for prefix, pick in (("", default), ("/collections/{collection}", named)):
        _upload_routes(app, prefix, pick=pick, settings=settings, token=token, errors=errors)


def _upload_routes(
    app: FastAPI,
    prefix: str,
    *,
    pick: Callable[..., Served],
    settings: Settings,
    token: str,
    errors: dict[int | str, dict[str, Any]],
) -> None:
    chosen = Depends(pick)  # as in add_corpus_routes
    tag: list[str | Enum] | None = ["collections"] if prefix else None

    @app.post(
        f"{prefix}/documents", response_model=s.ChangeOut, status_code=201, responses=errors,
        tags=tag,
    )  # fmt: skip
    def upload(
        request: Request,
        file: Annotated[UploadFile, File(description="the document")],
        c: Served = chosen,
    ) -> JSONResponse:
        """Add (or replace) a document and rebuild the index; the server switches to it."""
        check_token(request.headers.get("authorization"), token)
        data = file.file.read(c.collection.spec.max_file_bytes + 1)
        doc_id, new, report = c.uploads.add(c.holder.get(), file.filename or "", data)
        c.holder.follow()
        body = _change(doc_id, "added" if new else "replaced", report)
        return JSONResponse(body.model_dump(), status_code=201 if new else 200)

    @app.delete(
        f"{prefix}/documents/{{doc_id:path}}", response_model=s.ChangeOut, responses=errors,
        tags=tag,
    )  # fmt: skip
    def delete(request: Request, doc_id: str, c: Served = chosen) -> s.ChangeOut:
        """Remove a document's file from the corpus and rebuild the index."""
        check_token(request.headers.get("authorization"), token)
        report = c.uploads.remove(c.holder.get(), doc_id)
        c.holder.follow()
        return _change(doc_id, "removed", report)


def _change(doc_id: str, action: str, report: BuildReport) -> s.ChangeOut:
    return s.ChangeOut(
        doc_id=doc_id,
        action=action,
        build=report.path.name,
        documents=report.documents,
        skipped=[s.SkippedOut(path=k.path, reason=k.reason) for k in report.skipped],
        embedded=report.embedded,
        reused=report.reused,
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
