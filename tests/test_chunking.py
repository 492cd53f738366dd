from pathlib import Path

from sco_qa.chunking import ChunkingParams, chunk_document, sentence_spans, split_blocks
from sco_qa.corpus import load_corpus

from .conftest import CORPUS


def _check_offsets(doc, chunks, sentences) -> None:
    for rec in (*chunks, *sentences):
        assert doc.text[rec.start : rec.end] == rec.text
        assert rec.text == rec.text.strip() and rec.text


def test_article_offsets_exact() -> None:
    (doc,) = load_corpus(CORPUS)
    chunks, sentences = chunk_document(doc)
    _check_offsets(doc, chunks, sentences)
    assert len(chunks) == 23 and len(sentences) >= 55
    assert chunks[6].chunk_id == "sco-kazakhstan#p7"
    ids = [c.chunk_id for c in chunks]
    assert len(set(ids)) == len(ids)
    assert {c.section for c in chunks} >= {"", "Kazakhstan’s Chairmanship"}


def test_abbreviations_stay_whole() -> None:
    (doc,) = load_corpus(CORPUS)
    _, sentences = chunk_document(doc)
    texts = [s.text for s in sentences]
    assert any("said Dr. Roger Kangas, academic dean" in t for t in texts)
    assert any("behoove the U.S. to engage" in t for t in texts)
    assert not any(t.endswith(("Dr.", "U.S.")) for t in texts)


def test_tricky_document(tricky_dir: Path) -> None:
    for doc in load_corpus(tricky_dir):
        chunks, sentences = chunk_document(doc)
        _check_offsets(doc, chunks, sentences)
    doc = load_corpus(tricky_dir)[1]
    blocks = split_blocks(doc)
    assert blocks[0].kind == "heading" and blocks[0].section == "Does the U.S. Agree?"
    assert [b.section for b in blocks if b.kind == "heading"][1] == "Is it finished?"
    _, sentences = chunk_document(doc)
    assert sentences[0].text.startswith("Dr. Jane Smith met officials in Washington, D.C.")
    assert sentences[0].section == "Does the U.S. Agree?"
    assert any(
        s.text == "She said the U.S. would “consider all options” before deciding."
        for s in sentences
    )


def test_nbsp_and_plain_text(tricky_dir: Path) -> None:
    doc = load_corpus(tricky_dir)[0]
    chunks, sentences = chunk_document(doc)
    assert any("\u00a0" in s.text for s in sentences)
    _check_offsets(doc, chunks, sentences)


def test_long_paragraph_is_split_with_overlap() -> None:
    text = " ".join(f"Sentence number {i} talks about the topic at some length." for i in range(30))
    from sco_qa.records import Document

    doc = Document("long", "Long", text)
    chunks, sentences = chunk_document(doc, ChunkingParams(max_chars=200, overlap=1))
    assert len(chunks) > 3
    assert all(len(c.text) <= 200 for c in chunks)
    assert chunks[0].sentence_ids[-1] == chunks[1].sentence_ids[0]  # one sentence of overlap
    assert chunks[0].chunk_id == "long#p1.1"
    _check_offsets(doc, chunks, sentences)


def test_sentence_spans_trim_white_space() -> None:
    text = "  First one.   Second one!  "
    assert [text[s:e] for s, e in sentence_spans(text, 0, len(text))] == [
        "First one.",
        "Second one!",
    ]
