"""SQuAD 2.0 as an open-book benchmark: every article one document of a corpus, every
question asked against the whole corpus, answers judged against SQuAD's answer spans.

Scores: accuracy (a gold answer, SQuAD-normalised, occurs in the answer), support (a citation
covers a gold span), passage recall, refusals, answer length, and how well the confidence is
calibrated (AUC, expected calibration error, a reliability table).
"""

from __future__ import annotations

import hashlib
import json
import re
import string
import time
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from types import MappingProxyType
from typing import Any

from ..corpus import doc_id_for
from ..errors import GoldenSetError
from ..records import Answer, Document
from .metrics import EVAL_TOP_K, AskFn, Outcome, Report, TextFn, faithful, metrics, overlaps

#: the answerable share a default refusal threshold must keep (the benchmark's operating point)
KEEP_ANSWERED = 0.95
BINS = 10


@dataclass(frozen=True)
class SquadQuestion:
    """One question with its gold answers, located by character offsets in its document."""

    id: str
    question: str
    doc_id: str
    answerable: bool
    answers: tuple[str, ...]
    spans: tuple[tuple[int, int], ...]
    plausible: tuple[tuple[int, int], ...] = ()  # an unanswerable question's tempting spans


@dataclass(frozen=True)
class SquadSet:
    """The articles as documents, their questions, and the data file's SHA-256."""

    documents: tuple[Document, ...]
    questions: tuple[SquadQuestion, ...]
    sha256: str


def _spans(answers: Sequence[dict[str, Any]], shift: int) -> tuple[tuple[int, int], ...]:
    out = []
    for a in answers:
        if str(a.get("text", "")).strip():
            start = shift + int(a["answer_start"])
            out.append((start, start + len(a["text"])))
    return tuple(out)


def _article(raw: dict[str, Any]) -> tuple[Document, list[SquadQuestion]]:
    title = str(raw["title"]).replace("_", " ")
    doc_id = doc_id_for(Path(title))
    parts, questions, offset = [], [], 0
    for para in raw["paragraphs"]:
        context = str(para["context"]).strip()
        for qa in para["qas"]:
            answers = [a for a in qa.get("answers", []) if a["text"].strip()]
            lead = len(para["context"]) - len(para["context"].lstrip())
            spans = _spans(answers, offset - lead)
            tempting = _spans(qa.get("plausible_answers", []), offset - lead)
            texts = tuple(dict.fromkeys(a["text"] for a in answers))
            answerable = not qa.get("is_impossible", False) and bool(texts)
            questions.append(
                SquadQuestion(qa["id"], qa["question"], doc_id, answerable, texts, spans, tempting)
            )
        parts.append(context)
        offset += len(context) + 2
    text = "\n\n".join(parts) + "\n"
    return Document(doc_id, title, text, MappingProxyType({"title": title}), ""), questions


def load_squad(path: Path, articles: Sequence[str] = ()) -> SquadSet:
    """Read a SQuAD 2.0 file, keeping only ``articles`` (titles, any case) when given."""
    try:
        raw = path.read_bytes()
        data = json.loads(raw)["data"]
    except (OSError, ValueError, KeyError) as exc:
        raise GoldenSetError(f"{path} is not a SQuAD 2.0 file ({exc})") from None
    wanted = {a.lower().replace("_", " ") for a in articles}
    docs, questions = [], []
    for item in data:
        if wanted and str(item["title"]).lower().replace("_", " ") not in wanted:
            continue
        doc, qs = _article(item)
        docs.append(doc)
        questions += qs
    if wanted and len(docs) != len(wanted):
        known = ", ".join(str(i["title"]) for i in data)
        raise GoldenSetError(f"{path}: no article named {sorted(wanted)}; it holds {known}")
    texts = {d.doc_id: d.text for d in docs}
    for q in questions:
        gold = {normalize_answer(a) for a in q.answers}
        if any(normalize_answer(texts[q.doc_id][s:e]) not in gold for s, e in q.spans):
            raise GoldenSetError(f"{path}: question {q.id}: answer offsets do not match")
    return SquadSet(tuple(docs), tuple(questions), hashlib.sha256(raw).hexdigest())


def load_squads(paths: Sequence[Path]) -> SquadSet:
    """Several SQuAD 2.0 files as one set; its hash covers every file's hash, in order."""
    sets = [load_squad(p) for p in paths]
    digest = hashlib.sha256("".join(s.sha256 for s in sets).encode()).hexdigest()
    docs = tuple(d for s in sets for d in s.documents)
    return SquadSet(docs, tuple(q for s in sets for q in s.questions), digest)


