"""The answer stage's seam, in milliseconds: pairs and their token spans, the policy, the
cascade over a deterministic fake reader, phrases as exact slices inside their quote."""

from __future__ import annotations

import json
import math
from dataclasses import dataclass, replace
from types import MappingProxyType

import numpy as np
import pytest

from sco_qa.answer import Cascade, LogisticPolicy, Pool, Scored, Scoring, compose, load_scorer
from sco_qa.answer.cascade import (
    POOL_SIGNALS,
    READER_SIGNALS,
    Mix,
    Reading,
    pool_signals,
    reader_signals,
)
from sco_qa.answer.features import SentenceTable
from sco_qa.answer.pairs import (
    MAX_TOKENS,
    PairInput,
    batch_arrays,
    best_span,
    build_pair,
    char_span,
    span_gap,
    token_span,
)
from sco_qa.answer.query import make_query
from sco_qa.answer.reader import Read, Titles, pair_text
from sco_qa.chunking import chunk_document
from sco_qa.records import Document
from sco_qa.training.readers import FoldRows, _fit_raw, _without, calibration

from .fakes import QuestionWordReader


@dataclass
class Enc:
    ids: list[int]
    offsets: list[tuple[int, int]]


def words(text: str, first_id: int = 1000) -> Enc:
    """A whitespace 'tokenizer': one id per word, with its character span."""
    ids, offsets, at = [], [], 0
    for n, w in enumerate(text.split()):
        at = text.index(w, at)
        ids.append(first_id + n)
        offsets.append((at, at + len(w)))
        at += len(w)
    return Enc(ids, offsets)


def test_a_pair_keeps_the_sentence_whole_and_cuts_the_preceding_sentence_first() -> None:
    sentence = "The EAEU came into force in January 2015"
    pair = build_pair(
        words("when did it start"),
        title=words("Union"),
        previous=words("x " * 200),
        sentence=words(sentence),
    )
    assert len(pair.ids) == MAX_TOKENS and pair.ids[0] == 101 and pair.ids[-1] == 102
    assert len(pair.offsets) == len(sentence.split())  # every word of the sentence kept
    assert pair.types[:6] == (0,) * 6 and pair.types[-1] == 1
    first, last = token_span(pair, sentence.index("January"), len(sentence))
    assert (first - pair.first, last - pair.first) == (6, 7)
    a, b = char_span(pair, first, last)
    assert sentence[a:b] == "January 2015"
    assert token_span(pair, 3, 30) is None  # a span that does not start on a token boundary


def test_best_span_is_the_likeliest_ordered_pair_inside_the_sentence() -> None:
    pair = PairInput((101, 1, 102, 5, 6, 7, 8, 102), (0,) * 3 + (1,) * 5, 3,
                     ((0, 3), (4, 8), (9, 12), (13, 20)))  # fmt: skip
    start = np.array([9.0, 9.0, 9.0, 0.0, 3.0, 0.0, 0.0, 9.0])  # outside the sentence: ignored
    end = np.array([9.0, 9.0, 9.0, 0.0, 0.0, 0.0, 4.0, 9.0])
    first, last, p = best_span(pair, start, end)
    assert (first, last) == (4, 6) and 0.5 < p <= 1.0
    feed = batch_arrays(
        [pair, build_pair(words("q"), title=words("t"), previous=words(""), sentence=words("a b"))]
    )
    assert feed["input_ids"].shape == (2, 8) and feed["attention_mask"][1].sum() == 8


