"""Environments: create, build per partition, register as kernels, adopt, remove.

One :class:`Environments` instance per server (or CLI run) holds the site, the task manager and the
configuration; the REST handlers and the CLI are thin skins over its methods. Every method validates
its input before anything is created, and every long operation runs as a task.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import re
import shlex
import shutil
import sys
import time
from collections.abc import Iterator
from typing import Any

from .. import names, proc
from ..config import ENVS_FOLDER, MANIFEST, HpcEnvs
from ..site import PartitionInfo, Site, slurm, toolchains
from ..tasks import Task, TaskFailed, TaskManager, TaskRecord
from . import kernelspec, manifest, scripts
from .manifest import BUILDING, FAILED, READY, Build, Manifest

BUILD_JOB = f"{slurm.JOB_PREFIX}-build"


class Environments:
    def __init__(self, config: HpcEnvs, site: Site, tasks: TaskManager) -> None:
        self.config = config
        self.site = site
        self.tasks = tasks
        tasks.on_recover("build", self._recover_build)

    # --- finding environments -----------------------------------------------------------------

    def _homes(self) -> Iterator[str]:
        for root in self.site.storage_roots():
            folder = os.path.join(root.path, ENVS_FOLDER)
            with contextlib.suppress(FileNotFoundError, NotADirectoryError, PermissionError):
                for entry in sorted(os.scandir(folder), key=lambda e: e.name):
                    if entry.is_dir() and os.path.exists(os.path.join(entry.path, MANIFEST)):
                        yield entry.path

    def all(self) -> list[Manifest]:
        found = []
        for home in self._homes():
            with contextlib.suppress(names.NotFound, names.Conflict):
                found.append(manifest.read(home))
        return found

    def get(self, name: object) -> Manifest:
        wanted = names.env_name(name)
        for home in self._homes():
            if os.path.basename(home).lower() == wanted.lower():
                return manifest.read(home)
        known = [os.path.basename(h) for h in self._homes()]
        import difflib

        close = difflib.get_close_matches(wanted, known, n=3)
        hint = f" Did you mean {', '.join(close)}?" if close else ""
        raise names.NotFound(f"There is no environment {wanted!r}.{hint}", close)

    def describe(self, env: Manifest) -> dict[str, Any]:
        """An environment as the UI and ``list --json`` show it."""
        kernels = kernelspec.ours(self.config.kernels_dir)
        data = env.to_json()
        data["home"] = env.home
        data["kernels"] = [
            {"name": k, "partition": meta.get("partition"), "arch": meta.get("arch")}
            for k, meta in sorted(kernels.items())
            if meta.get("path") == env.home
        ]
        data["tasks"] = [t.to_json() for t in self.tasks.running(env.name)]
        data["warnings"] = self._env_warnings(env)
        return data

    def _env_warnings(self, env: Manifest) -> list[str]:
        warnings = []
        home_dir = os.path.realpath(os.path.expanduser("~"))
        if names.within(env.home, home_dir):
            warnings.append(
                f"{env.name} lives in your home folder, whose quota is small: consider "
                "recreating it under $VSC_DATA or $VSC_SCRATCH."
            )
        for arch, build in env.builds.items():
            if build.state == READY and not os.path.isdir(build.path):
                warnings.append(f"The {arch} build folder {build.path} is gone: rebuild it.")
        return warnings

    # --- validation shared by create and rebuild ----------------------------------------------

    async def _check_modules(
        self, partition: PartitionInfo, modules: list[str], allow_incompatible: bool = False
    ) -> None:
        if self.site.modules.kind == "none":
            if modules:
                raise names.InvalidInput(
                    "modules",
                    "This site has no module system: create the environment without modules.",
                )
            return
        if not modules:
            raise names.InvalidInput(
                "modules",
                "Choose a Python module first (for example 'Python/3.11.3-GCCcore-12.3.0'): the "
                "environment is built on it.",
            )
        missing = []
        for module in modules:
            try:
                await self.site.module_lookup(partition, module)
            except names.NotFound as err:
                missing.append(err)
        if len(missing) == 1:
            raise missing[0]
        if missing:
            raise names.NotFound(
                f"These modules are not available on partition {partition.name!r}: "
                + "; ".join(e.message for e in missing)
            )
        python = modules[0]
        if toolchains.python_version(python) is None:
            raise names.InvalidInput(
                "modules",
                f"The first module must be the Python module the venv is built on, not {python!r}.",
            )
        if not allow_incompatible:
            for module in modules[1:]:
                compat = toolchains.compatibility(module, python)
                if not compat.compatible:
                    raise names.InvalidInput("modules", f"{module}: {compat.reason}.")

    @contextlib.contextmanager
    def _user_lock(self) -> Iterator[None]:
        os.makedirs(self.config.data_dir, mode=0o700, exist_ok=True)
        fd = os.open(
            os.path.join(self.config.data_dir, ".envs.lock"), os.O_WRONLY | os.O_CREAT, 0o600
        )
        try:
            fcntl.flock(fd, fcntl.LOCK_EX)
            yield
        finally:
            os.close(fd)

    # --- create -------------------------------------------------------------------------------

    async def create(
        self,
        *,
        name: object,
        modules: object = (),
        partition: object = None,
        root: object = None,
        packages: object = (),
        requirements: object = None,
        kind: object = "venv",
        options: object = None,
    ) -> TaskRecord:
        """Validate everything, create the environment's folder and manifest, start its build."""
        env_name = names.env_name(name)
        if kind != "venv":
            raise names.InvalidInput("kind", f"Unknown environment kind {kind!r}: use 'venv'.")
        module_list = names.module_list(
            list(modules) if isinstance(modules, (list, tuple)) else modules
        )
        specs = names.package_specs(
            list(packages) if isinstance(packages, (list, tuple)) else packages
        )
        if requirements not in (None, ""):
            specs += names.requirements_text(requirements)
        opts = _options(options)
        part = (
            await self.site.partition(partition)
            if partition not in (None, "")
            else await self.site.default_partition()
        )
        storage = self.site.storage_root(root)
        if not storage.writable:
            raise names.InvalidInput("root", f"The storage root {storage.path} is not writable.")
        await self._check_modules(part, module_list, opts["allow_incompatible"])
        arch = await self.resolve_arch(part)
        with self._user_lock():
            for home in self._homes():
                if os.path.basename(home).lower() == env_name.lower():
                    raise names.Conflict(
                        f"An environment named {os.path.basename(home)!r} exists already "
                        f"({home}): choose another name, or rebuild that one."
                    )
            folder = os.path.join(storage.path, ENVS_FOLDER)
            os.makedirs(folder, exist_ok=True)
            home = os.path.join(folder, env_name)
            try:
                os.mkdir(home, 0o755)
            except FileExistsError:
                raise names.Conflict(
                    f"The folder {home} exists already but holds no environment: move it away "
                    "or choose another name."
                ) from None
            env = Manifest(
                name=env_name,
                kind="venv",
                modules=module_list,
                packages=specs,
                options=opts,
                home=home,
            )
            manifest.write(env)
        return self._start_build(env, part, arch, title=f"Create {env_name} on {part.name}")

    async def rebuild(
        self, name: object, partition: object, force: bool = False
    ) -> TaskRecord | None:
        """Build the environment for another partition (or again); ``None`` if a build of the same
        arch is ready already and only the kernel had to be registered."""
        env = self.get(name)
        part = await self.site.partition(partition)
        await self._check_modules(part, env.modules, env.options.get("allow_incompatible", False))
        arch = await self.resolve_arch(part)
        existing = env.builds.get(arch)
        if existing and existing.state == BUILDING:
            raise names.Conflict(f"{env.name} is being built for {arch} already.")
        if existing and existing.state == READY and not force:
            self.register_kernel(env, part)
            return None
        if existing and existing.state == READY and force:
            self._remove_build(env, arch)
            env = manifest.read(env.home)
        return self._start_build(env, part, arch, title=f"Build {env.name} on {part.name}")

    def _start_build(self, env: Manifest, part: PartitionInfo, arch: str, title: str) -> TaskRecord:
        for task in self.tasks.running(env.name):
            if task.kind == "build" and task.params.get("arch") == arch:
                raise names.Conflict(f"{env.name} is being built for {arch} already.")
        prefix = os.path.join(env.home, f"venv-{arch}")
        params = {"home": env.home, "arch": arch, "prefix": prefix}

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

    def on_partition(
        self, part: PartitionInfo, argv: list[str], job_name: str, time_limit: str = "10"
    ) -> list[str]:
        """``argv`` as it runs on a node of ``part``: as is here, or as a Slurm job step there."""
        if part.local or not self.site.slurm_enabled:
            return argv
        return [
            "srun",
            f"--partition={part.name}",
            f"--job-name={job_name}",
            f"--time={time_limit}",
            "--nodes=1",
            "--ntasks=1",
            "--unbuffered",
            *self.config.build_srun_options,
            *argv,
        ]

    def _context(self) -> scripts.ScriptContext:
        return scripts.ScriptContext(
            module_kind=self.site.modules.kind,
            module_init=self.site.modules.init_bash,
            arch_variable=self.config.arch_variable,
            base_modules=list(self.config.base_modules),
        )

    def launch_path(self, env: Manifest, arch: str) -> str:
        return os.path.join(env.home, f"launch-{arch}.sh")

    def write_launch_script(self, env: Manifest, build: Build) -> str:
        path = self.launch_path(env, build.arch)
        text = scripts.launch_script(
            self._context(),
            name=env.name,
            kind=env.kind,
            arch=build.arch,
            prefix=build.path,
            launch=path,
            modules=env.modules,
        )
        _write_file(path, text, 0o755)
        return path

    async def _build(self, task: Task, home: str, part: PartitionInfo, arch: str) -> dict[str, Any]:
        env = manifest.read(home)
        build = env.builds[arch]
        prefix = build.path
        if not names.within(prefix, home):
            raise TaskFailed(f"Refusing to build outside the environment's folder: {prefix}")
        shutil.rmtree(prefix, ignore_errors=True)  # left by an earlier failed try
        logs = os.path.join(home, "logs")
        os.makedirs(logs, exist_ok=True)
        launch = self.write_launch_script(env, build)
        script = os.path.join(home, f".build-{arch}.sh")
        _write_file(
            script,
            scripts.build_script(
                self._context(),
                name=env.name,
                arch=arch,
                prefix=prefix,
                launch=launch,
                modules=env.modules,
                packages=env.packages,
                system_site_packages=env.options.get("system_site_packages", True),
                pip_options=env.options.get("pip_options") or [],
            ),
            0o700,
        )
        task.log(f"Building {env.name} for {arch} on partition {part.name} into {prefix}")
        info: dict[str, str] = {}
        failure: list[str] = []

        def on_line(line: str) -> None:
            if not line.startswith(scripts.MARK):
                return
            what, _, rest = line[len(scripts.MARK) :].partition(" ")
            if what == "step":
                task.record.step = rest
                self.tasks.save(task.record)
            elif what == "info":
                key, _, value = rest.partition("=")
                info[key] = value
            elif what == "fail":
                failure.append(rest)

        job_name = f"{BUILD_JOB}:{env.name}:{task.id[:8]}"
        argv = self.on_partition(part, ["bash", script], job_name, self.config.build_time_limit)
        if argv[0] == "srun":
            task.record.params["job_name"] = job_name
            task.log(f"Running as a Slurm job on partition {part.name}: {shlex.join(argv)}")

            async def cancel_job() -> None:
                for job in await slurm.jobs_named(job_name):
                    await slurm.cancel(job.job_id)

            task.on_cancel.append(cancel_job)
        else:
            task.log(f"Running on this node ({self.site.hostname}, {self.site.arch}).")
        started = time.time()
        try:
            code = await task.run(argv, env=clean_environ(), on_line=on_line, cwd=home)
        except BaseException:
            self._fail_build(home, arch, "cancelled or interrupted", task)
            raise
        finally:
            with contextlib.suppress(OSError):
                os.remove(script)
        if code != 0 or info.get("prefix") != prefix:
            reason = failure[-1] if failure else f"the build exited with status {code}"
            self._fail_build(home, arch, reason, task)
            raise TaskFailed(
                f"Building {env.name} for {arch} failed: {reason}. The log is kept; nothing was "
                "registered. Fix the cause and rebuild, or remove the environment."
            )
        with manifest.updating(home) as m:
            b = m.builds[arch]
            b.state = READY
            b.finished = time.time()
            b.built_on = info.get("host", "")
            b.python = info.get("python", "")
            b.loaded_modules = [x for x in info.get("loaded_modules", "").split(":") if x]
            b.error = ""
            b.log = self._keep_log(task, home, arch)
            env = m
        self.register_kernel(env, part)
        task.log(f"Kernel {kernelspec.kernel_name(env.name, part.name)} registered.")
        return {"home": home, "arch": arch, "seconds": round(time.time() - started, 1)}

    def _keep_log(self, task: Task, home: str, arch: str) -> str:
        path = os.path.join(home, "logs", f"{arch}-{time.strftime('%Y%m%d-%H%M%S')}.log")
        with contextlib.suppress(OSError):
            shutil.copyfile(self.tasks.log_path(task.id), path)
        return path

    def _fail_build(self, home: str, arch: str, reason: str, task: Task | None) -> None:
        with contextlib.suppress(names.NotFound), manifest.updating(home) as m:
            build = m.builds.get(arch)
            if build is None:
                return
            if names.within(build.path, home) and not build.adopted:
                shutil.rmtree(build.path, ignore_errors=True)
            if not build.partitions:
                with contextlib.suppress(FileNotFoundError):
                    os.remove(self.launch_path(m, arch))
            build.state = FAILED
            build.error = reason
            build.finished = time.time()
            if task is not None:
                build.log = self._keep_log(task, home, arch)

    async def _recover_build(self, record: TaskRecord) -> None:
        home, arch = record.params.get("home"), record.params.get("arch")
        job_name = record.params.get("job_name")
        if job_name and self.site.slurm_enabled:
            with contextlib.suppress(slurm.SlurmError):
                for job in await slurm.jobs_named(job_name):
                    await slurm.cancel(job.job_id)
        if home and arch and os.path.isdir(home):
            self._fail_build(home, arch, "interrupted: the server stopped during the build", None)

    # --- kernels ------------------------------------------------------------------------------

    def register_kernel(self, env: Manifest, part: PartitionInfo) -> str:
        """(Re)write the launch script and the kernelspec of the build for ``part``'s arch."""
        arch = part.arch or ""
        build = env.builds.get(arch)
        if build is None or build.state != READY:
            raise names.Conflict(
                f"{env.name} has no ready build for {arch or part.name}: build it for "
                f"partition {part.name} first."
            )
        launch = self.write_launch_script(env, build)
        name = kernelspec.kernel_name(env.name, part.name)
        kernelspec.write(
            self.config.kernels_dir,
            name,
            kernelspec.spec(
                env=env.name,
                kind=env.kind,
                home=env.home,
                prefix=build.path,
                launch=launch,
                arch=arch,
                partition=part.name,
                modules=env.modules,
                provisioner_config={"partition": part.name},
            ),
        )
        with manifest.updating(env.home) as m:
            b = m.builds[arch]
            if part.name not in b.partitions:
                b.partitions.append(part.name)
        return name

    async def register(self, name: object, partition: object = None) -> list[str]:
        """Reactivate: register again the kernels of every ready build (or of one partition)."""
        env = self.get(name)
        parts = await self.site.partitions()
        wanted = names.partition(partition) if partition not in (None, "") else None
        registered = []
        for part in parts:
            if wanted and part.name != wanted:
                continue
            build = env.builds.get(part.arch or "")
            if build is None or build.state != READY:
                continue
            if wanted or part.name in build.partitions or part.name == build.built_partition:
                registered.append(self.register_kernel(env, part))
        if wanted and not registered:
            raise names.Conflict(
                f"{env.name} has no ready build for partition {wanted}: rebuild it there."
            )
        return registered

    # --- adopt --------------------------------------------------------------------------------

    async def adopt(
        self,
        path: object,
        *,
        name: object = None,
        modules: object = None,
        partition: object = None,
    ) -> dict[str, Any]:
        """Register a venv made by hand, inferring its Python module and arch where possible."""
        venv = names.clean_path("path", path)
        cfg = os.path.join(venv, "pyvenv.cfg")
        if not os.path.isfile(cfg):
            raise names.InvalidInput("path", f"{venv} is not a venv (it has no pyvenv.cfg).")
        if not any(names.within(venv, r.path) for r in self.site.storage_roots()):
            raise names.InvalidInput(
                "path", f"{venv} is outside the storage roots; only venvs inside them are adopted."
            )
        settings = _read_pyvenv(cfg)
        base = os.path.basename(venv.rstrip("/"))
        parts = await self.site.partitions()
        arch_guess = next((p.arch for p in parts if p.arch and base.endswith(p.arch)), None)
        if partition not in (None, ""):
            part = await self.site.partition(partition)
        else:
            part = next((p for p in parts if arch_guess and p.arch == arch_guess), None) or (
                await self.site.default_partition()
            )
        arch = await self.resolve_arch(part)
        if arch_guess and arch_guess != arch:
            raise names.InvalidInput(
                "partition",
                f"{venv} looks built for {arch_guess} (its name), but partition {part.name} is "
                f"{arch}: give the partition it was built on.",
            )
        if name in (None, ""):
            stem = re.sub(rf"[-_.]?{re.escape(arch)}$", "", base) if arch else base
            if stem in ("", "venv", ".venv", "env"):
                stem = os.path.basename(os.path.dirname(venv.rstrip("/")))
            name = re.sub(r"[^A-Za-z0-9_-]", "-", stem).strip("-") or "adopted"
        env_name = names.env_name(name)
        if modules:
            module_list = names.module_list(modules)
        else:
            python = await self._infer_python_module(part, settings)
            module_list = [python] if python else []
        if self.site.modules.kind != "none" and not module_list:
            raise names.InvalidInput(
                "modules",
                f"Cannot tell which Python module {venv} was made with (home = "
                f"{settings.get('home', '?')}): give it, and any other module it needs.",
            )
        await self._check_modules(part, module_list, allow_incompatible=True)
        storage = self.site.storage_root(None)
        with self._user_lock():
            for home in self._homes():
                if os.path.basename(home).lower() == env_name.lower():
                    raise names.Conflict(f"An environment named {env_name!r} exists already.")
            folder = os.path.join(storage.path, ENVS_FOLDER)
            os.makedirs(folder, exist_ok=True)
            home = os.path.join(folder, env_name)
            os.mkdir(home, 0o755)
            env = Manifest(
                name=env_name,
                kind="venv",
                modules=module_list,
                options={"adopted": True},
                home=home,
            )
            env.builds[arch] = Build(
                arch=arch,
                path=venv,
                state=READY,
                built_partition=part.name,
                adopted=True,
                python=settings.get("version", ""),
                finished=time.time(),
            )
            manifest.write(env)
        launch = self.write_launch_script(env, env.builds[arch])
        problem = await self.smoke_test(launch, part)
        if problem:
            shutil.rmtree(home, ignore_errors=True)
            raise names.InvalidInput(
                "modules",
                f"{venv} does not work as a kernel with modules {' '.join(module_list) or '(none)'}"
                f": {problem} Give the modules it was made with (one that provides ipykernel, or "
                "install ipykernel into it), then adopt it again.",
            )
        kernel = self.register_kernel(env, part)
        return {
            "name": env_name,
            "home": home,
            "arch": arch,
            "modules": module_list,
            "kernel": kernel,
        }

    async def smoke_test(self, launch: str, part: PartitionInfo) -> str | None:
        """Start Python with ipykernel through a launch script; the problem, or ``None``."""
        argv = self.on_partition(
            part, [launch, "python", "-c", "import ipykernel"], f"{slurm.JOB_PREFIX}-check"
        )
        try:
            code, out, err = await proc.run(argv, timeout=300, env=clean_environ())
        except proc.CommandError as error:
            return str(error)
        if code == 0:
            return None
        lines = (err.strip() or out.strip()).splitlines()
        return lines[-1] if lines else f"exit status {code}"

    async def _infer_python_module(
        self, part: PartitionInfo, settings: dict[str, str]
    ) -> str | None:
        home = settings.get("home", "")
        version = settings.get("version") or settings.get("version_info", "")
        segments = home.rstrip("/").split("/")
        candidates = []
        for m in await self.site.catalog(part):
            if toolchains.python_version(m.full) is None:
                continue
            if m.version in segments and m.name in segments:
                return m.full
            pv = toolchains.python_version(m.full)
            if version and pv and version.startswith(pv):
                candidates.append(m.full)
        return candidates[0] if len(candidates) == 1 else None

    # --- remove -------------------------------------------------------------------------------

    def remove(self, name: object, partition: object = None) -> dict[str, Any]:
        """Remove one partition's kernel (and its build when no kernel uses it), or everything."""
        env = self.get(name)
        if self.tasks.running(env.name):
            raise names.Conflict(
                f"{env.name} has a task running: wait for it or cancel it, then remove."
            )
        removed: list[str] = []
        kernels = kernelspec.ours(self.config.kernels_dir)
        wanted = names.partition(partition) if partition not in (None, "") else None
        for kname, meta in kernels.items():
            if meta.get("path") != env.home:
                continue
            if wanted and meta.get("partition") != wanted:
                continue
            kernelspec.remove(self.config.kernels_dir, kname)
            removed.append(f"kernel {kname}")
        if wanted:
            with manifest.updating(env.home) as m:
                for arch, build in list(m.builds.items()):
                    if wanted in build.partitions:
                        build.partitions.remove(wanted)
                    if not build.partitions and build.built_partition == wanted:
                        removed += self._delete_build(m, arch)
            return {"removed": removed}
        with manifest.locked(env.home):
            for arch in list(env.builds):
                removed += self._delete_build(env, arch)
            for entry in os.listdir(env.home):
                path = os.path.join(env.home, entry)
                if os.path.isdir(path) and not os.path.islink(path):
                    shutil.rmtree(path)
                else:
                    os.remove(path)
        os.rmdir(env.home)
        removed.append(f"folder {env.home}")
        return {"removed": removed}

    def _remove_build(self, env: Manifest, arch: str) -> None:
        with manifest.updating(env.home) as m:
            self._delete_build(m, arch)

    def _delete_build(self, env: Manifest, arch: str) -> list[str]:
        build = env.builds.pop(arch, None)
        if build is None:
            return []
        removed = []
        if not build.adopted and names.within(build.path, env.home):
            shutil.rmtree(build.path, ignore_errors=True)
            removed.append(f"build {build.path}")
        with contextlib.suppress(FileNotFoundError):
            os.remove(self.launch_path(env, arch))
        return removed

    def removal_plan(self, name: object, partition: object = None) -> list[str]:
        """What :meth:`remove` would delete, for the confirmation dialog."""
        env = self.get(name)
        wanted = names.partition(partition) if partition not in (None, "") else None
        plan = [
            f"kernel {k}"
            for k, meta in kernelspec.ours(self.config.kernels_dir).items()
            if meta.get("path") == env.home and (not wanted or meta.get("partition") == wanted)
        ]
        for build in env.builds.values():
            if wanted and (build.partitions != [wanted] and build.built_partition != wanted):
                continue
            if build.adopted or not names.within(build.path, env.home):
                plan.append(f"(kept: {build.path}, made outside this extension)")
            else:
                plan.append(f"build {build.path}")
        if not wanted:
            plan.append(f"folder {env.home}")
        return plan

    # --- activation ---------------------------------------------------------------------------

    async def activation(self, name: object, partition: object = None) -> str:
        """Shell code that activates the environment: ``eval "$(jupyter hpc-envs activate X)"``."""
        env = self.get(name)
        part = (
            await self.site.partition(partition)
            if partition not in (None, "")
            else await self.site.default_partition()
        )
        build = env.builds.get(part.arch or "")
        if build is None or build.state != READY:
            ready = [a for a, b in env.builds.items() if b.state == READY]
            raise names.Conflict(
                f"{env.name} has no ready build for partition {part.name} ({part.arch}); "
                f"ready builds: {', '.join(ready) or 'none'}."
            )
        return f"source {shlex.quote(self.launch_path(env, build.arch))}\n"

    # --- partitions' architectures ------------------------------------------------------------

    async def resolve_arch(self, part: PartitionInfo) -> str:
        """The partition's arch: from the site description, else asked on a node of it."""
        if part.arch:
            return part.arch
        if not self.site.slurm_enabled:
            return self.site.arch
        variable = self.config.arch_variable
        probe = (
            f'a="${{{variable}:-}}"; [ -n "$a" ] || a=$({shlex.quote(sys.executable)} -c '
            '"import archspec.cpu; print(archspec.cpu.host().name)"); echo "$a"'
        )
        code, out, err = await slurm.run(
            [
                "srun",
                f"--partition={part.name}",
                f"--job-name={slurm.JOB_PREFIX}-probe",
                "--nodes=1",
                "--ntasks=1",
                "--time=1",
                "bash",
                "-c",
                probe,
            ],
            timeout=120,
        )
        arch = out.strip().splitlines()[-1] if out.strip() else ""
        if code != 0 or not arch:
            raise names.Conflict(
                f"Cannot tell the CPU architecture of partition {part.name}: {err.strip()}. "
                "Ask your admins to describe it in the site file (HpcEnvs.partitions)."
            )
        part.arch = names.arch(arch)
        return part.arch


