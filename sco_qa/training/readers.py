"""``sco-qa train-reader`` (part of ``make train``): the reader trained on all 18 SQuAD
articles (the shipped one) and on three grouped folds (each fold's six articles never seen
by its model, so that every held-out figure and the answer policy come from articles the
reader was not fitted to).

The work folder keeps the index, the checkpoints and each finished model: a run that is
stopped goes on from where it was when started again.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import statistics
import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, astuple, dataclass, replace
from pathlib import Path
from typing import Any

import numpy as np

from ..answer import (
    Answerer,
    Cascade,
    LogisticPolicy,
    Pool,
    Scored,
    Scoring,
    load_scorer,
    lr_answerer,
    make_query,
)
from ..answer.cascade import POLICY_SIGNALS, READ_CANDIDATES, Mix, Reading, reader_version
from ..answer.compose import phrase_slice
from ..answer.pairs import LAYOUT, MAX_TOKENS, PairText
from ..answer.reader import FORMAT as READER_FORMAT
from ..answer.reader import META_FILE, WEIGHTS_FILE, OnnxReader, Read, Titles
from ..answer.scorer import MODEL_FILE, ScorerModel
from ..durable import replace_atomically
from ..embedding import Embedder
from ..embedding.base import MODEL_NAME
from ..engine import Engine
from ..evaluation.metrics import EVAL_TOP_K, Report
from ..evaluation.reports import write_reports
from ..evaluation.squad import (
    KEEP_ANSWERED,
    SquadQuestion,
    SquadSet,
    evaluate_squad,
    holds_answer,
    load_squads,
    token_f1,
)
from .reader import (
    CANDIDATES,
    SEED,
    Schedule,
    cpu_bf16,
    holds,
    make_groups,
    pair_count,
    train_reader,
)
from .scorer import (
    MAX_MEDIAN_CHARS,
    RUNNER_UPS,
    Gathered,
    _answer_text,
    _ranked,
    gather_all,
    open_engine,
    pooled,
)
from .scorer import train as train_scorer

log = logging.getLogger(__name__)
FOLDS = 3
#: the shipped reader: 1.2 epochs over the 18 articles, the forward pass in bfloat16 (fold 0's
#: reader, judged on its six held-out articles, benchmarks/reader_epochs.py: its first choice
#: of the scorer's best four holds the answer for 0.7425 after 0.6 epoch, 0.762 after 1.2;
#: times in README "The reader"), its phrase heads taught the null phrase too (fold 0's
#: reader with and without, its six articles dealt into three pairs, each pair's mix and
#: policy fitted on the other two: accuracy 0.863 → 0.870, first sentence 0.784 → 0.794,
#: near misses refused at 95 % answered 18.3 → 21.9 %, AUC 0.643 → 0.658)
FINAL = Schedule(epochs=1.2, bf16=True, null_span=True)
#: fold readers: the shipped reader's schedule over their 12 articles, so that the mix and
#: the policy fitted on their readings fit the shipped reader's logits (fold readers of 0.3
#: epoch gave the reader a weight of 0.19 in the mix)
FOLD = FINAL
COMMAND = "make train (sco-qa train-reader)"
#: off-topic questions for the answer policy: every AWAY_EVERY-th question of a fold, asked as
#: if its article were not in the corpus (its passages dropped from the AWAY_DEPTH best), is a
#: negative beside SQuAD's near misses. On fold 0's articles (policies fitted on three of them,
#: tested on the other three; this layout's 0.6-epoch fold reader) questions about a removed
#: article were refused 80 % of the time with every second question, 54 % without. Every
#: question instead of every second (held-out folds, the 1.2-epoch fold readers' readings,
#: README "The reader"): removed article refused 96.6 → 97.1 %, ECE 0.024 → 0.017, near misses
#: refused at 95 % answered 20.0 → 19.7 %, accuracy 0.830 either way
AWAY_EVERY = 1
AWAY_DEPTH = 60
#: a phrase counts as right from this token F1 against its best gold answer
PHRASE_F1 = 0.5
#: a phrase is shown when its calibrated probability of being right is at least this: more
#: likely right than wrong (none is better than a wrong one)
PHRASE_SHOWN = 0.5
#: the fold readers' reads are saved after this many questions that read something new
SAVE_EVERY = 1000


@dataclass(frozen=True)
class Prepared:
    """The training data read, indexed and scored by the answer scorer."""

    squad: SquadSet
    engine: Engine
    rows: list[Gathered]
    folds: dict[str, int]  # document id → fold


def fold_of(squad: SquadSet, folds: int = FOLDS) -> dict[str, int]:
    """Articles dealt round-robin into ``folds`` groups in file order (the dev articles,
    which hold most unanswerable questions, spread over every fold)."""
    return {d.doc_id: i % folds for i, d in enumerate(squad.documents)}


def prepare(data: Sequence[Path], folder: Path, embedder: Embedder | None = None) -> Prepared:
    """Index the articles in ``folder`` and gather every question's candidates."""
    squad = load_squads(data)
    engine = open_engine(squad, folder, embedder)
    rows = gather_all(engine, squad.questions)
    return Prepared(squad, engine, rows, fold_of(squad))


