"""The two kinds of vectors an index keeps, by id: passages and sentences; and the content
version of each id."""

from __future__ import annotations

import hashlib
from collections.abc import Mapping, Sequence
from typing import Any, Literal

from ..records import Chunk, Sentence

Kind = Literal["passages", "sentences"]
KINDS: tuple[Kind, ...] = ("passages", "sentences")

#: each id's content version by kind (``versions_of``): what a store that keeps the vectors
#: of several builds in one place keys its rows by, so that an unchanged text is stored once
Versions = Mapping[Kind, Mapping[str, str]]
#: a build's store record (from its manifest) with its versions
Stored = tuple[Mapping[str, Any], Versions]


def versions_of(chunks: Sequence[Chunk], sentences: Sequence[Sentence], model: str) -> Versions:
    """Each passage's and sentence's version: a hash of the model and its text (the same
    text under the same model has the same vector)."""

    def version(text: str) -> str:
        return hashlib.blake2b(f"{model}\0{text}".encode(), digest_size=8).hexdigest()

    return {
        "passages": {c.chunk_id: version(c.text) for c in chunks},
        "sentences": {s.sentence_id: version(s.text) for s in sentences},
    }
