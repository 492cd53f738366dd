"""Reading untrusted binary documents (PDF, Word) without letting one file take the server
down: a Word file is checked before it is parsed (zip members, their declared expanded
size, XML entity declarations), and each file is parsed in a child process with a memory
and a time budget, so a decompression bomb or a parser stuck on a malformed file costs that
file only ("unreadable"), never the process that reads it.
"""

from __future__ import annotations

import multiprocessing
import resource
import zipfile
from collections.abc import Callable
from pathlib import Path
from types import MappingProxyType
from typing import Any

from ..errors import CorpusError
from ..records import Document

#: address space a reader child may use: Python, the parser library and a large real
#: document fit in a few hundred MB (benchmarks/reader_bombs.py records the peaks)
MEMORY_MB = 1024
#: seconds one file may take to read (a 300-page PDF manual reads in about 2 s here)
SECONDS = 60.0
#: members and total declared expanded size a Word file may have
MAX_MEMBERS = 5000
MAX_EXPANDED = 256 * 1024 * 1024
#: bytes of each XML part searched for entity declarations (they stand in its prologue)
PROLOGUE = 64 * 1024

Reader = Callable[[Path, str], Document]


def check_docx(path: Path) -> None:
    """Refuse a Word file whose zip would expand past the limits or whose XML declares
    entities (the "billion laughs"), before any parser sees it."""
    try:
        with zipfile.ZipFile(path) as z:
            members = z.infolist()
            if len(members) > MAX_MEMBERS:
                raise CorpusError(f"the Word file has {len(members)} parts (limit {MAX_MEMBERS})")
            expanded = sum(m.file_size for m in members)
            if expanded > MAX_EXPANDED:
                raise CorpusError(
                    f"the Word file expands to {expanded // 2**20} MB "
                    f"(limit {MAX_EXPANDED // 2**20} MB): a compressed bomb?"
                )
            for m in members:
                if m.filename.endswith((".xml", ".rels")):
                    with z.open(m) as f:
                        head = f.read(PROLOGUE)
                    if b"<!ENTITY" in head or b"<!DOCTYPE" in head:
                        raise CorpusError(f"{m.filename} declares XML entities; not read")
    except (zipfile.BadZipFile, zipfile.LargeZipFile, OSError, EOFError) as exc:
        raise CorpusError(f"not a readable Word file ({exc})") from None


def _child(reader: Reader, path: Path, doc_id: str, memory: int, conn: Any) -> None:
    """In the child: limits, then the reader; the document or the error goes back."""
    try:
        resource.setrlimit(resource.RLIMIT_AS, (memory, memory))
        doc = reader(path, doc_id)
        parts = (doc.doc_id, doc.title, doc.text, dict(doc.metadata), doc.path, doc.pages)
        conn.send(("ok", parts))
    except MemoryError:
        conn.send(("error", f"needs more than {memory // 2**20} MB to read: a compressed bomb?"))
    except CorpusError as exc:
        conn.send(("error", str(exc)))
    except Exception as exc:  # any parser failure is this file's, and says what it was
        conn.send(("error", f"cannot be read ({type(exc).__name__}: {str(exc)[:200]})"))
    finally:
        conn.close()


def read_guarded(
    reader: Reader,
    path: Path,
    doc_id: str,
    *,
    memory_mb: int = MEMORY_MB,
    seconds: float = SECONDS,
) -> Document:
    """``reader(path, doc_id)`` run in a child process within the budgets; a CorpusError
    saying why when it fails, runs out of memory or time, or dies."""
    ctx = multiprocessing.get_context("forkserver")
    # a server process has threads (never fork those); the fork server starts clean, with
    # this module loaded instead of the caller's main script
    ctx.set_forkserver_preload([__name__])
    ours, theirs = ctx.Pipe(duplex=False)
    proc = ctx.Process(
        target=_child, args=(reader, path, doc_id, memory_mb * 2**20, theirs), daemon=True
    )
    proc.start()
    theirs.close()
    try:
        if not ours.poll(seconds):
            raise CorpusError(f"took longer than {seconds:g} s to read")
        status, payload = ours.recv()
    except EOFError:
        raise CorpusError(
            f"the reader stopped (over {memory_mb} MB or a crash): a compressed bomb?"
        ) from None
    finally:
        ours.close()
        if proc.is_alive():
            proc.kill()
        proc.join(5)
    if status != "ok":
        raise CorpusError(str(payload))
    doc_id, title, text, meta, source, pages = payload
    return Document(doc_id, title, text, MappingProxyType(meta), source, tuple(pages))
