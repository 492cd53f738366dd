"""API keys and the rate limit, as pure logic: digests, files, the token bucket."""

from pathlib import Path

import pytest

from sco_qa.api.auth import (
    ApiKeys,
    RateLimiter,
    api_keys,
    bearer,
    is_open,
    parse_rate,
    read_keys_file,
)
from sco_qa.config import load_settings
from sco_qa.errors import ConfigError


class Clock:
    """A clock the test moves by hand."""

    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def test_keys_match_only_exactly() -> None:
    keys = ApiKeys.of(["alpha-key", " beta-key ", ""])
    assert len(keys.digests) == 2
    assert keys.match("alpha-key") is not None
    assert keys.match("beta-key") == ApiKeys.of(["beta-key"]).digests[0]
    for wrong in ("alpha-ke", "alpha-key ", "ALPHA-KEY", "", "beta"):
        assert keys.match(wrong) is None
    assert ApiKeys.of([]).match("anything") is None


def test_keys_are_kept_as_digests_only() -> None:
    keys = ApiKeys.of(["s3cret-value"])
    assert b"s3cret-value" not in b"".join(keys.digests)
    assert "s3cret-value" not in repr(keys)


def test_keys_from_settings_and_file(tmp_path: Path) -> None:
    f = tmp_path / "keys.txt"
    f.write_text(
        "# team keys\nfile-key-1\n\n  file-key-2  # laptop\nhr-key hr,eng\n", encoding="utf-8"
    )
    assert read_keys_file(f) == [
        ("file-key-1", None),
        ("file-key-2", None),
        ("hr-key", frozenset({"hr", "eng"})),
    ]
    keys = api_keys(load_settings(api_keys="a1, a2", api_keys_file=f, admin_token="adm"))
    for k in ("a1", "a2", "file-key-1", "file-key-2", "adm", "hr-key"):
        assert keys.match(k) is not None, k
    scoped = keys.match("hr-key")
    assert scoped is not None and keys.scopes[scoped] == {"hr", "eng"}
    assert keys.match("a1") not in keys.scopes  # unrestricted
    bad = tmp_path / "bad.txt"
    bad.write_text("key hr eng\n", encoding="utf-8")
    with pytest.raises(ConfigError, match="KEY hr,eng"):
        read_keys_file(bad)
    # the admin token alone does not turn keys on
    assert api_keys(load_settings(admin_token="adm")).digests == ()


def test_a_bad_keys_file_says_what_to_do(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="SCO_QA_API_KEYS_FILE"):
        api_keys(load_settings(api_keys_file=tmp_path / "missing.txt"))
    empty = tmp_path / "empty.txt"
    empty.write_text("# nothing yet\n", encoding="utf-8")
    with pytest.raises(ConfigError, match="holds no key"):
        api_keys(load_settings(api_keys_file=empty))


def test_keys_setting_never_shows_the_key() -> None:
    settings = load_settings(api_keys="very-secret-1,very-secret-2")
    assert "very-secret" not in repr(settings) and "very-secret" not in str(settings)


@pytest.mark.parametrize(
    ("text", "expected"),
    [("60/minute", (60, 60.0)), ("5 / second", (5, 1.0)), ("1000/day", (1000, 86400.0))],
)
def test_rates_parse(text: str, expected: tuple[int, float]) -> None:
    assert parse_rate(text) == expected


@pytest.mark.parametrize("text", ["60", "60/minutes", "0/minute", "-1/hour", "x/second", ""])
def test_bad_rates_are_refused(text: str) -> None:
    with pytest.raises(ConfigError, match="COUNT/PERIOD"):
        parse_rate(text)


def test_the_rate_setting_is_checked_at_start() -> None:
    with pytest.raises(ConfigError, match="SCO_QA_RATE_LIMIT"):
        load_settings(rate_limit="lots")


def test_bucket_allows_the_burst_then_says_how_long_to_wait() -> None:
    clock = Clock()
    limit = RateLimiter(3, 60.0, clock)
    assert [limit.take(b"k") for _ in range(3)] == [0.0, 0.0, 0.0]
    assert limit.take(b"k") == pytest.approx(20.0)  # one request refills every 20 s
    clock.now += 10
    assert limit.take(b"k") == pytest.approx(10.0)
    clock.now += 10
    assert limit.take(b"k") == 0.0
    assert limit.take(b"other") == 0.0  # each caller has a bucket of its own


def test_bucket_refills_to_the_burst_only() -> None:
    clock = Clock()
    limit = RateLimiter(2, 1.0, clock)
    clock.now += 3600
    assert [limit.take(b"k") for _ in range(3)][2] > 0


def test_bucket_forgets_idle_callers_without_a_scan_per_request() -> None:
    clock = Clock()
    limit = RateLimiter(1, 1.0, clock)
    for i in range(10_001):  # all active: a look at 10,000 finds none to drop
        limit.take(f"a{i}".encode())
    assert len(limit._buckets) == 10_001 and limit._scan_at == 20_000
    clock.now += 2  # the first callers' buckets have refilled: they are idle now
    for i in range(10_001):
        limit.take(f"b{i}".encode())
    assert len(limit._buckets) == 10_001
    assert all(k.startswith(b"b") for k in limit._buckets)


def test_bearer_and_open_paths() -> None:
    assert bearer("Bearer abc") == "abc"
    assert bearer("bearer  abc ") == "abc"
    assert bearer("Basic abc") is None and bearer(None) is None and bearer("Bearer ") is None
    assert all(is_open(p) for p in ("/healthz", "/readyz", "/", "/static/app.js"))
    assert not any(is_open(p) for p in ("/ask", "/metrics", "/v1/models", "/mcp", "/docs"))
