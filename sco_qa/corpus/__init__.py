"""Find and read the documents of a corpus folder: Markdown, text, PDF, HTML and Word files
in any subfolder, each by its own reader; what cannot be read is reported with the reason."""

from .discovery import (
    MAX_FILE_BYTES,
    READERS,
    SUFFIXES,
    UPLOAD_PREFIX,
    CorpusRead,
    corpus_fingerprint,
    doc_id_for,
    document_hash,
    load_corpus,
    read_corpus,
    read_file,
    remove_upload_debris,
)
from .markdown import parse_front_matter, read_document

__all__ = [
    "MAX_FILE_BYTES",
    "READERS",
    "SUFFIXES",
    "UPLOAD_PREFIX",
    "CorpusRead",
    "corpus_fingerprint",
    "doc_id_for",
    "document_hash",
    "load_corpus",
    "parse_front_matter",
    "read_corpus",
    "read_document",
    "read_file",
    "remove_upload_debris",
]
