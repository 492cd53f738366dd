"""Side by side on the same questions, model and machine: sco-qa's hybrid search against a
plain LangChain FAISS retriever and a plain Haystack in-memory embedding retriever.

Recall@5 counts a question as found when a retrieved passage contains its supporting text;
latency is per query after warm-up, question-embedding caches off. The peers come from the
optional ``bench`` extra (pip install -e '.[bench]'). Usage: python benchmarks/compare_frameworks.py
"""

from __future__ import annotations

import json
import os
import statistics
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("HAYSTACK_TELEMETRY_ENABLED", "False")

from common import ROOT, stats_ms, write_result

from sco_qa.config import load_settings
from sco_qa.corpus import load_corpus
from sco_qa.embedding import model_path
from sco_qa.engine import Engine

Search = Callable[[str], list[str]]  # question → the texts of the top 5 passages


def golden() -> list[dict]:
    rows = [json.loads(line) for line in (ROOT / "corpus" / "golden.jsonl").open()]
    return [r for r in rows if r["answerable"]]


def langchain_search(text: str, **splitter: int) -> tuple[Search, int]:
    from langchain_community.vectorstores import FAISS
    from langchain_huggingface import HuggingFaceEmbeddings
    from langchain_text_splitters import RecursiveCharacterTextSplitter

    chunks = RecursiveCharacterTextSplitter(**splitter).split_text(text)  # defaults unless given
    emb = HuggingFaceEmbeddings(
        model_name=str(model_path()), encode_kwargs={"normalize_embeddings": True}
    )
    store = FAISS.from_texts(chunks, emb)
    return (lambda q: [d.page_content for d in store.similarity_search(q, k=5)]), len(chunks)


def haystack_search(text: str) -> tuple[Search, int]:
    from haystack import Document
    from haystack.components.preprocessors import DocumentSplitter
    from haystack.components.retrievers.in_memory import InMemoryEmbeddingRetriever
    from haystack.document_stores.in_memory import InMemoryDocumentStore
    from haystack_integrations.components.embedders.sentence_transformers import (
        SentenceTransformersDocumentEmbedder,
        SentenceTransformersTextEmbedder,
    )

    splitter = DocumentSplitter()  # documented defaults
    docs = splitter.run([Document(content=text)])["documents"]
    doc_emb = SentenceTransformersDocumentEmbedder(model=str(model_path()), progress_bar=False)
    doc_emb.warm_up()
    store = InMemoryDocumentStore()
    store.write_documents(doc_emb.run(docs)["documents"])
    text_emb = SentenceTransformersTextEmbedder(model=str(model_path()), progress_bar=False)
    text_emb.warm_up()
    retriever = InMemoryEmbeddingRetriever(store, top_k=5)

    def search(q: str) -> list[str]:
        vec = text_emb.run(q)["embedding"]
        return [d.content for d in retriever.run(query_embedding=vec)["documents"]]

    return search, len(docs)


def scoqa_search() -> tuple[Search, int]:
    tmp = Path(tempfile.mkdtemp(prefix="sco-qa-cmp-"))
    engine = Engine.open(
        load_settings(corpus_dir=ROOT / "corpus", index_dir=tmp, embed_cache_size=0)
    )
    return (lambda q: [h.chunk.text for h in engine.search(q, k=5)]), len(engine.index.chunks)


def measure(name: str, search: Search, chunks: int, items: list[dict], rounds: int = 3) -> dict:
    for it in items:
        search(it["question"])  # warm-up
    lat, hits, chars = [], 0, []
    for r in range(rounds):
        for it in items:
            t0 = time.perf_counter()
            texts = search(it["question"])
            lat.append((time.perf_counter() - t0) * 1e3)
            if r == 0:
                hits += any(it["support"] in t for t in texts)
                chars.append(sum(len(t) for t in texts))
    row = {
        "system": name,
        "chunks": chunks,
        "recall@5": round(hits / len(items), 4),
        "latency_ms": stats_ms(lat),
        "mean_chars_returned": round(statistics.fmean(chars)),
    }
    print(row, flush=True)
    return row


def main() -> None:
    (doc,) = load_corpus(ROOT / "corpus")
    items = golden()
    rows = [
        measure("sco-qa", *scoqa_search(), items),
        measure("langchain-faiss", *langchain_search(doc.text), items),
        measure("haystack-inmemory", *haystack_search(doc.text), items),
        # like for like: passages about as long as sco-qa's (the defaults give 3 chunks)
        measure(
            "langchain-faiss-700",
            *langchain_search(doc.text, chunk_size=700, chunk_overlap=100),
            items,
        ),
    ]
    ours = rows[0]
    for r in rows[1:]:
        r["speedup_of_sco_qa"] = round(r["latency_ms"]["p50"] / ours["latency_ms"]["p50"], 2)
        r["recall_ratio_sco_qa_over_peer"] = round(ours["recall@5"] / r["recall@5"], 3)
    line = "; ".join(
        f"{r['system']} recall@5 {r['recall@5']} p50 {r['latency_ms']['p50']} ms "
        f"({r['chunks']} chunks, {r['mean_chars_returned']} chars returned)"
        for r in rows
    )
    write_result("compare_frameworks", {"questions": len(items), "rows": rows}, line)


if __name__ == "__main__":
    main()
