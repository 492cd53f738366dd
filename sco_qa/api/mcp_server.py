"""The Model Context Protocol server (the official ``mcp`` SDK): tools ``ask``, ``search`` and
``get_document``, and the document list as resources. ``sco-qa mcp`` serves it over stdio;
the HTTP server mounts it, as streamable HTTP, at ``/mcp``."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import TYPE_CHECKING, Annotated, Any
from urllib.parse import quote, unquote

from pydantic import BaseModel, Field

from ..answer import MAX_CHARS, MAX_TURNS
from ..config import MAX_K, package_version
from ..engine import Engine
from ..errors import ScoQaError
from ..records import Answer
from .schemas import CitationOut, PassageOut, TurnIn

if TYPE_CHECKING:  # the SDK takes half a second to import: only ``build_mcp`` loads it
    from mcp.server.mcpserver import MCPServer
    from mcp.server.transport_security import TransportSecuritySettings

INSTRUCTIONS = (
    "Answers questions about a document collection by quoting it verbatim. Every citation's "
    "quote is exactly the document's text[start:end]; call get_document to read around it. "
    "When answered is false, the documents do not contain an answer: say so, do not guess."
)


class AskResult(BaseModel):
    """An answer of verbatim quotes with their citations, or a refusal."""

    question: str
    answered: bool = Field(description="false when the documents do not contain an answer")
    answer: str = Field(description="the quotes, each followed by its [n] marker")
    confidence: float
    citations: list[CitationOut]


class SearchResult(BaseModel):
    """The passages ranked for a question."""

    query: str
    hits: list[PassageOut]


class DocumentText(BaseModel):
    """A document's text, or the part of it from ``start`` to ``end``."""

    doc_id: str
    title: str
    length: int = Field(description="characters in the whole document")
    start: int
    end: int
    text: str = Field(description="exactly the document's text[start:end]")
    pages: list[int] = Field(description="where each page starts (PDF); else []")


#: a collection's name (None: the default) and the HTTP request (None over stdio) → the
#: collection's name and engine; a ScoQaError for an unknown or forbidden collection
Resolve = Callable[[str | None, Any], tuple[str, Engine]]
COLLECTION = Annotated[
    str | None,
    Field(description="the collection to use (resource collections://list); default: the first"),
]


def _request(ctx: Any) -> Any:
    """The HTTP request a tool call came in (None over stdio)."""
    try:
        return ctx.request_context.request
    except (AttributeError, ValueError):
        return None


def _call(
    resolve: Resolve,
    collection: str | None,
    *,
    ctx: Any,
    what: Callable[[Engine], Any],
    resource: bool = False,
) -> tuple[str, Any]:
    """Run ``what`` on the collection's engine: (the collection's name, what it returned);
    the package's errors become the tool (or resource) errors the client reads."""
    from mcp.server.mcpserver.exceptions import ResourceError, ToolError

    try:
        name, engine = resolve(collection, _request(ctx))
        return name, what(engine)
    except ScoQaError as exc:
        raise (ResourceError if resource else ToolError)(str(exc)) from None


def document_text(engine: Engine, doc_id: str, *, start: int, end: int | None) -> DocumentText:
    """The slice ``start:end`` of a document (to its end when ``end`` is None)."""
    from mcp.server.mcpserver.exceptions import ToolError

    doc = engine.index.documents.get(doc_id)
    if doc is None:
        known = ", ".join(list(engine.index.documents)[:10])
        raise ToolError(f"no document with id {doc_id!r}; the documents are: {known}")
    stop = len(doc.text) if end is None else end
    if not 0 <= start <= stop <= len(doc.text):
        raise ToolError(f"give 0 <= start <= end <= {len(doc.text)} (the document's length)")
    return DocumentText(
        doc_id=doc.doc_id,
        title=doc.title,
        length=len(doc.text),
        start=start,
        end=stop,
        text=doc.text[start:stop],
        pages=list(doc.pages),
    )


