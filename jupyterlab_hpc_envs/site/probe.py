"""Partitions the site description leaves out, learned from one of their nodes.

A *probe* is a short Slurm job (one task, one CPU, a little memory, a minute at most, with the
site's build options ``HpcEnvs.build_srun_options``) on the partition, running :mod:`.node_probe`
in a login shell as a user's job would: the node's name, its CPU microarchitecture (the site's arch
variable, else archspec), its ``MODULEPATH``, its module system and the interpreters of its Python
modules. The catalog itself is then read here, from the login node's view of the same module
folders (:class:`.modules.CatalogCache`), when they are visible here.

Answers are cached per cluster and partition, with their date, in ``HpcEnvs.probe_cache_dir``
(owner-only files, written atomically). A server serves an answer older than
``HpcEnvs.probe_max_age`` while it probes again in the background; a probe that cannot run (the
job refused, or not started within ``HpcEnvs.probe_timeout``) is recorded with why, and its job is
cancelled. A site description, where there is one, wins over any probe.
"""

from __future__ import annotations

import asyncio
import json
import logging
import os
import re
import secrets
import shlex
import sys
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from typing import Any

from .. import errors, files, names, proc
from ..config import HpcEnvs
from . import node_probe, slurm

log = logging.getLogger(__name__)

OK, RUNNING, FAILED = "ok", "running", "failed"
JOB_NAME = f"{slurm.JOB_PREFIX}-probe"
RETRY_FAILED = 300.0  # seconds before a server probes again on its own after a failed probe
_LEAKY = ("PYTHONPATH", "PYTHONHOME", "VIRTUAL_ENV", "CONDA_PREFIX", "PYTHONSTARTUP")


