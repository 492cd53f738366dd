"""Reading a question: validation, the kind of answer it asks for, follow-ups."""

import pytest

from sco_qa.answer.query import (
    clean_question,
    has_surrogates,
    is_follow_up,
    make_query,
    question_kind,
)
from sco_qa.errors import QuestionError
from sco_qa.records import Turn


@pytest.mark.parametrize(
    ("question", "kind"),
    [
        ("How many members are there?", "quantity"),
        ("what percentage of the vote did it get", "quantity"),
        ("When was it founded?", "date"),
        ("In which year did the war end?", "date"),
        ("Why does it matter?", "reason"),
        ("wich city hosted it", "place"),
        ("Where is the office?", "place"),
        ("Who leads it?", "person"),
        ("Which countries attended?", "list"),
        ("Describe the plan.", "other"),
        # "is", "was", "has", "does" after the wh-word are verbs, not plural nouns
        ("What is the capital of France?", "other"),
        ("What was the treaty called?", "other"),
        ("Which has the larger army?", "other"),
        ("What does the commission do?", "other"),
        ("What plans were put forward?", "list"),
    ],
)
def test_question_kind(question: str, kind: str) -> None:
    assert question_kind(question) == kind


def test_follow_ups() -> None:
    assert is_follow_up("And what about trade?")
    assert is_follow_up("Which of them borders China?")
    assert is_follow_up("the budget?")  # three words or fewer
    assert not is_follow_up("Where was the summit of the bloc held?")
    query = make_query("What did he say?", [Turn("Who is Kangas?", "…")])
    assert query.follow_up and query.search_text == "Who is Kangas? What did he say?"
    assert not make_query("What did he say?").follow_up
    alone = make_query("Where was the summit of the bloc held?", [Turn("Who is Kangas?", "…")])
    assert not alone.follow_up and alone.search_text == alone.question


def test_topic_text_drops_the_type_noun() -> None:
    assert make_query("Which city hosted the summit?").topic_text == "Which hosted the summit?"
    assert make_query("Who hosted it?").topic_text == "Who hosted it?"


def test_cleaning() -> None:
    assert clean_question("  Cafe\u0301?\x00 ") == "Caf\u00e9?"
    assert has_surrogates("\ud800") and not has_surrogates("ok 🇰🇿")


@pytest.mark.parametrize(
    ("bad", "message"),
    [
        ("", "is empty"),
        ("  \n ", "is empty"),
        ("\x00", "is empty"),
        ("\u200b\u200c\u200d\ufeff", "is empty"),  # zero-width characters only
        ("x" * 1001, "1001 characters; the limit is 1000"),
        ("\ud800 broken", "unpaired surrogate"),
        (42, "must be a string"),
    ],
)
def test_bad_questions(bad: object, message: str) -> None:
    with pytest.raises(QuestionError, match=message):
        make_query(bad)


def test_bad_history() -> None:
    with pytest.raises(QuestionError, match="history has 11 turns"):
        make_query("and then?", [Turn("q", "a")] * 11)
    with pytest.raises(QuestionError, match="history turn 2 contains an unpaired surrogate"):
        make_query("and then?", [Turn("q", "a"), Turn("\udfff", "a")])
