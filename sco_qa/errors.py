"""The package's exceptions.

ScoQaError
├── ConfigError        bad settings
├── CorpusError        a document cannot be found or read
├── ModelError         the embedding model is missing or fails to load
├── IndexStateError    the index is missing, stale, corrupt or mismatched
│   └── StaleIndexError  the corpus changed since the index was built
├── QuestionError      a question (or its history) is not acceptable
└── GoldenSetError     the golden set file is invalid
"""

from __future__ import annotations


class ScoQaError(Exception):
    """Base of every error the package raises on purpose."""

    code = "error"


class ConfigError(ScoQaError):
    code = "bad_config"


class CorpusError(ScoQaError):
    code = "corpus_error"


class ModelError(ScoQaError):
    code = "model_error"


class IndexStateError(ScoQaError):
    code = "index_error"


class StaleIndexError(IndexStateError):
    code = "stale_index"


class QuestionError(ScoQaError):
    code = "bad_question"


class GoldenSetError(ScoQaError):
    code = "bad_golden_set"
