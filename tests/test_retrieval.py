import itertools

import numpy as np
import pytest

from sco_qa.engine import Engine
from sco_qa.errors import QuestionError
from sco_qa.retrieval import dense_ranking, rrf, top_n


def test_rrf_by_hand() -> None:
    fused = rrf([[3, 1], [1]], k=1)
    assert fused[3] == pytest.approx(1 / 2)
    assert fused[1] == pytest.approx(1 / 3 + 1 / 2)
    rankings = [[1, 2], [2]]
    rrf(rankings, k=60)
    assert rankings == [[1, 2], [2]]  # inputs untouched
    assert dict(rrf([], k=60)) == {}


def test_top_n() -> None:
    scores = np.array([0.0, 3.0, 1.0, 3.0])
    assert top_n(scores, 3) == [1, 3, 2]
    assert top_n(scores, 10, positive_only=True) == [1, 3, 2]
    assert top_n(np.array([]), 3) == []


@pytest.mark.slow
def test_faiss_matches_brute_force(engine: Engine) -> None:
    rng = np.random.default_rng(0)
    for _ in range(5):
        q = rng.normal(size=engine.embedder.dim).astype(np.float32)
        q /= np.linalg.norm(q)
        ids = [c.chunk_id for c in engine.index.chunks]
        vectors = engine.index.store.get("passages", ids)
        exact = np.argsort(-(vectors @ q), kind="stable")[:10]
        assert dense_ranking(engine.index, q, 10) == [int(i) for i in exact]


@pytest.mark.slow
def test_chair_question_ranks_the_list_first(engine: Engine) -> None:
    hits = engine.search("which organizations does Kazakhstan chair?", k=5)
    assert "Organization of Turkic States" in hits[0].chunk.text
    assert "CSTO" in hits[0].chunk.text
    assert hits[0].dense > 0 and hits[0].lexical > 0
    assert [h.rank for h in hits] == [1, 2, 3, 4, 5]
    assert all(a.sentence >= b.sentence for a, b in itertools.pairwise(hits))
    assert hits[0].sentence > hits[1].sentence > 0


@pytest.mark.slow
@pytest.mark.parametrize(
    ("question", "needle"),
    [
        ("Who founded Geopoconsult?", "Geopoconsult"),  # a distinctive name: BM25's strength
        ("What did the EU pledge for the Middle Corridor?", "$10.75 billion"),
        ("what does RATS do", "Regional Anti-Terrorist Structure"),
        ("Which two powers surround the Central Asian states?", "Located between China and Russia"),
        ("How does India view the organisation?", "development-oriented"),
    ],
)
def test_more_questions_top3(engine: Engine, question: str, needle: str) -> None:
    assert any(needle in h.chunk.text for h in engine.search(question, k=3))


@pytest.mark.slow
def test_k_clamped_and_validated(engine: Engine) -> None:
    assert len(engine.search("SCO", k=20)) == 20 < len(engine.index.chunks)
    with pytest.raises(QuestionError):
        engine.search("SCO", k=0)
    with pytest.raises(QuestionError):
        engine.search("   ")
