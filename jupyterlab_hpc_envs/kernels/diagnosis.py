"""Why a kernel of ours did not start, in a form that JupyterLab tells apart: one marker line.

A start that is refused or fails raises :class:`~.slurm_job.KernelStartError`, whose message
jupyter_server hands to JupyterLab as it is. The sentence for people comes first; when the kind of
failure is known, a last line of its own follows, ``hpc-envs-diagnosis: {...}`` (one JSON object),
which the extension's frontend parses to show its own dialog with the fixes offered:

- ``kind``: one of :data:`KINDS`;
- ``env``, ``partition``: the environment and the partition of the kernel;
- ``subjects``: what is concerned (the modules gone, the interpreter's path, the job id);
- ``fixes``: what the dialog offers, among :data:`FIXES` (``rebuild`` the build of that
  partition, ``migrate`` to a newer toolchain, ``choose`` another kernel).

Front ends that do not know the marker show it as one more line of the message.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from typing import Any

MARKER = "hpc-envs-diagnosis: "
KINDS = (
    "module",  # a module the build loads is gone or hidden
    "interpreter",  # the interpreter the build runs is missing or changed
    "arch",  # the build is for another CPU microarchitecture than the node's
    "build",  # the build is not ready (failed, building) or its folder is gone
    "queue-timeout",  # no node became free in time
    "connect-timeout",  # the job got a node but the kernel did not report
    "cancelled",  # the job was cancelled before the kernel connected
    "ended",  # the job ended (walltime, node failure, srun error) before the kernel connected
)
FIXES = ("rebuild", "migrate", "choose")


def of(
    kind: str,
    env: str,
    partition: str,
    subjects: Iterable[str] = (),
    fixes: Iterable[str] = ("choose",),
) -> dict[str, Any]:
    """A diagnosis (see the module's docstring); ``kind`` and ``fixes`` must be known ones."""
    fixes = list(fixes)
    if kind not in KINDS or not set(fixes) <= set(FIXES):
        raise ValueError(f"unknown diagnosis kind {kind!r} or fixes {fixes!r}")
    return {
        "kind": kind,
        "env": env,
        "partition": partition,
        "subjects": list(subjects),
        "fixes": fixes,
    }


def with_line(message: str, diagnosis: dict[str, Any] | None) -> str:
    """``message``, then the diagnosis' marker line when there is one."""
    if diagnosis is None:
        return message
    return f"{message}\n{MARKER}{json.dumps(diagnosis, sort_keys=True)}"


def parse(text: str) -> tuple[str, dict[str, Any] | None]:
    """The human text and the diagnosis of an error message (``None`` without a marker line)."""
    head, sep, tail = text.rpartition("\n" + MARKER)
    if not sep:
        return text, None
    try:
        found = json.loads(tail)
    except ValueError:
        return text, None
    return head, found if isinstance(found, dict) else None
