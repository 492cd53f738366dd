"""The model, loaded from the installed package: ONNX Runtime agrees with torch (slow)."""

from pathlib import Path

import numpy as np
import pytest

from sco_qa.chunking import chunk_document
from sco_qa.config import load_settings
from sco_qa.corpus import load_corpus
from sco_qa.embedding import MiniLMEmbedder, load_embedder
from sco_qa.embedding.onnx import OnnxMiniLMEmbedder
from sco_qa.errors import ConfigError

from .conftest import CORPUS

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def sentences() -> list[str]:
    _, sents = chunk_document(load_corpus(CORPUS)[0])
    return [s.text for s in sents] + ["wich city hosted the sumit", "¿Qué es la OCS? 🇰🇿"]


@pytest.fixture(scope="module")
def fp32() -> OnnxMiniLMEmbedder:
    emb = load_embedder(load_settings(model_backend="onnx"))
    assert isinstance(emb, OnnxMiniLMEmbedder)
    return emb


def test_onnx_matches_sentence_transformers(fp32, sentences) -> None:
    torch_vecs = MiniLMEmbedder(cache_size=0).embed(sentences)
    onnx_vecs = fp32.embed(sentences)
    assert onnx_vecs.shape == torch_vecs.shape == (len(sentences), 384)
    assert np.min(np.sum(onnx_vecs * torch_vecs, axis=1)) > 0.9999
    assert np.allclose(np.linalg.norm(onnx_vecs, axis=1), 1.0, atol=1e-5)


def test_token_counts_and_truncation(embedder) -> None:
    torch_model = MiniLMEmbedder(cache_size=0)
    for text in ("Dr. Roger Kangas said so.", " ".join(["word"] * 400)):
        assert embedder.count_tokens(text) == torch_model.count_tokens(text)
    long_vec = embedder.embed([" ".join(["word"] * 400)])
    assert long_vec.shape == (1, 384)  # cut to 256 tokens, not an error


def test_single_texts_are_cached(embedder) -> None:
    a = embedder.embed_query("Which organizations does Kazakhstan chair?")
    b = embedder.embed_query("Which organizations does Kazakhstan chair?")
    assert a is b and a.shape == (384,) and not a.flags.writeable
    assert embedder.embed([]).shape == (0, 384)


def test_default_backend_quantises_questions_only(embedder, fp32, sentences) -> None:
    assert isinstance(embedder, OnnxMiniLMEmbedder)
    assert embedder.name == fp32.name  # documents: fp32 vectors, one index for both
    assert np.allclose(embedder.embed(sentences), fp32.embed(sentences), atol=1e-5)
    q8 = np.vstack([embedder.embed_query(t) for t in sentences])
    q32 = np.vstack([fp32.embed_query(t) for t in sentences])
    cos = np.sum(q8 * q32, axis=1)
    assert np.min(cos) > 0.97 and np.mean(cos) > 0.985  # per-tensor scales give ~0.96 mean
    assert not np.allclose(q8, q32, atol=1e-4)  # the int8 model is really the one used
    assert np.allclose(np.linalg.norm(q8, axis=1), 1.0, atol=1e-5)


@pytest.mark.parametrize("backend", ["onnx-int8", "onnx"])
def test_a_text_gets_its_vector_whatever_else_is_embedded(backend, sentences) -> None:
    from concurrent.futures import ThreadPoolExecutor

    emb = load_embedder(load_settings(embed_cache_size=0, model_backend=backend))
    texts = [sentences[0], sentences[5] * 3, "Who is Roger Kangas?"]
    alone = np.vstack([emb.embed_query(t) for t in texts])
    with ThreadPoolExecutor(4) as pool:  # concurrent questions, as a busy server sees them
        together = np.vstack(list(pool.map(emb.embed_query, texts * 4)))
    assert np.allclose(together, np.vstack([alone] * 4), atol=1e-5)
    docs = np.vstack([emb.embed([t]) for t in texts])
    assert np.allclose(emb.embed(texts), docs, atol=1e-5)


def test_bad_backend_setting() -> None:
    with pytest.raises(ConfigError, match="SCO_QA_MODEL_BACKEND"):
        load_settings(model_backend="tensorflow")


def test_export_into_an_empty_cache_folder(tmp_path: Path, fp32, sentences) -> None:
    fresh = OnnxMiniLMEmbedder(tmp_path, quantized_queries=True, cache_size=0)
    exported = sorted(p.name for p in tmp_path.rglob("*.onnx"))
    assert exported == ["model.int8-per-channel.onnx", "model.onnx"]
    assert not list(tmp_path.rglob("*.tmp"))  # written to temp files, then renamed
    assert np.allclose(fresh.embed(sentences[:5]), fp32.embed(sentences[:5]), atol=1e-5)


def test_unusable_model_cache_says_what_to_do() -> None:
    from sco_qa.errors import ModelError

    with pytest.raises(ModelError, match="SCO_QA_MODEL_CACHE_DIR to a writable folder"):
        OnnxMiniLMEmbedder(Path("/proc/no-such-folder"))


def test_the_token_budget_changes_no_vector(fp32, sentences) -> None:
    one_run = fp32.embed(sentences)
    before = fp32.batch_tokens
    try:
        fp32.batch_tokens = 48  # many small runs, several texts each (some over it alone)
        many_runs = fp32.embed(sentences)
    finally:
        fp32.batch_tokens = before
    assert np.allclose(many_runs, one_run, atol=1e-5)


def test_worker_processes_give_the_same_vectors(fp32, sentences) -> None:
    alone = fp32.embed(sentences)
    split = OnnxMiniLMEmbedder(fp32._cache_dir, processes=2, parallel_from=10)
    with split.workers(5):  # too few to repay the workers: in process
        assert split.embed(sentences[:5]).shape == (5, 384)
    assert split.parallel_runs == 0
    with split.workers(len(sentences)):
        together = split.embed(sentences)
        halves = np.vstack([split.embed(sentences[:20]), split.embed(sentences[20:])])
    assert split.parallel_runs == 3  # one pool for the three calls
    assert np.allclose(together, alone, atol=1e-5) and np.allclose(halves, alone, atol=1e-5)
    assert np.allclose(split.embed(sentences), alone, atol=1e-5)  # closed: in process again
    assert split.parallel_runs == 3


def test_workers_start_from_a_script_without_a_main_guard(fp32, tmp_path: Path) -> None:
    import subprocess
    import sys

    script = tmp_path / "build.py"  # as a user's script or notebook cell: no __main__ guard
    script.write_text(
        "from pathlib import Path\n"
        "from sco_qa.embedding.onnx import OnnxMiniLMEmbedder\n"
        f"emb = OnnxMiniLMEmbedder(Path({str(fp32._cache_dir)!r}), processes=2, parallel_from=2)\n"
        "with emb.workers(3):\n"
        "    vecs = emb.embed(['one text', 'another text', 'a third'])\n"
        "print(emb.parallel_runs, vecs.shape)\n",
        encoding="utf-8",
    )
    done = subprocess.run([sys.executable, str(script)], capture_output=True, text=True,
                          timeout=300, cwd=tmp_path)  # fmt: skip
    assert done.returncode == 0, done.stderr[-2000:]
    assert done.stdout.strip() == "1 (3, 384)"
