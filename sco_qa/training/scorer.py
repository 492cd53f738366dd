"""Training the answer scorer on SQuAD articles, and measuring it leave-one-article-out.

``sco-qa train`` (``make train``): index all articles, gather every question's candidate
sentences with their features and labels (does the sentence hold a gold answer span?), then
for each article fit on the others and measure on it with the real ``ask`` path; last, fit on
all articles and write ``sco_qa/answer/scorer.json``. scikit-learn is needed here only.
"""

from __future__ import annotations

import hashlib
import json
import logging
import statistics
import tempfile
import time
from collections.abc import Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import numpy as np

from ..answer import (
    ScorerModel,
    feature_names,
    gather,
    load_answerer,
    lr_answerer,
    make_query,
)
from ..answer.candidates import BASE_FEATURES
from ..answer.compose import cite, pick, spans
from ..answer.policy import Scored, logit
from ..answer.scorer import MODEL_FILE, model_version, untrained
from ..config import load_settings
from ..durable import replace_atomically
from ..embedding import Embedder, load_embedder
from ..engine import Engine
from ..evaluation.metrics import EVAL_TOP_K, Report
from ..evaluation.reports import write_reports
from ..evaluation.squad import (
    KEEP_ANSWERED,
    SquadQuestion,
    SquadSet,
    evaluate_squad,
    holds_answer,
    load_squad,
    reliability,
    squad_metrics,
    write_corpus,
)

log = logging.getLogger(__name__)
SEED = 0
#: L2 strength of the logistic regression (scikit-learn's default, not tuned)
C = 1.0
#: runner-up ratios tried; 1.0 quotes one sentence (and its antecedent) only
RUNNER_UPS = (1.0, 0.8, 0.6, 0.5, 0.4, 0.3, 0.2)
#: the answer length the policy must keep the median under (the product's target)
MAX_MEDIAN_CHARS = 250
VARIANTS = {"lr-base": False, "lr-products": True}


@dataclass(frozen=True)
class Gathered:
    """One question's candidates: sentence positions, features (with q∘s) and labels."""

    question: SquadQuestion
    positions: list[int]
    features: np.ndarray
    labels: np.ndarray


def open_engine(squad: SquadSet, folder: Path, embedder: Embedder | None = None) -> Engine:
    """An engine over the articles (threshold 0: every question gets its best answer)."""
    corpus = folder / "corpus"
    write_corpus(squad, corpus)
    settings = load_settings(
        corpus_dir=corpus, index_dir=folder / "index", abstain_threshold=0.0, embed_cache_size=0
    )
    emb = embedder or load_embedder(settings)
    return Engine.open(settings, emb, answerer=untrained(feature_names(emb.dim, True), True))


def _labels(engine: Engine, q: SquadQuestion, positions: list[int]) -> np.ndarray:
    sents = engine.table.sentences
    hit = [
        q.answerable
        and sents[p].doc_id == q.doc_id
        and any(sents[p].start <= s < sents[p].end for s, _ in q.spans)
        for p in positions
    ]
    return np.asarray(hit, dtype=np.int8)


def gather_all(engine: Engine, questions: Sequence[SquadQuestion]) -> list[Gathered]:
    """Candidates, features and labels of every question, as the engine retrieves them."""
    out = []
    for q in questions:
        query = make_query(q.question)
        got = engine.retrieve(query, EVAL_TOP_K)
        pool = got.hits[: engine.spec.answer_pool]
        cands = gather(engine.table, query, got.vector, hits=pool, terms=got.terms, products=True)
        out.append(
            Gathered(q, cands.positions, cands.features, _labels(engine, q, cands.positions))
        )
    return out


def _columns(products: bool) -> slice:
    return slice(None) if products else slice(0, len(BASE_FEATURES))


def fit(rows: Sequence[Gathered], products: bool) -> tuple[np.ndarray, np.ndarray, Any]:
    """Standardisation and a logistic regression over the candidates of ``rows``."""
    from sklearn.linear_model import LogisticRegression

    x = np.vstack([g.features[:, _columns(products)] for g in rows if len(g.positions)])
    y = np.concatenate([g.labels for g in rows if len(g.positions)])
    mean, scale = x.mean(axis=0), x.std(axis=0)
    scale[scale < 1e-6] = 1.0
    model = LogisticRegression(C=C, max_iter=2000, random_state=SEED)
    model.fit((x - mean) / scale, y)
    return mean, scale, model