def ranked(
    engine: Engine, rows: Sequence[Gathered], model: ScorerModel
) -> list[tuple[SquadQuestion, list[int]]]:
    """Each question with its candidate sentences, best first by the answer scorer."""
    return [(g.question, [s.pos for s in _ranked(model, engine, g)]) for g in rows]


def fold_scorer(prep: Prepared, fold: int) -> ScorerModel:
    """The answer scorer fitted on the articles outside ``fold`` only."""
    train_rows = [g for g in prep.rows if prep.folds[g.question.doc_id] != fold]
    return train_scorer(prep.engine, train_rows, products=False, provenance={})


def run_key(prep: Prepared, scorer: ScorerModel, fold: int | None) -> dict[str, object]:
    """What a reader's training depends on besides its schedule (its checkpoints and its
    ``done.json`` are kept only for the same): the data, the fold, the candidates' scorer,
    their count, the pool and the pair layout."""
    digest = hashlib.sha256(json.dumps(scorer.to_json(), sort_keys=True).encode()).hexdigest()
    return {
        "data_sha256": prep.squad.sha256,
        "fold": fold,
        "candidates": CANDIDATES,
        "max_tokens": MAX_TOKENS,
        "layout": LAYOUT,
        "pool": prep.engine.spec.answer_pool,
        "scorer_sha256": digest,
    }


@dataclass(frozen=True)
class Plan:
    """Where a reader run reads and writes, and its schedules."""

    data: tuple[Path, ...]
    work: Path
    results: Path
    out: Path = WEIGHTS_FILE.parent  # where the shipped reader is written
    final: Schedule = FINAL
    fold: Schedule = FOLD
    candidates: int = READ_CANDIDATES  # sentences the cascade reads a question


def train_all(
    plan: Plan, embedder: Embedder | None = None, progress: Callable[[str], None] = print
) -> dict[str, Any]:
    """The shipped reader, the fold readers, then the policy and the held-out figures."""
    plan.work.mkdir(parents=True, exist_ok=True)
    prep = prepare(plan.data, plan.work / "data", embedder)
    progress(f"{len(prep.squad.questions)} questions over {len(prep.squad.documents)} articles")
    shipped = load_scorer()
    groups = make_groups(prep.engine, ranked(prep.engine, prep.rows, shipped), inject=True)
    progress(f"final: {len(groups)} groups, {pair_count(groups)} pairs")
    train_reader(groups, plan.work / "final", schedule=plan.final,
                 key=run_key(prep, shipped, None), progress=progress)  # fmt: skip
    for fold in range(FOLDS):
        scorer = fold_scorer(prep, fold)
        rows = [g for g in prep.rows if prep.folds[g.question.doc_id] != fold]
        groups = make_groups(prep.engine, ranked(prep.engine, rows, scorer), inject=True)
        progress(f"fold {fold}: {len(groups)} groups, {pair_count(groups)} pairs")
        train_reader(groups, plan.work / f"fold-{fold}", schedule=plan.fold,
                     key=run_key(prep, scorer, fold), progress=progress)  # fmt: skip
    return finish(prep, plan, progress)


