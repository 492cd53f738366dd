"""Index build throughput: texts embedded per second (passages and sentences) and the whole
build's time, on the 8 SQuAD articles of benchmarks/data (2 cores).
Usage: python benchmarks/build_throughput.py"""

from __future__ import annotations

import tempfile
import time
from pathlib import Path

from common import ROOT, write_result

from sco_qa.config import load_settings
from sco_qa.embedding import load_embedder
from sco_qa.evaluation.squad import load_squad, write_corpus
from sco_qa.index import IndexSpec, build_index


def main() -> None:
    squad = load_squad(ROOT / "benchmarks" / "data" / "squad2-dev-part.json")
    embedder = load_embedder(load_settings(model_backend="onnx-int8"))
    embedder.embed(["warm up"])
    with tempfile.TemporaryDirectory() as tmp:
        write_corpus(squad, Path(tmp) / "corpus")
        t0 = time.perf_counter()
        settings = load_settings(corpus_dir=Path(tmp) / "corpus", index_dir=Path(tmp) / "index")
        report = build_index(IndexSpec.from_settings(settings), embedder)
        seconds = time.perf_counter() - t0
    texts = report.passages + report.sentences
    result = {
        "documents": report.documents,
        "passages": report.passages,
        "sentences": report.sentences,
        "distinct_embedded": report.embedded,
        "build_seconds": round(seconds, 2),
        "texts_per_second": round(texts / seconds, 1),
    }
    write_result(
        "build_throughput",
        result,
        f"{report.documents} articles, {report.passages} passages + {report.sentences} "
        f"sentences built in {seconds:.1f} s: {texts / seconds:.0f} texts/s",
    )


if __name__ == "__main__":
    main()
