"""What a new build takes from the live one, so that it costs what changed: the passages and
sentences of every document whose content is unchanged, and the vector of every text the
same model has embedded already. Both are keyed by content (the document's hash, the
text's hash) and by the embedder and chunking that made them, never by file name or time.
"""

from __future__ import annotations

import hashlib
import json
import logging
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np

from ..chunking import ChunkingParams
from ..errors import IndexStateError
from ..records import Chunk, Sentence
from .manifest import CURRENT, MANIFEST, read_manifest, verify_checksums

log = logging.getLogger(__name__)


def text_key(text: str) -> bytes:
    """The key a text's vector is kept under: a hash of its content."""
    return hashlib.blake2b(text.encode("utf-8"), digest_size=16).digest()


@dataclass(frozen=True)
class Previous:
    """The live build, as a new build may reuse it."""

    build: str
    records: dict[str, tuple[str, list[Chunk], list[Sentence]]]  # doc id → (hash, records)
    vectors: np.ndarray  # the build's passage vectors, then its sentence vectors
    rows: dict[bytes, int]  # text key → row of ``vectors``
    cut: frozenset[bytes] | None = None  # keys of texts longer than the model's input

    def too_long(self, text: str) -> bool | None:
        """Whether ``text`` was cut to the model's input, when the live build knows it."""
        key = text_key(text)
        if self.cut is None or key not in self.rows:
            return None
        return key in self.cut

    def vector(self, text: str) -> np.ndarray | None:
        """The vector the live build holds for ``text``, if any."""
        row = self.rows.get(text_key(text))
        return None if row is None else self.vectors[row]


def read_records(folder: Path) -> tuple[list[Chunk], list[Sentence]]:
    """A build's passages and sentences as ``chunks.json`` holds them (unchecked)."""
    raw = json.loads((folder / "chunks.json").read_text(encoding="utf-8"))
    chunks = [Chunk(**{**c, "sentence_ids": tuple(c["sentence_ids"])}) for c in raw["chunks"]]
    return chunks, [Sentence(**s) for s in raw["sentences"]]


def _by_document(
    chunks: list[Chunk], sentences: list[Sentence], hashes: dict[str, str]
) -> dict[str, tuple[str, list[Chunk], list[Sentence]]]:
    out: dict[str, tuple[str, list[Chunk], list[Sentence]]] = {
        d: (h, [], []) for d, h in hashes.items()
    }
    for c in chunks:
        out[c.doc_id][1].append(c)
    for s in sentences:
        out[s.doc_id][2].append(s)
    return out


def previous_build(
    index_dir: Path, *, model: str, dim: int, chunking: ChunkingParams
) -> tuple[Previous | None, str]:
    """The live build when a new one may reuse it, else None, with the reason it may not
    (said in the build's report: the new build is then a full one)."""
    pointer = index_dir / CURRENT
    if not pointer.is_file():
        return None, "no earlier build"
    folder = index_dir / pointer.read_text(encoding="utf-8").strip()
    try:
        manifest = read_manifest(folder)
        if manifest.model.name != model or manifest.model.dim != dim:
            return None, f"the embedding model changed ({manifest.model.name} → {model})"
        if manifest.chunking.model_dump() != asdict(chunking):
            return None, "the chunking settings changed"
        verify_checksums(folder, manifest)
        chunks, sentences = read_records(folder)
        pvec = np.load(folder / "passages.npy", mmap_mode="r", allow_pickle=False)
        svec = np.load(folder / "sentences.npy", mmap_mode="r", allow_pickle=False)
    except (IndexStateError, OSError, ValueError, KeyError, TypeError) as exc:
        log.warning("the live build %s cannot be reused (%s): a full build", folder.name, exc)
        return None, f"the live build cannot be read ({exc})"
    vectors = np.concatenate([np.asarray(pvec), np.asarray(svec)])
    texts = [c.text for c in chunks] + [s.text for s in sentences]
    if len(vectors) != len(texts):
        return None, f"the live build's files disagree on their sizes ({MANIFEST})"
    rows = {text_key(t): i for i, t in enumerate(texts)}
    records = _by_document(chunks, sentences, manifest.corpus.documents)
    cut = None
    if manifest.truncated is not None:
        by_id = {c.chunk_id: c.text for c in chunks} | {s.sentence_id: s.text for s in sentences}
        cut = frozenset(text_key(by_id[i]) for i in manifest.truncated if i in by_id)
    return Previous(folder.name, records, vectors, rows, cut), ""
