from pathlib import Path

import pytest

from sco_qa.chunking import split_blocks
from sco_qa.corpus import (
    corpus_fingerprint,
    doc_id_for,
    load_corpus,
    parse_front_matter,
    read_corpus,
)
from sco_qa.errors import CorpusError

from .conftest import CORPUS
from .samples import write_mixed


def test_article_loads_with_metadata() -> None:
    (doc,) = load_corpus(CORPUS)
    assert doc.doc_id == "sco-kazakhstan"
    assert doc.title == "How Kazakhstan’s SCO Chairmanship Has Navigated East-West Tensions"
    assert doc.metadata["credit"] == "Facebook/Aqorda"
    assert doc.metadata["source_section"] == "Crossroads Asia | Diplomacy | Central Asia"
    assert "Recent Features" not in doc.text
    assert doc.text.count(doc.title) == 0  # the repeated site title is dropped
    assert "## Kazakhstan’s Chairmanship" in doc.text


def test_reads_md_and_txt(tricky_dir: Path) -> None:
    docs = load_corpus(tricky_dir)
    assert [d.doc_id for d in docs] == ["plain", "tricky-notes"]
    assert docs[0].title == "Plain text"
    assert docs[1].title == "Tricky “Notes” on Punctuation"


def _skipped(folder: Path) -> dict[str, str]:
    return {s.path: s.reason for s in read_corpus(folder).skipped}


def test_unreadable_files_are_skipped_with_the_reason(tmp_path: Path) -> None:
    (tmp_path / "bad.txt").write_bytes(b"caf\xe9 au lait")
    (tmp_path / "x.md").write_text("---\nnot a pair\n---\nbody", encoding="utf-8")
    (tmp_path / "ok.md").write_text("Fine.", encoding="utf-8")
    (tmp_path / "a b.md").write_text("one", encoding="utf-8")
    (tmp_path / "a-b.txt").write_text("two", encoding="utf-8")
    skipped = _skipped(tmp_path)
    assert skipped["bad.txt"].startswith("not UTF-8 text")
    assert skipped["x.md"].startswith("front matter line is not 'key: value'")
    assert skipped["a-b.txt"] == "same id 'a-b' as a b.md; rename one"
    assert {d.doc_id for d in load_corpus(tmp_path)} == {"a-b", "ok"}  # the others still read


def test_missing_folder(tmp_path: Path) -> None:
    with pytest.raises(CorpusError, match="does not exist"):
        load_corpus(tmp_path / "nope")


def test_every_file_is_accounted_for(tmp_path: Path) -> None:
    write_mixed(tmp_path)
    (tmp_path / "image.png").write_bytes(b"\x89PNG")
    (tmp_path / "empty.txt").write_text("", encoding="utf-8")
    (tmp_path / ".DS_Store").write_bytes(b"x")
    (tmp_path / ".git").mkdir()
    (tmp_path / ".git" / "config").write_text("x", encoding="utf-8")
    (tmp_path / "big.txt").write_text("x" * 300_000, encoding="utf-8")
    outside = tmp_path.parent / "secret.txt"
    outside.write_text("not for the corpus", encoding="utf-8")
    (tmp_path / "link.txt").symlink_to(outside)
    got = read_corpus(tmp_path, max_bytes=200_000)
    assert sorted(d.doc_id for d in got.documents) == [
        "handbook/giftcards",
        "notes",
        "office/holidays",
        "office/html-only/parking",
    ]
    skipped = {s.path: s.reason for s in got.skipped}
    assert skipped["image.png"].startswith("unsupported type")
    assert skipped["empty.txt"] == "empty file"
    assert skipped[".DS_Store"] == "hidden file" and skipped[".git"] == "hidden folder"
    assert skipped["big.txt"].startswith("too large (0.3 MB; the limit is 0.2 MB")
    assert skipped["link.txt"] == "a link to a file outside the corpus folder"
    files = len([p for p in tmp_path.rglob("*") if p.is_file() and ".git" not in p.parts])
    assert len(got.documents) + len(got.skipped) - 1 == files  # .git counted once, as a folder


def test_pdf_reads_whole_sentences_without_running_headers(tmp_path: Path) -> None:
    (doc,) = load_corpus(write_mixed(tmp_path) / "handbook")
    assert doc.doc_id == "giftcards" and doc.metadata["pages"] == "2"
    assert "date of purchase and cannot" in doc.text  # "pur-" + "chase" made whole
    assert "Acme Staff Handbook" not in doc.text and "Page 1" not in doc.text
    assert len(doc.pages) == 2 and doc.text[doc.pages[1] :].startswith("Lost cards")
    assert doc.page_at(doc.text.index("valid for three")) == 1
    assert doc.page_at(doc.text.index("service desk")) == 2
    blocks = split_blocks(doc)
    assert [b.section for b in blocks if b.kind == "paragraph"] == ["Gift cards", "Lost cards"]


def test_html_keeps_the_main_content(tmp_path: Path) -> None:
    (doc,) = load_corpus(write_mixed(tmp_path) / "office" / "html-only")
    assert doc.title == "Parking at the Riverside office"
    for junk in ("nav junk", "Sign in", "Cookie settings", "color: red"):
        assert junk not in doc.text
    sections = {b.section for b in split_blocks(doc) if b.kind == "paragraph"}
    assert sections == {"Parking at the Riverside office", "Electric cars"}


def test_word_headings_become_sections(tmp_path: Path) -> None:
    docs = {d.doc_id: d for d in load_corpus(write_mixed(tmp_path))}
    doc = docs["office/holidays"]
    assert doc.title == "Holidays" and "28 days of paid holiday" in doc.text
    sections = [b.section for b in split_blocks(doc) if b.kind == "paragraph"]
    assert sections == ["Paid holiday", "Carrying days over"]


def test_front_matter_and_ids() -> None:
    meta, body = parse_front_matter("---\ntitle: T: sub\n---\nbody\n")
    assert meta == {"title": "T: sub"} and body == "body\n"
    assert parse_front_matter("no front matter") == ({}, "no front matter")
    assert doc_id_for(Path("SCO Kazakhstan (2024).md")) == "sco-kazakhstan-2024"
    assert doc_id_for(Path("HR/Travel Policy.PDF")) == "hr/travel-policy"


def test_fingerprint_changes_with_text(tmp_path: Path) -> None:
    (tmp_path / "a.md").write_text("alpha", encoding="utf-8")
    before = corpus_fingerprint(load_corpus(tmp_path))
    (tmp_path / "a.md").write_text("alpha!", encoding="utf-8")
    assert corpus_fingerprint(load_corpus(tmp_path)) != before


def test_fingerprint_changes_with_the_files_skipped(tmp_path: Path) -> None:
    (tmp_path / "a.md").write_text("alpha", encoding="utf-8")
    got = read_corpus(tmp_path)
    before = corpus_fingerprint(got.documents, got.skipped)
    (tmp_path / "b.png").write_bytes(b"x")
    got = read_corpus(tmp_path)
    assert corpus_fingerprint(got.documents, got.skipped) != before
