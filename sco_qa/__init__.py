"""sco-qa: questions answered by verbatim, character-exact quotes from a document corpus.

The Python API::

    from sco_qa import Engine, load_settings

    engine = Engine.open(load_settings())  # SCO_QA_* settings: corpus/ and index/ by default
    answer = engine.ask("What do the documents say about the schedule?")
    for c in answer.citations:
        print(c.quote, engine.index.documents[c.doc_id].text[c.start : c.end] == c.quote)

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
from .records import (
    Answer,
    Block,
    Chunk,
    Citation,
    Document,
    Hit,
    Phrase,
    Sentence,
    Skipped,
    Turn,
)

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
    "Phrase",
    "QuestionError",
    "ScoQaError",
    "Sentence",
    "Settings",
    "Skipped",
    "StaleIndexError",
    "Turn",
    "get_settings",
    "load_settings",
]
