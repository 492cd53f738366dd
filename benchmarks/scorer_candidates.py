"""Candidate answer scorers measured the way `make train` measures the one in use: each fitted
on seven SQuAD articles and measured on the eighth, rotated. Every candidate is the shipped
signals plus extra ones, or another learner on them:

- lr (the scorer in use): logistic regression on the 28 signals of answer/candidates.py
- gbm: scikit-learn's HistGradientBoostingClassifier on the same signals
- lr + alignment: for each question word, its best similarity to a sentence word in MiniLM's
  static input embeddings, IDF-weighted (and over the words the sentence lacks)
- lr + late interaction: MaxSim of the question's contextual token vectors (the same forward
  pass) against the sentence's, as ColBERT scores; sentence token vectors would be stored at
  index time

Figures: accuracy before refusals (a gold answer in the quoted text), AUC of answerable vs
unanswerable, ECE, unanswerable refused while 95 % of answerable are answered, and the
extra time per question. Usage: python benchmarks/scorer_candidates.py (about 10 minutes)."""

from __future__ import annotations

import statistics
import tempfile
import time
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path
from typing import Any

import numpy as np
from common import ROOT, write_result

from sco_qa.answer import make_query
from sco_qa.answer.candidates import BASE_FEATURES
from sco_qa.embedding.onnx import model_inputs
from sco_qa.evaluation.squad import calibration_metrics, holds_answer, load_squad
from sco_qa.text import content_words, stems
from sco_qa.training.scorer import (
    Gathered,
    _answer_text,
    _ranked,
    choose_policy,
    gather_all,
    open_engine,
    train,
)

DATA = ROOT / "benchmarks" / "data" / "squad2-dev-part.json"


def base_only(rows: list[Gathered]) -> list[Gathered]:
    return [replace(g, features=g.features[:, : len(BASE_FEATURES)]) for g in rows]


def with_columns(rows: list[Gathered], extra: list[np.ndarray]) -> list[Gathered]:
    return [
        replace(g, features=np.hstack([g.features[:, : len(BASE_FEATURES)], x]))
        for g, x in zip(rows, extra, strict=True)
    ]


def static_alignment(engine: Any, rows: list[Gathered]) -> tuple[list[np.ndarray], float]:
    """Per candidate: IDF-weighted best static similarity of the question's words, overall
    and over the words the sentence lacks; and the seconds it took per question."""
    from safetensors.numpy import load_file
    from tokenizers import Tokenizer

    from sco_qa.embedding import model_path

    weights = load_file(str(model_path() / "model.safetensors"))
    table = weights["embeddings.word_embeddings.weight"]
    table = table / np.linalg.norm(table, axis=1, keepdims=True)
    tok = Tokenizer.from_file(str(model_path() / "tokenizer.json"))
    tok.no_padding()
    tok.no_truncation()
    cache: dict[str, np.ndarray] = {}

    def vec(word: str) -> np.ndarray:
        if word not in cache:
            ids = tok.encode(word, add_special_tokens=False).ids
            v = table[ids].mean(axis=0) if ids else np.zeros(table.shape[1], np.float32)
            cache[word] = v / (np.linalg.norm(v) or 1.0)
        return cache[word]

    stats, sents = engine.table.stats, engine.table.sentences
    out, t0 = [], time.perf_counter()
    for g in rows:
        words = list(dict.fromkeys(content_words(make_query(g.question.question).topic_text)))
        if not words or not g.positions:
            out.append(np.zeros((len(g.positions), 2), np.float32))
            continue
        qs = stems(words)
        idf = np.array([stats.idf.get(s, stats.unseen_idf) for s in qs])
        q = np.vstack([vec(w) for w in words])
        cols = []
        for pos in g.positions:
            sw = list(dict.fromkeys(content_words(sents[pos].text))) or ["-"]
            best = (q @ np.vstack([vec(w) for w in sw]).T).max(axis=1)
            missing = np.array([s not in set(stems(sw)) for s in qs])
            lacking = (idf * best * missing).sum() / max((idf * missing).sum(), 1e-9)
            cols.append([(idf * best).sum() / idf.sum(), lacking if missing.any() else 1.0])
        out.append(np.asarray(cols, np.float32))
    return out, (time.perf_counter() - t0) / len(rows)


