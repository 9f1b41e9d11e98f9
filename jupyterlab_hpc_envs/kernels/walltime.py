"""The walltime of a kernel job: when it started, its time limit, when it ends, and why it ended.

The UI counts the remaining time down from ``end_time`` and warns before it; after the job ended it
says whether Slurm ended it at its time limit. Slurm tells all of it (``squeue`` ``%S %l %e``, the
final state ``TIMEOUT``) while it remembers the job (``MinJobAge``); when it has forgotten the job
by the time we ask, srun's own last words say it (``*** STEP 12.0 ON node CANCELLED AT ... DUE TO
TIME LIMIT ***``). A site without accounting has nothing else to tell.
"""

from __future__ import annotations

import time
from collections.abc import Iterable
from typing import Any

from .. import errors
from ..site import slurm
from .resources import parse_minutes

#: What slurmstepd tells srun when a job reached its time limit.
TIME_LIMIT_WORDS = "DUE TO TIME LIMIT"

#: ``end_reason`` of the record, by the final Slurm state (any other final state: ``failed``).
_REASONS = {
    "TIMEOUT": "timeout",
    "DEADLINE": "timeout",
    "COMPLETED": "completed",
    "PREEMPTED": "cancelled",
}


def limit_seconds(limit: str) -> int | None:
    """Seconds of squeue's time limit (``2:00``, ``1:00:00``, ``1-00:00:00``); None for
    ``UNLIMITED``, ``NOT_SET``, ``INVALID`` or nothing."""
    try:
        return parse_minutes(limit) * 60
    except errors.InvalidInput:
        return None


def moment(text: str) -> float | None:
    """Seconds since the epoch of squeue's ``2026-05-02T14:05:00`` (the controller's local time,
    the login node's too); None for ``N/A``, ``Unknown`` or nothing."""
    try:
        return time.mktime(time.strptime(text, "%Y-%m-%dT%H:%M:%S"))
    except (TypeError, ValueError, OverflowError):
        return None


def times(state: slurm.JobState) -> dict[str, Any]:
    """The walltime fields of a kernel job's record from its squeue state: ``time_limit``
    (seconds), ``start_time`` and ``end_time`` (seconds since the epoch), each None when unknown."""
    return {
        "time_limit": limit_seconds(state.limit),
        "start_time": moment(state.start),
        "end_time": moment(state.end),
    }


def fallback_times(minutes: int | None, started: float) -> dict[str, Any]:
    """The walltime fields when Slurm does not answer: the limit asked for, counted from when
    the kernel reported (a little after the job started: its end is reckoned a little late)."""
    if minutes is None:
        return {"time_limit": None, "start_time": started, "end_time": None}
    return {"time_limit": minutes * 60, "start_time": started, "end_time": started + minutes * 60}


def said_time_limit(lines: Iterable[str]) -> bool:
    """Whether srun's output says the job was ended at its time limit."""
    return any(TIME_LIMIT_WORDS in line for line in lines)


def end_reason(state: str, lines: Iterable[str]) -> tuple[str, str]:
    """Why a kernel's job ended, from Slurm's final state and srun's output: the state (``GONE``
    or ``UNKNOWN`` become ``TIMEOUT`` when srun said so) and the reason: ``timeout``,
    ``cancelled``, ``completed`` or ``failed``."""
    if state in ("GONE", "UNKNOWN") and said_time_limit(lines):
        state = "TIMEOUT"
    if state.startswith("CANCELLED"):
        return state, "cancelled"
    return state, _REASONS.get(state, "failed")