@dataclass
class Probe:
    """What a partition's node said (``ok``), or that it is being asked (``running``), or why it
    could not be asked (``failed``); ``at``: when (seconds since the epoch)."""

    partition: str
    state: str
    at: float
    node: str = ""
    arch: str = ""
    arch_source: str = ""
    modulepath: list[str] = field(default_factory=list)
    module_system: dict[str, str] = field(default_factory=dict)
    pythons: dict[str, str] = field(default_factory=dict)
    error: str = ""

    def to_json(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_json(cls, data: object) -> Probe | None:
        """A cached answer, or ``None`` when it is not one (a damaged or foreign file)."""
        if not isinstance(data, dict):
            return None
        try:
            return cls(
                partition=names.partition(data["partition"]),
                state=data["state"] if data["state"] in (OK, FAILED) else FAILED,
                at=float(data["at"]),
                node=str(data.get("node", "")),
                arch=names.arch(data["arch"]) if data.get("arch") else "",
                arch_source=str(data.get("arch_source", "")),
                modulepath=[str(p) for p in data.get("modulepath") or []],
                module_system={
                    str(k): str(v) for k, v in (data.get("module_system") or {}).items()
                },
                pythons={str(k): str(v) for k, v in (data.get("pythons") or {}).items()},
                error=str(data.get("error", "")),
            )
        except (KeyError, TypeError, ValueError, AttributeError, errors.InvalidInput):
            return None

    def visible(self) -> bool:
        """Whether this node sees the module folders the partition's node reported."""
        return any(os.path.isdir(p) for p in self.modulepath)

    def describe(self) -> str:
        """Where the partition's arch and modules come from, in words."""
        if self.state == RUNNING:
            return "probing…"
        if self.state == FAILED:
            return f"probe failed: {self.error}"
        when = time.strftime("%Y-%m-%d %H:%M", time.localtime(self.at))
        text = f"learned from node {self.node} at {when}"
        if self.modulepath and not self.visible():
            text += f" (its module folders {':'.join(self.modulepath)} are not visible here)"
        return text


def learning_message(partition: str) -> str:
    return f"Learning what partition {partition} offers (a short Slurm job)…"


class Probes:
    """The probes of this process: cached answers, the probes running, and starting new ones."""

    def __init__(self, config: HpcEnvs) -> None:
        self.config = config
        self.background = False  # a server refreshes stale answers by itself; a CLI run does not
        self.on_start: Callable[[str], None] | None = None  # told each probe started (the CLI)
        self._running: dict[str, asyncio.Task[Probe]] = {}
        self._started: dict[str, float] = {}

    async def _path(self, partition: str) -> str:
        cluster = re.sub(r"[^A-Za-z0-9_.-]", "_", await slurm.cluster_name()) or "cluster"
        return os.path.join(self.config.probe_cache_dir, cluster, f"{partition}.json")

    async def cached(self, partition: str) -> Probe | None:
        """The last answer for the partition (running probes aside), or ``None``."""
        try:
            with open(await self._path(partition), encoding="utf-8") as f:
                found = Probe.from_json(json.load(f))
        except (OSError, ValueError):
            return None
        return found if found is not None and found.partition == partition else None

    async def state(self, partition: str) -> Probe | None:
        """What is known: a running probe (with the last answer's facts, if any), else the last
        answer, else ``None``."""
        last = await self.cached(partition)
        if partition in self._running:
            running = Probe(partition, RUNNING, self._started[partition])
            if last is not None and last.state == OK:
                last.state, last.error = RUNNING, ""
                return last
            return running
        return last

    def start(self, partition: str) -> asyncio.Task[Probe]:
        """Start a probe of the partition (or return the one running)."""
        task = self._running.get(partition)
        if task is None:
            task = asyncio.ensure_future(self._probe(partition))
            self._running[partition] = task
            self._started[partition] = time.time()
            task.add_done_callback(lambda _: self._running.pop(partition, None))
            if self.on_start is not None:
                self.on_start(partition)
        return task

    async def learn(self, partition: str, wait: bool = True, fresh: bool = False) -> Probe | None:
        """The partition's answer: the cached one if good (a stale one is refreshed in the
        background by a server), else a new probe's, awaited with ``wait``; ``fresh`` probes
        again whatever is cached. :class:`errors.SlurmError` says why a probe failed."""
        last = None if fresh else await self.cached(partition)
        if last is not None and last.state == OK:
            if self.background and time.time() - last.at > self.config.probe_max_age:
                self.start(partition)
            return last
        if not wait:
            if last is None or partition in self._running or self._may_retry(last):
                self.start(partition)
            return await self.state(partition)
        found = await asyncio.shield(self.start(partition))
        if found.state != OK:
            raise errors.SlurmError(found.error)
        return found

    async def wanted(self, partition: str) -> bool:
        """Whether a probe is due by itself: never asked, or failed a while ago."""
        last = await self.cached(partition)
        return partition not in self._running and (last is None or self._may_retry(last))

    def _may_retry(self, last: Probe) -> bool:
        return last.state == FAILED and time.time() - last.at > RETRY_FAILED

    async def _probe(self, partition: str) -> Probe:
        """Run one probe job and record its answer (or why there is none)."""
        job_name = f"{JOB_NAME}:{partition}:{secrets.token_hex(4)}"
        try:
            found = await self._run_job(partition, job_name)
        except errors.SlurmError as err:
            found = Probe(partition, FAILED, time.time(), error=str(err))
        except asyncio.CancelledError:
            await _cancel_quietly(job_name)
            raise
        try:
            path = await self._path(partition)
            files.private_dir(os.path.dirname(path))
            files.write_atomic(path, json.dumps(found.to_json()), 0o600)
        except OSError as err:
            log.warning("Cannot cache the probe of partition %s: %s", partition, err)
        return found

    def _argv(self, partition: str, job_name: str) -> list[str]:
        """The srun of a probe: the smallest job, then the site's build options (which win)."""
        script = (
            f'py={shlex.quote(sys.executable)}; [ -x "$py" ] || py=python3; '
            f'exec "$py" -s -c {shlex.quote(_node_probe_source())} '
            f"{shlex.quote(self.config.arch_variable)}"
        )
        return [
            "srun",
            f"--partition={partition}",
            f"--job-name={job_name}",
            "--time=1",
            "--nodes=1",
            "--ntasks=1",
            "--cpus-per-task=1",
            "--mem=256M",
            *self.config.build_srun_options,
            "bash",
            "-lc",
            script,
        ]

    async def _run_job(self, partition: str, job_name: str) -> Probe:
        env = {k: v for k, v in os.environ.items() if k not in _LEAKY}
        env = slurm.job_environ(env, drop=(self.config.arch_variable,))
        timeout = self.config.probe_timeout
        try:
            code, out, err = await proc.run(self._argv(partition, job_name), timeout, env=env)
        except proc.CommandError as error:
            why = await self._not_started(partition, job_name, str(error))
            raise errors.SlurmError(why) from None
        answer = _answer(out)
        if code != 0 or answer is None:
            said = _slurm_said(err) or f"exit status {code}, no answer printed"
            raise errors.SlurmError(
                f"Cannot learn what partition {partition} offers: Slurm did not run the probe job "
                f"({said}). Check the build options (HpcEnvs.build_srun_options: account, "
                "constraint, memory) and the partition ('sinfo'), then probe again ('jupyter "
                f"hpc-envs site --probe {partition}'), or ask your admins to describe the "
                "partition in the site file."
            )
        arch = str(answer.get("arch") or "")
        if not arch:
            raise errors.SlurmError(
                f"The node {answer.get('node')} of partition {partition} does not say its CPU "
                f"architecture (${self.config.arch_variable} is unset and archspec cannot be "
                "imported there): ask your admins to describe the partition in the site file."
            )
        answer.update(partition=partition, state=OK, at=time.time(), arch=names.arch(arch))
        found = Probe.from_json(answer)
        if found is None:
            raise errors.SlurmError(f"The probe of partition {partition} printed {out[-300:]!r}.")
        return found

    async def _not_started(self, partition: str, job_name: str, why: str) -> str:
        """Why a probe that timed out did not answer (its job's state in the queue); its job is
        cancelled."""
        state = ""
        try:
            jobs = await slurm.jobs_with_prefix(job_name, states="all")
            if jobs:
                state = f"its job {jobs[0].job_id} was {jobs[0].state.lower()}"
                if jobs[0].reason and jobs[0].reason != "None":
                    state += f", reason {jobs[0].reason}"
        except slurm.SlurmError as err:
            state = f"squeue: {err}"
        await _cancel_quietly(job_name)
        waited = f"{self.config.probe_timeout:.0f} s"
        return (
            f"Cannot learn what partition {partition} offers: the probe job could not be "
            f"scheduled within {waited} ({state or why}; cancelled). The partition may be full or "
            f"down: probe again later ('jupyter hpc-envs site --probe {partition}'), allow a "
            "longer wait (HpcEnvs.probe_timeout), or ask your admins to describe the partition "
            "in the site file."
        )

    async def close(self) -> None:
        """Stop the probes running (their jobs are cancelled): a command-line run ends."""
        tasks = list(self._running.values())
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)


def _node_probe_source() -> str:
    with open(node_probe.__file__, encoding="utf-8") as f:
        return f.read()


def _answer(out: str) -> dict[str, Any] | None:
    """The probe's JSON line among whatever else the login shell printed."""
    for line in reversed(out.splitlines()):
        if line.startswith('{"' + node_probe.MARKER):
            try:
                data = json.loads(line)
            except ValueError:
                return None
            return data if isinstance(data, dict) else None
    return None


def _slurm_said(err: str) -> str:
    """srun's own error lines (``srun: error: …``), else the last line of its standard error."""
    lines = [line.strip() for line in err.splitlines() if line.strip()]
    mine = [line for line in lines if line.startswith("srun: error:")]
    return " ".join(mine[-2:] or lines[-1:])


async def _cancel_quietly(job_name: str) -> None:
    try:
        await slurm.cancel_named(job_name)
    except slurm.SlurmError as err:
        log.warning("Cannot cancel the probe job %s: %s", job_name, err)
