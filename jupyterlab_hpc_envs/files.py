"""Files on a shared file system: written whole or not at all, locked for read-modify-write, and
never redirected by a link that someone else planted.

A folder we write into may be writable by others (a VO folder, a group-writable project folder).
Nothing here follows a symbolic link at a name it creates: temporary files get unpredictable names
and are created with ``O_EXCL | O_NOFOLLOW`` relative to a descriptor of their folder (opened with
``O_NOFOLLOW``), their mode is set on the descriptor, not by path, and the folders we make for our
own records and logs are refused when they are links or belong to someone else.
"""

from __future__ import annotations

import asyncio
import contextlib
import errno
import fcntl
import os
import secrets
import stat
import time
from collections.abc import AsyncIterator, Iterator

from . import errors

# How a new file is opened: never through a link, never an existing file.
_CREATE = os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | os.O_CLOEXEC
TRIES = 5  # temporary names tried before giving up (one is taken only by a planted file)


class UnsafePath(OSError):
    """A folder or file we were to write was a symbolic link or someone else's: nothing written."""

    def __init__(self, path: str, why: str) -> None:
        super().__init__(
            errno.EPERM,
            f"Refusing to write in {path}: {why}. Someone else may have planted it; move it away "
            "(and check who can write in its parent folder), then try again.",
            path,
        )

    def __str__(self) -> str:
        return str(self.strerror)


def _open_folder(folder: str) -> int:
    """A descriptor of ``folder`` itself (a link there is refused, not followed)."""
    try:
        return os.open(folder, os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW | os.O_CLOEXEC)
    except OSError as err:
        if os.path.islink(folder):
            raise UnsafePath(folder, "it is a symbolic link") from None
        raise err


def private_dir(path: str, mode: int = 0o700) -> str:
    """Make ``path`` (and its missing parents) and check that it is a real folder of ours.

    For the folders our records and logs go to (``<data_dir>/tasks``, an environment's ``logs``):
    a symbolic link or a folder of another user there is refused with :class:`UnsafePath`, so a
    write never lands in a place someone else chose.
    """
    with contextlib.suppress(FileExistsError):
        os.makedirs(os.path.dirname(path) or ".", exist_ok=True)
        os.mkdir(path, mode)
    info = os.lstat(path)
    if stat.S_ISLNK(info.st_mode):
        raise UnsafePath(path, "it is a symbolic link")
    if not stat.S_ISDIR(info.st_mode):
        raise UnsafePath(path, "it is not a folder")
    if info.st_uid != os.geteuid():
        raise UnsafePath(path, f"it belongs to user id {info.st_uid}, not to you")
    return path


def _new_file(dir_fd: int, folder: str, name: str) -> tuple[str, int]:
    """A new file ``<name>.<random>.tmp`` in the folder: its name and a descriptor. A name that
    exists (whatever it is, a link included) is never opened; after a few, we give up."""
    for _ in range(TRIES):
        tmp = f"{name}.{secrets.token_hex(8)}.tmp"
        try:
            return tmp, os.open(tmp, _CREATE, 0o600, dir_fd=dir_fd)
        except FileExistsError:
            continue
    raise UnsafePath(
        os.path.join(folder, name), f"{TRIES} temporary names in a row were taken already"
    )


def write_atomic(path: str, data: str | bytes, mode: int = 0o644) -> None:
    """Write ``data`` to ``path`` so that no reader ever sees half of it and no planted link
    redirects it: a new temporary file of an unpredictable name in the same folder (``O_EXCL |
    O_NOFOLLOW``, relative to the folder's descriptor), given ``mode`` on its descriptor (whatever
    the umask), synced, then renamed over ``path`` (a link at ``path`` itself is replaced, not
    followed)."""
    folder, name = os.path.split(os.path.abspath(path))
    raw = data.encode("utf-8") if isinstance(data, str) else data
    dir_fd = _open_folder(folder)
    try:
        tmp, fd = _new_file(dir_fd, folder, name)
        try:
            try:
                os.fchmod(fd, mode)
                view = memoryview(raw)
                while view:
                    view = view[os.write(fd, view) :]
                os.fsync(fd)
            finally:
                os.close(fd)
            os.replace(tmp, name, src_dir_fd=dir_fd, dst_dir_fd=dir_fd)
        except BaseException:
            with contextlib.suppress(OSError):
                os.remove(tmp, dir_fd=dir_fd)
            raise
    finally:
        os.close(dir_fd)


LOCK_WAIT = 2.0  # seconds a lock is waited for in a synchronous block (it holds the event loop)
LOCK_WAIT_ASYNC = 5.0  # seconds a lock is waited for with :func:`locked_async` (the loop runs)


def _lock_retry_delays(fd: int, lock_path: str, what: str, wait: float) -> Iterator[float]:
    """Try to lock ``fd`` without blocking until it works; between tries, yield how long to sleep
    (the caller sleeps, blocking or not). After ``wait`` seconds: :class:`errors.Conflict`."""
    deadline, delay = time.monotonic() + wait, 0.005
    while True:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            return
        except BlockingIOError:
            pass
        if time.monotonic() >= deadline:
            raise errors.Conflict(
                f"Another operation holds the lock of {what or lock_path}: try again in a moment. "
                f"(If nothing of yours is running, a stuck process holds {lock_path}: end it.)"
            )
        yield delay
        delay = min(delay * 2, 0.1)


def _open_lock(lock_path: str) -> int:
    """A descriptor of the lock file (created, owner-only; a link there is refused)."""
    try:
        return os.open(lock_path, os.O_WRONLY | os.O_CREAT | os.O_NOFOLLOW | os.O_CLOEXEC, 0o600)
    except OSError as err:
        if os.path.islink(lock_path):
            raise UnsafePath(lock_path, "the lock file is a symbolic link") from None
        raise err


@contextlib.contextmanager
def locked(lock_path: str, what: str = "", wait: float = LOCK_WAIT) -> Iterator[None]:
    """Hold an exclusive lock on ``lock_path`` (created, owner-only; a link there is refused).

    Never blocks on the lock: it is tried without blocking for up to ``wait`` seconds, then
    :class:`errors.Conflict` says that another operation holds the lock of ``what``. The holders
    here keep it for a read-modify-write of one file, so a longer wait means a stuck process.
    """
    fd = _open_lock(lock_path)
    try:
        for delay in _lock_retry_delays(fd, lock_path, what, wait):
            time.sleep(delay)
        yield
    finally:
        os.close(fd)


@contextlib.asynccontextmanager
async def locked_async(
    lock_path: str, what: str = "", wait: float = LOCK_WAIT_ASYNC
) -> AsyncIterator[None]:
    """:func:`locked` for a coroutine: the event loop keeps serving other requests while the lock
    is waited for, and a lock still held after ``wait`` seconds is a :class:`errors.Conflict`
    (409 over REST)."""
    fd = _open_lock(lock_path)
    try:
        for delay in _lock_retry_delays(fd, lock_path, what, wait):
            await asyncio.sleep(delay)
        yield
    finally:
        os.close(fd)
