"""The golden question set: JSONL loading and validation against the corpus."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..chunking import chunk_corpus
from ..errors import GoldenSetError
from ..records import Document
from ..text import fold

_FIELDS = {"id", "question", "facts", "support", "answerable"}


@dataclass(frozen=True)
class GoldenItem:
    """One question; ``support`` locates the answering text by characters, not by chunk ids."""

    id: str
    question: str
    facts: tuple[tuple[str, ...], ...]
    support: str
    answerable: bool
    doc_id: str = ""
    start: int = -1
    end: int = -1


def fact_present(group: tuple[str, ...], text: str) -> bool:
    """One of the fact's alternatives stands in ``text`` (case, quotes and spaces folded).

    >>> fact_present(("Ada Lovelace",), "the notes of ADA  LOVELACE’s")
    True
    """
    folded = fold(text)
    return any(fold(alt) in folded for alt in group)


def _parse(line: str, n: int, path: Path) -> dict[str, Any]:
    try:
        row = json.loads(line)
    except ValueError as exc:
        raise GoldenSetError(f"{path}:{n}: not JSON ({exc})") from None
    if not isinstance(row, dict) or set(row) != _FIELDS:
        raise GoldenSetError(f"{path}:{n}: needs exactly the fields {sorted(_FIELDS)}")
    checks = (
        ("id", isinstance(row["id"], str) and bool(row["id"]), "a non-empty string"),
        ("question", isinstance(row["question"], str) and bool(row["question"].strip()),
         "a non-empty string"),
        ("support", isinstance(row["support"], str), "a string (empty when unanswerable)"),
        ("answerable", isinstance(row["answerable"], bool), "true or false"),
        ("facts", isinstance(row["facts"], list) and all(
            isinstance(g, list) and g and all(isinstance(a, str) and a for a in g)
            for g in row["facts"]), "a list of lists of non-empty strings"),
    )  # fmt: skip
    for name, ok, wanted in checks:
        if not ok:
            raise GoldenSetError(f"{path}:{n}: field {name!r} must be {wanted}")
    return row


def _locate(
    row: dict[str, Any],
    n: int,
    path: Path,
    *,
    docs: list[Document],
    sentence_text: dict[str, list[tuple[int, int]]],
) -> GoldenItem:
    facts = tuple(tuple(g) for g in row["facts"])
    if not row["answerable"]:
        if facts or row["support"]:
            raise GoldenSetError(f"{path}:{n}: an unanswerable question has no facts or support")
        return GoldenItem(row["id"], row["question"], (), "", False)
    if not facts or not row["support"]:
        raise GoldenSetError(f"{path}:{n}: an answerable question needs facts and support")
    for doc in docs:
        start = doc.text.find(row["support"])
        if start < 0:
            continue
        end = start + len(row["support"])
        spans = [(s, e) for s, e in sentence_text[doc.doc_id] if s < end and e > start]
        context = doc.text[spans[0][0] : spans[-1][1]] if spans else row["support"]
        missing = [g for g in facts if not fact_present(g, context)]
        if missing:
            raise GoldenSetError(f"{path}:{n}: facts {missing} are not in the supporting text")
        return GoldenItem(
            row["id"], row["question"], facts, row["support"], True, doc.doc_id, start, end
        )
    raise GoldenSetError(f"{path}:{n}: support text does not occur verbatim in the corpus")


def load_golden(path: Path, docs: list[Document]) -> list[GoldenItem]:
    """Read and validate a golden set; a GoldenSetError names the offending line."""
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except (OSError, UnicodeDecodeError) as exc:
        raise GoldenSetError(f"cannot read golden set {path}: {exc}") from None
    _, sentences = chunk_corpus(docs)
    by_doc: dict[str, list[tuple[int, int]]] = {d.doc_id: [] for d in docs}
    for s in sentences:
        by_doc[s.doc_id].append((s.start, s.end))
    items, ids = [], set()
    for n, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        item = _locate(_parse(line, n, path), n, path, docs=docs, sentence_text=by_doc)
        if item.id in ids:
            raise GoldenSetError(f"{path}:{n}: duplicate id {item.id!r}")
        ids.add(item.id)
        items.append(item)
    if not items:
        raise GoldenSetError(f"{path} holds no questions")
    return items
