"""The OpenAI-compatible API: ``GET /v1/models`` and ``POST /v1/chat/completions``, so the
OpenAI client libraries and the chat UIs built on them can ask the corpus. The answer text
carries ``[n]`` markers and ends with a "Sources" list; the citations travel, verbatim and
with their offsets, in the message's ``citations`` field."""

from __future__ import annotations

import json
import re
import time
import uuid
from collections.abc import Callable, Iterator, Sequence
from datetime import datetime
from typing import Annotated, Any, Literal

from fastapi import FastAPI, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import StreamingResponse
from pydantic import BaseModel, ConfigDict, Field
from starlette.exceptions import HTTPException as StarletteHTTPException

from ..answer import MAX_TURNS
from ..engine import Engine
from ..errors import IndexStateError, QuestionError
from ..records import Answer, Citation, Turn
from .schemas import EXAMPLE_Q, TURN_ANSWER_CHARS, TURN_QUESTION_CHARS, CitationOut

#: where an assistant turn's "Sources" list starts, dropped when the turn comes back as history
SOURCES_HEADING = "\n\nSources:\n"
#: words per streamed chunk: the answer is whole before the first is sent, so pieces only let
#: a chat UI show it as it shows others. Streamed to [DONE], p50 in one run each of
#: benchmarks/interfaces.py: 12.4 ms at 8 words, 9.6 ms at 24, against 6 ms unstreamed
WORDS_PER_CHUNK = 24


class ContentPart(BaseModel):
    """One part of a message's content; only ``text`` parts are read."""

    model_config = ConfigDict(extra="allow")
    type: str = Field(max_length=50)
    text: str | None = Field(None, max_length=100_000)


class ChatMessage(BaseModel):
    """A message of the conversation."""

    model_config = ConfigDict(extra="allow")
    role: Literal["system", "developer", "user", "assistant", "tool", "function"]
    content: (
        Annotated[str, Field(max_length=100_000)]
        | Annotated[list[ContentPart], Field(max_length=100)]
        | None
    ) = None


class StreamOptions(BaseModel):
    """``stream_options``: a usage chunk before ``[DONE]`` when asked."""

    model_config = ConfigDict(extra="allow")
    include_usage: bool = False


class ChatRequest(BaseModel):
    """The body of ``POST /v1/chat/completions``. Other OpenAI options (``top_p``,
    ``presence_penalty``, ``user``, …) are accepted and have no effect: the answer is quoted,
    not generated."""

    model_config = ConfigDict(
        extra="allow",
        json_schema_extra={
            "examples": [
                {
                    "model": "sco-qa",
                    "messages": [{"role": "user", "content": EXAMPLE_Q}],
                }
            ]
        },
    )
    model: str = Field(min_length=1, max_length=200, description="an id from GET /v1/models")
    messages: list[ChatMessage] = Field(
        min_length=1,
        max_length=200,
        description="the last is the user's question; earlier user/assistant pairs are history",
    )
    stream: bool = Field(False, description="server-sent events in OpenAI's chunk format")
    stream_options: StreamOptions | None = None
    max_tokens: int | None = Field(None, ge=1, description="accepted; quotes are never cut")
    max_completion_tokens: int | None = Field(None, ge=1, description="as max_tokens")
    temperature: float | None = Field(None, ge=0, le=2, description="accepted; no effect")
    top_p: float | None = Field(None, ge=0, le=1, description="accepted; no effect")
    n: int | None = Field(None, ge=1, le=1, description="one choice only")


class ModelOut(BaseModel):
    """A model, as OpenAI lists them: here, the served corpus."""

    id: str
    object: Literal["model"] = "model"
    created: int
    owned_by: str = "sco-qa"


class ModelList(BaseModel):
    """``GET /v1/models``."""

    object: Literal["list"] = "list"
    data: list[ModelOut]


class AssistantMessage(BaseModel):
    """The answer: text with ``[n]`` markers and a Sources list, and the citations."""

    role: Literal["assistant"] = "assistant"
    content: str
    refusal: None = None
    citations: list[CitationOut] = Field(
        description="verbatim quotes: documents[doc_id].text[start:end] == quote"
    )


