"""Prometheus metrics: requests by route and status, ``ask`` latency by stage, answered and
refused counts, and what the loaded index is. With ``PROMETHEUS_MULTIPROC_DIR`` set (several
workers) the counts are summed over the processes by prometheus-client's multiprocess mode."""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Iterator, Sequence
from typing import Any

from prometheus_client import (
    CollectorRegistry,
    Counter,
    Histogram,
    disable_created_metrics,
    generate_latest,
)
from prometheus_client.core import GaugeMetricFamily, InfoMetricFamily, Metric
from prometheus_client.multiprocess import MultiProcessCollector
from prometheus_client.registry import Collector
from starlette.routing import BaseRoute, Match

from ..engine import Engine
from ..records import Answer
from .middleware import ASGIApp, Message, Receive, Scope, Send

CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"
#: ``ask`` stages take from under a millisecond (compose) to tens (embed, under load)
STAGE_BUCKETS = (0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5)
STAGES = ("embed", "search", "score", "compose", "total")
#: methods counted by name; any other is "other", so no client can grow the label set
METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})


#: each served collection's name with its engine (None while it loads)
Engines = Callable[[], Sequence[tuple[str, Engine | None]]]


class IndexCollector(Collector):
    """Each collection's loaded index, read at scrape time: build id, model, backend,
    scorer, counts, labelled by collection."""

    def __init__(self, engines: Engines, backend: str) -> None:
        self.engines, self.backend = engines, backend

    def collect(self) -> Iterator[Metric]:
        """The indexes' info and counts; ready 0 while one loads."""
        engines = list(self.engines())
        ready = GaugeMetricFamily(
            "sco_qa_index_ready", "1 when the index is loaded", labels=["collection"]
        )
        for name, engine in engines:
            ready.add_metric([name], 0.0 if engine is None else 1.0)
        yield ready
        loaded = [(n, e) for n, e in engines if e is not None]
        info = InfoMetricFamily(
            "sco_qa_index", "the loaded index build and how it answers", labels=["collection"]
        )
        for name, engine in loaded:
            m = engine.index.manifest
            info.add_metric(
                [name],
                {
                    "build": engine.index.path.name,
                    "built_at": m.built_at,
                    "model": m.model.name,
                    "backend": self.backend,
                    "answer_scorer": engine.answerer.version,
                },
            )
        if loaded:
            yield info
        for what in ("documents", "passages", "sentences"):
            g = GaugeMetricFamily(
                f"sco_qa_{what}", f"{what} in the loaded index", labels=["collection"]
            )
            for name, engine in loaded:
                g.add_metric([name], float(getattr(engine.index.manifest.counts, what)))
            if loaded:
                yield g


class Metrics:
    """The service's metrics, in a registry of its own (one per app)."""

    def __init__(self, engines: Engines, backend: str) -> None:
        disable_created_metrics()  # type: ignore[no-untyped-call]  # no ``_created`` series
        self.registry = CollectorRegistry()
        self.index = IndexCollector(engines, backend)
        r = self.registry
        self.requests = Counter(
            "sco_qa_http_requests",
            "HTTP requests by route template, method and status",
            ["route", "method", "status"],
            registry=r,
        )
        self.latency = Histogram(
            "sco_qa_http_request_duration_seconds",
            "HTTP request latency by route template",
            ["route"],
            registry=r,
        )
        self.stages = Histogram(
            "sco_qa_ask_stage_seconds",
            "latency of answering a question, by stage: embed, search, score (the answer "
            "stage), compose, total",
            ["stage", "collection"],
            buckets=STAGE_BUCKETS,
            registry=r,
        )
        self.answers = Counter(
            "sco_qa_answers",
            "questions answered or refused, by interface (api, openai, mcp) and collection",
            ["outcome", "interface", "collection"],
            registry=r,
        )
        r.register(self.index)

    def observe(self, answer: Answer, interface: str, collection: str) -> None:
        """Count an answer of ``collection`` and record its stage timings."""
        outcome = "answered" if answer.answered else "refused"
        self.answers.labels(outcome, interface, collection).inc()
        for stage in STAGES:
            if stage in answer.timings_ms:
                self.stages.labels(stage, collection).observe(answer.timings_ms[stage] / 1e3)

    def render(self) -> bytes:
        """The text exposition: this process's registry, or every worker's in multiprocess
        mode (plus this process's view of the index)."""
        if not os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
            return bytes(generate_latest(self.registry))
        merged = CollectorRegistry()
        MultiProcessCollector(merged)  # type: ignore[no-untyped-call]
        merged.register(self.index)
        return bytes(generate_latest(merged))


def route_label(scope: Scope, routes: Sequence[BaseRoute] = ()) -> str:
    """The route's template (``/documents/{doc_id:path}``), never the raw path, so the label
    set stays small: the one routing matched, else (a request refused before routing, say
    a 401) the first that matches; ``unmatched`` for a path no route serves."""
    route: Any = scope.get("route")
    if route is None:
        route = next((r for r in routes if r.matches(scope)[0] != Match.NONE), None)
    return str(getattr(route, "path", "")) or "unmatched"


class RequestMetrics:
    """Counts every response by route, method and status, and times it."""

    def __init__(self, app: ASGIApp, metrics: Metrics, routes: Sequence[BaseRoute]) -> None:
        self.app, self.metrics, self.routes = app, metrics, routes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        started = time.perf_counter()
        status = 500

        async def wrapped(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        try:
            await self.app(scope, receive, wrapped)
        finally:
            route = route_label(scope, self.routes)
            m = self.metrics
            method = scope["method"] if scope["method"] in METHODS else "other"
            m.requests.labels(route, method, str(status)).inc()
            m.latency.labels(route).observe(time.perf_counter() - started)
