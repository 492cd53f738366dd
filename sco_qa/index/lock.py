"""One index build at a time per index folder, across threads and processes: an exclusive
``flock`` on ``index/.build.lock``, held for the whole build (released by the kernel if the
builder dies)."""

from __future__ import annotations

import errno
import fcntl
import logging
import os
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

from ..errors import IndexStateError

LOCK = ".build.lock"
log = logging.getLogger(__name__)


@contextmanager
def build_lock(
    index_dir: Path, wait: bool = True, on_wait: Callable[[str], None] | None = None
) -> Iterator[None]:
    """Hold the index folder's build lock; wait for another build to finish (telling
    ``on_wait``), or with ``wait=False`` fail at once with an IndexStateError."""
    try:
        index_dir.mkdir(parents=True, exist_ok=True)
        fd = os.open(index_dir / LOCK, os.O_RDWR | os.O_CREAT, 0o644)
    except OSError as exc:
        raise IndexStateError(f"cannot use the index folder {index_dir} ({exc.strerror})") from None
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError as exc:
            if exc.errno not in (errno.EAGAIN, errno.EACCES):
                raise
            if not wait:
                raise IndexStateError(
                    f"another build of {index_dir} is running: wait for it, or leave out "
                    "--no-wait to wait"
                ) from None
            log.warning("another build of %s is running; waiting for it", index_dir)
            if on_wait:
                on_wait("waiting for another build of the index to finish")
            fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        os.close(fd)  # closing the descriptor releases the lock