def _ranked(model: ScorerModel, engine: Engine, g: Gathered) -> list[Scored]:
    if not g.positions:
        return []
    probs = model.probabilities(g.features[:, _columns(model.products)]).tolist()
    quote = engine.table.stats.quote_previous
    ranked = [Scored(p, s, quote[p]) for p, s in zip(g.positions, probs, strict=True)]
    return sorted(ranked, key=lambda s: (-s.score, s.pos))


def _answer_text(engine: Engine, ranked: list[Scored], runner_up: float) -> str:
    chosen = pick(ranked, runner_up, engine.settings.max_answer_sentences)
    runs = spans(engine.table, chosen)
    return " ".join(c.quote for c in cite(engine.table, engine.index.documents, runs))


def choose_policy(
    model: ScorerModel, engine: Engine, rows: Sequence[Gathered]
) -> tuple[float, tuple[float, float, float], float]:
    """On training questions only: the runner-up ratio (most answers holding the answer with
    the median answer under ``MAX_MEDIAN_CHARS``), the Platt calibration of the confidence,
    and the threshold that keeps 95 % of answerable questions answered."""
    from sklearn.linear_model import LogisticRegression

    ranked = [_ranked(model, engine, g) for g in rows]
    best: tuple[float, float] = (-1.0, 1.0)
    texts: dict[float, list[str]] = {}
    for r in RUNNER_UPS:
        texts[r] = [_answer_text(engine, rk, r) if rk else "" for rk in ranked]
        lengths = [len(t) for t, g in zip(texts[r], rows, strict=True) if g.question.answerable]
        acc = statistics.fmean(
            holds_answer(t, g.question.answers)
            for t, g in zip(texts[r], rows, strict=True)
            if g.question.answerable
        )
        if statistics.median(lengths) <= MAX_MEDIAN_CHARS and acc > best[0]:
            best = (acc, r)
    runner_up = best[1]
    holds = [
        g.question.answerable and holds_answer(t, g.question.answers)
        for t, g in zip(texts[runner_up], rows, strict=True)
    ]
    x = np.array(
        [
            [logit(rk[0].score), logit(rk[1].score if len(rk) > 1 else 1e-6)] if rk else [-14, -14]
            for rk in ranked
        ]
    )
    platt = LogisticRegression(C=1e6, max_iter=2000, random_state=SEED).fit(x, holds)
    calibration = (float(platt.coef_[0][0]), float(platt.coef_[0][1]), float(platt.intercept_[0]))
    calibrated = replace(model, calibration=calibration, runner_up=runner_up)
    conf = [calibrated.confidence(rk) for rk in ranked]
    answerable = [g.question.answerable for g in rows]
    ans = sorted(c for c, a in zip(conf, answerable, strict=True) if a)
    threshold = round(ans[int((1 - KEEP_ANSWERED) * len(ans))], 4) if ans else 0.0
    return runner_up, calibration, threshold


def train(
    engine: Engine, rows: Sequence[Gathered], *, products: bool, provenance: dict[str, Any]
) -> ScorerModel:
    """A scorer fitted on ``rows``, with its answer policy chosen on the same rows."""
    mean, scale, lr = fit(rows, products)
    model = ScorerModel(
        feature_names(engine.embedder.dim, products),
        mean.astype(np.float32),
        scale.astype(np.float32),
        lr.coef_[0].astype(np.float32),
        float(lr.intercept_[0]),
        (1.0, 0.0, 0.0),
        0.0,
        1.0,
        products,
        provenance,
    )
    runner_up, calibration, threshold = choose_policy(model, engine, rows)
    return replace(model, calibration=calibration, runner_up=runner_up, threshold=threshold)


def held_out(engine: Engine, model: ScorerModel, questions: Sequence[SquadQuestion]) -> Report:
    """``ask`` with ``model`` on questions of an article it was not trained on."""
    test = replace(engine, answerer=lr_answerer(model))
    docs = engine.index.documents
    return evaluate_squad(questions, test.ask, lambda d: docs[d].text, threshold=model.threshold)