def write_corpus(squad: SquadSet, folder: Path) -> None:
    """One Markdown file per article (title in front matter, paragraphs as paragraphs)."""
    folder.mkdir(parents=True, exist_ok=True)
    for doc in squad.documents:
        body = f"---\ntitle: {doc.title}\n---\n{doc.text}"
        (folder / f"{doc.doc_id}.md").write_text(body, encoding="utf-8")


_ARTICLES = re.compile(r"\b(a|an|the)\b")
_PUNCT = set(string.punctuation)


def normalize_answer(text: str) -> str:
    """SQuAD's normalisation: lower case, no punctuation, no articles, single spaces.

    >>> normalize_answer("The  Normans, (of Normandy)")
    'normans of normandy'
    """
    text = "".join(ch for ch in text.lower() if ch not in _PUNCT)
    return " ".join(_ARTICLES.sub(" ", text).split())


def holds_answer(answer_text: str, answers: Sequence[str]) -> bool:
    """A gold answer, normalised, occurs in the normalised answer text."""
    norm = f" {normalize_answer(answer_text)} "
    return any(f" {normalize_answer(a)} " in norm for a in answers if normalize_answer(a))


def _covers(q: SquadQuestion, answer: Answer) -> bool:
    return any(
        c.doc_id == q.doc_id and c.start <= s and e <= c.end
        for c in answer.citations
        for s, e in q.spans
    )


def _rank(q: SquadQuestion, answer: Answer) -> int | None:
    for rank, hit in enumerate(answer.passages, start=1):
        c = hit.chunk
        if c.doc_id == q.doc_id and any(overlaps(c.start, c.end, s, e) for s, e in q.spans):
            return rank
    return None


def judge(
    q: SquadQuestion, answer: Answer, text_of: TextFn, *, latency_ms: float, threshold: float
) -> tuple[Outcome, bool]:
    """The outcome at ``threshold`` of an answer made with no threshold, and whether the
    answer (refused or not) holds a gold answer."""
    holds = q.answerable and holds_answer(answer.answer, q.answers)
    answered = answer.confidence >= threshold
    rank = _rank(q, answer) if q.answerable else None
    if not q.answerable:
        failure = "answered an unanswerable question" if answered else ""
    elif holds and answered:
        failure = ""
    else:
        failure = "wrongly refused" if not answered else "no gold answer in the quote"
    outcome = Outcome(
        q.id,
        q.question,
        q.answerable,
        answered,
        holds and answered,
        float(holds and answered),
        answered and q.answerable and _covers(q, answer),
        faithful(answer.citations, text_of),
        rank,
        answer.confidence,
        answer.answer if answered else "",
        answer.citations if answered else (),
        round(latency_ms, 3),
        failure,
        (q.answers,) if q.answerable else (),
    )
    return outcome, holds


def auc(positive: Sequence[float], negative: Sequence[float]) -> float:
    """Probability that a positive scores above a negative (ties count half).

    >>> auc([0.9, 0.8], [0.1, 0.8])
    0.875
    """
    if not positive or not negative:
        return 0.0
    wins = sum((p > n) + 0.5 * (p == n) for p in positive for n in negative)
    return round(wins / (len(positive) * len(negative)), 4)


def reliability(
    confidence: Sequence[float], correct: Sequence[bool], bins: int = BINS
) -> list[tuple[float, float, int]]:
    """(mean confidence, share correct, count) of each non-empty confidence bin."""
    rows = []
    for b in range(bins):
        lo, hi = b / bins, (b + 1) / bins
        idx = [i for i, c in enumerate(confidence) if lo <= c < hi or (b == bins - 1 and c == 1)]
        if idx:
            mean = sum(confidence[i] for i in idx) / len(idx)
            share = sum(correct[i] for i in idx) / len(idx)
            rows.append((round(mean, 4), round(share, 4), len(idx)))
    return rows


def ece(confidence: Sequence[float], correct: Sequence[bool], bins: int = BINS) -> float:
    """Expected calibration error: the count-weighted gap between confidence and accuracy.

    >>> ece([0.9, 0.9, 0.1, 0.1], [True, False, False, False])
    0.25
    """
    rows = reliability(confidence, correct, bins)
    total = sum(n for *_, n in rows)
    return round(sum(n * abs(m - s) for m, s, n in rows) / total, 4) if total else 0.0


