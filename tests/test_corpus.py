from pathlib import Path

import pytest

from sco_qa.corpus import corpus_fingerprint, doc_id_for, load_corpus, parse_front_matter
from sco_qa.errors import CorpusError

from .conftest import CORPUS


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


def test_non_utf8_file_is_named(tmp_path: Path) -> None:
    (tmp_path / "bad.txt").write_bytes(b"caf\xe9 au lait")
    with pytest.raises(CorpusError, match=r"bad\.txt: not UTF-8"):
        load_corpus(tmp_path)


def test_missing_folder_and_duplicate_ids(tmp_path: Path) -> None:
    with pytest.raises(CorpusError, match="does not exist"):
        load_corpus(tmp_path / "nope")
    (tmp_path / "a b.md").write_text("one", encoding="utf-8")
    (tmp_path / "a-b.txt").write_text("two", encoding="utf-8")
    with pytest.raises(CorpusError, match="both give the id 'a-b'"):
        load_corpus(tmp_path)


def test_bad_front_matter(tmp_path: Path) -> None:
    (tmp_path / "x.md").write_text("---\nnot a pair\n---\nbody", encoding="utf-8")
    with pytest.raises(CorpusError, match=r"x\.md: front matter"):
        load_corpus(tmp_path)


def test_front_matter_and_ids() -> None:
    meta, body = parse_front_matter("---\ntitle: T: sub\n---\nbody\n")
    assert meta == {"title": "T: sub"} and body == "body\n"
    assert parse_front_matter("no front matter") == ({}, "no front matter")
    assert doc_id_for(Path("SCO Kazakhstan (2024).md")) == "sco-kazakhstan-2024"


def test_fingerprint_changes_with_text(tmp_path: Path) -> None:
    (tmp_path / "a.md").write_text("alpha", encoding="utf-8")
    before = corpus_fingerprint(load_corpus(tmp_path))
    (tmp_path / "a.md").write_text("alpha!", encoding="utf-8")
    assert corpus_fingerprint(load_corpus(tmp_path)) != before
