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
    """A setting is invalid."""

    code = "bad_config"


class CorpusError(ScoQaError):
    """A document cannot be found or read."""

    code = "corpus_error"


class ModelError(ScoQaError):
    """The embedding model is missing or fails to load."""

    code = "model_error"


class IndexStateError(ScoQaError):
    """The index is missing, corrupt or mismatched."""

    code = "index_error"


class StaleIndexError(IndexStateError):
    """The corpus (or the model) changed since the index was built."""

    code = "stale_index"
    change = ""  # what changed, without the advice (a rebuild already under way says this)


class QuestionError(ScoQaError):
    """A question, its history or ``k`` is not acceptable."""

    code = "bad_question"


class GoldenSetError(ScoQaError):
    """The golden set file is invalid."""

    code = "bad_golden_set"
