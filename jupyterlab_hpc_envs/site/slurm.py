"""Slurm: partitions from ``sinfo``, job state from ``squeue``, cancellation with ``scancel``.

Output is always requested in a fixed, separated format (``-o '%R|%a|...'``) and parsed by field,
never read as prose. ``sacct`` is not used: it fails on clusters without slurmdbd.
"""

from __future__ import annotations

import os
import pwd
import shutil
import time
from dataclasses import asdict, dataclass
from typing import Any

from .. import proc
from ..errors import SlurmError as SlurmError  # re-exported

JOB_PREFIX = "hpc-envs"  # job names: hpc-envs-build:<env>:…, hpc-envs-kernel:<env>:…
# What must not reach an srun that is to start a job of its own: the variables of a Slurm job this
# process may itself run in (inside a job, srun would start a step of *that* job, on its node and
# with its limits: Open OnDemand and batchspawner run JupyterLab in a job). SLURM_CONF and a user's
# default account are kept.
_KEEP_SLURM = {"SLURM_CONF", "SLURM_ACCOUNT"}
_SLURM_PREFIXES = ("SLURM_", "SRUN_", "SALLOC_", "SBATCH_")


def job_environ(env: dict[str, str], drop: tuple[str, ...] = ()) -> dict[str, str]:
    """``env`` for an ``srun`` that submits a new job (``--export=ALL``), without the enclosing
    job's variables and without ``drop`` (e.g. this node's arch variable, which the job's node
    sets for itself)."""
    out = {k: v for k, v in env.items() if not k.startswith(_SLURM_PREFIXES) or k in _KEEP_SLURM}
    for name in drop:
        out.pop(name, None)
    return out


# Job states (squeue %T) of a job that still holds or waits for resources; any other is final.
ACTIVE_STATES = frozenset(
    {
        "PENDING",
        "CONFIGURING",
        "RUNNING",
        "COMPLETING",
        "SUSPENDED",
        "REQUEUED",
        "RESIZING",
        "SIGNALING",
        "STAGE_OUT",
        "STOPPED",
        "RESV_DEL_HOLD",
        "REQUEUE_FED",
        "REQUEUE_HOLD",
    }
)


@dataclass
class Partition:
    """One partition as ``sinfo`` reports it (the site description adds the rest)."""

    name: str
    available: bool
    default: bool
    nodes: int
    cpus: str
    memory: str
    gres: str
    time_limit: str
    state: str
    max_cpus: int | None = None  # of its biggest node
    max_memory_mb: int | None = None
    max_gpus: int = 0

    def to_json(self) -> dict[str, Any]:
        return asdict(self)

    def capacity(self, caps: dict[str, str] | None = None) -> dict[str, Any]:
        """What one job of one node can get on this partition (``time``, ``cpus``, ``memory``
        in MiB, ``gpus``, the ``gres`` string): its biggest node, lowered by the partition's own
        ``MaxCPUsPerNode``/``MaxMemPerNode`` (``caps``, from scontrol); a missing key: unlimited
        or unknown."""
        caps = caps or {}
        found: dict[str, Any] = {"gpus": self.max_gpus, "gres": self.gres}
        if self.time_limit and self.time_limit.lower() not in ("infinite", "unlimited", "n/a"):
            found["time"] = self.time_limit
        for key, own, cap in (
            ("cpus", self.max_cpus, caps.get("MaxCPUsPerNode")),
            ("memory_mb", self.max_memory_mb, caps.get("MaxMemPerNode")),
        ):
            values = [v for v in (own, _leading_int(cap or "")) if v]
            if values:
                found[key] = min(values)
        return found


def available() -> bool:
    return shutil.which("sinfo") is not None and shutil.which("srun") is not None


# What the client commands print when Slurm is installed but this machine is not part of a cluster
# (no configuration found, or no controller at the configured address): "no Slurm", not an outage.
NOT_CONFIGURED = (
    "Could not establish a configuration source",
    "Unable to contact slurm controller",
    "Unable to process configuration file",
)
RECHECK_UNREACHABLE = (
    300.0  # seconds: a server asks again whether an unreachable controller is back
)
_status: dict[str, tuple[bool, str, float]] = {}  # SLURM_CONF -> (usable, why not, when found)


async def used(use_slurm: str) -> bool:
    """Whether Slurm is used under the ``use_slurm`` setting: ``yes``, ``no``, or (``auto``) when
    :func:`status` finds a cluster (installed without one is no Slurm)."""
    if use_slurm != "auto":
        return use_slurm == "yes"
    return (await status())[0]


