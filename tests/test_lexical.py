import numpy as np

from sco_qa.index.lexical import LexicalIndex
from sco_qa.text import normalise, tokens


def test_punctuation_quotes_and_case_fold() -> None:
    assert tokens("Geopoconsult?") == tokens("geopoconsult,") == ["geopoconsult"]
    assert tokens("Kazakhstan’s") == tokens("Kazakhstan's") == tokens("KAZAKHSTAN")
    assert normalise("“Three evils” — ok") == '"three evils" - ok'


def test_bm25_ranks_the_distinctive_word(tmp_path) -> None:
    texts = ["Asif Shuja founded Geopoconsult, a consultancy.", "The SCO met in Astana.", ""]
    index = LexicalIndex.build(texts)
    scores = index.scores("Who founded Geopoconsult?")
    assert scores.argmax() == 0 and scores[1] == 0
    assert not index.scores("zzz unknown").any()
    files = index.save(tmp_path)
    assert files and all(p.suffix in (".npy", ".json") for p in files)  # no pickle
    loaded = LexicalIndex.load(tmp_path, len(texts))
    np.testing.assert_allclose(loaded.scores("Geopoconsult"), index.scores("Geopoconsult"))


def test_empty_index() -> None:
    index = LexicalIndex.build([])
    assert index.scores("anything").shape == (0,)


def test_word_readings_memo_is_bounded_and_never_loses_a_word() -> None:
    index = LexicalIndex.build(["Leaders met at the summit in Astana.", "Eurasia is large."])
    index._readings_kept = 3
    first = index.query_tokens("summit astana leaders")
    assert first == ["summit", "astana", "leader"]
    assert index.query_tokens("summit eurasia") == ["summit", "eurasia"]  # was a KeyError
    assert len(index._readings) <= 3
    assert index.query_tokens("summit astana leaders") == first