class MemoReader(OnnxReader):
    """The served reader that keeps what it read, pair by pair, in a file of the work folder
    named by its weights' hash: a fold's questions are read once for the policy's fit and
    asked again for the held-out figures, and a run started again (after a stop, or to refit
    the policy, or with fewer candidates) reads nothing it read before: the reader reads
    each pair on its own, so a pair's values do not depend on the others read with it."""

    def __init__(self, weights: Path, frozen: int, cache_dir: Path) -> None:
        super().__init__(weights, frozen, cache_dir)
        self.file = cache_dir / f"{self.version}.{MAX_TOKENS}.pairs.json"
        self._memo: dict[PairText, tuple[float, float, tuple[int, int], float, float]] = {}
        if self.file.is_file():
            for row in json.loads(self.file.read_text("utf-8")):
                answer, null, a, b, p, *span = row[4:]  # no span: saved before it was read
                self._memo[PairText(*row[:4])] = (answer, null, (a, b), p, (span or [0.0])[0])
        self.hits = 0  # questions whose every pair was read before
        self.fresh = 0  # questions that read a new pair
        self._unsaved = 0

    def read(self, pairs: Sequence[PairText], positions: Sequence[int]) -> list[Read]:
        """What the reader says of each candidate, each pair read once."""
        todo = [i for i, p in enumerate(pairs) if p not in self._memo]
        if todo:
            got = super().read([pairs[i] for i in todo], [positions[i] for i in todo])
            for i, r in zip(todo, got, strict=True):
                self._memo[pairs[i]] = (r.answer, r.null, r.phrase, r.phrase_p, r.span)
            self.fresh += 1
            self._unsaved += 1
            if self._unsaved >= SAVE_EVERY:
                self.save()
        else:
            self.hits += 1
        return [Read(pos, *self._memo[p]) for p, pos in zip(pairs, positions, strict=True)]

    def save(self) -> None:
        """Write what was read so far (atomically)."""
        if self._unsaved:
            rows = [[*astuple(t), *v[:2], *v[2], *v[3:]] for t, v in self._memo.items()]
            self.file.parent.mkdir(parents=True, exist_ok=True)
            replace_atomically(self.file, json.dumps(rows).encode())
            self._unsaved = 0


def cascade_of(
    first: ScorerModel, weights: Path, *, cache_dir: Path, name: str, candidates: int
) -> Cascade:
    """A cascade over trained reader weights (exported to ONNX int8 as served) reading
    ``candidates`` sentences a question, remembering its reads."""
    reader = MemoReader(weights, FINAL.frozen_layers, cache_dir)
    return Cascade(first, reader, {"trained": name}, reader.version, candidates)


def outputs(
    engine: Engine, cascade: Cascade, questions: Sequence[SquadQuestion], *, away: bool = False
) -> list[tuple[SquadQuestion, Reading]]:
    """What both stages of ``cascade`` say of each question, retrieved as ``ask``
    retrieves; with ``away``, as if the question's own article were not in the corpus (its
    passages dropped from a deeper retrieval, the rest ranked on)."""
    titles = Titles(engine.index.documents)
    out = []
    for q in questions:
        query = make_query(q.question)
        got = engine.retrieve(query, AWAY_DEPTH if away else EVAL_TOP_K)
        hits = list(got.hits[: engine.spec.answer_pool])
        if away:  # the rest ranked on, as if the article had never been there
            rest = [h for h in got.hits if h.chunk.doc_id != q.doc_id]
            hits = [replace(h, rank=r) for r, h in enumerate(rest[: engine.spec.answer_pool], 1)]
        pool = Pool(engine.table, titles, got.vector, hits, got.terms)
        out.append((q, cascade.read(query, pool)))
    return out