def _options(value: object) -> dict[str, Any]:
    opts = {"system_site_packages": True, "pip_options": [], "allow_incompatible": False}
    if value in (None, ""):
        return opts
    if not isinstance(value, dict):
        raise names.InvalidInput("options", "Options must be an object.")
    for key, item in value.items():
        if key in ("system_site_packages", "allow_incompatible"):
            if not isinstance(item, bool):
                raise names.InvalidInput("options", f"Option {key} must be true or false.")
            opts[key] = item
        elif key == "pip_options":
            opts[key] = _pip_options(item)
        else:
            raise names.InvalidInput("options", f"Unknown option {key!r}.")
    return opts


# pip options a user may add: ones that change how pip resolves, not where code comes from.
SAFE_PIP_OPTIONS = {
    "--pre",
    "--upgrade",
    "--upgrade-strategy=eager",
    "--no-deps",
    "--prefer-binary",
    "--only-binary=:all:",
    "--no-binary=:all:",
    "--ignore-installed",
    "--force-reinstall",
}


def _pip_options(value: object) -> list[str]:
    if not isinstance(value, (list, tuple)):
        raise names.InvalidInput("options", "pip_options must be a list.")
    out = []
    for item in value:
        if item not in SAFE_PIP_OPTIONS:
            raise names.InvalidInput(
                "options",
                f"pip option {item!r} is not accepted; allowed: {', '.join(sorted(SAFE_PIP_OPTIONS))}.",
            )
        out.append(str(item))
    return out


def _read_pyvenv(path: str) -> dict[str, str]:
    settings = {}
    with open(path, encoding="utf-8", errors="replace") as f:
        for line in f:
            key, sep, value = line.partition("=")
            if sep:
                settings[key.strip().lower()] = value.strip()
    return settings


def _write_file(path: str, text: str, mode: int) -> None:
    tmp = f"{path}.{os.getpid()}.tmp"
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, mode)
    with os.fdopen(fd, "w", encoding="utf-8") as f:
        f.write(text)
    os.chmod(tmp, mode)
    os.replace(tmp, path)


def clean_environ() -> dict[str, str]:
    """For builds and pip: the server's environment minus what would leak the server's Python."""
    env = dict(os.environ)
    for var in ("PYTHONPATH", "PYTHONHOME", "VIRTUAL_ENV", "CONDA_PREFIX", "PYTHONSTARTUP"):
        env.pop(var, None)
    env["PYTHONNOUSERSITE"] = "1"
    env["PIP_DISABLE_PIP_VERSION_CHECK"] = "1"
    return env
