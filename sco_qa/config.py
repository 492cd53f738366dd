"""One settings object for the whole package, read from SCO_QA_* environment variables."""

from __future__ import annotations

import json
import os
from functools import lru_cache
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path
from typing import Annotated, Literal

from pydantic import Field, SecretStr, ValidationError, field_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict, SettingsError

from .errors import ConfigError

#: the most passages a caller may ask for, in the CLI, the engine and the API alike
MAX_K = 20


class Settings(BaseSettings):
    """Everything that can be configured; see the README's settings table."""

    model_config = SettingsConfigDict(env_prefix="SCO_QA_", extra="ignore", frozen=True)

    corpus_dir: Path = Path("corpus")
    index_dir: Path = Path("index")
    collections: str | None = Field(
        None,
        description="several corpora served at once, as NAME=FOLDER pairs (comma-separated, "
        "e.g. hr=/data/hr,eng=/data/eng); the first is the default; each one's index is in "
        "SCO_QA_INDEX_DIR/NAME/",
    )
    collections_file: Path | None = Field(
        None, description="a TOML file of collections: name → folder, title, settings"
    )
    collection: str | None = Field(
        None, description="serve or use only this collection (the CLI's --collection)"
    )
    load_collections: Literal["start", "lazy"] = Field(
        "start", description="load every collection at start, or each at its first question"
    )
    host: str = "127.0.0.1"
    port: int = Field(8000, ge=1, le=65535)
    workers: int = Field(1, ge=1, le=64)
    top_k: int = Field(5, ge=1, le=MAX_K)
    candidates: int = Field(50, ge=1, le=1000, description="passages each retriever proposes")
    rrf_k: int = Field(60, ge=1, description="reciprocal rank fusion constant")
    abstain_threshold: float | None = Field(
        None,
        ge=0.0,
        le=1.0,
        description="answer confidence (a probability) below which the answer is 'not in the "
        "corpus'; unset: the answer scorer's own threshold, chosen on its training articles",
    )
    max_answer_sentences: int = Field(3, ge=1, le=5)
    answer_model: Path | None = Field(
        None,
        description="the answer stage: reader, scorer, or a reader.json or scorer.json file; "
        "unset: the answer scorer",
    )
    # the pool the learned parts were trained and measured with (their provenance records it)
    answer_pool: int = Field(
        8, ge=1, le=50, description="passages whose sentences compete for the answer, any k"
    )
    passage_max_chars: int = Field(700, ge=100, le=5000)
    passage_overlap: int = Field(1, ge=0, le=3, description="sentences shared by split passages")
    auto_rebuild: bool = Field(True, description="rebuild a stale index instead of failing")
    keep_builds: int = Field(3, ge=1, le=100, description="index builds kept, for rollback")
    admin_token: SecretStr | None = Field(
        None, description="turns on POST and DELETE /documents for whoever sends it as a bearer"
    )
    api_keys: Annotated[list[SecretStr], NoDecode] = Field(
        default_factory=list,
        description="bearer keys every route but /healthz, /readyz and the page requires "
        "(comma-separated); none: the API is open",
    )
    api_keys_file: Path | None = Field(
        None, description="a file of API keys, one a line (# starts a comment), read at start"
    )
    rate_limit: str | None = Field(
        None,
        pattern=r"^\s*\d+\s*/\s*(second|minute|hour|day)\s*$",
        description="requests allowed per API key (per client address without keys) and "
        "server process, as COUNT/second|minute|hour|day, e.g. 60/minute; unset: no limit",
    )
    openai_model: str = Field(
        "sco-qa",
        min_length=1,
        max_length=200,
        description="the model id the OpenAI-compatible API (/v1) serves the corpus as",
    )
    reload_interval: float = Field(
        1.0, ge=0, le=3600, description="seconds between a server's looks at the live build"
    )
    request_threads: int = Field(
        0,
        ge=0,
        le=200,
        description="threads a server process answers /ask and /search in; 0: one per core "
        "(benchmarks/health_under_load.py: 2 on 2 cores kept /healthz p99 under 10 ms at "
        "concurrency 128 with the most /ask throughput; 4 and 8 gave 15 and 31 ms)",
    )
    keep_alive_timeout: int = Field(5, ge=1, le=600, description="idle keep-alive seconds")
    header_timeout: float = Field(
        10, gt=0, le=600, description="seconds a request's headers may take to arrive"
    )
    body_timeout: float = Field(
        10, gt=0, le=600, description="seconds a request's body may take after its headers"
    )
    max_header_kb: int = Field(16, ge=1, le=1024, description="request line and headers, KiB")
    shutdown_timeout: int = Field(
        10, ge=1, le=600, description="seconds SIGTERM waits for open requests before exiting"
    )
    max_connections: int = Field(
        1000,
        ge=0,
        description="requests in progress beyond which requests get 503 (0: no cap); idle "
        "connections and /healthz do not count",
    )
    exit_after_load_failure: float = Field(
        5.0,
        ge=0,
        le=3600,
        description="seconds a server whose index cannot load answers /readyz with the error "
        "before it exits with status 3 (0: stay up)",
    )
    watch_interval: float = Field(
        2.0, gt=0, le=3600, description="seconds between `serve --watch`'s looks at the corpus"
    )
    # NoDecode: a comma-separated list is split by the validator below, not read as JSON
    cors_origins: Annotated[list[str], NoDecode] = Field(default_factory=list)
    allowed_hosts: Annotated[list[str], NoDecode] = Field(
        default_factory=list,
        description="host names requests may name (comma-separated; * for any); unset: the "
        "loopback names, plus the address served on when it is not a wildcard",
    )
    trusted_proxies: Annotated[list[str], NoDecode] = Field(
        default_factory=list,
        description="addresses whose X-Forwarded-For and X-Forwarded-Proto are believed "
        "(comma-separated); unset: none, so the rate limit keys on the real peer",
    )
    title: str | None = Field(None, max_length=200, description="the chat page's title")
    subtitle: str | None = Field(None, max_length=500, description="the line under the title")
    examples: Annotated[list[str], NoDecode] = Field(
        default_factory=list, description="example questions on the chat page (comma-separated)"
    )
    vector_store: str = Field(
        "faiss",
        min_length=1,
        description="where vectors live: faiss (the build's files, in process), milvus "
        "(SCO_QA_MILVUS_URI), or package.module:Class for a store of one's own",
    )
    milvus_uri: str | None = Field(
        None,
        description="with SCO_QA_VECTOR_STORE=milvus: a local file (Milvus Lite) or "
        "http://host:19530 (a server or cluster); unset: SCO_QA_INDEX_DIR/milvus.db",
    )
    milvus_token: SecretStr | None = Field(None, description="the Milvus server's token")
    milvus_index: Literal["FLAT", "HNSW", "IVF_FLAT"] = Field(
        "FLAT", description="the Milvus index type (FLAT: exact search)"
    )
    ann_threshold: int = Field(
        50_000, ge=1, description="passages from which the dense index is IVF, not exact"
    )
    max_file_mb: float = Field(
        50, gt=0, le=2048, description="corpus files larger than this are skipped, with a reason"
    )
    embed_cache_size: int = Field(1024, ge=0)
    model_cache_dir: Path = Field(
        default_factory=lambda: (
            Path(os.environ.get("XDG_CACHE_HOME") or "~/.cache").expanduser() / "sco-qa"
        ),
        description="where the exported ONNX model is kept",
    )
    model_backend: Literal["onnx", "onnx-int8", "torch"] = Field(
        "onnx-int8", description="how the embedding model runs (see README, Performance)"
    )
    model_threads: int = Field(0, ge=0, le=64, description="0 keeps the runtime's default")
    embed_processes: int = Field(
        0,
        ge=0,
        le=64,
        description="processes of one thread that embed a large build's texts "
        "(ONNX backends; 0: as many as SCO_QA_MODEL_THREADS, or one per core; 1: the server's "
        "own process only)",
    )

    @property
    def max_file_bytes(self) -> int:
        """``max_file_mb`` in bytes."""
        return int(self.max_file_mb * 1024 * 1024)

    @property
    def hosts_allowed(self) -> list[str]:
        """The host names requests may name."""
        if self.allowed_hosts:
            return list(self.allowed_hosts)
        wildcard = self.host in ("0.0.0.0", "::", "")
        return ["localhost", "127.0.0.1", "::1", *(() if wildcard else (self.host,))]

    @field_validator(
        "cors_origins", "examples", "api_keys", "allowed_hosts", "trusted_proxies", mode="before"
    )
    @classmethod
    def _split_origins(cls, value: object) -> object:
        if isinstance(value, str) and value.strip().startswith("["):
            try:
                return json.loads(value)
            except ValueError:
                raise ValueError("not a JSON list; give a comma-separated list") from None
        if isinstance(value, str):
            return [v.strip() for v in value.split(",") if v.strip()]
        return value


def package_version() -> str:
    """The installed package's version ("unknown" when run from a bare source tree)."""
    try:
        return version("sco-qa")
    except PackageNotFoundError:
        return "unknown"


def load_settings(**overrides: object) -> Settings:
    """Settings from the environment plus overrides; a ConfigError says what is wrong."""
    try:
        return Settings(**overrides)  # type: ignore[arg-type]
    except SettingsError as exc:
        raise ConfigError(f"invalid settings: {exc}") from None
    except ValidationError as exc:
        problems = "; ".join(
            f"SCO_QA_{'_'.join(str(p) for p in e['loc']).upper()}: {e['msg']}" for e in exc.errors()
        )
        raise ConfigError(f"invalid settings: {problems}") from None


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    """The process-wide settings, read once."""
    return load_settings()
