"""Write the figures of README.md and docs/scaling.md from the results files, so that no
number in them is copied by hand. Each table stands between ``<!-- results:NAME -->`` and
``<!-- /results -->``; ``--check`` fails when a document differs from its results.

Usage: python benchmarks/tables.py [--check]
"""

from __future__ import annotations

import argparse
import json
import re
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "benchmarks" / "results"
DOCS = (ROOT / "README.md", ROOT / "docs" / "scaling.md")
REGION = re.compile(r"(<!-- results:(\w+) -->\n)(.*?)(<!-- /results -->)", re.DOTALL)


def load(name: str) -> Any:
    """A results file by name (``ask_latency`` → ``ask_latency.json``)."""
    return json.loads((RESULTS / f"{name}.json").read_text(encoding="utf-8"))


def table(header: list[str], rows: list[list[Any]]) -> str:
    """A Markdown table."""
    lines = ["| " + " | ".join(header) + " |", "|" + " --- |" * len(header)]
    lines += ["| " + " | ".join(str(c) for c in row) + " |" for row in rows]
    return "\n".join(lines) + "\n"


def _http(rows: list[dict[str, Any]], workers: int, cache: bool, c: int) -> dict[str, Any]:
    return next(
        r
        for r in rows
        if r["workers"] == workers and bool(r["cache"]) == cache and r["concurrency"] == c
    )


def _scale(kind_prefix: str, n: int) -> dict[str, Any]:
    rows = load("scale")["rows"]
    return next(r for r in rows if r["kind"].startswith(kind_prefix) and r["n"] == n)


def _when(name: str) -> str:
    return str(load(name)["machine"]["when"])[:16].replace("T", " ")


def performance() -> str:
    """README: the headline measurements, each with the date of the run it comes from."""
    ask, cold, http = load("ask_latency"), load("cold_start"), load("http_load")["rows"]
    total, cached = ask["uncached"]["total"], ask["cached_embedding"]["total"]
    backends = {r["backend"]: r for r in load("backends")["rows"]}
    peers = {r["system"]: r for r in load("compare_frameworks")["rows"]}
    ivf, flat = _scale("faiss-ivf", 1_000_000), _scale("faiss-flat", 1_000_000)
    c8, c32 = _http(http, 2, False, 8), _http(http, 2, False, 32)
    rows = [
        [
            "`ask` in process p50 / p95 / p99",
            f"{total['p50']} / {total['p95']} / {total['p99']} ms (outside the question "
            f"encode: {ask['outside_forward_pass']['p50']} ms p50; a repeated question: "
            f"{cached['p50']} ms)",
            _when("ask_latency"),
        ],
        [
            "HTTP `/ask`, 1 worker, concurrency 1, p50",
            f"{_http(http, 1, False, 1)['p50_ms']} ms",
            _when("http_load"),
        ],
        [
            "HTTP, 2 workers, concurrency 8 / 32, no embedding cache",
            f"{c8['rps']} / {c32['rps']} requests/s, {c32['errors']} errors",
            _when("http_load"),
        ],
        [
            "HTTP, 2 workers, concurrency 8, repeated questions (cache)",
            f"{_http(http, 2, True, 8)['rps']} requests/s",
            _when("http_load"),
        ],
        [
            "server start to `/readyz`, to first answer; peak RSS",
            f"{cold['median']['to_readyz_s']} s, {cold['median']['to_first_answer_s']} s; "
            f"{round(cold['median']['peak_rss_mb'])} MB",
            _when("cold_start"),
        ],
        [
            "question encode p50 (golden-set accuracy) by backend",
            "; ".join(
                f"{n} {r['embed_ms']['p50']} ms ({r['accuracy']})" for n, r in backends.items()
            ),
            _when("backends"),
        ],
        [
            "search at 1M synthetic passages, p50 (recall@10)",
            f"exact {flat['latency_ms']['p50']} ms; IVF {ivf['latency_ms']['p50']} ms "
            f"({ivf['recall@10']})",
            _when("scale"),
        ],
        [
            "retrieval p50 and recall@5 beside peers (same model, questions and run)",
            "; ".join(
                f"{n} {r['latency_ms']['p50']} ms, {r['recall@5']}" for n, r in peers.items()
            ),
            _when("compare_frameworks"),
        ],
    ]
    note = (
        "\nThe host's speed varies between runs (even hours apart, by a factor of two or "
        "more): compare figures of one run, not across runs. Result files written since "
        "2026-12-07 record their host's `cpu_reference_ms` (a fixed single-thread workload's "
        "time: lower is faster).\n"
    )
    return table(["measurement", "result", "run"], rows) + note


