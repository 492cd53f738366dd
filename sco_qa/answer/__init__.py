"""The answer stage: read the question, score the candidate sentences with the learned
scorer, quote the best with exact citations or refuse."""

from .candidates import Candidates, coverage, feature_names, gather
from .cascade import Answerer, Cascade, load_answerer, lr_answerer
from .compose import Composed, compose, not_found_text, rerank
from .features import KINDS, SentenceStats, SentenceTable, kind_match, needs_antecedent
from .policy import AnswerPolicy, LogisticPolicy, Pool, Scored, Scoring, SentenceScorer
from .query import MAX_CHARS, MAX_TURNS, Query, clean_question, make_query, question_kind
from .scorer import MODEL_FILE, ScorerModel, load_scorer, score_sentences

__all__ = [
    "KINDS",
    "MAX_CHARS",
    "MAX_TURNS",
    "MODEL_FILE",
    "AnswerPolicy",
    "Answerer",
    "Candidates",
    "Cascade",
    "Composed",
    "LogisticPolicy",
    "Pool",
    "Query",
    "Scored",
    "ScorerModel",
    "Scoring",
    "SentenceScorer",
    "SentenceStats",
    "SentenceTable",
    "clean_question",
    "compose",
    "coverage",
    "feature_names",
    "gather",
    "kind_match",
    "load_answerer",
    "load_scorer",
    "lr_answerer",
    "make_query",
    "needs_antecedent",
    "not_found_text",
    "question_kind",
    "rerank",
    "score_sentences",
]