def fit_mix(engine: Engine, readings: Sequence[tuple[SquadQuestion, Reading]]) -> Mix:
    """The cascade's ranking: a logistic regression, over every read candidate, of "holds
    the answer" on the reader's answer logit, its "no answer" logit, its best phrase's
    log-probability and that phrase's score over the null phrase, and the answer scorer's
    log-odds. On held-out folds (six candidates, the same readings) the first sentence held
    the answer for 0.732 of answerable questions with the answer logit and the scorer's
    alone, 0.739 with the next two; with the null phrase's reader, 0.782 → 0.794 with the
    fifth (fold 0, README "The reader")."""
    sents = engine.table.sentences
    x, y = [], []
    for q, reading in readings:
        for s, r in zip(reading.top, reading.reads, strict=True):
            x.append(Mix.inputs(r, s.score))
            y.append(holds(q, sents[s.pos]))
    (a, b, n, p, g), c = fit_logistic(np.array(x), y)
    return Mix(round(a, 6), round(b, 6), round(c, 6), round(n, 6), round(p, 6), round(g, 6))


def scorings(
    readings: Sequence[tuple[SquadQuestion, Reading]], mix: Mix
) -> list[tuple[SquadQuestion, Scoring]]:
    """The readings ranked and signalled with ``mix``."""
    return [(q, reading.scoring(mix)) for q, reading in readings]


def _phrase_right(engine: Engine, q: SquadQuestion, best: Scored) -> tuple[float, bool] | None:
    """(raw probability, F1 ≥ PHRASE_F1) of the best sentence's phrase."""
    if best.phrase is None:
        return None
    s = engine.table.sentences[best.pos]
    doc = engine.index.documents[s.doc_id]
    span = (s.start + best.phrase[0], s.start + best.phrase[1])
    got = phrase_slice(doc, span, lo=s.start, hi=s.end)
    f1 = max(token_f1(got.text, a) for a in q.answers) if got else 0.0
    return best.phrase[2], f1 >= PHRASE_F1


def fit_logistic(x: np.ndarray, y: Sequence[bool]) -> tuple[tuple[float, ...], float]:
    """Coefficients and intercept of a logistic regression (L2, C=1: scikit-learn's
    default); with one class only (a tiny training set), no slope and that class's odds."""
    from sklearn.linear_model import LogisticRegression

    width = x.shape[1] if x.ndim == 2 else 1
    if len(set(y)) < 2:
        share = (sum(y) + 0.5) / (len(y) + 1.0)
        return (0.0,) * width, float(np.log(share / (1 - share)))
    lr = LogisticRegression(C=1.0, max_iter=5000, random_state=SEED).fit(x, list(y))
    return tuple(float(c) for c in lr.coef_[0]), float(lr.intercept_[0])


Scorings = Sequence[tuple[SquadQuestion, Scoring]]


@dataclass(frozen=True)
class FoldRows:
    """One fold's rows for the policy: the signals of its in-corpus scorings with whether
    each answer holds (and whether the question is answerable), and the signals of its
    off-topic scorings (all negatives)."""

    x: np.ndarray
    y: tuple[bool, ...]
    answerable: tuple[bool, ...]
    away: np.ndarray


def _signals(scored: Sequence[Scoring]) -> np.ndarray:
    rows = [[sc.signals[n] for n in POLICY_SIGNALS] for sc in scored]
    return np.array(rows, dtype=float).reshape(-1, len(POLICY_SIGNALS))


def _runner_up(engine: Engine, outs: Scorings) -> float:
    """The runner-up share with the best accuracy whose median answer stays short."""
    best: tuple[float, float] = (-1.0, 1.0)
    answerable = [(q, sc) for q, sc in outs if q.answerable and sc.ranked]
    for r in RUNNER_UPS:
        texts = [_answer_text(engine, sc.ranked, r) for _, sc in answerable]
        acc = statistics.fmean(
            holds_answer(t, q.answers) for t, (q, _) in zip(texts, answerable, strict=True)
        )
        if statistics.median(len(t) for t in texts) <= MAX_MEDIAN_CHARS and acc > best[0]:
            best = (acc, r)
    return best[1]