def time_table() -> str:
    """scaling.md: where the time of one question goes."""
    ask, cold = load("ask_latency"), load("cold_start")
    u = ask["uncached"]
    rows = [
        ["`ask` in process, p50 / p95 / p99",
         f"{u['total']['p50']} / {u['total']['p95']} / {u['total']['p99']} ms", "`ask_latency.py`"],
        ["of which the question encode (tokenise + forward + pooling), p50",
         f"{ask['forward_pass']['p50']} ms", ""],
        ["everything else, p50", f"{ask['outside_forward_pass']['p50']} ms", ""],
        ["a repeated question (embedding cache hit), p50",
         f"{ask['cached_embedding']['total']['p50']} ms", ""],
        ["server start to `/readyz` = 200, to first answer",
         f"{cold['median']['to_readyz_s']} s, {cold['median']['to_first_answer_s']} s",
         "`cold_start.py`"],
        ["server peak RSS", f"{round(cold['median']['peak_rss_mb'])} MB", ""],
        ["index build, default corpus", f"{cold['index_build_seconds']} s", ""],
    ]  # fmt: skip
    return table(["measurement", "result", "script"], rows)


def backends_table() -> str:
    """scaling.md: the embedding backends."""
    rows = [
        [
            f"`{r['backend']}`",
            f"{r['embed_ms']['p50']} ms (× {r['embed_speedup_over_torch']})",
            r["accuracy"],
            "yes" if r["adoptable"] else "no",
        ]
        for r in load("backends")["rows"]
    ]
    return table(["backend", "question encode p50", "answer accuracy", "adoptable"], rows)


def http_table() -> str:
    """scaling.md: HTTP throughput by workers, threads and cache."""
    rows = []
    for name, threads in (("http_load", "default"), ("http_load_t1", "1")):
        data = load(name)["rows"]
        for workers, cache in ((1, False), (2, False), (2, True)):
            c1, c8, c32 = (_http(data, workers, cache, c) for c in (1, 8, 32))
            rows.append(
                [
                    f"{workers}, {threads}",
                    "on" if cache else "off",
                    f"{c1['p50_ms']} ms",
                    f"{c8['rps']} ({c8['p99_ms']} ms)",
                    f"{c32['rps']}, {c32['errors']}",
                ]
            )
    header = ["workers, model threads", "cache", "c=1 p50", "c=8 req/s (p99)", "c=32 req/s, errors"]
    return table(header, rows)


def nginx_table() -> str:
    """scaling.md: nginx in front of two replicas."""
    rows = [
        [r["concurrency"], r["rps"], f"{r['p50_ms']} ms", f"{r['p99_ms']} ms", r["errors"]]
        for r in load("nginx_2_replicas")["rows"]
    ]
    return table(["concurrency", "requests/s", "p50", "p99", "errors"], rows)


def nginx_milvus_line() -> str:
    """scaling.md: nginx, two replicas and one Milvus Lite server, under load during an
    upload."""
    r = load("nginx_2_replicas_milvus")
    c32, up = r["rows"][0], r["upload"]
    after = ", ".join(f"{s} s" for s in up["served_after_seconds"].values())
    return (
        f"`benchmarks/nginx_replicas.py --store milvus` ({_when('nginx_2_replicas_milvus')}): "
        f"nginx in front of {r['replicas']} replicas sharing one Milvus Lite gRPC server and "
        f"one index folder, wrk at concurrency {c32['concurrency']} for "
        f"{c32['requests'] / max(c32['rps'], 1e-9):.0f} s through nginx while a document is "
        f"uploaded through nginx: **{c32['errors']} failed of {c32['requests']} requests** "
        f"({c32['rps']} requests/s, p50 {c32['p50_ms']} ms, p99 {c32['p99_ms']} ms); the upload "
        f"answered {up['upload_status']}, and every replica answered from the new build "
        f"({after} after the upload was sent): "
        f"{'yes' if up['all_replicas_serve_it'] else 'no'}.\n"
    )


