"""Incremental builds: a build embeds only new or changed texts, reuses the rest of the live
build by content, and writes the index a full build writes (fast: a fake embedder)."""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pytest

from sco_qa.answer import load_scorer
from sco_qa.config import load_settings
from sco_qa.engine import Engine
from sco_qa.index import build_index, current_build, load_index

from .fakes import FakeEmbedder
from .samples import spec_for

DOCS = {
    "alpha.md": "# Alpha\n\nThe alpha archive opens at nine. It closes at five.\n\n"
    "Visitors sign the ledger.\n",
    "beta.md": "# Beta\n\nThe beta garden has forty oak trees. Each tree is numbered.\n",
    "gamma.txt": "The gamma lab tests water samples. Results arrive in two days.\n",
}


class Counting(FakeEmbedder):
    """Counts the texts a build asks it to embed."""

    def __init__(self) -> None:
        super().__init__()
        self.texts: list[str] = []

    def embed(self, texts: Sequence[str], *, progress: bool = False) -> np.ndarray:
        self.texts += list(texts)
        return super().embed(texts, progress=progress)


def _corpus(folder: Path, docs: dict[str, str]) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    for name, text in docs.items():
        (folder / name).write_text(text, encoding="utf-8")
    return folder


def _records(index_dir: Path) -> dict[str, object]:
    return json.loads((current_build(index_dir) / "chunks.json").read_text())  # type: ignore[no-any-return]


def test_a_change_embeds_only_what_changed_and_equals_a_full_build(tmp_path: Path) -> None:
    corpus = _corpus(tmp_path / "corpus", DOCS)
    spec = spec_for(corpus, tmp_path / "index")
    emb = Counting()
    first = build_index(spec, emb)
    assert first.reused == 0 and first.full_reason == "no earlier build"
    (corpus / "gamma.txt").unlink()  # removed
    (corpus / "beta.md").write_text(DOCS["beta.md"] + "\nThe gate is green.\n", encoding="utf-8")
    (corpus / "delta.md").write_text("# Delta\n\nDelta boats sail at dawn.\n", encoding="utf-8")
    emb.texts.clear()
    second = build_index(spec, emb)
    assert sorted(set(emb.texts)) == sorted(
        {"The gate is green.", "Delta boats sail at dawn."}
    )  # each new text once: a one-sentence passage is its sentence
    # two new one-sentence passages: four texts, two distinct; the other eight reused
    assert second.embedded == 2 and second.reused == second.passages + second.sentences - 4
    assert second.full_reason == ""
    full_spec = spec_for(corpus, tmp_path / "full")
    full = build_index(full_spec, Counting(), full=True)
    assert full.reused == 0 and full.full_reason == "a full build was asked for"
    assert _records(spec.index_dir) == _records(full_spec.index_dir)
    inc, ref = load_index(spec, emb), load_index(full_spec, emb)
    assert [c.chunk_id for c in inc.chunks] == [c.chunk_id for c in ref.chunks]
    for kind, ids in (("passages", [c.chunk_id for c in ref.chunks]),
                      ("sentences", [s.sentence_id for s in ref.sentences])):  # fmt: skip
        np.testing.assert_allclose(inc.store.get(kind, ids), ref.store.get(kind, ids), atol=1e-5)
    manifest = inc.manifest
    assert manifest.embedding is not None
    assert manifest.embedding.embedded == 2 and manifest.embedding.from_build == first.path.name
    assert manifest.spec["chunking"] == {"max_chars": 700, "overlap": 1}


def test_the_same_answers_from_an_incremental_and_a_full_build(tmp_path: Path) -> None:
    corpus = _corpus(tmp_path / "corpus", DOCS)
    settings = load_settings(corpus_dir=corpus, index_dir=tmp_path / "index")
    scorer = load_scorer()
    Engine.open(settings, FakeEmbedder(), answerer=scorer)
    (corpus / "delta.md").write_text("# Delta\n\nDelta boats sail at dawn.\n", encoding="utf-8")
    inc = Engine.open(settings, FakeEmbedder(), answerer=scorer)  # a stale index: rebuilt
    assert inc.index.manifest.embedding is not None and inc.index.manifest.embedding.reused
    full_settings = settings.model_copy(update={"index_dir": tmp_path / "full"})
    ref = Engine.open(full_settings, FakeEmbedder(), answerer=scorer)
    for q in ("When does the archive open?", "How many oak trees?", "When do boats sail?"):
        a, b = inc.ask(q), ref.ask(q)
        assert (a.answer, a.confidence, a.citations) == (b.answer, b.confidence, b.citations)


