"""One embedding worker process (``Workers`` in ``workers.py`` starts it): the fp32 model
with one thread, answering requests on its standard input until it ends."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from .onnx import OnnxMiniLMEmbedder
from .workers import serve


def main() -> None:
    """Load the model and answer requests until the input ends."""
    parser = argparse.ArgumentParser(description="one embedding worker (sco-qa builds start it)")
    parser.add_argument("--cache-dir", type=Path, required=True)
    parser.add_argument("--batch-tokens", type=int, required=True)
    args = parser.parse_args()
    embedder = OnnxMiniLMEmbedder(
        args.cache_dir, cache_size=0, threads=1, batch_tokens=args.batch_tokens
    )
    serve(embedder, sys.stdin.buffer, sys.stdout.buffer)


if __name__ == "__main__":
    main()