def scale_table() -> str:
    """scaling.md: search at 10k, 100k and 1M passages."""
    rows = []
    for n in (10_000, 100_000, 1_000_000):
        flat, ivf = _scale("faiss-flat", n), _scale("faiss-ivf", n)
        hnsw, bm25 = _scale("faiss-hnsw32-ef256", n), _scale("bm25s", n)
        rows.append(
            [
                f"{n:,}",
                f"{flat['latency_ms']['p50']} ms",
                f"{ivf['latency_ms']['p50']} ms, {ivf['recall@10']}",
                f"{hnsw['latency_ms']['p50']} ms, {hnsw['recall@10']}",
                f"{bm25['latency_ms']['p50']} ms",
                f"{flat['memory_mb']} / {bm25['memory_mb']} MB",
                f"{ivf['build_s']} / {hnsw['build_s']} / {bm25['build_s']} s",
            ]
        )
    header = [
        "passages",
        "exact p50",
        "IVF 16 probes: p50, recall@10",
        "HNSW32 ef 256: p50, recall@10",
        "BM25 p50",
        "memory (exact / BM25)",
        "build (IVF / HNSW / BM25)",
    ]
    return table(header, rows)


def evaluation() -> str:
    """README: the golden-set evaluation (benchmarks/results/golden/eval.json)."""
    m = json.loads((RESULTS / "golden" / "eval.json").read_text(encoding="utf-8"))["metrics"]
    rows = [
        ["answer accuracy", m["accuracy"]],
        ["citation support", m["citation_support"]],
        ["citation faithfulness", m["faithfulness"]],
        [
            "retrieval recall@1 / @3 / @5, MRR@10",
            f"{m['recall@1']} / {m['recall@3']} / {m['recall@5']}, {m['mrr@10']}",
        ],
        ["median / max answer length", f"{m['median_answer_chars']:g} / {m['max_answer_chars']:g}"],
        ["unanswerable refused", m["unanswerable_refused"]],
        ["answerable wrongly refused", m["answerable_refused"]],
        ["questions", f"{m['questions']:g}"],
    ]
    return table(["metric", "measured"], rows)


def golden_stages() -> str:
    """README: the golden set answered by each answer stage (benchmarks/results/golden and
    golden-reader, each written by ``sco-qa eval``)."""
    from sco_qa.evaluation.squad import calibration_metrics

    rows = []
    for folder, name in (("golden", "answer scorer alone"), ("golden-reader", "with the reader")):
        path = RESULTS / folder / "eval.json"
        if not path.is_file():
            continue
        data = json.loads(path.read_text(encoding="utf-8"))
        m, out = data["metrics"], data["outcomes"]
        c = calibration_metrics([o["confidence"] for o in out], [o["correct"] for o in out],
                                [o["answerable"] for o in out])  # fmt: skip
        rows.append([f"{name} (`{data['scorer']}`)", m["accuracy"], m["unanswerable_refused"],
                     m["answerable_refused"], c["unanswerable_refused_at_95"],
                     c["answerable_auc"]])  # fmt: skip
    header = ["answer stage", "accuracy", "unanswerable refused", "answerable refused",
              "unanswerable refused at 95 % answered", "AUC answerable vs not"]  # fmt: skip
    return table(header, rows)


def scorer_table() -> str:
    """README: every scorer variant, leave-one-article-out on the SQuAD articles."""
    data = load("scorer")
    rows = []
    for name, v in data["variants"].items():
        m = v["pooled"]
        rows.append(
            [
                f"**{name}**" if name == data["chosen"] else name,
                m["accuracy"],
                m["citation_support"],
                m["median_answer_chars"],
                f"{m['unanswerable_refused_at_95']} ({m['answerable_answered']})",
                m["answerable_auc"],
                m["ece"],
                f"{m['latency_p50_ms']} / {m['latency_p99_ms']} ms",
            ]
        )
    header = [
        "scorer",
        "accuracy",
        "support",
        "median chars",
        "unanswerable refused at 95 % answered (answered)",
        "AUC answerable vs not",
        "ECE",
        "ask p50 / p99",
    ]
    note = (
        f"\nScorer in use: `{data['scorer_version']}` ({data['chosen']}); data SHA-256 "
        f"`{data['data_sha256'][:16]}…`; `make train` took {data['seconds']} s.\n"
    )
    return table(header, rows) + note