def fold_rows(engine: Engine, outs: Scorings, away: Scorings, runner_up: float) -> FoldRows:
    """A fold's scorings as the policy's rows."""
    rows = [(q, sc) for q, sc in outs if sc.ranked]
    y = tuple(
        q.answerable and holds_answer(_answer_text(engine, sc.ranked, runner_up), q.answers)
        for q, sc in rows
    )
    return FoldRows(_signals([sc for _, sc in rows]), y, tuple(q.answerable for q, _ in rows),
                    _signals([sc for _, sc in away if sc.ranked]))  # fmt: skip


def _fit_raw(parts: Sequence[FoldRows]) -> tuple[np.ndarray, float]:
    x = np.vstack([*(p.x for p in parts), *(p.away for p in parts)])
    y = [*(v for p in parts for v in p.y), *(False for p in parts for _ in range(len(p.away)))]
    coef, intercept = fit_logistic(x, y)
    return np.array(coef), intercept


def calibration(parts: Sequence[FoldRows]) -> tuple[float, float, np.ndarray]:
    """Platt scaling of the policy's log-odds, nested: each fold's in-corpus log-odds from
    the fit on the other folds, then (slope, offset) of a logistic regression of "holds" on
    them, and the answerable questions' calibrated out-of-fold confidences. With one fold,
    nothing to nest: (1, 0) and the in-sample confidences."""
    z = np.concatenate(
        [p.x @ c + b for i, p in enumerate(parts) for c, b in [_fit_raw(_without(parts, i))]]
    )
    if len(parts) < 2:
        return 1.0, 0.0, _answerable_confidences(parts, z, 1.0, 0.0)
    (a,), b = fit_logistic(z.reshape(-1, 1), [v for p in parts for v in p.y])
    return a, b, _answerable_confidences(parts, z, a, b)


def _without(parts: Sequence[FoldRows], i: int) -> list[FoldRows]:
    """The folds but the ``i``-th (all of them when there is only one)."""
    return [p for j, p in enumerate(parts) if j != i] or list(parts)


def _answerable_confidences(
    parts: Sequence[FoldRows], z: np.ndarray, a: float, b: float
) -> np.ndarray:
    mask = np.array([v for p in parts for v in p.answerable], dtype=bool)
    return np.asarray(1.0 / (1.0 + np.exp(-(a * z[mask] + b))))


def fit_policy(engine: Engine, folds: Sequence[tuple[Scorings, Scorings]]) -> LogisticPolicy:
    """The answer policy, fitted on each fold's (in-corpus, off-topic) scorings of articles
    its reader did not see, off-topic ones all negatives: runner-up ratio; the confidence, a
    logistic regression over the signals Platt-scaled on out-of-fold log-odds (nested across
    the folds) and folded into one; the threshold keeping 95 % of the answerable questions
    answered by those out-of-fold confidences; the phrase's calibration."""
    outs = [o for f in folds for o in f[0]]
    runner_up = _runner_up(engine, outs)
    parts = [fold_rows(engine, inside, away, runner_up) for inside, away in folds]
    coef, intercept = _fit_raw(parts)
    a, b, conf = calibration(parts)
    conf = np.sort(conf)
    threshold = round(float(conf[int((1 - KEEP_ANSWERED) * len(conf))]), 4) if len(conf) else 0.0
    policy = LogisticPolicy(POLICY_SIGNALS, tuple(float(a * c) for c in coef),
                            a * intercept + b, threshold, runner_up,
                            calibration=(round(a, 6), round(b, 6)))  # fmt: skip
    rows = [(q, sc) for q, sc in outs if sc.ranked]
    held = [v for p in parts for v in p.y]
    phrases = [
        p
        for (q, sc), h in zip(rows, held, strict=True)
        if h and (p := _phrase_right(engine, q, sc.ranked[0])) is not None
    ]
    px = np.log(np.maximum(np.array([[p] for p, _ in phrases]).reshape(-1, 1), 1e-9))
    (pa,), pb = fit_logistic(px, [r for _, r in phrases])
    return replace(policy, phrase=(pa, pb), phrase_threshold=PHRASE_SHOWN)


