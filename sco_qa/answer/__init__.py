"""The answer stage: read the question, score the candidate sentences, quote the best with
exact citations or refuse."""

from .compose import Composed, compose, not_found_text, rerank
from .features import KINDS, SentenceStats, SentenceTable, kind_match, needs_antecedent
from .query import MAX_CHARS, MAX_TURNS, Query, clean_question, make_query, question_kind
from .scorer import Scored, Weights, confidence, coverage, score_sentences

__all__ = [
    "KINDS",
    "MAX_CHARS",
    "MAX_TURNS",
    "Composed",
    "Query",
    "Scored",
    "SentenceStats",
    "SentenceTable",
    "Weights",
    "clean_question",
    "compose",
    "confidence",
    "coverage",
    "kind_match",
    "make_query",
    "needs_antecedent",
    "not_found_text",
    "question_kind",
    "rerank",
    "score_sentences",
]
