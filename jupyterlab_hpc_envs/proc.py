"""Running a child process from async code: an argument list, never a shell string; never blocking."""

from __future__ import annotations

import asyncio
import os


class CommandError(RuntimeError):
    """A command could not be started or did not finish in time."""


async def run(
    argv: list[str],
    timeout: float = 20.0,
    env: dict[str, str] | None = None,
    stdin: bytes | None = None,
) -> tuple[int, str, str]:
    """Run ``argv`` (in environment ``env``, else this process's); return its exit status,
    stdout and stderr. It is killed after ``timeout`` seconds."""
    try:
        proc = await asyncio.create_subprocess_exec(
            *argv,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE,
            stdin=asyncio.subprocess.PIPE if stdin is not None else asyncio.subprocess.DEVNULL,
            env=env,
        )
    except OSError as err:
        raise CommandError(f"Cannot run {argv[0]}: {err}") from err
    try:
        out, err = await asyncio.wait_for(proc.communicate(stdin), timeout)
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
    return proc.returncode or 0, out.decode(errors="replace"), err.decode(errors="replace")