def reader_table() -> str:
    """README: the reader against the answer scorer alone, on the grouped folds."""
    data = load("reader")
    gone = data["removed_article"]

    def row(name: str, m: dict[str, Any], removed: str) -> list[Any]:
        return [
            name,
            m["accuracy"],
            m["first_sentence_holds"],
            f"{m['unanswerable_refused_at_95']} ({m['unanswerable_refused']} at its threshold)",
            removed,
            f"{m['answerable_auc']} / {m['ece']}",
            m["recall@5"],
            f"{m['phrase_f1']} / {m['phrase_shown']}" if m["phrase_shown"] else "—",
        ]

    header = [
        "answer stage",
        "accuracy",
        "first sentence holds",
        "near misses refused at 95 % answered",
        "removed article refused",
        "AUC / ECE",
        "gold passage in first 5",
        "phrase F1 / shown",
    ]
    first = data.get("baseline_removed_article")
    alone = f"{first['refused']} ({first['questions']})" if first else "—"
    rows = [
        row("answer scorer alone", data["baseline"], alone),
        row("**with the reader**", data["pooled"], f"{gone['refused']} ({gone['questions']})"),
    ]
    note = (
        f"\nReader measured: `{data['reader_version']}` (opt-in: `SCO_QA_ANSWER_MODEL=reader`); "
        f"folds: 3 of 6 articles each "
        f"(the removed article: {gone['article']}).\n"
    )
    return table(header, rows) + note + _golden_latency()


def _golden_latency() -> str:
    """The in-process ask latency over the golden questions, each answer stage alone on the
    host (``benchmarks/ask_latency.py``, with ``--answer-model reader``)."""
    if not (RESULTS / "ask_latency_reader.json").is_file():
        return ""
    parts = []
    for name, label in (("ask_latency", "the answer scorer"), ("ask_latency_reader", "the reader")):
        data = load(name)
        total, ref = data["uncached"]["total"], data["machine"].get("cpu_reference_ms")
        host = f", host reference {ref} ms" if ref else ""
        parts.append(f"{label} p50 {total['p50']} / p99 {total['p99']} ms ({_when(name)}{host})")
    return (
        "In-process `ask` over the golden questions on 2 cores (`benchmarks/ask_latency.py`, "
        f"nothing else running): {'; '.join(parts)}.\n"
    )


def reader_folds() -> str:
    """README: the reader on each fold."""
    data = load("reader")
    rows = [
        [
            f"fold {fold}",
            f"{m['questions']:g}",
            m["accuracy"],
            data["baseline_folds"][fold]["accuracy"],
            m["first_sentence_holds"],
            m["unanswerable_refused_at_95"],
            m["answerable_auc"],
            m["ece"],
        ]
        for fold, m in data["folds"].items()
    ]
    header = ["held-out fold", "questions", "accuracy", "scorer alone", "first sentence",
              "near misses refused at 95 %", "AUC", "ECE"]  # fmt: skip
    return table(header, rows)


def squad_articles() -> str:
    """README: the chosen scorer on each held-out article."""
    data = load("scorer")
    by_article = data["variants"][data["chosen"]]["by_article"]
    rows = [
        [
            name,
            f"{m['questions']:g}",
            m["accuracy"],
            m["citation_support"],
            m["recall@1"],
            m["recall@5"],
            m["unanswerable_refused"],
            m["answerable_refused"],
        ]
        for name, m in by_article.items()
    ]
    header = [
        "held-out article",
        "questions",
        "accuracy",
        "support",
        "R@1",
        "R@5",
        "unanswerable refused",
        "answerable refused",
    ]
    return table(header, rows)