async def status() -> tuple[bool, str]:
    """Whether this process can use Slurm, and why not: ``(False, why)`` when its commands are
    missing or installed without a reachable cluster (a workstation, a test machine).

    Found once per process (per ``$SLURM_CONF``) with one ``sinfo``; a controller that could not be
    contacted is asked again after a few minutes. A controller that is slow or hangs is *not* "no
    Slurm": that is an outage, reported where it happens.
    """
    if not available():
        return False, "its commands (sinfo, srun) are not on PATH"
    conf = os.environ.get("SLURM_CONF", "")
    known = _status.get(conf)
    if known is not None and (known[0] or time.monotonic() - known[2] < RECHECK_UNREACHABLE):
        return known[0], known[1]
    if conf and not os.path.exists(conf):
        # sinfo would retry for a minute before saying so.
        found = (False, f"its configuration file $SLURM_CONF ({conf}) does not exist")
    else:
        try:
            code, out, err = await run(["sinfo", "-h", "-o", "%P"], timeout=15)
        except SlurmError:
            code, out, err = 0, "", ""  # slow, not absent: the callers report their own timeouts
        said = " ".join((err.strip() or out.strip()).split())
        unconfigured = code != 0 and _unconfigured(said)
        found = (False, f"sinfo says: {said}") if unconfigured else (True, "")
    _status[conf] = (found[0], found[1], time.monotonic())
    return found


def _unconfigured(said: str) -> bool:
    return any(p.lower() in said.lower() for p in NOT_CONFIGURED)


def note_failure(said: str) -> bool:
    """Record a failed Slurm command's words if they mean "no cluster here"; whether they did."""
    if not _unconfigured(said):
        return False
    conf = os.environ.get("SLURM_CONF", "")
    _status[conf] = (False, " ".join(said.split()), time.monotonic())
    return True


def not_configured() -> str:
    """Why Slurm is known to be unusable in this process (after :func:`status`), else ``""``."""
    known = _status.get(os.environ.get("SLURM_CONF", ""))
    return known[1] if known is not None and not known[0] else ""


_cluster: dict[str, str] = {}


async def cluster_name() -> str:
    """The cluster's name (``ClusterName`` of ``scontrol show config``), ``""`` if unknown: what
    a partition's name is unique within."""
    conf = os.environ.get("SLURM_CONF", "")
    if conf not in _cluster:
        name = ""
        try:
            code, out, _ = await run(["scontrol", "show", "config"], timeout=30)
        except SlurmError:
            code, out = 1, ""
        for line in out.splitlines() if code == 0 else []:
            key, _, value = line.partition("=")
            if key.strip() == "ClusterName":
                name = value.strip()
                break
        _cluster[conf] = name
    return _cluster[conf]


async def run(argv: list[str], timeout: float = 20.0) -> tuple[int, str, str]:
    """Run a Slurm client command without blocking the event loop."""
    try:
        return await proc.run(argv, timeout)
    except proc.CommandError as err:
        raise SlurmError(str(err)) from None


async def partitions() -> list[Partition]:
    """The partitions of the cluster, one entry each (sinfo prints one line per node state)."""
    # -e: nodes of different sizes on lines of their own, so that the biggest is seen.
    code, out, err = await run(["sinfo", "-h", "-e", "-o", "%P|%a|%D|%c|%m|%G|%l|%T"])
    if code != 0:
        raise SlurmError(f"sinfo failed: {err.strip() or out.strip()}")
    found: dict[str, Partition] = {}
    for line in out.splitlines():
        fields = line.split("|")
        if len(fields) != 8:
            continue
        raw, avail, nodes, cpus, mem, gres, limit, state = fields
        name = raw.rstrip("*")
        if name in found:
            part = found[name]
            part.nodes += int(nodes) if nodes.isdigit() else 0
            part.max_cpus = _larger(part.max_cpus, _leading_int(cpus))
            part.max_memory_mb = _larger(part.max_memory_mb, _leading_int(mem))
            part.max_gpus = max(part.max_gpus, gpu_count(gres))
            if gres != "(null)" and not part.gres:
                part.gres = gres
            continue
        found[name] = Partition(
            name=name,
            available=avail == "up",
            default=raw.endswith("*"),
            nodes=int(nodes) if nodes.isdigit() else 0,
            cpus=cpus,
            memory=mem,
            gres="" if gres == "(null)" else gres,
            time_limit=limit,
            state=state,
            max_cpus=_leading_int(cpus),
            max_memory_mb=_leading_int(mem),
            max_gpus=gpu_count(gres),
        )
    return list(found.values())


async def partition_caps() -> dict[str, dict[str, str]]:
    """Each partition's own per-node caps from ``scontrol show partition -o`` (``MaxCPUsPerNode``,
    ``MaxMemPerNode``, ``MaxTime``: ``KEY=VALUE`` words, one partition a line); empty when
    scontrol does not answer (sinfo's node sizes then stand alone)."""
    try:
        code, out, _ = await run(["scontrol", "show", "partition", "-o"])
    except SlurmError:
        return {}
    if code != 0:
        return {}
    caps: dict[str, dict[str, str]] = {}
    for line in out.splitlines():
        words = dict(w.split("=", 1) for w in line.split() if "=" in w)
        if words.get("PartitionName"):
            caps[words["PartitionName"]] = words
    return caps


