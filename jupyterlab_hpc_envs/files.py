"""Files on a shared file system: written whole or not at all, and locked for read-modify-write."""

from __future__ import annotations

import asyncio
import contextlib
import fcntl
import os
import time
from collections.abc import AsyncIterator, Iterator

from . import names


def write_atomic(path: str, text: str, mode: int = 0o644) -> None:
    """Write ``text`` to ``path`` so that no reader ever sees half of it: a temporary file of
    this process beside it, given ``mode`` (whatever the umask), then renamed over ``path``."""
    tmp = f"{path}.{os.getpid()}.tmp"
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, mode)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            f.write(text)
        os.chmod(tmp, mode)
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.remove(tmp)
        raise


LOCK_WAIT = 2.0  # seconds a lock is waited for in a synchronous block (it holds the event loop)
LOCK_WAIT_ASYNC = 5.0  # seconds a lock is waited for with :func:`locked_async` (the loop runs)


def _waits(fd: int, lock_path: str, what: str, wait: float) -> Iterator[float]:
    """Try to lock ``fd`` without blocking until it works; between tries, yield how long to sleep
    (the caller sleeps, blocking or not). After ``wait`` seconds: :class:`names.Conflict`."""
    deadline, delay = time.monotonic() + wait, 0.005
    while True:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            return
        except BlockingIOError:
            pass
        if time.monotonic() >= deadline:
            raise names.Conflict(
                f"Another operation holds the lock of {what or lock_path}: try again in a moment. "
                f"(If nothing of yours is running, a stuck process holds {lock_path}: end it.)"
            )
        yield delay
        delay = min(delay * 2, 0.1)


@contextlib.contextmanager
def locked(lock_path: str, what: str = "", wait: float = LOCK_WAIT) -> Iterator[None]:
    """Hold an exclusive lock on ``lock_path`` (created, owner-only) for the ``with`` block.

    Never blocks on the lock: it is tried without blocking for up to ``wait`` seconds, then
    :class:`names.Conflict` says that another operation holds the lock of ``what``. The holders
    here keep it for a read-modify-write of one file, so a longer wait means a stuck process.
    """
    fd = os.open(lock_path, os.O_WRONLY | os.O_CREAT, 0o600)
    try:
        for delay in _waits(fd, lock_path, what, wait):
            time.sleep(delay)
        yield
    finally:
        os.close(fd)


@contextlib.asynccontextmanager
async def locked_async(
    lock_path: str, what: str = "", wait: float = LOCK_WAIT_ASYNC
) -> AsyncIterator[None]:
    """:func:`locked` for a coroutine: the event loop keeps serving other requests while the lock
    is waited for, and a lock still held after ``wait`` seconds is a :class:`names.Conflict`
    (409 over REST)."""
    fd = os.open(lock_path, os.O_WRONLY | os.O_CREAT, 0o600)
    try:
        for delay in _waits(fd, lock_path, what, wait):
            await asyncio.sleep(delay)
        yield
    finally:
        os.close(fd)
