import numpy as np

from sco_qa.lexical import LexicalIndex, normalise, tokens


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