def refused_keeping(
    confidence: Sequence[float], answerable: Sequence[bool], keep: float = KEEP_ANSWERED
) -> tuple[float, float]:
    """(threshold, share of unanswerable refused) at the highest threshold that still answers
    at least ``keep`` of the answerable questions."""
    ans = sorted(c for c, a in zip(confidence, answerable, strict=True) if a)
    una = [c for c, a in zip(confidence, answerable, strict=True) if not a]
    if not ans:
        return 0.0, 0.0
    threshold = ans[int((1 - keep) * len(ans))]
    refused = sum(c < threshold for c in una) / len(una) if una else 0.0
    return threshold, round(refused, 4)


def calibration_metrics(
    confidence: Sequence[float], holds: Sequence[bool], answerable: Sequence[bool]
) -> dict[str, float]:
    """AUC (answers holding gold vs not; answerable vs unanswerable), ECE, and the
    unanswerable share refused while keeping 95 % of the answerable answered."""
    threshold, refused = refused_keeping(confidence, answerable)
    pos = [c for c, h in zip(confidence, holds, strict=True) if h]
    neg = [c for c, h in zip(confidence, holds, strict=True) if not h]
    ans = [c for c, a in zip(confidence, answerable, strict=True) if a]
    una = [c for c, a in zip(confidence, answerable, strict=True) if not a]
    return {
        "confidence_auc": auc(pos, neg),
        "answerable_auc": auc(ans, una),
        "ece": ece(confidence, holds),
        "unanswerable_refused_at_95": refused,
        "threshold_at_95": round(threshold, 4),
    }


def token_f1(prediction: str, gold: str) -> float:
    """SQuAD's token F1 of two answers after its normalisation.

    >>> token_f1("in January 2015", "January 2015")
    0.8
    """
    p, g = normalize_answer(prediction).split(), normalize_answer(gold).split()
    common = sum((Counter(p) & Counter(g)).values())
    if not common:
        return 0.0
    precision, recall = common / len(p), common / len(g)
    return round(2 * precision * recall / (precision + recall), 4)


def phrase_metrics(outcomes: Sequence[Outcome]) -> dict[str, float]:
    """Of answered questions whose quote holds a gold answer: the share with a phrase
    shown, and the phrases' mean token F1 against their best gold answer."""
    correct = [o for o in outcomes if o.correct and o.citations and o.facts]
    f1s = [
        max(token_f1(c.phrase.text, g) for g in o.facts[0])
        for o in correct
        for c in o.citations[:1]
        if c.phrase is not None
    ]
    return {
        "phrase_shown": round(len(f1s) / len(correct), 4) if correct else 0.0,
        "phrase_f1": round(sum(f1s) / len(f1s), 4) if f1s else 0.0,
    }


def squad_metrics(
    outcomes: Sequence[Outcome], held: Sequence[bool], first_held: Sequence[bool]
) -> dict[str, float]:
    """Every figure of a SQuAD run (or of several pooled)."""
    conf = [o.confidence for o in outcomes]
    flags = [o.answerable for o in outcomes]
    m = metrics(outcomes)
    lat = sorted(o.latency_ms for o in outcomes)
    m["latency_p99_ms"] = lat[int(0.99 * (len(lat) - 1))] if lat else 0.0
    m["answerable_answered"] = round(1 - m["answerable_refused"], 4)
    firsts = [f for f, a in zip(first_held, flags, strict=True) if a]
    m["first_sentence_holds"] = round(sum(firsts) / len(firsts), 4) if firsts else 0.0
    m |= calibration_metrics(conf, held, flags)
    m |= phrase_metrics(outcomes)
    return m


def evaluate_squad(
    questions: Sequence[SquadQuestion],
    ask: AskFn,
    text_of: TextFn,
    *,
    threshold: float,
    progress: Callable[[int], None] | None = None,
) -> Report:
    """Ask every question (``ask`` must not refuse: threshold 0) and judge the answers at
    ``threshold``; the report's metrics add the calibration of the confidence."""
    outcomes, holds, firsts = [], [], []
    for n, q in enumerate(questions, start=1):
        t0 = time.perf_counter()
        answer = ask(q.question, EVAL_TOP_K)
        outcome, held = judge(
            q, answer, text_of, latency_ms=(time.perf_counter() - t0) * 1e3, threshold=threshold
        )
        outcomes.append(outcome)
        holds.append(held)
        firsts.append(
            q.answerable
            and bool(answer.citations)
            and holds_answer(answer.citations[0].quote, q.answers)
        )
        if progress and n % 200 == 0:
            progress(n)
    conf = [o.confidence for o in outcomes]
    m = squad_metrics(outcomes, holds, firsts)
    return Report(
        m,
        outcomes,
        threshold,
        tuple(reliability(conf, holds)),
        held=tuple(holds),
        first_held=tuple(firsts),
    )