def test_span_gap_is_the_best_phrase_inside_the_sentence_over_the_null_phrase() -> None:
    pair = PairInput((101, 1, 102, 5, 6, 7, 8, 102), (0,) * 3 + (1,) * 5, 3,
                     ((0, 3), (4, 8), (9, 12), (13, 20)))  # fmt: skip
    start = np.array([1.0, 9.0, 9.0, 0.0, 3.0, 0.0, 0.0, 9.0])  # [CLS] at 0: the null phrase
    end = np.array([0.5, 9.0, 9.0, 0.0, 0.0, 0.0, 4.0, 9.0])
    assert span_gap(pair, start, end) == pytest.approx(3.0 + 4.0 - 1.5)
    # an end before its start, or further than max_tokens, is no phrase
    backwards = np.array([0.0, 0, 0, 0.0, 0.0, 0.0, 8.0, 0])
    late_end = np.array([0.0, 0, 0, 8.0, 0.0, 0.0, 0.0, 0])
    assert span_gap(pair, backwards, late_end) == pytest.approx(8.0)  # 6 → 6 or 3 → 3, not 6 → 3
    assert span_gap(pair, late_end, backwards, max_tokens=2) == pytest.approx(8.0)


def test_reader_signals() -> None:
    got = reader_signals(
        [2.0, -1.0, 0.5], [0.0, 1.0, -1.0], first=-0.3, mixed=[0.1, 0.7], spans=[0.0, 0.0]
    )
    assert set(got) == set(READER_SIGNALS)
    assert got["mixed_1"] == 0.7 and got["mixed_2"] == 0.1
    assert got["answer_1"] == 2.0 and got["answer_2"] == 0.5 and got["null"] == 0.0
    p_null = 1 / (1 + math.exp(2) + math.exp(-1) + math.exp(0.5))
    assert got["p_null"] == pytest.approx(math.log(p_null / (1 - p_null)))
    assert reader_signals([1.0], [0.0], first=0.0, mixed=[1.0], spans=[0.0])["answer_2"] == -10.0
    spans = reader_signals([2.0, -1.0], [0.0, 1.0], first=0.0, mixed=[0.1, 0.7], spans=[3.0, -2.0])
    assert spans["span_1"] == -2.0 and spans["span_max"] == 3.0  # the best mixed candidate's


def test_the_mix_ranks_by_both_stages_as_fitted() -> None:
    first = Scoring([Scored(0, 0.9, False), Scored(1, 0.2, False)], {"top": 2.2})
    reads = [Read(0, -1.0, 0.0, (0, 2), 0.5), Read(1, 1.0, 0.0, (0, 3), 0.6)]
    reading = Reading(first, first.ranked, reads)
    alone = reading.scoring(Mix())  # the reader alone
    assert [s.pos for s in alone.ranked] == [1, 0]
    assert alone.ranked[0].score == pytest.approx(1 / (1 + math.exp(-1.0)))
    both = reading.scoring(Mix(reader=0.5, first=1.0, intercept=-0.2))
    assert [s.pos for s in both.ranked] == [0, 1]  # 0.5·-1 + logit(.9) beats 0.5·1 + logit(.2)
    z = 0.5 * -1.0 + math.log(0.9 / 0.1) - 0.2
    assert both.ranked[0].score == pytest.approx(1 / (1 + math.exp(-z)))
    assert both.signals["mixed_1"] == pytest.approx(z) and both.signals["first_1"] == 2.2
    mix = Mix(0.5, 1.0, -0.2, null=-0.3, phrase=0.4, span=0.2)
    assert Mix.from_json(mix.to_json()) == mix
    assert Mix.from_json({"reader": 0.5, "first": 1.0, "intercept": -0.2}) == Mix(0.5, 1.0, -0.2)
    assert Mix.from_json(None) == Mix()


def test_the_mix_weighs_the_pairs_own_null_vote_and_phrase() -> None:
    first = Scoring([Scored(0, 0.5, False), Scored(1, 0.5, False)], {"top": 0.0})
    reads = [Read(0, 1.0, 3.0, (0, 2), 0.9), Read(1, 0.9, -3.0, (0, 3), 0.1)]
    reading = Reading(first, first.ranked, reads)
    assert [s.pos for s in reading.scoring(Mix()).ranked] == [0, 1]
    assert [s.pos for s in reading.scoring(Mix(null=-0.1)).ranked] == [1, 0]  # 0 votes "none"
    assert [s.pos for s in reading.scoring(Mix(phrase=0.1)).ranked] == [0, 1]
    z = 1.0 - 0.1 * 3.0 + 0.1 * math.log(0.9)
    assert reading.scoring(Mix(null=-0.1, phrase=0.1)).signals["answer_1"] == 1.0
    assert reading.scoring(Mix(null=-0.1, phrase=0.1)).signals["mixed_1"] == pytest.approx(
        max(z, 0.9 + 0.3 + 0.1 * math.log(0.1))
    )