class Choice(BaseModel):
    """The one choice of a completion."""

    index: int = 0
    message: AssistantMessage
    finish_reason: Literal["stop"] = "stop"
    logprobs: None = None


class Usage(BaseModel):
    """Counts of words (not tokens: nothing is generated) in the question and the answer."""

    prompt_tokens: int
    completion_tokens: int
    total_tokens: int


class ChatCompletion(BaseModel):
    """The body of a non-streamed ``POST /v1/chat/completions``."""

    id: str
    object: Literal["chat.completion"] = "chat.completion"
    created: int
    model: str
    choices: list[Choice]
    usage: Usage
    answered: bool = Field(description="false when the documents do not contain an answer")
    confidence: float


def message_text(message: ChatMessage) -> str:
    """A message's text: its string content, or its text parts joined."""
    if isinstance(message.content, str):
        return message.content
    parts = message.content or []
    return "\n".join(p.text for p in parts if p.type == "text" and p.text)


def without_sources(text: str) -> str:
    """An assistant turn's text without the Sources list this API appended to it."""
    return text.split(SOURCES_HEADING, 1)[0]


def read_messages(messages: Sequence[ChatMessage]) -> tuple[str, list[Turn]]:
    """The question (the last message, the user's) and the earlier user/assistant pairs as
    history, newest ``MAX_TURNS`` kept and each cut to what ``/ask`` takes in a turn; system
    and tool messages are not read."""
    last = messages[-1]
    if last.role != "user":
        raise QuestionError("the last message must be the user's question (role 'user')")
    question = message_text(last)
    turns: list[Turn] = []
    pending: str | None = None
    for m in messages[:-1]:
        if m.role == "user":
            pending = message_text(m)[:TURN_QUESTION_CHARS]
        elif m.role == "assistant" and pending is not None:
            answer = without_sources(message_text(m))[:TURN_ANSWER_CHARS]
            turns.append(Turn(pending, answer))
            pending = None
    return question, turns[-MAX_TURNS:]


def source_line(c: Citation) -> str:
    """``[1] Title, Section, p. 3`` — where a citation's quote stands."""
    where = [c.title or c.doc_id]
    if c.section:
        where.append(c.section)
    if c.page:
        where.append(f"p. {c.page}")
    return f"[{c.n}] " + ", ".join(where) + f" ({c.doc_id}, characters {c.start}–{c.end})"


def marked(c: Citation) -> str:
    """The quote, its answer phrase in Markdown bold when there is one."""
    if c.phrase is None:
        return c.quote
    a, b = c.phrase.start - c.start, c.phrase.end - c.start
    return f"{c.quote[:a]}**{c.quote[a:b]}**{c.quote[b:]}"


def answer_text(answer: Answer) -> str:
    """The quotes with their ``[n]`` markers (the phrase in bold), then a Sources list; a
    refusal says so plainly."""
    if not answer.citations:
        return answer.answer
    quotes = " ".join(f"{marked(c)} [{c.n}]" for c in answer.citations)
    return quotes + SOURCES_HEADING + "\n".join(source_line(c) for c in answer.citations)


def _words(text: str) -> int:
    return len(text.split())


def completion(answer: Answer, model: str) -> ChatCompletion:
    """The OpenAI chat completion for an answer."""
    text = answer_text(answer)
    citations = [CitationOut.model_validate(c) for c in answer.citations]
    asked, said = _words(answer.question), _words(text)
    return ChatCompletion(
        id=f"chatcmpl-{uuid.uuid4().hex}",
        created=int(time.time()),
        model=model,
        choices=[Choice(message=AssistantMessage(content=text, citations=citations))],
        usage=Usage(prompt_tokens=asked, completion_tokens=said, total_tokens=asked + said),
        answered=answer.answered,
        confidence=answer.confidence,
    )