def evaluate_fold(engine: Engine, answerer: Answerer, questions: Sequence[SquadQuestion]) -> Report:
    """``ask`` through ``answerer`` on held-out questions, judged at its threshold."""
    test = replace(engine, answerer=answerer)
    docs = engine.index.documents
    return evaluate_squad(
        questions, test.ask, lambda d: docs[d].text, threshold=answerer.policy.threshold
    )


def removed_article(prep: Prepared, answerer: Answerer, work: Path) -> dict[str, Any]:
    """Questions about an article taken out of the corpus: the share refused."""
    gone = next(d for d in prep.squad.documents if prep.folds[d.doc_id] == 0)
    rest = tuple(d for d in prep.squad.documents if d.doc_id != gone.doc_id)
    questions = [q for q in prep.squad.questions if q.doc_id == gone.doc_id]
    squad = replace(prep.squad, documents=rest, questions=())
    engine = open_engine(squad, work / "removed", prep.engine.embedder)
    test = replace(engine, answerer=answerer)
    refused = [test.ask(q.question, EVAL_TOP_K).confidence < answerer.policy.threshold
               for q in questions]  # fmt: skip
    return {"article": gone.title, "questions": len(questions),
            "refused": round(sum(refused) / len(refused), 4)}  # fmt: skip


def _provenance(prep: Prepared, plan: Plan, started: float) -> dict[str, Any]:
    import torch

    return {
        "data": [p.name for p in plan.data],
        "data_sha256": prep.squad.sha256,
        "articles": [d.title for d in prep.squad.documents],
        "questions": len(prep.squad.questions),
        "embedder": MODEL_NAME,
        "pool": prep.engine.spec.answer_pool,
        "candidates": plan.candidates,
        "train_candidates": CANDIDATES,
        "max_tokens": MAX_TOKENS,
        "layout": LAYOUT,
        "schedule": asdict(plan.final),
        "fold_schedule": asdict(plan.fold),
        "folds": FOLDS,
        "policy": "the mix and the policy fitted on the fold readers' readings of articles "
        "they did not see (and, for the policy, of each question asked with its article "
        "left out, as negatives); the policy's log-odds Platt-scaled on each fold's log-odds "
        "from the fit on the other folds, its threshold from those out-of-fold confidences",
        "away": {"every": AWAY_EVERY, "depth": AWAY_DEPTH},
        "seed": SEED,
        "device": f"cpu ({os.cpu_count()} cores{', AVX-512 BF16' if cpu_bf16() else ''}), "
        f"torch {torch.__version__}",
        "command": COMMAND,
        "policy_seconds": round(time.perf_counter() - started, 1),
    }


def write_reader(
    weights: Path, plan: Plan, *, policy: LogisticPolicy, mix: Mix, provenance: dict[str, Any]
) -> str:
    """The shipped reader: its tensors and ``reader.json`` beside the answer scorer."""
    raw = weights.read_bytes()
    replace_atomically(plan.out / WEIGHTS_FILE.name, raw)
    first = load_scorer()
    if plan.out.resolve() != MODEL_FILE.parent.resolve():  # the first stage goes along
        replace_atomically(plan.out / MODEL_FILE.name, MODEL_FILE.read_bytes())
    digest = hashlib.sha256(raw).hexdigest()
    meta = {
        "format": READER_FORMAT,
        "weights": WEIGHTS_FILE.name,
        "weights_sha256": digest,
        "frozen_layers": FINAL.frozen_layers,
        "candidates": plan.candidates,
        "max_tokens": MAX_TOKENS,
        "layout": LAYOUT,
        "first_stage": MODEL_FILE.name,
        "first_stage_version": first.version,
        "mix": mix.to_json(),
        "policy": policy.to_json(),
        "provenance": provenance,
    }
    replace_atomically(plan.out / META_FILE.name, (json.dumps(meta, indent=1) + "\n").encode())
    return reader_version(meta)


def _memos(cascades: dict[int, Cascade]) -> list[MemoReader]:
    return [c.reader for c in cascades.values() if isinstance(c.reader, MemoReader)]


def _save(cascades: dict[int, Cascade]) -> None:
    for memo in _memos(cascades):
        memo.save()