def test_removing_a_document_embeds_nothing(tmp_path: Path) -> None:
    corpus = _corpus(tmp_path / "corpus", DOCS)
    spec = spec_for(corpus, tmp_path / "index")
    emb = Counting()
    build_index(spec, emb)
    (corpus / "alpha.md").unlink()
    emb.texts.clear()
    report = build_index(spec, emb)
    assert emb.texts == [] and report.embedded == 0 and report.documents == 2
    assert "alpha" not in load_index(spec, emb).documents


def test_a_renamed_file_reuses_its_vectors(tmp_path: Path) -> None:
    corpus = _corpus(tmp_path / "corpus", DOCS)
    spec = spec_for(corpus, tmp_path / "index")
    emb = Counting()
    build_index(spec, emb)
    (corpus / "gamma.txt").rename(corpus / "lab-notes.txt")  # keyed by content, not name
    emb.texts.clear()
    report = build_index(spec, emb)
    assert emb.texts == [] and report.embedded == 0
    assert "lab-notes" in load_index(spec, emb).documents


@pytest.mark.parametrize(
    ("change", "reason"),
    [
        ({"passage_max_chars": 300}, "the chunking settings changed"),
        ({"passage_overlap": 0}, "the chunking settings changed"),
    ],
)
def test_a_new_chunking_is_a_full_build(tmp_path: Path, change: dict, reason: str) -> None:
    corpus = _corpus(tmp_path / "corpus", DOCS)
    emb = Counting()
    build_index(spec_for(corpus, tmp_path / "index"), emb)
    report = build_index(spec_for(corpus, tmp_path / "index", **change), emb)
    assert report.reused == 0 and report.full_reason == reason


def test_a_new_model_is_a_full_build(tmp_path: Path) -> None:
    class Other(Counting):
        name = "test/another-model"

    corpus = _corpus(tmp_path / "corpus", DOCS)
    spec = spec_for(corpus, tmp_path / "index")
    build_index(spec, Counting())
    report = build_index(spec, Other())
    assert report.reused == 0 and "the embedding model changed" in report.full_reason


def test_a_damaged_live_build_is_never_reused(tmp_path: Path) -> None:
    corpus = _corpus(tmp_path / "corpus", DOCS)
    spec = spec_for(corpus, tmp_path / "index")
    build_index(spec, Counting())
    vectors = current_build(spec.index_dir) / "sentences.npy"
    raw = bytearray(vectors.read_bytes())
    raw[-8:] = b"\x00" * 8  # a flipped tail: the checksum no longer matches
    vectors.write_bytes(bytes(raw))
    emb = Counting()
    report = build_index(spec, emb)
    assert report.reused == 0 and "cannot be read" in report.full_reason
    assert len(emb.texts) == report.embedded > 0
    load_index(spec, emb)  # the new build is whole


def test_texts_cut_to_the_model_input_are_known_without_tokenising_them_again(
    tmp_path: Path,
) -> None:
    class Tokens(Counting):
        counted = 0

        def count_tokens(self, text: str) -> int:
            self.counted += 1
            return super().count_tokens(text)

    corpus = _corpus(tmp_path / "corpus", {"long.md": " ".join(["word"] * 400) + ".\n"})
    spec = spec_for(corpus, tmp_path / "index")
    emb = Tokens()
    assert build_index(spec, emb).truncated == ("long#p1", "long#p1.s1")
    (corpus / "short.md").write_text("A short note.\n", encoding="utf-8")
    emb.counted = 0
    again = build_index(spec, emb)
    assert again.truncated == ("long#p1", "long#p1.s1") and emb.counted == 2  # the new ones
