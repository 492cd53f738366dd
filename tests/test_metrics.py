"""The metrics as pure logic: answers counted, stages timed, route labels bounded."""

import asyncio
from types import MappingProxyType

from prometheus_client.parser import text_string_to_metric_families
from starlette.routing import Route

from sco_qa.api.metrics import Metrics, RequestMetrics, route_label
from sco_qa.records import Answer


def _answer(answered: bool) -> Answer:
    timings = {"embed": 4.0, "search": 1.0, "compose": 0.2, "total": 5.2}
    return Answer("q", answered, "a", 0.5, (), (), MappingProxyType(timings))


def _values(metrics: Metrics) -> dict[tuple[str, frozenset], float]:
    text = metrics.render().decode()
    return {
        (s.name, frozenset(s.labels.items())): s.value
        for f in text_string_to_metric_families(text)
        for s in f.samples
    }


def test_answers_and_stages_are_counted() -> None:
    metrics = Metrics(lambda: [("hr", None), ("eng", None)], "onnx-int8")
    metrics.observe(_answer(True), "api", "hr")
    metrics.observe(_answer(True), "mcp", "hr")
    metrics.observe(_answer(False), "api", "hr")
    metrics.observe(_answer(False), "api", "eng")
    got = _values(metrics)
    api = {"interface": "api", "collection": "hr"}
    assert got[("sco_qa_answers_total", frozenset({**api, "outcome": "answered"}.items()))] == 1
    assert got[("sco_qa_answers_total", frozenset({**api, "outcome": "refused"}.items()))] == 1
    eng = {"interface": "api", "collection": "eng", "outcome": "refused"}
    assert got[("sco_qa_answers_total", frozenset(eng.items()))] == 1
    embed = frozenset({"stage": "embed", "collection": "hr"}.items())
    assert got[("sco_qa_ask_stage_seconds_count", embed)] == 3
    assert abs(got[("sco_qa_ask_stage_seconds_sum", embed)] - 0.012) < 1e-9
    for name in ("hr", "eng"):  # nothing loaded: no index info
        assert got[("sco_qa_index_ready", frozenset({"collection": name}.items()))] == 0
    assert not any(name == "sco_qa_index_info" for name, _ in got)
    assert not any(name.endswith("_created") for name, _ in got)


def test_each_app_has_its_own_registry() -> None:
    first, second = Metrics(lambda: [], "onnx"), Metrics(lambda: [], "onnx")
    first.observe(_answer(True), "api", "default")
    labels = {"interface": "api", "outcome": "answered", "collection": "default"}
    key = ("sco_qa_answers_total", frozenset(labels.items()))
    assert _values(first)[key] == 1 and key not in _values(second)


def _ok() -> None:
    return None


def test_route_labels_are_templates_never_raw_paths() -> None:
    routes = [Route("/ask", _ok, methods=["POST"]), Route("/documents/{doc_id:path}", _ok)]
    scope = {"type": "http", "method": "GET", "path": "/documents/a/b.md", "root_path": ""}
    assert route_label(scope, routes) == "/documents/{doc_id:path}"  # refused before routing
    assert route_label({**scope, "route": routes[0]}, routes) == "/ask"  # routing's own match
    assert route_label({**scope, "path": "/x/../../etc/passwd"}, routes) == "unmatched"


def test_requests_counted_with_bounded_methods() -> None:
    async def app(scope, receive, send) -> None:
        await send({"type": "http.response.start", "status": 204, "headers": []})
        await send({"type": "http.response.body", "body": b""})

    async def ignore(message) -> None:
        return None

    metrics = Metrics(lambda: [], "onnx")
    guard = RequestMetrics(app, metrics, [Route("/ask", _ok, methods=["POST"])])
    for method in ("POST", "FOO", "BAR"):
        scope = {"type": "http", "method": method, "path": "/ask", "root_path": ""}
        asyncio.run(guard(scope, None, ignore))
    got = _values(metrics)
    name = "sco_qa_http_requests_total"
    post = {"route": "/ask", "method": "POST", "status": "204"}
    assert got[(name, frozenset(post.items()))] == 1
    assert got[(name, frozenset({**post, "method": "other"}.items()))] == 2
