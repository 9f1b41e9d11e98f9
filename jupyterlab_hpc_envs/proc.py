"""Running a child process from async code: an argument list, never a shell string; never blocking."""

from __future__ import annotations

import asyncio
import atexit
import os
import shutil
import tempfile

_private_cwd: list[str] = []


class CommandError(RuntimeError):
    """A command could not be started or did not finish in time."""


def process_start(pid: int) -> str:
    """The start time of a process (clock ticks since boot), to tell a pid from a reused one;
    ``""`` when there is no such process."""
    try:
        with open(f"/proc/{pid}/stat", encoding="ascii", errors="replace") as f:
            stat = f.read()
    except OSError:
        return ""
    # The command name (field 2) may hold spaces and parentheses: count from the last ')'.
    fields = stat[stat.rfind(")") + 2 :].split()
    return fields[19] if len(fields) > 19 else ""


def private_cwd() -> str:
    """An empty folder of this process only (mode 0700, an unpredictable name, removed at exit):
    the working directory of children that are given none. pip and conda read a requirement that
    looks like a file name (``evilpkg-1.0-py3-none-any.whl``) from their working directory, so it
    must never be the server's, where anybody may have put anything."""
    if not _private_cwd or not os.path.isdir(_private_cwd[0]):
        path = tempfile.mkdtemp(prefix="hpc-envs-cwd-")
        _private_cwd[:] = [path]
        atexit.register(shutil.rmtree, path, True)
    return _private_cwd[0]


async def run(
    argv: list[str],
    timeout: float = 20.0,
    env: dict[str, str] | None = None,
    stdin: bytes | None = None,
    cwd: str | None = None,
) -> tuple[int, str, str]:
    """Run ``argv`` (in environment ``env``, else this process's; in folder ``cwd``, else a
    private empty one); return its exit status, stdout and stderr. It is killed after ``timeout``
    seconds."""
    try:
        proc = await asyncio.create_subprocess_exec(
            *argv,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE,
            stdin=asyncio.subprocess.PIPE if stdin is not None else asyncio.subprocess.DEVNULL,
            env=env,
            cwd=cwd or private_cwd(),
        )
    except OSError as err:
        raise CommandError(f"Cannot run {argv[0]}: {err}") from err
    try:
        stdout, stderr = await asyncio.wait_for(proc.communicate(stdin), timeout)
    except asyncio.TimeoutError:
        proc.kill()
        await proc.wait()
        raise CommandError(
            f"{os.path.basename(argv[0])} did not finish within {timeout:.0f} s"
        ) from None
    except asyncio.CancelledError:
        # The caller gave up (a server stopping): the child goes too, not left to outlive it.
        if proc.returncode is None:
            proc.kill()
            await proc.wait()
        raise
    return proc.returncode or 0, stdout.decode(errors="replace"), stderr.decode(errors="replace")
