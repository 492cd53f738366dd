"""Training the learned parts on SQuAD articles: the answer scorer (``scorer``) and the
reader (``reader``), each with figures on articles it was not fitted to."""

from .readers import Plan, train_all
from .scorer import run, squad_report

__all__ = ["Plan", "run", "squad_report", "train_all"]
