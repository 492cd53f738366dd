"""The package's exceptions.

ScoQaError
├── ConfigError        bad settings
├── CorpusError        a document cannot be found or read
├── ModelError         the embedding model is missing or fails to load
├── IndexStateError    the index is missing, stale, corrupt or mismatched
│   └── StaleIndexError  the corpus changed since the index was built
├── QuestionError      a question (or its history) is not acceptable
├── CollectionError    a collection a request names cannot be used
│   ├── UnknownCollection   no collection has that name (HTTP 404)
│   └── CollectionForbidden the API key may not use it (HTTP 403)
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


class CollectionError(ScoQaError):
    """A collection a request names cannot be used; ``status`` is its HTTP status."""

    code = "collection_error"
    status = 400


class UnknownCollection(CollectionError):
    """No served collection has the name asked."""

    code = "unknown_collection"
    status = 404


class CollectionForbidden(CollectionError):
    """The request's API key may not use the collection it asked."""

    code = "collection_forbidden"
    status = 403
