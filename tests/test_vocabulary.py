from sco_qa.index.lexical import LexicalIndex
from sco_qa.index.vocabulary import Vocabulary, acronyms_of
from sco_qa.text import tokens

TEXT = (
    "Unlike the North Atlantic Treaty Organization (NATO), the bloc is no pact. "
    "Earlier this year, the European Union announced an investment. It will chair the "
    "Preparatory Committee of the Non-Proliferation Treaty. Leaders met at the summit."
)


def test_acronyms_from_definitions_and_names() -> None:
    found = acronyms_of(TEXT)
    assert found["nato"] == "North Atlantic Treaty Organization"  # not "Unlike …"
    assert found["eu"] == "European Union"
    assert found["npt"] == "Non-Proliferation Treaty"
    assert "en" not in found  # "Earlier" opens a sentence: not part of a name


def test_questions_read_as_the_corpus_writes() -> None:
    index = LexicalIndex.build([TEXT])
    assert index.query_tokens("What did the EU announce?") == tokens("European Union announce")
    assert index.query_tokens("where did the leaders meet at the sumit") == tokens(
        "leaders meet summit"
    )
    assert index.query_tokens("how tall") == ["tall"]  # short words are never changed
    assert index.scores("EU")[0] > 0


def test_vocabulary_round_trip() -> None:
    vocab = Vocabulary.from_texts([TEXT])
    again = Vocabulary.from_json(vocab.to_json())
    assert again == vocab
    assert Vocabulary.from_json(["alpha", "bravo"]).words == ("alpha", "bravo")