def switch_table() -> str:
    """scaling.md: requests answered while the index is switched."""
    r = load("switch_load")
    rows = [
        [
            r["concurrency"],
            f"{r['switches']} + {r['rollbacks']} rollback",
            r["requests"],
            r["errors"],
            f"{r['latency_ms']['p50']} / {r['latency_ms']['p99']} ms",
            ", ".join(f"{s} s" for s in r["seconds_to_serve_each_switch"]),
        ]
    ]
    header = ["concurrency", "switches", "requests", "errors", "p50 / p99", "served after"]
    return table(header, rows)


def candidates_table() -> str:
    """README: the candidate scorers of benchmarks/scorer_candidates.py."""
    rows = [
        [
            name,
            v["accuracy_before_refusals"],
            v["answerable_auc"],
            v["ece"],
            v["unanswerable_refused_at_95"],
            v["median_answer_chars"],
            f"{v['extra_ms_per_question']} ms",
        ]
        for name, v in load("scorer_candidates")["candidates"].items()
    ]
    header = [
        "candidate",
        "accuracy before refusals",
        "AUC",
        "ECE",
        "unanswerable refused at 95 %",
        "median chars",
        "extra time per question",
    ]
    return table(header, rows)


def epochs_table() -> str:
    """README: fold 0's reader by how long it was trained (benchmarks/reader_epochs.py)."""
    data = load("reader_epochs")
    n = data["served_candidates"]
    rows = [
        [
            f"{r['epochs']:g}" + ("" if r["epochs"] == r["schedule_epochs"] else
                                  f" (of a {r['schedule_epochs']:g}-epoch run)"),
            r["precision"],
            r["reader_first"]["served"],
            r["reader_first"]["all"],
            f"{r['train_minutes']} min" if r["epochs"] == r["schedule_epochs"] else "",
        ]
        for r in data["runs"]
    ]  # fmt: skip
    header = ["epochs", "forward pass", f"reader's first of the scorer's best {n}",
              "of its best 6", "training"]  # fmt: skip
    note = (
        f"\n{data['held_out_questions']} answerable held-out questions; the answer scorer's own "
        f"first holds the answer for {data['scorer_first']}, one of its best {n} for "
        f"{data['in_served']}, one of its best 6 for {data['in_candidates']} "
        f"(run {_when('reader_epochs')}).\n"
    )
    return table(header, rows) + note


def pool_table() -> str:
    """README: the answer scorer by how many passages it reads (benchmarks/answer_pool.py)."""
    data = load("answer_pool")
    rows = [
        [
            pool,
            f"{m['recall@1']} / {m['recall@3']} / {m['recall@5']}",
            m["accuracy"],
            m["first_sentence_holds"],
            m["unanswerable_refused_at_95"],
            m["answerable_auc"],
        ]
        for pool, m in data["pools"].items()
    ]
    header = [
        "passages read",
        "gold passage in first 1 / 3 / 5",
        "accuracy",
        "first sentence holds",
        "near misses refused at 95 %",
        "AUC",
    ]
    return table(header, rows) + f"\n(run {_when('answer_pool')})\n"


def build_line() -> str:
    """README: the index build's throughput, and each candidate speed-up's."""
    r = load("build_throughput")
    c, agree = r["candidates"], r["int8_retrieval_agreement"]
    head = (
        f"Index build (`benchmarks/build_throughput.py`, {_when('build_throughput')}): "
        f"{r['documents']} SQuAD articles, {r['texts']} passages and sentences "
        f"({r['distinct_texts']} distinct) built in {r['build_seconds']} s, "
        f"{r['build_texts_per_second']} texts/s on 2 cores. Embedding alone, texts covered "
        "per second:\n\n"
    )
    rows = [[name, f"{v:g}"] for name, v in c.items()]
    diff = r["max_difference_to_16_a_batch"]
    note = (
        f"\nint8 documents change retrieval: the first passage agrees with fp32's for "
        f"{agree['first']:.1%} of the articles' questions, the top 5 for {agree['top5']:.1%}. "
        f"Runs of at most {r['batch_tokens']} padded tokens and {r['processes']} worker "
        "processes change no vector: largest difference to 16 a batch "
        f"{max(diff.values()):g}.\n"
    )
    return head + table(["candidate", "texts/s"], rows) + note


