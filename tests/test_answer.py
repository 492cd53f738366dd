"""Answers on the SCO article with the real model (slow tier)."""

import itertools

import pytest

from sco_qa.errors import QuestionError
from sco_qa.records import Turn

pytestmark = pytest.mark.slow

ANSWERABLE = [
    # list
    ("Which organizations does Kazakhstan chair?", ["CSTO", "Organization of Turkic States"]),
    ("Name the founding members of the Shanghai Five", ["Kyrgyzstan", "Tajikistan"]),
    # number
    ("How much is the EU investing in the transport route?", ["$10.75 billion"]),
    ("How many documents and agreements were signed?", ["25"]),
    # person
    ("Who is the founding director of Geopoconsult?", ["Asif Shuja"]),
    ("who wrote about the anti-terrorist structure's website", ["Temur Umarov"]),
    # place
    ("Where did the leaders meet?", ["Astana"]),
    pytest.param(
        "In which city did the leaders meet?",
        ["Astana"],
        marks=pytest.mark.xfail(
            strict=True,
            reason="a known miss: the right sentence is found first, but its confidence "
            "(0.18) is under the trained threshold (0.21); the article says 'gathered'",
        ),
    ),
    # date
    ("When was the SCO set up?", ["2001"]),
    # why / how
    ("Why is the SCO called a talk shop?", ["unanimity"]),
    ("How did the Kazakh president want to strengthen cybersecurity?", ["information exchange"]),
    # paraphrases that avoid the article's words
    ("what percentage of eurasia does the sco span", ["60 percent"]),
    ("How many people live in the SCO countries?", ["3 billion"]),
    # misspelled, lower-case, as people type
    ("wat is the midle corridor", ["Trans-Caspian"]),
    ("which country takes over the chairmanship next", ["China has taken the rotating"]),
]


@pytest.mark.parametrize(("question", "facts"), ANSWERABLE)
def test_answers_hold_the_facts(ask, question: str, facts: list[str]) -> None:
    answer = ask(question)
    assert answer.answered, answer
    for fact in facts:
        assert fact.lower() in answer.answer.lower(), answer.answer
    assert 1 <= len(answer.citations) <= 3
    assert [c.n for c in answer.citations] == list(range(1, len(answer.citations) + 1))
    for c in answer.citations:
        assert f"{c.quote} [{c.n}]" in answer.answer  # quotes verbatim, each with its marker
    # the passage of the best quote comes first (quotes stand in document order)
    first, top = max(answer.citations, key=lambda c: c.score), answer.passages[0]
    assert (top.chunk.doc_id, top.rank) == (first.doc_id, 1)
    assert top.chunk.start < first.end and first.start < top.chunk.end
    assert all(a.sentence >= b.sentence for a, b in itertools.pairwise(answer.passages))


def test_chair_answer_is_one_concise_quote(ask) -> None:
    answer = ask("Which organizations does Kazakhstan chair?")
    assert answer.citations[0].section == "Kazakhstan’s Chairmanship"
    assert answer.citations[0].paragraph == 10
    assert answer.citations[0].title.startswith("How Kazakhstan’s SCO Chairmanship")
    assert set(answer.timings_ms) == {"embed", "search", "score", "compose", "total"}


@pytest.mark.parametrize(
    "question",
    [
        "How tall is the Independence Palace?",
        "Who won the 2018 football World Cup?",
        "What is the recipe for beshbarmak?",
    ],
)
def test_unanswerable_questions_are_refused(ask, question: str) -> None:
    answer = ask(question)
    assert not answer.answered
    assert answer.citations == ()
    assert "does not answer" in answer.answer
    assert answer.passages  # the closest passages are still shown, as context


def test_follow_up_uses_history(ask) -> None:
    first = ask("Who is Roger Kangas?")
    assert "academic dean" in first.answer
    history = [Turn(first.question, first.answer)]
    follow = ask("And what did he say about trade?", history=history)
    assert follow.answered and "primary trade partner" in follow.answer
    assert "Kangas" in follow.citations[0].quote  # his words, not someone else's
    assert not ask("And what did he say about trade?").answered  # alone: who is "he"?


def test_bad_questions_raise_our_error(engine) -> None:
    with pytest.raises(QuestionError):
        engine.ask("   ")


def test_any_unicode_is_accepted(ask) -> None:
    answer = ask("\u202eКто\u202c председатель ШОС? 🇰🇿" * 3)
    assert answer.question.startswith("\u202e")