def pieces(text: str, words: int = WORDS_PER_CHUNK) -> list[str]:
    """``text`` cut into runs of ``words`` words (with their spaces), which join back to it.

    >>> pieces("a b  c d", 3)
    ['a b  c ', 'd']
    """
    tokens = re.findall(r"\s*\S+\s*", text) or [text]
    return ["".join(tokens[i : i + words]) for i in range(0, len(tokens), words)]


def stream_events(done: ChatCompletion, include_usage: bool) -> Iterator[str]:
    """The completion as server-sent events in OpenAI's chunk format: the role, the text in
    pieces, the citations with ``finish_reason``, the usage when asked, then ``[DONE]``."""
    head = {"id": done.id, "object": "chat.completion.chunk", "created": done.created}
    head["model"] = done.model
    message = done.choices[0].message

    def event(delta: dict[str, Any] | None, finish: str | None = None, **extra: Any) -> str:
        choices = [] if delta is None else [{"index": 0, "delta": delta, "finish_reason": finish}]
        return f"data: {json.dumps({**head, 'choices': choices, **extra})}\n\n"

    yield event({"role": "assistant", "content": ""})
    for piece in pieces(message.content):
        yield event({"content": piece})
    cites = [c.model_dump() for c in message.citations]
    yield event({"citations": cites}, "stop", answered=done.answered, confidence=done.confidence)
    if include_usage:
        yield event(None, usage=done.usage.model_dump())
    yield "data: [DONE]\n\n"


#: a model id → (the collection's name, its engine); 404 for an id not served
Resolve = Callable[[str, Request], tuple[str, Engine]]


def add_routes(
    app: FastAPI,
    resolve: Resolve,
    *,
    model_ids: Callable[[], list[str]],
    observe: Callable[[Answer, str], None],
    errors: dict[int | str, dict[str, Any]],
) -> None:
    """``GET /v1/models``, ``GET /v1/models/{id}`` and ``POST /v1/chat/completions``: one
    model per collection, ``model`` picks the collection asked."""

    def model(model_id: str, request: Request) -> ModelOut:
        built = resolve(model_id, request)[1].index.manifest.built_at
        created = int(datetime.fromisoformat(built.replace("Z", "+00:00")).timestamp())
        return ModelOut(id=model_id, created=created)

    @app.get("/v1/models", response_model=ModelList, responses=errors, tags=["openai"])
    def models(request: Request) -> ModelList:
        """The served collections, one model each, as OpenAI clients may name them (one not
        loaded yet has ``created`` 0)."""
        out = []
        for m in model_ids():
            try:
                out.append(model(m, request))
            except IndexStateError:
                out.append(ModelOut(id=m, created=0))
        return ModelList(data=out)

    @app.get("/v1/models/{name}", response_model=ModelOut, responses=errors, tags=["openai"])
    def one_model(name: str, request: Request) -> ModelOut:
        """A served collection's model entry; 404 for any other name."""
        return model(name, request)

    @app.post(
        "/v1/chat/completions",
        response_model=ChatCompletion,
        responses={
            **errors,
            200: {"content": {"text/event-stream": {}}, "description": "stream: true"},
        },
        tags=["openai"],
    )
    async def chat(body: ChatRequest, request: Request) -> Any:
        """Answer the last user message with verbatim quotes (``[n]`` markers, a Sources
        list and ``message.citations``) from the collection ``model`` names; ``stream``
        sends OpenAI's chunks, then ``[DONE]``."""
        collection, engine = resolve(body.model, request)
        question, history = read_messages(body.messages)
        answer = await run_in_threadpool(lambda: engine.ask(question, None, history))
        observe(answer, collection)
        done = completion(answer, body.model)
        if not body.stream:
            return done
        usage = bool(body.stream_options and body.stream_options.include_usage)
        return StreamingResponse(
            stream_events(done, usage),
            media_type="text/event-stream",
            headers={"cache-control": "no-cache", "x-accel-buffering": "no"},
        )


def unknown_model(name: str, ids: Sequence[str]) -> StarletteHTTPException:
    """The 404 for a model id no collection has."""
    listed = ", ".join(repr(i) for i in ids)
    return StarletteHTTPException(
        404, f"the model {name!r} does not exist; GET /v1/models lists {listed}"
    )
