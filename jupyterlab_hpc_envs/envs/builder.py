"""Building: an environment's build for one arch, as a task, on a node of the partition.

The build script (made by the environment's kind) runs here or as a Slurm job step; it reports its
steps and facts on marked lines. Whatever ends a build early (a failure, a full disk, a cancel,
the server stopping) leaves it *failed* with its folder removed and its log kept, never
*building* for ever; a server that restarts fails the builds it left behind (recovery).
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import shlex
import time
from typing import Any

from .. import errors, files, ownership
from ..config import HpcEnvs
from ..site import PartitionInfo, Site, slurm
from ..tasks import Task, TaskFailed, TaskManager, TaskRecord
from . import encryption, kernelspec, lock, manifest, scripts
from .kernels import KernelRegistry
from .kinds import Kinds
from .manifest import BUILDING, FAILED, READY, Build, Manifest
from .placement import Placement
from .storage import Storage

BUILD_JOB = f"{slurm.JOB_PREFIX}-build"


class Builder:
    """Starts, runs, fails and recovers build tasks; a ready build's kernel is registered."""

    def __init__(
        self,
        config: HpcEnvs,
        site: Site,
        tasks: TaskManager,
        storage: Storage,
        placement: Placement,
        kinds: Kinds,
        kernels: KernelRegistry,
    ) -> None:
        self.config = config
        self.site = site
        self.tasks = tasks
        self.storage = storage
        self.placement = placement
        self.kinds = kinds
        self.kernels = kernels
        tasks.on_recover("build", self.recover_build)

    def start_build(self, env: Manifest, part: PartitionInfo, arch: str, title: str) -> TaskRecord:
        """The build task of ``env`` for ``arch``, its build recorded as *building*."""
        for task in self.tasks.running(env.name):
            if task.kind == "build" and task.params.get("arch") == arch:
                raise errors.Conflict(f"{env.name} is being built for {arch} already.")
        kind = self.kinds.of(env)
        prefix = kind.prefix(env.home, arch)
        params: dict[str, Any] = {"home": env.home, "arch": arch, "prefix": prefix}
        params.update(kind.build_params(env))

        async def run(task: Task) -> dict[str, Any]:
            return await self._build(task, env.home, part, arch)

        record = self.tasks.start(
            "build", title, run, env=env.name, partition=part.name, params=params
        )
        with manifest.updating(env.home) as m:
            m.builds[arch] = Build(
                arch=arch,
                path=prefix,
                state=BUILDING,
                built_partition=part.name,
                started=time.time(),
                task=record.id,
            )
        return record

    async def _build(self, task: Task, home: str, part: PartitionInfo, arch: str) -> dict[str, Any]:
        """The build task: whatever ends it early (a full disk while writing the scripts, a
        cancel, the server stopping) leaves the build *failed* and its folder removed, never
        *building* for ever."""
        loop = asyncio.get_running_loop()
        try:
            # At most max_concurrent_builds at once: the others wait here, in order (tasks.slot).
            async with self.tasks.slot(task, "build", self.config.max_concurrent_builds):
                return await self._build_steps(task, home, part, arch)
        except BaseException as err:
            reason = (
                str(err) if isinstance(err, (TaskFailed, OSError)) else "cancelled or interrupted"
            )
            await loop.run_in_executor(None, self.fail_build, home, arch, reason, task)
            if isinstance(err, OSError):
                raise TaskFailed(f"Building failed: {err}") from err
            raise

    async def _build_steps(
        self, task: Task, home: str, part: PartitionInfo, arch: str
    ) -> dict[str, Any]:
        """Write the scripts, run the build, record the build ready and register its kernel."""
        env = manifest.read(home)
        path = await self.kinds.of(env).module_path(env, part)
        if path != env.builds[arch].module_path:
            with manifest.updating(home) as m:
                m.builds[arch].module_path = path
                env = m
        build = env.builds[arch]
        script = await self._write_build_script(env, build)
        for warning in env.options.get("warnings") or []:
            task.log(f"Note: {warning}")
        task.log(f"Building {env.name} for {arch} on partition {part.name} into {build.path}")
        started = time.time()
        info = await self._run_build_script(task, env, part, arch, script)
        with manifest.updating(home) as m:
            b = m.builds[arch]
            b.state = READY
            b.finished = time.time()
            b.built_on = info.get("host", "")
            b.python = info.get("python", "")
            b.loaded_modules = [x for x in info.get("loaded_modules", "").split(":") if x]
            b.stack_arch = info.get("stack_arch", "")
            for key in encryption.FIELDS:
                setattr(b, key, info.get(key, ""))
            b.error = ""
            b.log = self.keep_log(task, home, arch)
            env = m
        self.kernels.register_kernel(env, part)
        task.log(f"Kernel {kernelspec.kernel_name(env.name, part.name)} registered.")
        await self._take_lock(task, home, part, arch)
        return {"home": home, "arch": arch, "seconds": round(time.time() - started, 1)}

    async def _take_lock(self, task: Task, home: str, part: PartitionInfo, arch: str) -> None:
        """Record what the build really is (:mod:`.lock`); a build without a lock still works
        (only its drift cannot be told), so a failure is a note in the log."""
        env = manifest.read(home)
        try:
            path = await lock.refresh(self.kinds.of(env).changes.listing, home, part, arch)
        except Exception as err:  # noqa: BLE001 - whatever it was, the build itself is ready
            task.log(f"Note: the lock of this build could not be taken: {err}")
        else:
            task.log(f"Lock written to {path}.")

    async def _write_build_script(self, env: Manifest, build: Build) -> str:
        """Clear what an earlier failed try left, write the launch and build scripts; the build
        script's path."""
        home, prefix = env.home, build.path
        if os.path.dirname(prefix) != home:
            raise TaskFailed(f"Refusing to build outside the environment's folder: {prefix}")

        def clear() -> None:  # left by an earlier failed try (a link: itself, not its target)
            with contextlib.suppress(FileNotFoundError):
                ownership.remove_entry(home, os.path.basename(prefix))

        # A big venv on a shared file system takes a while.
        await asyncio.get_running_loop().run_in_executor(None, clear)
        logs = files.private_dir(os.path.join(home, "logs"))  # a planted link there is refused
        kind = self.kinds.of(env)
        launch = kind.write_launch(env, build)
        script = os.path.join(home, f".build-{build.arch}.sh")
        text = kind.build_script(env, build, launch)
        if self.storage.in_shared_root(home):
            # Members of the VO read the build; only its owner writes it, whatever their umask.
            text = f"umask 022\n{text}"
            os.chmod(logs, 0o700)  # the build logs stay the owner's
        files.write_atomic(script, text, 0o700)
        return script

    async def _run_build_script(
        self, task: Task, env: Manifest, part: PartitionInfo, arch: str, script: str
    ) -> dict[str, str]:
        """Run the build script here or as a Slurm job step; the facts it reported. A failure
        fails the build (its folder removed) and the task, saying why."""
        home, prefix = env.home, env.builds[arch].path
        info: dict[str, str] = {}
        failure: list[str] = []

        def on_line(line: str) -> None:
            if not line.startswith(scripts.PROGRESS_PREFIX):
                return
            what, _, rest = line[len(scripts.PROGRESS_PREFIX) :].partition(" ")
            if what == "step":
                task.record.step = rest
                self.tasks.save(task.record)
            elif what == "info":
                key, _, value = rest.partition("=")
                info[key] = value
            elif what == "fail":
                failure.append(rest)

        argv = self._build_argv(task, env, part, script)
        try:
            code = await task.run(
                argv, env=self.placement.environ_for(part), on_line=on_line, cwd=home
            )
        finally:
            with contextlib.suppress(OSError):
                os.remove(script)
        if code != 0 or info.get("prefix") != prefix:
            if failure:
                reason = failure[-1]
            elif code == 0:
                reason = (
                    f"the smoke test started Python in {info.get('prefix') or 'no environment'}, "
                    f"not in {prefix}"
                )
            else:
                reason = f"the build exited with status {code}"
            loop = asyncio.get_running_loop()
            await loop.run_in_executor(None, self.fail_build, home, arch, reason, task)
            raise TaskFailed(
                f"Building {env.name} for {arch} failed: {reason}. The log is kept; nothing was "
                "registered. Fix the cause and rebuild, or remove the environment."
            )
        return info

    def _build_argv(self, task: Task, env: Manifest, part: PartitionInfo, script: str) -> list[str]:
        """The build's command line; as a Slurm job, named so that a cancel cancels the job."""
        job_name = f"{BUILD_JOB}:{env.name}:{task.id[:8]}"
        argv = self.placement.on_partition(
            part, ["bash", script], job_name, self.config.build_time_limit
        )
        if argv[0] == "srun":
            task.record.params["job_name"] = job_name
            task.log(f"Running as a Slurm job on partition {part.name}: {shlex.join(argv)}")

            async def cancel_job() -> None:
                for job in await slurm.jobs_with_prefix(job_name):
                    await slurm.cancel(job.job_id)

            task.on_cancel.append(cancel_job)
        else:
            task.log(f"Running on this node ({self.site.hostname}, {self.site.arch}).")
        return argv

    def keep_log(self, task: Task, home: str, arch: str) -> str:
        """A copy of the task's log beside the environment, as private as the log (0600)."""
        path = os.path.join(home, "logs", f"{arch}-{time.strftime('%Y%m%d-%H%M%S')}.log")
        with contextlib.suppress(OSError), open(self.tasks.log_path(task.id), "rb") as f:
            files.private_dir(os.path.dirname(path))
            files.write_atomic(path, f.read(), 0o600)
        return path

    def fail_build(self, home: str, arch: str, reason: str, task: Task | None) -> None:
        """Record the build *failed*; remove its folder (unless adopted) and, when no kernel
        uses it, its launch and activation files."""
        with contextlib.suppress(errors.NotFound), manifest.updating(home) as m:
            build = m.builds.get(arch)
            if build is None or build.state != BUILDING:
                return  # not ours to undo, or failed already
            if os.path.dirname(build.path) == home and not build.adopted:
                with contextlib.suppress(OSError):
                    ownership.remove_entry(home, os.path.basename(build.path))
            if not build.partitions:
                for path in (
                    self.storage.launch_path(m, arch),
                    self.storage.activation_path(m, arch),
                ):
                    with contextlib.suppress(FileNotFoundError):
                        ownership.remove_entry(home, os.path.basename(path))
            build.state = FAILED
            build.error = reason
            build.finished = time.time()
            if task is not None:
                build.log = self.keep_log(task, home, arch)

    async def recover_build(self, record: TaskRecord) -> None:
        """A build a dead server left behind: its Slurm job cancelled, the build failed."""
        home, arch = record.params.get("home"), record.params.get("arch")
        job_name = record.params.get("job_name")
        if job_name and self.site.slurm_enabled:
            with contextlib.suppress(slurm.SlurmError):
                for job in await slurm.jobs_with_prefix(job_name):
                    await slurm.cancel(job.job_id)
        if home and arch and os.path.isdir(home):
            self.fail_build(home, arch, "interrupted: the server stopped during the build", None)