def test_the_mix_weighs_the_phrase_over_the_null_phrase() -> None:
    first = Scoring([Scored(0, 0.5, False), Scored(1, 0.5, False)], {"top": 0.0})
    reads = [Read(0, 1.0, 0.0, (0, 2), 0.5, -4.0), Read(1, 0.9, 0.0, (0, 3), 0.5, 2.0)]
    reading = Reading(first, first.ranked, reads)
    assert [s.pos for s in reading.scoring(Mix()).ranked] == [0, 1]
    spanned = reading.scoring(Mix(span=0.1))
    assert [s.pos for s in spanned.ranked] == [1, 0]  # 0's best phrase loses to its null
    assert spanned.signals["span_1"] == 2.0 and spanned.signals["span_max"] == 2.0


def test_the_policy_reads_its_signals_and_round_trips() -> None:
    policy = LogisticPolicy(("a", "b"), (1.0, -2.0), 0.5, 0.3, 0.8, (1.0, 2.0), 0.5, (0.4, -0.1))
    scoring = Scoring([Scored(0, 0.9, False)], {"a": 1.0, "b": 0.25})
    assert policy.confidence(scoring) == pytest.approx(1 / (1 + math.exp(-1.0)))
    assert policy.confidence(Scoring([], {})) == 0.0
    again = LogisticPolicy.from_json(json.loads(json.dumps(policy.to_json())))
    assert again == policy
    assert policy.shows_phrase(0.5) and not policy.shows_phrase(0.01)  # sigmoid(log p + 2)
    assert not LogisticPolicy(("a",), (1.0,), 0.0, 0.0, 1.0).shows_phrase(0.99)


def _fold(rng: np.random.Generator, which: int, n: int = 400) -> FoldRows:
    """One fold of four signals: the first tells in every fold, the others in one each."""
    x = rng.normal(size=(n, 4))
    y = rng.random(n) < 1 / (1 + np.exp(-(1.5 * x[:, 0] + 3 * x[:, 1 + which])))
    return FoldRows(x, tuple(bool(v) for v in y), (True,) * n, np.zeros((0, 4)))


def _ece(p: np.ndarray, y: np.ndarray, bins: int = 10) -> float:
    which = np.minimum((p * bins).astype(int), bins - 1)
    return float(sum(abs(p[which == b].mean() - y[which == b].mean()) * (which == b).sum()
                     for b in range(bins) if (which == b).any()) / len(p))  # fmt: skip


def test_nested_calibration_tempers_log_odds_that_do_not_carry_to_other_folds() -> None:
    rng = np.random.default_rng(0)
    parts = [_fold(rng, i) for i in range(3)]  # what tells in one fold is noise in the others
    slope, offset, conf = calibration(parts)
    assert 0.1 < slope < 0.8
    y = np.array([v for p in parts for v in p.y])
    z = np.concatenate(
        [p.x @ c + b for i, p in enumerate(parts) for c, b in [_fit_raw(_without(parts, i))]]
    )
    assert _ece(conf, y) < _ece(1 / (1 + np.exp(-z)), y) - 0.02
    assert np.allclose(conf, 1 / (1 + np.exp(-(slope * z + offset))))
    assert calibration(parts[:1])[:2] == (1.0, 0.0)  # one fold: nothing to nest


DOC = Document(
    "eaeu",
    "The Eurasian Union",
    "The union was founded by treaty. The EAEU came into force in January 2015. "
    "Its commission carries out the day-to-day work.\n",
    MappingProxyType({}),
)


