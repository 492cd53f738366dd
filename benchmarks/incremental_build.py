"""What a change to a large corpus costs: a full build, then one document added by upload and
one removed, each timed from the request until a question is answered from the new build,
against a real server (2 cores, the real model).

The corpus is 98 documents of about 25,000 characters each (2.4 MB, about 20,000 passages
and sentences, the size of a folder of scientific papers): seeded random sentences over the
words of the SQuAD articles in benchmarks/data, so that no two texts repeat and the
embedding cost is that of real-length English-like text. The answers do not matter here.
Usage: python benchmarks/incremental_build.py [--documents N --chars N]  (smaller: a smoke run,
results not written)
"""

from __future__ import annotations

import argparse
import json
import os
import re
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx
import numpy as np
from common import ROOT, free_port, write_result

from sco_qa.config import load_settings
from sco_qa.embedding import load_embedder
from sco_qa.index import IndexSpec, build_index

DOCUMENTS = 98
CHARS = 25_000
ADMIN = "bench-admin-token"


def vocabulary() -> list[str]:
    """The words of the SQuAD articles, in order of first appearance."""
    words: dict[str, None] = {}
    for name in ("squad2-dev-part.json", "squad2-train-part.json"):
        data = json.loads((ROOT / "benchmarks" / "data" / name).read_text(encoding="utf-8"))
        for article in data["data"]:
            for para in article["paragraphs"]:
                words.update(dict.fromkeys(re.findall(r"[A-Za-z]+", para["context"])))
    return list(words)


def document(rng: np.random.Generator, words: list[str], n: int, chars: int) -> str:
    """About ``chars`` characters: a title, then paragraphs of 3 to 5 sentences."""
    parts = [f"# Paper {n}\n"]
    size = 0
    while size < chars:
        sentences = []
        for _ in range(int(rng.integers(3, 6))):
            picked = rng.choice(len(words), size=int(rng.integers(12, 28)))
            sentences.append(" ".join(words[i] for i in picked).capitalize() + ".")
        para = " ".join(sentences)
        parts.append(para)
        size += len(para)
    return "\n\n".join(parts) + "\n"


def ask_until(url: str, question: str, doc_id: str, present: bool, timeout: float = 600) -> None:
    """Ask until the passages returned do (or, not ``present``, no longer) include
    ``doc_id``."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        got = httpx.post(f"{url}/ask", json={"question": question}, timeout=60).json()
        if any(p["doc_id"] == doc_id for p in got.get("passages", [])) == present:
            return
        time.sleep(0.05)
    raise RuntimeError(f"{doc_id!r} still {'missing' if present else 'served'} after {timeout} s")


def serve(corpus: Path, index: Path) -> tuple[subprocess.Popen[bytes], str]:
    port = free_port()
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "SCO_QA_CORPUS_DIR": str(corpus),
           "SCO_QA_INDEX_DIR": str(index), "SCO_QA_ADMIN_TOKEN": ADMIN}  # fmt: skip
    proc = subprocess.Popen(
        [sys.executable, "-m", "uvicorn", "sco_qa.api:make_app", "--factory", "--port", str(port)],
        env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    url = f"http://127.0.0.1:{port}"
    for _ in range(1200):
        try:
            if httpx.get(f"{url}/readyz", timeout=5).status_code == 200:
                return proc, url
        except httpx.TransportError:
            pass
        time.sleep(0.25)
    raise RuntimeError("the server never became ready")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--documents", type=int, default=DOCUMENTS)
    parser.add_argument("--chars", type=int, default=CHARS)
    args = parser.parse_args()
    rng = np.random.default_rng(0)
    words = vocabulary()
    with tempfile.TemporaryDirectory() as tmp:
        corpus, index = Path(tmp) / "corpus", Path(tmp) / "index"
        corpus.mkdir()
        for n in range(args.documents):
            text = document(rng, words, n, args.chars)
            (corpus / f"paper-{n:03d}.md").write_text(text, encoding="utf-8")
        one = load_settings(corpus_dir=corpus, index_dir=Path(tmp) / "one", embed_processes=1)
        single = load_embedder(one)
        single.embed(["warm up"])
        t0 = time.perf_counter()
        build_index(IndexSpec.from_settings(one), single, full=True)  # in this process only
        one_s = time.perf_counter() - t0
        settings = load_settings(corpus_dir=corpus, index_dir=index)
        embedder = load_embedder(settings)
        embedder.embed(["warm up"])
        t0 = time.perf_counter()
        full = build_index(IndexSpec.from_settings(settings), embedder, full=True)
        full_s = time.perf_counter() - t0
        proc, url = serve(corpus, index)
        try:
            new = document(rng, words, args.documents, args.chars)
            new += "\nThe zebra quartet tuned violins.\n"
            t0 = time.perf_counter()
            resp = httpx.post(f"{url}/documents", headers={"authorization": f"Bearer {ADMIN}"},
                              files={"file": ("added.md", new.encode())}, timeout=600)  # fmt: skip
            resp.raise_for_status()
            ask_until(url, "Which quartet tuned violins?", "added", True)
            add_s = time.perf_counter() - t0
            added = resp.json()
            t0 = time.perf_counter()
            gone = httpx.delete(f"{url}/documents/added", timeout=600,
                                headers={"authorization": f"Bearer {ADMIN}"})  # fmt: skip
            gone.raise_for_status()
            ask_until(url, "Which quartet tuned violins?", "added", False)
            remove_s = time.perf_counter() - t0
        finally:
            proc.terminate()
            proc.wait(timeout=30)
    texts = full.passages + full.sentences
    result = {
        "documents": full.documents,
        "characters": args.documents * args.chars,
        "passages": full.passages,
        "sentences": full.sentences,
        "full_build_seconds": round(full_s, 1),
        "full_texts_per_second": round(texts / full_s, 1),
        "full_build_one_process_seconds": round(one_s, 1),
        "full_one_process_texts_per_second": round(texts / one_s, 1),
        "full_distinct_embedded": full.embedded,
        "add_one_seconds": round(add_s, 2),
        "add_one_embedded": added["embedded"],
        "add_one_reused": added["reused"],
        "remove_one_seconds": round(remove_s, 2),
        "remove_one_embedded": gone.json()["embedded"],
    }
    if (args.documents, args.chars) != (DOCUMENTS, CHARS):
        print(json.dumps(result, indent=1))
        return
    write_result(
        "incremental_build",
        result,
        f"{full.documents} documents, {texts:,} texts: full build {full_s:.0f} s "
        f"({texts / full_s:.0f} texts/s); one added by upload and answered {add_s:.1f} s "
        f"({added['embedded']} texts embedded), one removed {remove_s:.1f} s",
    )


if __name__ == "__main__":
    main()
