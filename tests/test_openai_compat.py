"""The OpenAI-compatible shapes, as pure functions: messages read, answers written, streams cut."""

import json
from types import MappingProxyType

import pytest

from sco_qa.api.openai_compat import (
    SOURCES_HEADING,
    ChatMessage,
    answer_text,
    completion,
    pieces,
    read_messages,
    stream_events,
)
from sco_qa.errors import QuestionError
from sco_qa.records import Answer, Citation

CITED = Answer(
    "Where is the depot?",
    True,
    "The depot is in Lyon. [1] It opens at six. [2]",
    0.8,
    (
        Citation(1, "ops", "Operations", "Sites", 2, 10, 31, "The depot is in Lyon.", 0.7, 3),
        Citation(2, "ops", "Operations", "", 3, 40, 56, "It opens at six.", 0.5),
    ),
    (),
    MappingProxyType({"total": 3.0}),
)
REFUSED = Answer(
    "Who won?", False, "The documents do not contain an answer.", 0.1, (), (), MappingProxyType({})
)


TEXT_Q = {"type": "text", "text": "q"}


def _msgs(*pairs: tuple[str, object]) -> list[ChatMessage]:
    return [ChatMessage.model_validate({"role": r, "content": c}) for r, c in pairs]


def test_last_user_message_is_the_question_earlier_pairs_the_history() -> None:
    question, history = read_messages(
        _msgs(
            ("system", "You are helpful."),
            ("user", "Where is the depot?"),
            ("assistant", "The depot is in Lyon. [1]" + SOURCES_HEADING + "[1] Operations"),
            ("user", [{"type": "text", "text": "And when"}, {"type": "text", "text": "open?"}]),
        )
    )
    assert question == "And when\nopen?"
    assert [(t.question, t.answer) for t in history] == [
        ("Where is the depot?", "The depot is in Lyon. [1]")
    ]


def test_image_parts_and_unpaired_turns_are_not_read() -> None:
    question, history = read_messages(
        _msgs(
            ("user", "first, never answered"),
            ("user", "second"),
            ("assistant", "reply"),
            ("assistant", "a second reply, to nothing"),
            (
                "user",
                [{"type": "image_url", "image_url": {"url": "x"}}, {"type": "text", "text": "q"}],
            ),
        )
    )
    assert question == "q"
    assert [(t.question, t.answer) for t in history] == [("second", "reply")]


def test_history_keeps_the_newest_turns() -> None:
    pairs = [p for i in range(15) for p in (("user", f"q{i}"), ("assistant", f"a{i}"))]
    _, history = read_messages(_msgs(*pairs, ("user", "last")))
    assert len(history) == 10 and history[-1].question == "q14" and history[0].question == "q5"


def test_long_earlier_turns_are_cut_to_what_ask_takes() -> None:
    _, history = read_messages(
        _msgs(("user", "q" * 5000), ("assistant", "a" * 20000), ("user", "x"))
    )
    assert len(history[0].question) == 2000 and len(history[0].answer) == 8000


def test_the_last_message_must_be_the_users() -> None:
    with pytest.raises(QuestionError, match="last message"):
        read_messages(_msgs(("user", "q"), ("assistant", "a")))


def test_text_has_markers_then_sources() -> None:
    text = answer_text(CITED)
    body, sources = text.split(SOURCES_HEADING)
    assert body == CITED.answer
    assert sources.splitlines() == [
        "[1] Operations, Sites, p. 3 (ops, characters 10–31)",
        "[2] Operations (ops, characters 40–56)",
    ]


def test_a_refusal_is_an_ordinary_answer() -> None:
    done = completion(REFUSED, "sco-qa")
    message = done.choices[0].message
    assert message.content == REFUSED.answer and message.citations == []
    assert not done.answered and done.choices[0].finish_reason == "stop"


def test_completion_carries_the_citations_verbatim() -> None:
    done = completion(CITED, "sco-qa").model_dump()
    assert done["object"] == "chat.completion" and done["id"].startswith("chatcmpl-")
    cites = done["choices"][0]["message"]["citations"]
    assert [(c["doc_id"], c["start"], c["end"], c["quote"], c["page"]) for c in cites] == [
        ("ops", 10, 31, "The depot is in Lyon.", 3),
        ("ops", 40, 56, "It opens at six.", 0),
    ]
    assert done["usage"]["total_tokens"] == done["usage"]["prompt_tokens"] + len(
        done["choices"][0]["message"]["content"].split()
    )


@pytest.mark.parametrize("text", ["", "one", "a b  c d\n\ne f g h i j k l m n", "  lead"])
def test_pieces_join_back_to_the_text(text: str) -> None:
    assert "".join(pieces(text, 3)) == text


def _events(done, usage: bool) -> list[object]:
    raw = list(stream_events(done, usage))
    assert all(e.startswith("data: ") and e.endswith("\n\n") for e in raw)
    return [e[6:-2] if e == "data: [DONE]\n\n" else json.loads(e[6:]) for e in raw]


def test_stream_is_openai_chunks_ending_done() -> None:
    done = completion(CITED, "sco-qa")
    events = _events(done, usage=True)
    assert events[-1] == "[DONE]"
    chunks = events[:-1]
    assert all(c["object"] == "chat.completion.chunk" and c["id"] == done.id for c in chunks)
    assert chunks[0]["choices"][0]["delta"] == {"role": "assistant", "content": ""}
    text = "".join(c["choices"][0]["delta"].get("content", "") for c in chunks if c["choices"])
    assert text == done.choices[0].message.content
    last = chunks[-2]["choices"][0]
    assert last["finish_reason"] == "stop"
    assert [c["quote"] for c in last["delta"]["citations"]] == [c.quote for c in CITED.citations]
    assert chunks[-1]["choices"] == [] and chunks[-1]["usage"]["total_tokens"] > 0


def test_stream_without_usage_has_no_usage_chunk() -> None:
    events = _events(completion(REFUSED, "sco-qa"), usage=False)
    assert events[-1] == "[DONE]" and all(e == "[DONE]" or e["choices"] for e in events)
