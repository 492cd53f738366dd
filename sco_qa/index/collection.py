"""Collections: several named corpora served by one server, each with its own folder, index
and builds. Configured by ``SCO_QA_COLLECTIONS`` (``hr=/data/hr,eng=/data/eng``) or by a
TOML file named in ``SCO_QA_COLLECTIONS_FILE``::

    [hr]
    folder = "/data/hr"          # relative paths are relative to the file
    title = "HR handbook"
    [hr.settings]                # optional: settings of this collection only
    abstain_threshold = 0.4

The first collection listed is the default (the one unprefixed routes answer from); each
one's index lives in ``SCO_QA_INDEX_DIR/<name>/``. Without either setting the server's one
folder is the collection ``default``, its index in ``SCO_QA_INDEX_DIR`` as before.
"""

from __future__ import annotations

import re
import tomllib
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..config import Settings, load_settings
from ..errors import ConfigError
from .spec import DEFAULT_COLLECTION, IndexSpec

#: a collection's name: what URLs, model ids and index folders are made of
NAME = re.compile(r"^[a-z0-9][a-z0-9_-]{0,39}$")
#: the settings a collection may set for itself (the rest are the server's)
OWN_SETTINGS = frozenset(
    {
        "title",
        "subtitle",
        "examples",
        "abstain_threshold",
        "max_answer_sentences",
        "top_k",
        "passage_max_chars",
        "passage_overlap",
        "keep_builds",
        "max_file_mb",
        "ann_threshold",
        "auto_rebuild",
    }
)


@dataclass(frozen=True, kw_only=True)
class Collection:
    """One named corpus: its title, its settings (the server's with its own on top) and the
    spec of its index."""

    name: str
    title: str
    settings: Settings
    spec: IndexSpec


def _check_name(name: str, where: str) -> str:
    if not NAME.match(name):
        raise ConfigError(
            f"{where}: collection name {name!r} must be 1 to 40 lower-case letters, digits, "
            "'-' or '_', starting with a letter or digit"
        )
    return name


def _pairs(text: str) -> list[tuple[str, dict[str, Any]]]:
    out = []
    for item in (p.strip() for p in text.split(",")):
        if not item:
            continue
        name, sep, folder = item.partition("=")
        if not sep or not folder.strip():
            raise ConfigError(
                f"SCO_QA_COLLECTIONS: {item!r} is not NAME=FOLDER (e.g. hr=/data/hr,eng=/data/eng)"
            )
        out.append((_check_name(name.strip(), "SCO_QA_COLLECTIONS"), {"folder": folder.strip()}))
    return out


def _file(path: Path) -> list[tuple[str, dict[str, Any]]]:
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as exc:
        raise ConfigError(f"cannot read SCO_QA_COLLECTIONS_FILE {path}: {exc}") from None
    out = []
    for name, table in data.items():
        where = f"{path} [{name}]"
        if not isinstance(table, dict) or not isinstance(table.get("folder"), str):
            raise ConfigError(f'{where}: give each collection a table with folder = "..."')
        unknown = set(table) - {"folder", "title", "settings"}
        if unknown:
            raise ConfigError(f"{where}: unknown keys {sorted(unknown)} (folder, title, settings)")
        folder = Path(table["folder"]).expanduser()
        entry = {**table, "folder": str(folder if folder.is_absolute() else path.parent / folder)}
        out.append((_check_name(name, where), entry))
    return out


def _settings_of(base: Settings, name: str, *, folder: Path, own: object) -> Settings:
    """The server's settings with the collection's folders and own settings on top."""
    own = {} if own is None else own
    if not isinstance(own, dict):
        raise ConfigError(f"collection {name}: settings must be a table")
    unknown = set(own) - OWN_SETTINGS
    if unknown:
        raise ConfigError(
            f"collection {name}: {sorted(unknown)} cannot be set per collection; these can: "
            + ", ".join(sorted(OWN_SETTINGS))
        )
    try:
        where = {"corpus_dir": folder, "index_dir": base.index_dir / name}
        return load_settings(**{**dict(base), **own, **where})
    except ConfigError as exc:
        raise ConfigError(f"collection {name}: {exc}") from None


def collections_of(settings: Settings) -> tuple[Collection, ...]:
    """The collections the settings describe, the default first (only the one
    ``SCO_QA_COLLECTION`` names, when set); a ConfigError says what is wrong with them."""
    every = _all_collections(settings)
    if settings.collection is None:
        return every
    return (pick(every, settings.collection),)


def _all_collections(settings: Settings) -> tuple[Collection, ...]:
    if settings.collections and settings.collections_file:
        raise ConfigError("set SCO_QA_COLLECTIONS or SCO_QA_COLLECTIONS_FILE, not both")
    if settings.collections_file is not None:
        entries = _file(settings.collections_file)
    elif settings.collections:
        entries = _pairs(settings.collections)
    else:
        spec = IndexSpec.from_settings(settings)
        title = settings.title or DEFAULT_COLLECTION
        return (Collection(name=DEFAULT_COLLECTION, title=title, settings=settings, spec=spec),)
    if not entries:
        raise ConfigError("the collections setting names no collection")
    names = [n for n, _ in entries]
    twice = sorted({n for n in names if names.count(n) > 1})
    if twice:
        raise ConfigError(f"collections named twice: {', '.join(twice)}")
    out = []
    for name, entry in entries:
        own = _settings_of(settings, name, folder=Path(entry["folder"]), own=entry.get("settings"))
        spec = IndexSpec.from_settings(own, collection=name)
        title = str(entry.get("title") or own.title or name)
        out.append(Collection(name=name, title=title, settings=own, spec=spec))
    return tuple(out)


def pick(collections: tuple[Collection, ...], name: str | None) -> Collection:
    """The collection called ``name`` (the default when None); a ConfigError naming the
    ones there are."""
    if name is None:
        return collections[0]
    for c in collections:
        if c.name == name:
            return c
    raise ConfigError(
        f"no collection {name!r}; there are: {', '.join(c.name for c in collections)}"
    )
