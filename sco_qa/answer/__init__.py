"""The answer stage: read the question, score the candidate sentences with the learned
scorer, quote the best with exact citations or refuse."""

from .candidates import Candidates, coverage, feature_names, gather
from .compose import Composed, compose, not_found_text, rerank
from .features import KINDS, SentenceStats, SentenceTable, kind_match, needs_antecedent
from .query import MAX_CHARS, MAX_TURNS, Query, clean_question, make_query, question_kind
from .scorer import MODEL_FILE, Scored, ScorerModel, load_scorer, score_sentences

__all__ = [
    "KINDS",
    "MAX_CHARS",
    "MAX_TURNS",
    "MODEL_FILE",
    "Candidates",
    "Composed",
    "Query",
    "Scored",
    "ScorerModel",
    "SentenceStats",
    "SentenceTable",
    "clean_question",
    "compose",
    "coverage",
    "feature_names",
    "gather",
    "kind_match",
    "load_scorer",
    "make_query",
    "needs_antecedent",
    "not_found_text",
    "question_kind",
    "rerank",
    "score_sentences",
]