def collections_line() -> str:
    """README: many collections in one process."""
    r = load("collections")
    many = r["ask_p50_many_ms"].values()
    return (
        f"`benchmarks/many_collections.py` ({_when('collections')}): one server process with "
        f"{r['collections']} collections of one SQuAD article each, built beforehand: resident "
        f"memory {r['rss_one_mib']:.0f} MiB with one collection, {r['rss_many_mib']:.0f} MiB "
        f"with {r['collections']}, **{r['rss_per_extra_collection_mib']} MiB per extra "
        "collection** (the model and the answer stage are shared; target ≤ 30 MB); `/ask` p50 "
        f"{r['ask_p50_one_ms']} ms with one, {min(many)}–{max(many)} ms on each of the "
        f"{r['collections']}.\n"
    )


def vector_store_table() -> str:
    """docs/scaling.md: FAISS in process against Milvus Lite's server."""
    r = load("vector_store")
    f, m = r["ask_ms"]["faiss"], r["ask_ms"]["milvus"]
    hf, hm = r["http_ask_ms"]["faiss"], r["http_ask_ms"]["milvus"]
    mem = r["memory"]
    rows = [
        ["`ask` p50 / p99 in process, golden questions", f"{f['p50']} / {f['p99']} ms",
         f"{m['p50']} / {m['p99']} ms ({m['p50'] / f['p50']:.1f}× the p50)"],
        ["`POST /ask` p50 / p99 over HTTP, a real server", f"{hf['p50']} / {hf['p99']} ms",
         f"{hm['p50']} / {hm['p99']} ms ({hm['p50'] / hf['p50']:.1f}× the p50)"],
        [f"a replica's store, {mem['passages']:,} passages (peak RSS)",
         f"{mem['faiss_replica_mib']['store_mib']} MiB ({mem['faiss_replica_mib']['peak_mib']})",
         f"{mem['milvus_replica_mib']['store_mib']} MiB ({mem['milvus_replica_mib']['peak_mib']})"],
        ["HNSW recall@10 against exact, 100,000 vectors", "—", f"{r['hnsw_recall_at_10']}"],
    ]  # fmt: skip
    head = f"`benchmarks/vector_store.py` ({_when('vector_store')}), 2 cores:\n\n"
    if "memory_measured" in r:
        head = head.replace(":\n", f"; memory and recall as measured {r['memory_measured']}:\n")
    return head + table(["", "FAISS in process", "Milvus Lite server on loopback"], rows)


def incremental_table() -> str:
    """README: what adding or removing one document costs on a large corpus."""
    r = load("incremental_build")
    texts = r["passages"] + r["sentences"]
    rows = [
        ["full build", f"{r['full_build_seconds']} s", f"{r['full_texts_per_second']} texts/s",
         f"{r['full_distinct_embedded']:,}"],
        ["full build, embedding in the build's own process only",
         f"{r['full_build_one_process_seconds']} s",
         f"{r['full_one_process_texts_per_second']} texts/s", f"{r['full_distinct_embedded']:,}"],
        ["add one document by upload, until it answers", f"{r['add_one_seconds']} s",
         "target ≤ 10 s", f"{r['add_one_embedded']:,} (reused {r['add_one_reused']:,})"],
        ["remove one document, until it is gone from answers", f"{r['remove_one_seconds']} s",
         "target ≤ 5 s", f"{r['remove_one_embedded']:,}"],
    ]  # fmt: skip
    head = (
        f"`benchmarks/incremental_build.py` ({_when('incremental_build')}): "
        f"{r['documents']} documents, {r['characters'] / 1e6:.1f} MB, {texts:,} passages and "
        "sentences, a real server on 2 cores:\n\n"
    )
    return head + table(["step", "time", "", "texts embedded"], rows)