def late_interaction(engine: Any, rows: list[Gathered]) -> tuple[list[np.ndarray], float]:
    """Per candidate: mean over question tokens of the best cosine to a sentence token
    (contextual MiniLM token vectors); and the seconds per question of the question side."""
    emb = engine.embedder
    session = emb._session(False)

    def tokens_of(texts: list[str]) -> list[np.ndarray]:
        enc = emb._tok.encode_batch(texts)
        feed = model_inputs(enc)
        hidden = session.run(None, feed)[0]
        out = []
        for h, e in zip(hidden, enc, strict=True):
            keep = [i for i, (m, s) in enumerate(zip(e.attention_mask, e.special_tokens_mask,
                                                      strict=True)) if m and not s]  # fmt: skip
            v = h[keep] if keep else h[:1]
            out.append(v / np.linalg.norm(v, axis=1, keepdims=True))
        return out

    texts = [s.text for s in engine.table.sentences]
    sentence_tokens = [t for i in range(0, len(texts), 64) for t in tokens_of(texts[i : i + 64])]
    out, t0 = [], time.perf_counter()
    for g in rows:
        (q,) = tokens_of([make_query(g.question.question).search_text])
        out.append(
            np.array(
                [[float((q @ sentence_tokens[p].T).max(axis=1).mean())] for p in g.positions],
                np.float32,
            ).reshape(len(g.positions), 1)
        )
    return out, (time.perf_counter() - t0) / len(rows)


class Boosted:
    """A gradient-boosted scorer in the place of the logistic regression (same policy)."""

    def __init__(self, engine: Any, rows: list[Gathered]) -> None:
        from sklearn.ensemble import HistGradientBoostingClassifier

        x = np.vstack([g.features for g in rows if g.positions])
        y = np.concatenate([g.labels for g in rows if g.positions])
        self.clf = HistGradientBoostingClassifier(random_state=0).fit(x, y)
        base = train(engine, rows, products=False, provenance={})
        self.model = replace(base)
        object.__setattr__(self.model, "probabilities", self.probabilities)
        runner, calibration, threshold = choose_policy(self.model, engine, rows)
        self.model = replace(self.model, runner_up=runner, calibration=calibration,
                             threshold=threshold)  # fmt: skip
        object.__setattr__(self.model, "probabilities", self.probabilities)

    def probabilities(self, features: np.ndarray) -> np.ndarray:
        return np.asarray(self.clf.predict_proba(features)[:, 1])


def loao(engine: Any, rows: list[Gathered], fit: Callable[[list[Gathered]], Any]) -> dict:
    conf, holds, answerable, lengths = [], [], [], []
    for doc_id in dict.fromkeys(g.question.doc_id for g in rows):
        model = fit([g for g in rows if g.question.doc_id != doc_id])
        for g in (g for g in rows if g.question.doc_id == doc_id):
            ranked = _ranked(model, engine, g)
            text = _answer_text(engine, ranked, model.runner_up) if ranked else ""
            held = g.question.answerable and holds_answer(text, g.question.answers)
            conf.append(model.confidence(ranked))
            holds.append(held)
            answerable.append(g.question.answerable)
            if g.question.answerable:
                lengths.append(len(text))
    m = calibration_metrics(conf, holds, answerable)
    accuracy = statistics.fmean(h for h, a in zip(holds, answerable, strict=True) if a)
    return {
        "accuracy_before_refusals": round(accuracy, 4),
        "answerable_auc": m["answerable_auc"],
        "ece": m["ece"],
        "unanswerable_refused_at_95": m["unanswerable_refused_at_95"],
        "median_answer_chars": statistics.median(lengths),
    }


def main() -> None:
    squad = load_squad(DATA)
    with tempfile.TemporaryDirectory() as tmp:
        engine = open_engine(squad, Path(tmp))
        rows = gather_all(engine, squad.questions)
        base = base_only(rows)
        align, align_s = static_alignment(engine, rows)
        late, late_s = late_interaction(engine, rows)
        lr = lambda r: train(engine, r, products=True, provenance={})  # noqa: E731  (all columns of the rows)
        results = {
            "lr (in use)": {**loao(engine, base, lr), "extra_ms_per_question": 0.0},
            "gbm": {
                **loao(engine, base, lambda r: Boosted(engine, r).model),
                "extra_ms_per_question": 0.0,
            },
            "lr + static alignment": {
                **loao(engine, with_columns(rows, align), lr),
                "extra_ms_per_question": round(align_s * 1e3, 2),
            },
            "lr + late interaction": {
                **loao(engine, with_columns(rows, late), lr),
                "extra_ms_per_question": round(late_s * 1e3, 2),
            },
        }
    best = max(results, key=lambda k: results[k]["accuracy_before_refusals"])
    write_result(
        "scorer_candidates",
        {"candidates": results},
        "; ".join(
            f"{k}: accuracy {v['accuracy_before_refusals']}, AUC {v['answerable_auc']}, "
            f"ECE {v['ece']}"
            for k, v in results.items()
        )
        + f" (best accuracy: {best})",
    )


if __name__ == "__main__":
    main()
