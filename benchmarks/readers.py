"""PDF readers side by side on real PDF files: pypdfium2 (used) and pdfminer.six (the
pure-Python alternative): seconds per file, characters, and words left broken by a hyphen at
a line end. Usage: python benchmarks/readers.py [PDF …] (default: PDF manuals that Debian
installs under /usr/share/doc); needs `pip install pdfminer.six` for the comparison."""

from __future__ import annotations

import argparse
import re
import time
from pathlib import Path

from common import write_result

from sco_qa.corpus import pdf

DEFAULT = sorted(Path("/usr/share/doc").glob("*/*.pdf"))[:5]
_BROKEN = re.compile(r"[a-z]-\n[a-z]")


def measure(path: Path) -> dict[str, object]:
    from pdfminer.high_level import extract_text

    t0 = time.perf_counter()
    doc = pdf.read(path, "x")
    t1 = time.perf_counter()
    other = extract_text(str(path))
    t2 = time.perf_counter()
    return {
        "file": path.name,
        "pages": len(doc.pages),
        "sco_qa_pypdfium2": {
            "seconds": round(t1 - t0, 3),
            "chars": len(doc.text),
            "broken_words": len(_BROKEN.findall(doc.text)),
        },
        "pdfminer_six": {
            "seconds": round(t2 - t1, 3),
            "chars": len(other),
            "broken_words": len(_BROKEN.findall(other)),
        },
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("pdfs", nargs="*", type=Path, default=DEFAULT)
    rows = [measure(p) for p in parse_args(parser).pdfs]
    ours = sum(r["sco_qa_pypdfium2"]["seconds"] for r in rows)  # type: ignore[index]
    theirs = sum(r["pdfminer_six"]["seconds"] for r in rows)  # type: ignore[index]
    write_result(
        "readers",
        {"rows": rows},
        f"{len(rows)} real PDFs ({sum(r['pages'] for r in rows)} pages): pypdfium2 with the "  # type: ignore[misc]
        f"paragraph reader {ours:.2f} s, pdfminer.six {theirs:.2f} s; words broken at line "
        f"ends: {sum(r['sco_qa_pypdfium2']['broken_words'] for r in rows)} vs "  # type: ignore[index]
        f"{sum(r['pdfminer_six']['broken_words'] for r in rows)}",  # type: ignore[index]
    )


def parse_args(parser: argparse.ArgumentParser) -> argparse.Namespace:
    args = parser.parse_args()
    if not args.pdfs:
        parser.error("no PDF given and none found under /usr/share/doc")
    return args


if __name__ == "__main__":
    main()