def health_line() -> str:
    """README: /healthz latency under load."""
    r = load("health_under_load")
    b, q = r["healthz_under_load_ms"], r["healthz_idle_ms"]
    return (
        f"`/healthz` while `/ask` runs at concurrency {r['concurrency']} "
        f"(`benchmarks/health_under_load.py`, {_when('health_under_load')}): p50 {b['p50']} ms, "
        f"p99 {b['p99']} ms over {b['n']} probes, {r['healthz_errors']} errors "
        f"(idle: p50 {q['p50']} ms).\n"
    )


def interfaces_table() -> str:
    """README: what each way in costs, client side."""
    r = load("interfaces")
    rows = [[x["interface"], x["p50"], x["p95"], x["p99"], x["n"]] for x in r["rows"]]
    head = (
        f"Client-side latency, ms, of {r['questions']} questions (the golden set, "
        f"{r['rounds']} times) asked "
        f"one after another through each way in (`benchmarks/interfaces.py`, "
        f"{_when('interfaces')}; the question-embedding cache off):\n\n"
    )
    return head + table(["way in", "p50", "p95", "p99", "n"], rows)


def memory_line() -> str:
    """README: resident memory over many requests."""
    r = load("memory_soak")
    first, last = r["points"][0], r["points"][-1]
    steps = ", ".join(str(p["rss_mb"]) for p in r["points"])
    return (
        f"Memory (`benchmarks/memory_soak.py`, {_when('memory_soak')}): a server that built "
        f"its index at start-up, after a 1,000-request warm-up, held {first['rss_mb']} MB and "
        f"{last['rss_mb']} MB after {last['requests']:,} more requests of every kind "
        f"({r['threads']} client threads; {steps} MB every {r['points'][1]['requests']:,}), "
        f"{r['server_errors']} server errors.\n"
    )


def hostile_line() -> str:
    """README: what the bombs and 2,000 idle sockets cost a real server."""
    r = load("hostile_inputs")
    bombs = ", ".join(
        f"{b['file']} ({b['bytes'] / 2**20:.1f} MB): {b['status']} in {b['seconds']} s"
        for b in r["bombs"]
    )
    worst = max(b["server_peak_mb"] for b in r["bombs"])
    idle, free = r["with_2000_idle_sockets"], r["no_idle_sockets"]
    return (
        f"Hostile inputs (`benchmarks/hostile_inputs.py`, {_when('hostile_inputs')}): {bombs}; "
        f"the server's peak memory {worst} MB (before: {r['server_peak_mb_before']} MB). With "
        f"2,000 idle sockets held open, `/healthz` p50 {idle['healthz']['p50']} ms, p99 "
        f"{idle['healthz']['p99']} ms (none held: {free['healthz']['p50']} / "
        f"{free['healthz']['p99']} ms) and `/ask` p50 {idle['ask']['p50']} ms.\n"
    )


MAKERS: dict[str, Callable[[], str]] = {
    "performance": performance,
    "time": time_table,
    "backends": backends_table,
    "http": http_table,
    "nginx": nginx_table,
    "nginx_milvus": nginx_milvus_line,
    "scale": scale_table,
    "evaluation": evaluation,
    "scorer": scorer_table,
    "squad": squad_articles,
    "reader": reader_table,
    "golden_stages": golden_stages,
    "reader_folds": reader_folds,
    "switch": switch_table,
    "candidates": candidates_table,
    "epochs": epochs_table,
    "pool": pool_table,
    "health": health_line,
    "build": build_line,
    "incremental": incremental_table,
    "collections": collections_line,
    "vector_store": vector_store_table,
    "interfaces": interfaces_table,
    "memory": memory_line,
    "hostile": hostile_line,
}


def render(text: str) -> str:
    """The document with every results region rewritten."""
    return REGION.sub(lambda m: m.group(1) + MAKERS[m.group(2)]() + m.group(4), text)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--check", action="store_true", help="fail if a document is stale")
    args = parser.parse_args()
    stale = []
    for doc in DOCS:
        old = doc.read_text(encoding="utf-8")
        new = render(old)
        if new != old:
            stale.append(doc.name)
            if not args.check:
                doc.write_text(new, encoding="utf-8")
    if args.check and stale:
        print(f"stale figures in {', '.join(stale)}: run python benchmarks/tables.py")
        return 1
    print("figures up to date" if not stale else f"rewrote {', '.join(stale)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