def gpu_count(gres: str) -> int:
    """GPUs of one node from its GRES (``gpu:a100:4(S:0-1),mps:100`` is 4; ``(null)`` is 0)."""
    total = 0
    for item in gres.split(","):
        item = item.split("(", 1)[0].strip()
        if item == "gpu" or item.startswith("gpu:"):
            count = item.rsplit(":", 1)[-1]
            total += int(count) if count.isdigit() else 1
    return total


def _leading_int(text: str) -> int | None:
    """The number a Slurm size starts with (``64``, ``64+``, ``UNLIMITED`` is None)."""
    digits = ""
    for char in text.strip():
        if not char.isdigit():
            break
        digits += char
    return int(digits) if digits and len(digits) < 13 else None


def _larger(a: int | None, b: int | None) -> int | None:
    return max(a, b) if a is not None and b is not None else a if b is None else b


@dataclass
class JobState:
    """A job as ``squeue`` reports it; ``GONE`` when squeue no longer lists it (ended and purged)."""

    job_id: str
    state: str  # PENDING, RUNNING, COMPLETED, CANCELLED, TIMEOUT, FAILED, ... or "GONE"
    reason: str
    start: str
    name: str = ""
    comment: str = ""
    limit: str = ""  # the time limit (squeue %l: ``2:00``, ``1:00:00``, ``UNLIMITED``)
    end: str = ""  # the end: expected while it runs, actual after (squeue %e), like ``start``

    @property
    def active(self) -> bool:
        """Waiting or running (what plain ``squeue`` lists): the job still holds or wants a node."""
        return self.state in ACTIVE_STATES

    def to_json(self) -> dict[str, Any]:
        return asdict(self)


async def cancel(job_id: str, signal: str | None = None) -> None:
    argv = ["scancel"]
    if signal:
        argv.append(f"--signal={signal}")
    argv.append(job_id)
    code, _, err = await run(argv)
    if code != 0 and "Invalid job id" not in err and "already completing" not in err:
        raise SlurmError(f"scancel {job_id} failed: {err.strip()}")


def user_name() -> str:
    """The user squeue and scancel filter on (``$USER`` may be unset in a service's environment)."""
    try:
        return pwd.getpwuid(os.getuid()).pw_name
    except KeyError:
        return os.environ.get("USER") or os.environ.get("LOGNAME") or ""


async def jobs(job_ids: list[str]) -> dict[str, JobState]:
    """The states of several jobs in one ``squeue`` call; a job Slurm no longer knows is absent."""
    wanted = [j for j in dict.fromkeys(job_ids) if j]
    if not wanted:
        return {}
    code, out, err = await run(
        ["squeue", "-h", "--states=all", "-j", ",".join(wanted), "-o", _FORMAT]
    )
    if code != 0:
        if "Invalid job id" in err:
            return {}
        raise SlurmError(f"squeue failed: {err.strip() or out.strip()}")
    found: dict[str, JobState] = {}
    for line in out.splitlines():
        job = _parse(line)
        if job is not None and job.job_id in wanted:
            found[job.job_id] = job
    return found


async def array_lines(job_id: str) -> list[JobState]:
    """What squeue lists for job array ``job_id``: a line per started task (``ID_N``) and one for
    the tasks not started yet (``ID_[2-5%2]``); empty when squeue fails or has forgotten it."""
    code, out, _ = await run(["squeue", "-h", "--states=all", "-j", job_id, "-o", _FORMAT])
    lines = out.splitlines() if code == 0 else []
    return [job for job in map(_parse, lines) if job is not None]


async def jobs_with_prefix(prefix: str, states: str = "") -> list[JobState]:
    """This user's jobs whose name starts with ``prefix``, with their comments (``states``: as
    squeue's ``--states``; default: the active ones)."""
    argv = ["squeue", "-h", "-u", user_name(), "-o", _FORMAT]
    if states:
        argv.insert(2, f"--states={states}")
    code, out, err = await run(argv)
    if code != 0:
        raise SlurmError(f"squeue failed: {err.strip() or out.strip()}")
    found = []
    for line in out.splitlines():
        job = _parse(line)
        if job is not None and job.name.startswith(prefix):
            found.append(job)
    return found


async def cancel_named(name: str) -> None:
    """Cancel this user's jobs of that exact name (for a job whose id is not known yet)."""
    code, _, err = await run(["scancel", f"--name={name}", f"--user={user_name()}"])
    if code != 0:
        raise SlurmError(f"scancel --name={name} failed: {err.strip()}")


# squeue's fields of a job, the name last (the one a user chooses freely, so it may hold a "|").
_FORMAT = "%i|%T|%r|%S|%l|%e|%k|%j"


def _parse(line: str) -> JobState | None:
    """A line of squeue in :data:`_FORMAT`; None when it is not one."""
    fields = line.split("|", 7)
    if len(fields) != 8:
        return None
    job_id, state, reason, start, limit, end, comment, name = fields
    return JobState(job_id, state, reason, start, name, _comment(comment), limit, end)


def _comment(value: str) -> str:
    return "" if value == "(null)" else value
