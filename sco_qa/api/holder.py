"""The served collections: for each, an ``EngineHolder`` that loads its engine in the
background (at start, or at its first question) and follows its index's ``CURRENT``
pointer, and the uploads that write into its folder."""

from __future__ import annotations

import logging
import os
import threading
from collections.abc import Iterator
from dataclasses import dataclass

from ..config import Settings
from ..corpus import remove_upload_debris
from ..engine import Engine
from ..errors import ConfigError, CorpusError, IndexStateError, ScoQaError, UnknownCollection
from ..index import Collection, build_bytes, collections_of, current_build, remove_unfinished_builds
from .uploads import Uploads

log = logging.getLogger(__name__)


class EngineHolder:
    """Holds one collection's engine once the background load finishes; the API reads it
    per request."""

    def __init__(self, collection: Collection | None = None) -> None:
        self.collection = collection
        self.engine: Engine | None = None
        self.error: str = ""
        self.code = "index_error"
        self.progress = ""  # what the load (or the build it needed) is doing
        self.started = threading.Event()
        self.ready = threading.Event()
        self.stop = threading.Event()
        self._refused = ""  # a build that failed to load, not tried again
        self.rebuild_error = ""  # the corpus could not be rebuilt: the last good build serves
        self._lock = threading.Lock()

    @property
    def name(self) -> str:
        """The collection's name."""
        return self.collection.name if self.collection is not None else ""

    def start(self, settings: Settings | None = None) -> bool:
        """Start the load in a background thread (once); True when this call started it."""
        with self._lock:
            if self.started.is_set():
                return False
            self.started.set()
        threading.Thread(target=self.load, args=(settings,), daemon=True).start()
        return True

    def load(self, settings: Settings | None = None) -> None:
        """Open the engine (in a background thread), then follow the index's ``CURRENT``
        pointer; a failure to load is kept for ``get``."""
        if self.collection is None:
            if settings is None:
                raise ConfigError("an EngineHolder needs a collection or settings to load")
            self.collection = collections_of(settings)[0]
        self.started.set()
        c = self.collection
        remove_upload_debris(c.spec.corpus_dir)
        remove_unfinished_builds(c.spec.index_dir)
        try:
            engine = self._open(c)
            engine.warm()
            self.engine = engine
            log.info("collection %s: index loaded from %s", c.name, engine.index.path)
        except Exception as exc:  # whatever it was, /readyz must say it, not "loading"
            self.error = str(exc) if isinstance(exc, ScoQaError) else f"{type(exc).__name__}: {exc}"
            self.code = exc.code if isinstance(exc, ScoQaError) else "load_failed"
            log.error("collection %s: cannot load the index: %s", c.name, self.error)
            if c.settings.exit_after_load_failure:
                self._exit_later(c.settings.exit_after_load_failure)
        finally:
            self.ready.set()
        if self.engine is not None and c.settings.reload_interval:
            while not self.stop.wait(c.settings.reload_interval):
                self.follow()

    def _open(self, c: Collection) -> Engine:
        """The engine on a current build; when the corpus changed and cannot be rebuilt,
        the last good build (served as it was built), with the failure kept for /readyz."""
        try:
            return Engine.open(c.settings, spec=c.spec, progress=self._report)
        except (CorpusError, IndexStateError) as exc:
            try:
                engine = Engine.open_live(c.settings, spec=c.spec)
            except ScoQaError:
                raise exc from None
            self.rebuild_error = str(exc)
            log.error("the corpus could not be rebuilt (%s); serving %s", exc, engine.index.path)
            return engine

    def _report(self, message: str) -> None:
        self.progress = message
        log.info("%s: %s", self.name, message)

    def _exit_later(self, seconds: float) -> None:
        """Exit the process with status 3 after ``seconds`` (for a supervisor to see and
        restart it), having answered /readyz with the error meanwhile."""

        def leave() -> None:
            log.error("exiting: the index cannot be loaded (%s)", self.error)
            logging.shutdown()
            os._exit(3)

        timer = threading.Timer(seconds, leave)
        timer.daemon = True
        timer.start()

    def follow(self) -> None:
        """Switch to the build ``CURRENT`` names when it changed (a rebuild, a rollback).
        Requests already running finish on the engine they started with; a build that
        cannot be loaded is logged and the live one goes on serving."""
        engine = self.engine
        if engine is None:
            return
        try:
            live = current_build(engine.spec.index_dir).name
        except (IndexStateError, OSError):
            return
        if live in (engine.index.path.name, self._refused):
            return
        try:
            self.engine = engine.reloaded()
            log.info("collection %s: switched to the index build %s", self.name, live)
        except ScoQaError as exc:
            self._refused = live
            log.error("cannot switch to %s (%s); still serving %s", live, exc, engine.index.path)

    def get(self) -> Engine:
        """The loaded engine; an IndexStateError while it loads (starting a lazy load) or
        when it failed."""
        if self.engine is None:
            if not self.started.is_set() and self.collection is not None:
                self.start()
            if not self.error:
                doing = f" ({self.progress})" if self.progress else ""
                loading = IndexStateError(
                    f"the index is still loading{doing}; retry in a few seconds"
                )
                loading.code = "index_loading"
                raise loading
            err = IndexStateError(self.error)
            err.code = self.code
            raise err
        return self.engine

    def state(self) -> dict[str, object]:
        """What /readyz and ``/collections`` say of this collection."""
        c = self.collection
        engine = self.engine
        status = (
            "ready"
            if engine is not None
            else "error"
            if self.error
            else "loading"
            if self.started.is_set()
            else "not loaded"
        )
        out: dict[str, object] = {
            "name": self.name,
            "title": c.title if c is not None else "",
            "status": status,
            "error": self.error,
            "rebuild_error": self.rebuild_error,
        }
        if engine is not None:
            m = engine.index.manifest
            out |= {
                "documents": m.counts.documents,
                "passages": m.counts.passages,
                "built_at": m.built_at,
                "memory_bytes": build_bytes(engine.index.path),
            }
        return out


@dataclass
class Served:
    """One collection as the server holds it."""

    collection: Collection
    holder: EngineHolder
    uploads: Uploads


class Collections:
    """The collections a server serves, the default first."""

    def __init__(self, collections: tuple[Collection, ...]) -> None:
        self._all = {
            c.name: Served(c, EngineHolder(c), Uploads.create(c.spec)) for c in collections
        }
        self.default = next(iter(self._all.values()))

    @classmethod
    def of(cls, settings: Settings) -> Collections:
        """The collections the settings describe (a ConfigError at start when they are
        wrong)."""
        return cls(collections_of(settings))

    def __iter__(self) -> Iterator[Served]:
        return iter(self._all.values())

    def __len__(self) -> int:
        return len(self._all)

    def get(self, name: str | None) -> Served:
        """The collection called ``name`` (the default for None); UnknownCollection names
        the ones there are."""
        if name is None:
            return self.default
        found = self._all.get(name)
        if found is None:
            raise UnknownCollection(
                f"no collection {name!r}; GET /collections lists them: " + ", ".join(self._all)
            )
        return found

    def start(self, lazy: bool) -> None:
        """Start loading: every collection now, or (``lazy``) only the default one, the
        others at their first question."""
        for served in self:
            if not lazy or served is self.default:
                served.holder.start()

    def stop(self) -> None:
        """Stop every collection's follower."""
        for served in self:
            served.holder.stop.set()
