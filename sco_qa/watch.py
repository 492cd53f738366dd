"""``sco-qa serve --watch``: rebuild the index when the corpus folder changes (debounced, one
build at a time); a running server switches to each new build by itself. A failed build is
logged and leaves the live index serving."""

from __future__ import annotations

import hashlib
import logging
import os
import threading
from pathlib import Path

from .answer import load_answerer
from .config import Settings
from .corpus import read_corpus
from .embedding import Embedder, load_embedder
from .errors import ScoQaError
from .index import IndexSpec, build_index, rebuild_reason
from .text import plural

log = logging.getLogger(__name__)


def signature(corpus_dir: Path) -> str:
    """A cheap fingerprint of a folder: every file's path, size and modification time."""
    h = hashlib.sha256()
    for folder, dirs, names in os.walk(corpus_dir):
        dirs.sort()
        for name in sorted(names):
            path = Path(folder) / name
            try:
                st = path.stat()
            except OSError:
                continue
            h.update(f"{path.relative_to(corpus_dir)}\0{st.st_size}\0{st.st_mtime_ns}\n".encode())
    return h.hexdigest()


class CorpusWatcher:
    """Looks at the corpus every ``watch_interval`` seconds; after a change that has held
    still for one more look, rebuilds the index if its documents changed."""

    def __init__(self, settings: Settings, spec: IndexSpec | None = None) -> None:
        self.settings = settings
        self.spec = spec or IndexSpec.from_settings(settings)
        self.stop = threading.Event()
        self.builds = 0
        self.failures = 0
        self._embedder: Embedder | None = None

    def _embed(self) -> Embedder:
        if self._embedder is None:
            self._embedder = load_embedder(self.settings)
        return self._embedder

    def _answer_version(self) -> str:
        s = self.settings
        return load_answerer(s.answer_model, s.model_cache_dir).version

    def rebuild(self) -> None:
        """Build the index now if the corpus differs from the live build."""
        spec = self.spec
        try:
            corpus = read_corpus(spec.corpus_dir, spec.max_file_bytes)
            reason = rebuild_reason(spec, corpus)
            if reason is None:
                return
            log.info("%s: rebuilding the index", reason)
            spec = spec.with_scorer(self._answer_version())
            report = build_index(spec, self._embed(), corpus=corpus)
            self.builds += 1
            log.info("built %s: %s, %s; %s embedded, %s reused", report.path,
                     plural(report.documents, "document"),
                     plural(len(report.skipped), "file skipped", "files skipped"),
                     plural(report.embedded, "text"), plural(report.reused, "text"))  # fmt: skip
        except ScoQaError as exc:
            self.failures += 1
            log.error("the corpus changed but the index could not be rebuilt: %s", exc)

    def run(self) -> None:
        """Watch until ``stop`` is set."""
        seen = signature(self.spec.corpus_dir)
        pending = False
        while not self.stop.wait(self.settings.watch_interval):
            now = signature(self.spec.corpus_dir)
            if now != seen:
                seen, pending = now, True  # still changing: wait for it to settle
            elif pending:
                pending = False
                self.rebuild()

    def start(self) -> threading.Thread:
        """Run in a daemon thread."""
        thread = threading.Thread(target=self.run, name="corpus-watcher", daemon=True)
        thread.start()
        return thread