def _table() -> SentenceTable:
    chunks, sentences = chunk_document(DOC)
    vectors = np.eye(len(sentences), 8, dtype=np.float32)
    chunk_sentences = {c.chunk_id: tuple(i for i, s in enumerate(sentences)
                                         if s.chunk_id == c.chunk_id) for c in chunks}  # fmt: skip
    return SentenceTable.build(sentences, vectors, chunk_sentences)


def _eaeu(table, scored, policy):
    """What compose makes of ``scored`` sentences of the EAEU document."""
    return compose(
        table,
        {"eaeu": DOC},
        Scoring(scored, {"x": 0.0}),
        policy=policy,
        threshold=0.1,
        max_sentences=3,
    )


def test_a_shown_phrase_is_an_exact_slice_inside_its_quote() -> None:
    table = _table()
    s = table.sentences[1]
    local = s.text.index("January 2015")
    scored = [Scored(1, 0.9, False, (local - 1, local + len("January 2015") + 1, 0.8))]
    policy = LogisticPolicy(("x",), (0.0,), 5.0, 0.1, 1.0, (1.0, 2.0), 0.5)
    result = _eaeu(table, scored, policy)
    c = result.citations[0]
    assert c.phrase is not None and c.phrase.text == "January 2015"  # the spaces trimmed
    assert DOC.text[c.phrase.start : c.phrase.end] == c.phrase.text
    assert c.start <= c.phrase.start < c.phrase.end <= c.end
    unsure = [Scored(1, 0.9, False, (local, local + 12, 0.001))]
    hidden = _eaeu(table, unsure, policy)
    assert hidden.citations[0].phrase is None  # none is better than a wrong one


def test_the_cascade_reorders_the_proposals_by_the_reader() -> None:
    table = _table()
    cascade = Cascade(load_scorer(), QuestionWordReader(), {}, "fake")  # type: ignore[arg-type]
    query = make_query("Who carries out the commission work?")
    hits = [table_hit(table)]
    pool = Pool(table, Titles({"eaeu": DOC}), np.eye(1, 8, dtype=np.float32)[0], hits, [])
    scoring = cascade.score(query, pool)
    assert table.sentences[scoring.ranked[0].pos].text.startswith("Its commission")
    assert set(scoring.signals) == set(READER_SIGNALS) | set(POOL_SIGNALS)
    assert scoring.signals["dense_1"] == 0.5 and scoring.signals["dense_spread"] == 0.0
    assert scoring.ranked[0].phrase == (0, 3, 0.9)


def test_pool_signals_say_how_near_the_corpus_comes_to_the_question() -> None:
    table = _table()
    hit = table_hit(table)
    hits = [replace(hit, dense=d, rank=r) for r, d in enumerate((0.7, 0.5, 0.3), 1)]
    pool = Pool(table, Titles({"eaeu": DOC}), np.zeros(8, dtype=np.float32), hits, [])
    got = pool_signals(pool)
    assert got["dense_1"] == 0.7 and got["dense_spread"] == pytest.approx(0.2)
    assert pool_signals(replace(pool, hits=[])) == {"dense_1": 0.0, "dense_spread": 0.0}


def table_hit(table: SentenceTable):
    from sco_qa.records import Hit

    chunk_id = table.sentences[0].chunk_id
    chunk = next(iter(chunk_document(DOC)[0]))
    assert chunk.chunk_id == chunk_id
    return Hit(chunk, 1.0, 0.5, 1.0, 1)


def test_layout_3_reads_the_preceding_sentence_only_for_a_sentence_that_refers_back() -> None:
    table, titles = _table(), Titles({"eaeu": DOC})
    first, plain, refers = table.sentences[:3]
    assert refers.text.startswith("Its commission")
    for layout in (2, 3):
        assert pair_text(table, titles, "q", pos=0, layout=layout).previous == ""
        assert pair_text(table, titles, "q", pos=2, layout=layout).previous == plain.text
    assert pair_text(table, titles, "q", pos=1, layout=2).previous == first.text
    assert pair_text(table, titles, "q", pos=1, layout=3).previous == ""
    assert pair_text(table, titles, "q", pos=1, layout=3).title == "The Eurasian Union:"