def build_mcp(
    resolve: Resolve,
    listing: Callable[[], list[dict[str, Any]]],
    observe: Callable[[Answer, str], None] | None = None,
) -> MCPServer:
    """The MCP server over the collections ``resolve`` finds (each engine read per call, so
    it follows a server's switches of index build); ``listing`` describes them."""
    from mcp.server.mcpserver import Context, MCPServer
    from mcp.server.mcpserver.exceptions import ResourceNotFoundError
    from mcp.types import ToolAnnotations

    # every tool only reads the documents it was given: safe to call again, nothing outside
    reads = ToolAnnotations(read_only_hint=True, idempotent_hint=True, open_world_hint=False)

    server: MCPServer = MCPServer(
        "sco-qa", instructions=INSTRUCTIONS, version=package_version(), log_level="WARNING"
    )

    def ask(
        question: Annotated[str, Field(min_length=1, max_length=MAX_CHARS)],
        history: Annotated[list[TurnIn], Field(max_length=MAX_TURNS)] | None = None,
        k: Annotated[int, Field(ge=1, le=MAX_K)] | None = None,
        collection: COLLECTION = None,
        ctx: Any = None,
    ) -> AskResult:
        """Answer a question with verbatim quotes from the documents and their citations
        (doc_id, start, end); answered is false when the documents do not say."""
        turns = [t.to_record() for t in history or []]
        name, answer = _call(resolve, collection, ctx=ctx, what=lambda e: e.ask(question, k, turns))
        if observe is not None:
            observe(answer, name)
        return AskResult.model_validate(answer, from_attributes=True)

    def search(
        question: Annotated[str, Field(min_length=1, max_length=MAX_CHARS)],
        k: Annotated[int, Field(ge=1, le=MAX_K)] = 5,
        collection: COLLECTION = None,
        ctx: Any = None,
    ) -> SearchResult:
        """The k passages that best match a question, best first, with their offsets."""
        hits = _call(resolve, collection, ctx=ctx, what=lambda e: e.search(question, k))[1]
        return SearchResult(query=question, hits=[PassageOut.model_validate(h) for h in hits])

    def get_document(
        doc_id: Annotated[str, Field(min_length=1, max_length=1000)],
        start: Annotated[int, Field(ge=0)] = 0,
        end: Annotated[int, Field(ge=0)] | None = None,
        collection: COLLECTION = None,
        ctx: Any = None,
    ) -> DocumentText:
        """A document's text, whole or from start to end (character offsets, as in
        citations)."""
        got = _call(
            resolve,
            collection,
            ctx=ctx,
            what=lambda e: document_text(e, doc_id, start=start, end=end),
        )
        return got[1]  # type: ignore[no-any-return]

    for tool, title in ((ask, "Ask the documents"), (search, "Search the documents"),
                        (get_document, "Read a document")):  # fmt: skip
        tool.__annotations__["ctx"] = Context  # the SDK passes the call's context here
        server.tool(title=title, annotations=reads)(tool)

    @server.resource("collections://list", mime_type="application/json", title="Collections")
    def collections() -> str:
        """The collections served (the first is the default): name, title, status."""
        return json.dumps(listing())

    @server.resource("documents://list", mime_type="application/json", title="Documents")
    def documents() -> str:
        """Every document of the default collection: id, title, length and its text's URI."""
        docs = _call(
            resolve, None, ctx=None, what=lambda e: list(e.index.documents.values()), resource=True
        )[1]
        return json.dumps(
            [
                {"doc_id": d.doc_id, "title": d.title, "length": len(d.text), "uri": _uri(d.doc_id)}
                for d in docs
            ]
        )

    @server.resource("documents://{doc_id}", mime_type="text/plain", title="A document's text")
    def document(doc_id: str) -> str:
        """One document's full text (offsets in citations refer to it); the id URL-encoded."""
        docs = _call(resolve, None, ctx=None, what=lambda e: e.index.documents, resource=True)[1]
        doc = docs.get(doc_id) or docs.get(unquote(doc_id))
        if doc is None:
            raise ResourceNotFoundError(f"no document with id {doc_id!r}")
        return str(doc.text)

    return server


def transport_security(host: str) -> TransportSecuritySettings | None:
    """DNS-rebinding protection for a server on loopback: requests must name a loopback host
    (with or without a port) and come from no other origin; None elsewhere."""
    from mcp.server.transport_security import TransportSecuritySettings

    if host not in ("127.0.0.1", "localhost", "::1"):
        return None
    names = ("127.0.0.1", "localhost", "[::1]")
    return TransportSecuritySettings(
        allowed_hosts=[*names, *(f"{n}:*" for n in names)],
        allowed_origins=[f"http://{n}:*" for n in names],
    )


def _uri(doc_id: str) -> str:
    """A document's resource URI; ids with slashes (sub-folders) are URL-encoded."""
    return f"documents://{quote(doc_id, safe='')}"
