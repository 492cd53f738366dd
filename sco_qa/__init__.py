"""sco-qa: questions answered by verbatim, character-exact quotes from a document corpus.

The Python API::

    from sco_qa import Engine, load_settings

    engine = Engine.open(load_settings(corpus_dir="corpus", index_dir="index"))
    answer = engine.ask("Where did the leaders meet?")
    for c in answer.citations:
        print(c.n, c.quote, c.doc_id, c.start, c.end)

Nothing heavy happens on import: the model and the index load in ``Engine.open``.
"""

from .config import Settings, get_settings, load_settings
from .engine import Engine
from .errors import (
    ConfigError,
    CorpusError,
    GoldenSetError,
    IndexStateError,
    ModelError,
    QuestionError,
    ScoQaError,
    StaleIndexError,
)
from .records import Answer, Block, Chunk, Citation, Document, Hit, Sentence, Turn

__all__ = [
    "Answer",
    "Block",
    "Chunk",
    "Citation",
    "ConfigError",
    "CorpusError",
    "Document",
    "Engine",
    "GoldenSetError",
    "Hit",
    "IndexStateError",
    "ModelError",
    "QuestionError",
    "ScoQaError",
    "Sentence",
    "Settings",
    "StaleIndexError",
    "Turn",
    "get_settings",
    "load_settings",
]
