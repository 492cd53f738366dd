"""The engine end to end on a real index (FAISS, BM25, files) with fake vectors: fast."""

from pathlib import Path

import pytest

from sco_qa import CorpusError, Engine, IndexStateError, QuestionError, load_settings
from sco_qa.answer import load_scorer
from sco_qa.api.schemas import AnswerOut, PassageOut
from sco_qa.records import Turn

from .conftest import assert_faithful
from .fakes import FakeEmbedder
from .samples import write_mixed


def test_ask_quotes_the_document_exactly(fake_engine: Engine) -> None:
    answer = fake_engine.ask("What was the budget in billion?")
    assert answer.answered and "$4.2 billion" in answer.answer
    assert_faithful(fake_engine, answer)
    assert answer.citations[0].doc_id == "tricky-notes"
    assert set(answer.timings_ms) == {"embed", "search", "score", "compose", "total"}
    assert answer.passages[0].rank == 1 and answer.passages[0].sentence > 0


def test_search_ranks_by_best_sentence(fake_engine: Engine) -> None:
    hits = fake_engine.search("Where does work continue?", k=2)
    assert len(hits) == 2 and "Almaty" in hits[0].chunk.text
    assert hits[0].sentence >= hits[1].sentence


def test_k_limits(fake_engine: Engine) -> None:
    assert len(fake_engine.search("review", k=20)) == len(fake_engine.index.chunks)
    for bad in (0, 21, True, "5"):
        with pytest.raises(QuestionError, match="from 1 to 20"):
            fake_engine.search("review", k=bad)  # type: ignore[arg-type]


def test_follow_up_folds_in_the_previous_question(fake_engine: Engine) -> None:
    answer = fake_engine.ask("And when?", history=[Turn("Who led the review?", "Prof. Lee")])
    assert answer.question == "And when?"
    assert answer.answered and "led by Prof. Lee, ended in 2019" in answer.answer
    assert not fake_engine.ask("And when?").answered  # alone, it names nothing to look for


def test_an_empty_corpus_is_an_error_that_says_what_to_do(tmp_path: Path) -> None:
    (tmp_path / "corpus").mkdir()
    (tmp_path / "corpus" / "scan.png").write_bytes(b"x")
    settings = load_settings(corpus_dir=tmp_path / "corpus", index_dir=tmp_path / "index")
    with pytest.raises(CorpusError, match=r"no document to index .*add \.md, \.txt, \.pdf") as e:
        Engine.open(settings, FakeEmbedder(), answerer=load_scorer())
    assert "scan.png: unsupported type" in str(e.value)
    assert not (tmp_path / "index" / "CURRENT").exists()


def test_answers_from_every_kind_of_document(tmp_path: Path) -> None:
    corpus = write_mixed(tmp_path / "corpus")
    (corpus / "photo.png").write_bytes(b"x")
    # fake vectors: what is checked is where quotes come from, not whether to refuse
    settings = load_settings(corpus_dir=corpus, index_dir=tmp_path / "index", abstain_threshold=0)
    engine = Engine.open(settings, FakeEmbedder(), answerer=load_scorer())
    for question, doc_id, page in [
        ("How long are gift cards valid after purchase?", "handbook/giftcards", 1),
        ("Who replaces the balance of a lost gift card?", "handbook/giftcards", 2),
        ("How many days of paid holiday does every employee get?", "office/holidays", 0),
        ("Where are the charging points for electric cars?", "office/html-only/parking", 0),
    ]:
        answer = engine.ask(question)
        assert_faithful(engine, answer)
        assert answer.citations, question
        assert (answer.citations[0].doc_id, answer.citations[0].page) == (doc_id, page)
    skipped = engine.index.manifest.corpus.skipped
    assert skipped == [{"path": "photo.png", "reason": skipped[0]["reason"]}]


def test_wire_shape_round_trips_to_records(fake_engine: Engine) -> None:
    answer = fake_engine.ask("What was the budget in billion?")
    wire = AnswerOut.model_validate(answer).model_dump(mode="json")
    assert set(wire["passages"][0]) >= {"chunk_id", "doc_id", "start", "end", "text", "rank"}
    back = AnswerOut.model_validate(wire).to_record()
    assert back.citations == answer.citations
    assert [h.chunk.chunk_id for h in back.passages] == [h.chunk.chunk_id for h in answer.passages]
    assert back.passages[0].score == pytest.approx(answer.passages[0].score, abs=1e-6)
    hit = PassageOut.model_validate(answer.passages[0])
    assert hit.text == answer.passages[0].chunk.text


def test_api_engine_holder_before_the_load() -> None:
    from sco_qa.api.holder import EngineHolder

    holder = EngineHolder()
    with pytest.raises(IndexStateError, match="still loading"):
        holder.get()
    holder.error = "no index in x"
    with pytest.raises(IndexStateError, match="no index in x"):
        holder.get()
