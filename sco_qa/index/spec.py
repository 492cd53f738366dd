"""The one description of an index: where its corpus and builds live and everything a build
depends on. It is derived once from ``Settings`` (every default lives there) and passed
whole to build, load, open, watch, uploads, evaluation and the CLI; the manifest records
the part of it that shapes a build.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import Any

from ..chunking import ChunkingParams
from ..config import Settings

#: the name of the collection a server with one folder serves
DEFAULT_COLLECTION = "default"


@dataclass(frozen=True, kw_only=True)
class IndexSpec:
    """One corpus folder, its index folder and how it is built.

    >>> spec = IndexSpec.from_settings(load_settings(corpus_dir=Path("docs")))  # doctest: +SKIP
    >>> build_index(spec, embedder)  # doctest: +SKIP
    """

    collection: str
    corpus_dir: Path
    index_dir: Path
    chunking: ChunkingParams
    ann_threshold: int  # passages from which the dense index is IVF, not exact
    max_file_bytes: int  # larger corpus files are skipped, with a reason
    keep_builds: int  # finished builds kept, for rollback
    answer_pool: int  # passages whose sentences compete for the answer
    auto_rebuild: bool  # a stale index is rebuilt rather than refused
    vector_store: str  # faiss | milvus | package.module:Class
    milvus_uri: str  # a local file (Milvus Lite) or http://host:19530
    milvus_token: str = field(default="", repr=False)
    milvus_index: str = "FLAT"
    scorer: str = ""  # the answer stage's id, once it is known (recorded, never rebuilt on)

    @classmethod
    def from_settings(
        cls,
        settings: Settings,
        *,
        collection: str = DEFAULT_COLLECTION,
        corpus_dir: Path | None = None,
        index_dir: Path | None = None,
    ) -> IndexSpec:
        """The spec the settings describe (for one collection's folders, when given)."""
        return cls(
            collection=collection,
            corpus_dir=settings.corpus_dir if corpus_dir is None else corpus_dir,
            index_dir=settings.index_dir if index_dir is None else index_dir,
            chunking=ChunkingParams(settings.passage_max_chars, settings.passage_overlap),
            ann_threshold=settings.ann_threshold,
            max_file_bytes=settings.max_file_bytes,
            keep_builds=settings.keep_builds,
            answer_pool=settings.answer_pool,
            auto_rebuild=settings.auto_rebuild,
            vector_store=settings.vector_store,
            milvus_uri=settings.milvus_uri or str((index_dir or settings.index_dir) / "milvus.db"),
            milvus_token=settings.milvus_token.get_secret_value() if settings.milvus_token else "",
            milvus_index=settings.milvus_index,
        )

    def with_scorer(self, scorer: str) -> IndexSpec:
        """The same spec, naming the answer stage it serves with."""
        return replace(self, scorer=scorer)

    def recorded(self) -> dict[str, Any]:
        """The spec as the manifest records it (its folders aside: a build may be moved).
        Of these, the chunking (and the embedder, recorded beside it) decide whether a
        build can reuse the one before it."""
        return {
            "collection": self.collection,
            "chunking": asdict(self.chunking),
            "ann_threshold": self.ann_threshold,
            "answer_pool": self.answer_pool,
            "scorer": self.scorer,
            "vector_store": self.vector_store,
        }