def pooled(reports: Sequence[Report], version: str = "") -> Report:
    """One report over the questions of every held-out article."""
    outcomes = [o for r in reports for o in r.outcomes]
    holds = [h for r in reports for h in r.held]
    firsts = [f for r in reports for f in r.first_held]
    conf = [o.confidence for o in outcomes]
    m = squad_metrics(outcomes, holds, firsts)
    return Report(
        m, outcomes, None, tuple(reliability(conf, holds)), version, tuple(holds), tuple(firsts)
    )


def sha256(path: Path) -> str:
    """The SHA-256 of a file."""
    return hashlib.sha256(path.read_bytes()).hexdigest()


def leave_one_article_out(
    engine: Engine, rows: Sequence[Gathered], products: bool
) -> tuple[Report, dict[str, dict[str, float]]]:
    """Each article answered by a scorer fitted on the other articles only."""
    reports, by_article = [], {}
    for doc_id in dict.fromkeys(g.question.doc_id for g in rows):
        train_rows = [g for g in rows if g.question.doc_id != doc_id]
        test = [g.question for g in rows if g.question.doc_id == doc_id]
        model = train(engine, train_rows, products=products, provenance={})
        report = held_out(engine, model, test)
        reports.append(report)
        by_article[doc_id] = report.metrics
        log.info("%s: accuracy %s", doc_id, report.metrics["accuracy"])
    return pooled(reports), by_article


def run(data: Path, results: Path, out: Path = MODEL_FILE) -> dict[str, Any]:
    """The whole training: leave-one-article-out figures for every variant, the variant
    with the best held-out accuracy fitted on all articles and written to ``out``."""
    from sklearn import __version__ as sklearn_version

    started = time.perf_counter()
    squad = load_squad(data)
    summary: dict[str, Any] = {"variants": {}}
    with tempfile.TemporaryDirectory() as tmp:
        engine = open_engine(squad, Path(tmp))
        rows = gather_all(engine, squad.questions)
        reports = {}
        for variant, products in VARIANTS.items():
            reports[variant], by_article = leave_one_article_out(engine, rows, products)
            summary["variants"][variant] = {
                "pooled": reports[variant].metrics,
                "reliability": [list(r) for r in reports[variant].reliability],
                "by_article": by_article,
            }
        chosen = max(VARIANTS, key=lambda v: reports[v].metrics["accuracy"])
        provenance = {
            "data": str(data.name),
            "data_sha256": squad.sha256,
            "articles": [d.title for d in squad.documents],
            "questions": len(squad.questions),
            "variant": chosen,
            "seed": SEED,
            "pool": engine.spec.answer_pool,
            "embedder": engine.embedder.name,
            "command": "make train (sco-qa train)",
            "scikit_learn": sklearn_version,
        }
        final = train(engine, rows, products=VARIANTS[chosen], provenance=provenance)
    raw = (json.dumps(final.to_json(), indent=1) + "\n").encode("utf-8")
    replace_atomically(out, raw)
    summary |= {
        "chosen": chosen,
        "scorer_sha256": hashlib.sha256(raw).hexdigest(),
        "scorer_version": model_version(raw),
        "data_sha256": squad.sha256,
        "seconds": round(time.perf_counter() - started, 1),
    }
    best = replace(reports[chosen], scorer=f"{chosen}, leave-one-article-out")
    write_reports(best, results / "squad")
    replace_atomically(results / "scorer.json", json.dumps(summary, indent=2).encode())
    return summary


def squad_report(data: Path, articles: Sequence[str] = ()) -> Report:
    """The shipped answer stage on ``articles`` of a SQuAD file, end to end: index, ask,
    judge. (On its own training articles the figures are in-sample; ``run`` and
    ``sco-qa train-reader`` give held-out ones.)"""
    squad = load_squad(data, articles)
    with tempfile.TemporaryDirectory() as tmp:
        engine = open_engine(squad, Path(tmp))
        s = engine.settings
        answerer = load_answerer(s.answer_model, s.model_cache_dir, s.model_threads)
        engine = replace(engine, answerer=answerer)
        docs = engine.index.documents
        threshold = answerer.policy.threshold
        report = evaluate_squad(
            squad.questions, engine.ask, lambda d: docs[d].text, threshold=threshold
        )
    return replace(report, scorer=answerer.version)