def untimed(metrics: dict[str, float]) -> dict[str, float]:
    """Held-out figures without ask's times: the reader's reuse the fold readings, so
    ``benchmarks/ask_latency.py --answer-model reader`` measures its latency instead."""
    return {k: v for k, v in metrics.items() if not k.startswith("latency_")}


def finish(prep: Prepared, plan: Plan, progress: Callable[[str], None] = print) -> dict[str, Any]:
    """Fold readers' readings → the mix and the policy of each fold (fitted on the other
    folds) → held-out figures; the shipped reader written with the mix and the policy
    fitted on every fold's readings."""
    started = time.perf_counter()
    work, results = plan.work, plan.results
    engine, cache = prep.engine, work / "onnx"
    by_fold = {f: [q for q in prep.squad.questions if prep.folds[q.doc_id] == f]
               for f in range(FOLDS)}  # fmt: skip
    scorers = {f: fold_scorer(prep, f) for f in range(FOLDS)}
    cascades = {
        f: cascade_of(scorers[f], work / f"fold-{f}" / "reader.safetensors", cache_dir=cache,
                      name=f"fold-{f}", candidates=plan.candidates)
        for f in range(FOLDS)
    }  # fmt: skip
    reads = {f: outputs(engine, cascades[f], by_fold[f]) for f in range(FOLDS)}
    aways = {f: outputs(engine, cascades[f], by_fold[f][::AWAY_EVERY], away=True)
             for f in range(FOLDS)}  # fmt: skip
    _save(cascades)
    progress("fold readings done")
    summary: dict[str, Any] = {"folds": {}, "baseline_folds": {}, "mixes": {},
                               "policies": {}}  # fmt: skip
    reports, baselines = [], []
    for f in range(FOLDS):
        others = [o for g in range(FOLDS) if g != f for o in reads[g]]
        mix = fit_mix(engine, others)
        policy = fit_policy(engine, [(scorings(reads[g], mix), scorings(aways[g], mix))
                                     for g in range(FOLDS) if g != f])  # fmt: skip
        cascade = replace(cascades[f], mix=mix)
        reports.append(evaluate_fold(engine, Answerer(cascade, policy), by_fold[f]))
        baselines.append(evaluate_fold(engine, lr_answerer(scorers[f]), by_fold[f]))
        summary["folds"][f] = untimed(reports[-1].metrics)
        summary["baseline_folds"][f] = baselines[-1].metrics
        summary["mixes"][f] = mix.to_json()
        summary["policies"][f] = policy.to_json()
        if f == 0:
            removed = removed_article(prep, Answerer(cascade, policy), work)
            removed_first = removed_article(prep, lr_answerer(scorers[f]), work)
        progress(f"fold {f}: accuracy {reports[-1].metrics['accuracy']}")
    report, baseline = pooled(reports, "reader, grouped folds"), pooled(baselines)
    memos = _memos(cascades)
    reused, fresh = sum(m.hits for m in memos), sum(m.fresh for m in memos)
    _save(cascades)
    progress(f"held-out figures reused {reused} fold readings")
    summary |= {"pooled": untimed(report.metrics), "baseline": baseline.metrics,
                "reads_reused": reused, "reads_new": fresh,
                "reliability": [list(r) for r in report.reliability],
                "removed_article": removed,
                "baseline_removed_article": removed_first}  # fmt: skip
    every = [o for f in range(FOLDS) for o in reads[f]]
    mix = fit_mix(engine, every)
    policy = fit_policy(engine, [(scorings(reads[f], mix), scorings(aways[f], mix))
                                 for f in range(FOLDS)])  # fmt: skip
    version = write_reader(work / "final" / "reader.safetensors", plan, policy=policy, mix=mix,
                           provenance=_provenance(prep, plan, started))  # fmt: skip
    summary |= {"reader_version": version, "policy": policy.to_json(), "mix": mix.to_json()}
    write_reports(report, results / "reader")
    replace_atomically(results / "reader.json", json.dumps(summary, indent=2).encode())
    return summary
