"""Find and read the documents of a corpus folder."""

from .discovery import (
    SUFFIXES,
    corpus_fingerprint,
    doc_id_for,
    document_hash,
    document_paths,
    load_corpus,
)
from .markdown import parse_front_matter, read_document

__all__ = [
    "SUFFIXES",
    "corpus_fingerprint",
    "doc_id_for",
    "document_hash",
    "document_paths",
    "load_corpus",
    "parse_front_matter",
    "read_document",
]
