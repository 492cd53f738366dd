"""Sentence features and the per-index table of them, on hand-written sentences."""

from sco_qa.answer.features import (
    SentenceStats,
    kind_match,
    needs_antecedent,
    proper_names,
    refers_back,
)
from sco_qa.records import Sentence


def _sentences(*texts: str, paragraph: int = 1) -> list[Sentence]:
    out, pos = [], 0
    for i, t in enumerate(texts):
        out.append(
            Sentence(
                f"d#p{paragraph}.s{i + 1}",
                "d",
                f"d#p{paragraph}",
                "",
                paragraph,
                pos,
                pos + len(t),
                t,
            )
        )
        pos += len(t) + 1
    return out


def test_kind_match() -> None:
    assert kind_match("quantity", "It cost $4 billion.") == 1.0
    assert kind_match("quantity", "It was expensive.") == 0.0
    assert kind_match("quantity", "It opened on July 3 in 2019.") == 0.0  # dates are no amounts
    assert kind_match("quantity", "Sales rose 12 percent in 2019.") == 1.0
    assert kind_match("date", "It opened on July 3.") == 1.0
    assert kind_match("date", "It opened downtown.") == 0.0
    assert kind_match("reason", "It failed because of the rain.") == 1.0
    assert kind_match("reason", "It failed.") == 0.3
    assert kind_match("place", "The office is in Lisbon.") == 1.0
    assert kind_match("person", "The report, said Dr. Mary Jones, is late.") == 1.0
    assert kind_match("person", "nobody came.") == 0.0
    assert kind_match("list", "It chairs the CSTO, the OTS, and the CICA.") == 1.0
    assert kind_match("list", "It read “War, Peace, and Else” twice.") == 0.0  # a title's commas
    assert kind_match("other", "Anything.") == 0.5


def test_references_back() -> None:
    assert needs_antecedent("He emphasized trust.") and needs_antecedent("Such plans fail.")
    assert needs_antecedent("The latter won.") and needs_antecedent("“They agreed,” he said.")
    assert not needs_antecedent("This year, the country chairs five bodies.")
    assert not needs_antecedent("The country is keen.")  # no list of nouns of any one text
    assert refers_back("Critics say this is vague.") and not refers_back("Rain fell.")
    assert proper_names("Then Anna met Bob Smith in Paris.") == 3


def test_sentence_stats() -> None:
    sents = [
        *_sentences("Anna founded the Lisbon office.", "She hired ten engineers."),
        *_sentences("Rain fell on Lisbon.", paragraph=2),
    ]
    stats = SentenceStats.from_sentences(sents)
    assert stats.postings["lisbon"] == frozenset({0, 2})
    assert stats.quote_previous == (False, True, False)  # "She" opens sentence 2 only
    assert stats.context["anna"] == frozenset({1})  # sentence 2 leans on sentence 1's words
    assert 2 not in stats.context.get("rain", frozenset())  # not across paragraphs
    assert stats.idf["anna"] > stats.idf["lisbon"]
    assert stats.kinds["quantity"] == (0.0, 1.0, 0.0)


def test_the_next_builds_stats_reuse_the_facts_of_kept_texts() -> None:
    from sco_qa.answer.features import SentenceStats

    first = _sentences("Lisbon hosted the summit in 2019.", "It drew forty leaders.")
    before = SentenceStats.from_sentences(first)
    later = _sentences(
        "A new opening line.", "Lisbon hosted the summit in 2019.", "It drew forty leaders."
    )
    after = SentenceStats.from_sentences(later, before)
    fresh = SentenceStats.from_sentences(later)
    assert (
        after.facts["Lisbon hosted the summit in 2019."]
        is before.facts["Lisbon hosted the summit in 2019."]
    )
    assert after.facts["A new opening line."] is not None
    for name in ("postings", "context", "idf", "unseen_idf", "kinds", "quote_previous"):
        assert getattr(after, name) == getattr(fresh, name), name
