"""Environments: create, build per partition, register as kernels, adopt, remove.

One :class:`Environments` instance per server (or CLI run) holds the site, the task manager and the
configuration; the REST handlers and the CLI are thin skins over its methods. Every method validates
its input before anything is created, and every long operation runs as a task.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import re
import shlex
import shutil
import sys
import time
from collections.abc import AsyncIterator, Iterable, Iterator
from typing import Any

from .. import files, names, ownership, proc
from ..config import ENVS_FOLDER, MANIFEST, HpcEnvs
from ..site import PartitionInfo, Site, StorageRoot, slurm, toolchains
from ..tasks import Task, TaskFailed, TaskManager, TaskRecord
from . import conda, encryption, kernelspec, manifest, scripts
from .manifest import BUILDING, FAILED, READY, Build, Manifest

BUILD_JOB = f"{slurm.JOB_PREFIX}-build"


class Environments:
    def __init__(self, config: HpcEnvs, site: Site, tasks: TaskManager) -> None:
        self.config = config
        self.site = site
        self.tasks = tasks
        self.conda = conda.Engines(config, site)
        self._trust: dict[str, ownership.Trust] = {}
        tasks.on_recover("build", self._recover_build)

    # --- finding environments -----------------------------------------------------------------

    def _candidates(self) -> Iterator[tuple[str, bool, str]]:
        """Every environment folder of every root (links included, never followed): its path,
        whether its root is shared, and why its storage folder is refused ('' when it is not).
        Entries are only named here; nothing in them is read before :meth:`_check` passes."""
        roots = [*self.site.storage_roots(), *self.site.shared_roots()]
        for root in roots:
            folder = os.path.join(root.path, ENVS_FOLDER)
            refused = ""
            try:
                ownership.check_envs_folder(root.path, shared=root.shared)
            except names.NotFound:
                continue
            except ownership.Refused as err:
                refused = err.message
            with contextlib.suppress(FileNotFoundError, NotADirectoryError, PermissionError):
                for entry in sorted(os.scandir(folder), key=lambda e: e.name):
                    if entry.name.startswith(".") or not _is_env_name(entry.name):
                        continue  # the conda package cache, lock files, what is no name of ours
                    if not entry.is_symlink() and not (
                        entry.is_dir(follow_symlinks=False)
                        and os.path.lexists(os.path.join(entry.path, MANIFEST))
                    ):
                        continue
                    yield entry.path, root.shared, refused

    def _check(self, home: str, shared: bool, scripts: Iterable[str] = ()) -> ownership.Trust:
        """The ownership rule for ``home`` (see ownership.py), remembered for :meth:`trust`."""
        trust = ownership.check_environment(home, shared=shared, scripts=scripts)
        self._trust[home] = trust
        return trust

    def _scan(self) -> tuple[list[Manifest], list[dict[str, Any]]]:
        """The environments that pass the ownership rule, and those refused with the reason."""
        found: list[Manifest] = []
        refused: list[dict[str, Any]] = []
        for home, shared, folder_refused in self._candidates():
            if folder_refused:
                refused.append(_refused(home, shared, folder_refused))
                continue
            try:
                self._check(home, shared)
                found.append(manifest.read(home))
            except ownership.Refused as err:
                refused.append(_refused(home, shared, err.message))
            except (names.NotFound, names.Conflict):
                continue  # gone meanwhile, or a damaged manifest (get says which)
        return found, refused

    def all(self) -> list[Manifest]:
        return self._scan()[0]

    def trust(self, env: Manifest) -> ownership.Trust:
        """Who owns ``env`` (read by :meth:`get` or :meth:`all`), checked again if unknown."""
        known = self._trust.get(env.home)
        if known is not None:
            return known
        return self._check(env.home, self._in_shared_root(env.home))

    def _in_shared_root(self, home: str) -> bool:
        root = os.path.realpath(os.path.dirname(os.path.dirname(home)))
        return any(os.path.realpath(r.path) == root for r in self.site.shared_roots())

    def checked_script(self, env: Manifest, path: str) -> str:
        """``path`` (a script of ``env`` about to be run), after the ownership rule passed for
        it and for the environment once more."""
        if os.path.dirname(path) != env.home:
            raise ownership.Refused(path, "outside its environment's folder")
        self._check(env.home, self._in_shared_root(env.home), scripts=[path])
        return path

    def require_owner(self, env: Manifest) -> None:
        """Refuse (:class:`ownership.NotOwner`) a change of an environment shared by another."""
        self.trust(env).require_owner(env.name)

    def get(self, name: object) -> Manifest:
        """The environment named exactly ``name``: yours first, else one shared with you. The
        same name twice (among yours, or among others' when you have none) is refused."""
        wanted = names.env_name(name)
        own: list[str] = []
        others: list[str] = []
        refused: list[names.Conflict] = []
        known: list[str] = []
        for home, shared, folder_refused in self._candidates():
            known.append(os.path.basename(home))
            if os.path.basename(home) != wanted:
                continue
            if folder_refused:
                refused.append(names.Conflict(folder_refused, field="name"))
                continue
            try:
                trust = self._check(home, shared)
            except ownership.Refused as err:
                refused.append(err)
                continue
            (own if trust.mine else others).append(home)
        chosen = own or others
        if len(chosen) > 1:
            raise names.Conflict(
                f"The name {wanted!r} is ambiguous: there are environments {' and '.join(chosen)}"
                ". Nothing was done: remove or rename one of them.",
                field="name",
            )
        if chosen:
            return manifest.read(chosen[0])
        if refused:
            raise refused[0]
        import difflib

        close = difflib.get_close_matches(wanted, known, n=3)
        hint = f" Did you mean {', '.join(close)}?" if close else ""
        raise names.NotFound(f"There is no environment {wanted!r}.{hint}", close, field="name")

    def describe_all(self) -> list[dict[str, Any]]:
        """Every environment as :meth:`describe` shows it (the kernelspecs read once)."""
        kernels = kernelspec.ours(self.config.kernels_dir)
        found, refused = self._scan()
        return [self.describe(env, kernels) for env in found] + refused

    def describe(
        self, env: Manifest, kernels: dict[str, dict[str, Any]] | None = None
    ) -> dict[str, Any]:
        """An environment as the UI and ``list --json`` show it."""
        if kernels is None:
            kernels = kernelspec.ours(self.config.kernels_dir)
        data = env.to_json()
        data["home"] = env.home
        trust = self.trust(env)
        data["owner"] = trust.owner_name
        data["shared"] = trust.shared
        data["mine"] = trust.mine
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
            elif build.state == READY:
                unencrypted = encryption.warning(build, env.kind, self.config.kernel_encryption)
                if unencrypted:
                    warnings.append(f"The {arch} build: {unencrypted}")
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
                + "; ".join(e.message for e in missing),
                [s for e in missing for s in e.suggestions],
                field="modules",
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

    @contextlib.asynccontextmanager
    async def _user_lock(self) -> AsyncIterator[None]:
        """The user's lock on creating environments, waited for without holding the event loop;
        still held after a few seconds: a Conflict (another operation holds it)."""
        os.makedirs(self.config.data_dir, mode=0o700, exist_ok=True)
        async with files.locked_async(
            os.path.join(self.config.data_dir, ".envs.lock"), "your environments"
        ):
            yield

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
        python: object = None,
        channels: object = None,
        shared: object = False,
    ) -> TaskRecord:
        """Validate everything, create the environment's folder and manifest, start its build.
        ``shared``: in the VO's folder, for every member to use and only its creator to change."""
        env_name = names.env_name(name)
        if shared not in (None, False, True):
            raise names.InvalidInput("shared", "shared must be true or false.")
        if shared and root not in (None, ""):
            raise names.InvalidInput(
                "root", "A shared environment goes to the VO's folder: give no storage root."
            )
        root = SHARED if shared else root
        if kind == "conda":
            return await self._create_conda(
                env_name=env_name,
                modules=modules,
                partition=partition,
                root=root,
                packages=packages,
                requirements=requirements,
                options=options,
                python=python,
                channels=channels,
            )
        if kind != "venv":
            raise names.InvalidInput(
                "kind", f"Unknown environment kind {kind!r}: use 'venv' or 'conda'."
            )
        if python not in (None, "") or channels not in (None, "", [], ()):
            raise names.InvalidInput(
                "python" if python not in (None, "") else "channels",
                "A Python version and channels are for conda environments: a venv takes its "
                "Python from its Python module.",
            )
        module_list = names.module_list(
            list(modules) if isinstance(modules, (list, tuple)) else modules
        )
        specs = names.package_specs(
            list(packages) if isinstance(packages, (list, tuple)) else packages
        )
        if requirements not in (None, ""):
            specs += names.requirements_text(requirements)
        opts = _options(options)
        part, storage = await self._where(partition, root)
        await self._check_modules(part, module_list, opts["allow_incompatible"])
        arch = await self.resolve_arch(part)
        env = await self._new_home(
            storage.path, env_name, "venv", module_list, specs, opts, shared=storage.shared
        )
        return self._start_build(env, part, arch, title=f"Create {env_name} on {part.name}")

    async def _create_conda(
        self,
        *,
        env_name: str,
        modules: object,
        partition: object,
        root: object,
        packages: object,
        requirements: object,
        options: object,
        python: object,
        channels: object,
    ) -> TaskRecord:
        """A conda environment: the site's policy first, no modules, specs and channels checked,
        an engine found; then the same folder, manifest and build per partition as a venv."""
        conda.require_allowed(self.config)
        if modules not in (None, "", [], ()):
            raise names.InvalidInput("modules", conda.NO_MODULES)
        opts = _conda_options(options)
        if python not in (None, ""):
            opts["python"] = conda.python_version(python)
        if channels not in (None, "", [], ()):
            opts["channels"] = conda.channel_list(channels)
        if not opts["channels"]:
            opts["channels"] = conda.channel_list(list(self.config.conda_channels))
        specs = conda.conda_specs(
            list(packages) if isinstance(packages, (list, tuple)) else packages
        )
        if requirements not in (None, ""):
            specs += conda.conda_requirements(requirements)
        if opts["python"] and any(conda.spec_name(s) == "python" for s in specs):
            raise names.InvalidInput(
                "python", "Give the Python version once: as 'python' or as a 'python=…' package."
            )
        part, storage = await self._where(partition, root)
        engine = await self.conda.choose()
        cache = self.conda_cache(os.path.join(storage.path, ENVS_FOLDER))
        specs, pip_specs = await engine.split_by_channels(specs, opts["channels"], cache)
        opts["pip_packages"] = pip_specs
        opts["engine"] = engine.to_json()
        opts["warnings"] = self.conda_warnings()
        if pip_specs:
            opts["warnings"].append(
                f"{', '.join(pip_specs)} is in none of the channels: it is installed with pip "
                "after the conda packages (conda first, pip last)."
            )
        arch = await self.resolve_arch(part)
        env = await self._new_home(
            storage.path, env_name, "conda", [], specs, opts, shared=storage.shared
        )
        return self._start_build(env, part, arch, title=f"Create {env_name} on {part.name}")

    def conda_warnings(self) -> list[str]:
        """What a user is told before (and when) making a conda environment here."""
        warnings = []
        site_policy = conda.policy(self.config)
        if site_policy["policy"] == "discouraged":
            warnings.append(site_policy["message"])
        user_lib = conda.user_lib_warning()
        if user_lib:
            warnings.append(user_lib)
        return warnings

    def conda_cache(self, envs_folder: str) -> str:
        """The rattler engine's package cache: in the storage root, never in the home folder."""
        return self.config.conda_pkgs_dir or os.path.join(envs_folder, conda.PKGS_FOLDER)

    async def _where(self, partition: object, root: object) -> tuple[PartitionInfo, StorageRoot]:
        """The partition (default: this server's) and the writable storage root of a request
        (the VO's shared folder for :data:`SHARED`)."""
        part = await self.site.partition_or_default(partition)
        storage = self.site.shared_root() if root is SHARED else self.site.storage_root(root)
        if not storage.writable:
            raise names.InvalidInput("root", f"The storage root {storage.path} is not writable.")
        return part, storage

    async def _new_home(
        self,
        root: str,
        env_name: str,
        kind: str,
        modules: list[str],
        specs: list[str],
        opts: dict[str, Any],
        builds: dict[str, Build] | None = None,
        shared: bool = False,
    ) -> Manifest:
        """The environment's folder and first manifest, or Conflict if the name is taken. A
        shared one is group-readable, never group-writable, in the group of the VO's folder."""
        async with self._user_lock():
            for home, _shared, _refused in self._candidates():
                if os.path.basename(home).lower() == env_name.lower():
                    raise names.Conflict(
                        f"An environment named {os.path.basename(home)!r} exists already "
                        f"({home}): choose another name, or rebuild that one.",
                        field="name",
                    )
            folder = os.path.join(root, ENVS_FOLDER)
            home = os.path.join(folder, env_name)
            try:
                _make_envs_folder(root, shared)
                os.mkdir(home, 0o755)
                if shared:
                    os.chown(home, -1, os.stat(root).st_gid)
                    os.chmod(home, 0o2755)  # whatever the creator's umask
            except FileExistsError:
                raise names.Conflict(
                    f"The folder {home} exists already but holds no environment: move it away "
                    "or choose another name.",
                    field="name",
                ) from None
            except OSError as err:  # a VO folder made by another member, a full quota, ...
                raise names.InvalidInput(
                    "root", f"Cannot create {home}: {err.strerror or err}. Choose another root."
                ) from None
            env = Manifest(
                name=env_name,
                kind=kind,
                modules=modules,
                packages=specs,
                options=opts,
                builds=dict(builds or {}),
                home=home,
            )
            try:
                manifest.write(env)
            except OSError as err:
                shutil.rmtree(home, ignore_errors=True)
                raise names.InvalidInput(
                    "root", f"Cannot write in {home}: {err.strerror or err}. Free some space."
                ) from None
        return env

    async def conda_info(self, refresh: bool = False) -> dict[str, Any]:
        """The site's conda policy, the engines found and the one used, or how to get one."""
        engines = await self.conda.all(refresh)
        try:
            engine: conda.Engine | None = await self.conda.choose()
            how_to = ""
        except names.Conflict as err:
            engine, how_to = None, err.message
        return {
            **conda.policy(self.config),
            "engine": engine.to_json() if engine else None,
            "engines": [e.to_json() for e in engines],
            "how_to_get": how_to,
            "channels": list(self.config.conda_channels),
            "known_channels": [dict(c) for c in conda.KNOWN_CHANNELS],
            "warnings": self.conda_warnings(),
        }

    async def conda_environments(self) -> list[dict[str, Any]]:
        """Conda environments made by hand on this node, for adoption."""
        try:
            engine: conda.Engine | None = await self.conda.choose()
        except names.Conflict:
            engine = None
        roots = [r.path for r in self.site.storage_roots()]
        managed = {os.path.realpath(b.path): e.name for e in self.all() for b in e.builds.values()}
        found = []
        for prefix in await conda.existing_environments(engine, self.config, roots):
            inside = any(names.within(prefix, r) for r in roots)
            real = os.path.realpath(prefix)
            found.append(
                {
                    "name": os.path.basename(prefix.rstrip("/")),
                    "prefix": prefix,
                    "python": conda.python_of(prefix),
                    "managed_as": managed.get(real, ""),
                    "adoptable": inside and real not in managed,
                    "reason": ""
                    if inside
                    else "outside the storage roots: only environments inside them are adopted",
                }
            )
        return found

    async def rebuild(
        self, name: object, partition: object, force: bool = False
    ) -> TaskRecord | None:
        """Build the environment for another partition (or again); ``None`` if a build of the same
        arch is ready already and only the kernel had to be registered."""
        env = self.get(name)
        part = await self.site.partition(partition)
        arch = await self.resolve_arch(part)
        existing = env.builds.get(arch)
        if not self.trust(env).mine and not (existing and existing.state == READY and not force):
            self.require_owner(env)  # another's: only registering a ready build's kernel
        adopted_here = existing is not None and existing.adopted
        if env.options.get("adopted") and not (
            adopted_here and existing.state == READY and not force
        ):
            # Its packages were never recorded: a build here would be an empty environment.
            raise names.Conflict(
                f"{env.name} was made by hand and adopted: it cannot be built again here. Create "
                "an environment with the same modules and packages (export its requirements) "
                "instead."
            )
        if env.kind != "conda":
            await self._check_modules(
                part, env.modules, env.options.get("allow_incompatible", False)
            )
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
        prefix = os.path.join(env.home, f"{'conda' if env.kind == 'conda' else 'venv'}-{arch}")
        params: dict[str, Any] = {"home": env.home, "arch": arch, "prefix": prefix}
        if env.kind == "conda":
            params["warnings"] = list(env.options.get("warnings") or [])

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

    def environ_for(self, part: PartitionInfo) -> dict[str, str]:
        """The environment of a command run with :meth:`on_partition`: here, the server's minus
        its own Python; as a Slurm job, also minus the enclosing job's and this node's arch."""
        env = clean_environ()
        if part.local or not self.site.slurm_enabled:
            return env
        return slurm.job_environ(env, drop=(self.config.arch_variable,))

    def _context(self) -> scripts.ScriptContext:
        return scripts.ScriptContext(
            module_kind=self.site.modules.kind,
            module_init=self.site.modules.init_bash,
            arch_variable=self.config.arch_variable,
            base_modules=list(self.config.base_modules),
        )

    def launch_path(self, env: Manifest, arch: str) -> str:
        return os.path.join(env.home, f"launch-{arch}.sh")

    def activation_path(self, env: Manifest, arch: str) -> str:
        """The rattler engine's activation of a conda build, sourced by its launch script."""
        return os.path.join(env.home, f"activate-{arch}.sh")

    def recorded_engine(self, env: Manifest) -> conda.Engine:
        """The engine a conda environment was made (or adopted) with, as its manifest says."""
        data = env.options.get("engine") or {}
        known = {k: str(v) for k, v in data.items() if k in conda.Engine.__dataclass_fields__}
        if not known.get("kind") or not known.get("executable"):
            raise names.Conflict(f"{env.name}'s manifest names no conda engine: remove it.")
        return conda.Engine(**known)

    def write_launch_script(self, env: Manifest, build: Build) -> str:
        path = self.launch_path(env, build.arch)
        if env.kind == "conda":
            engine = self.recorded_engine(env)
            text = scripts.conda_launch_script(
                self._context(),
                name=env.name,
                arch=build.arch,
                prefix=build.path,
                launch=path,
                engine=engine.label,
                engine_exe=engine.activator or engine.executable,
                activation_file=self.activation_path(env, build.arch),
                activation=engine.activation_bash(),
            )
            files.write_atomic(path, text, 0o755)
            return path
        text = scripts.launch_script(
            self._context(),
            name=env.name,
            kind=env.kind,
            arch=build.arch,
            prefix=build.path,
            launch=path,
            modules=env.modules,
        )
        files.write_atomic(path, text, 0o755)
        return path

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
            await loop.run_in_executor(None, self._fail_build, home, arch, reason, task)
            if isinstance(err, OSError):
                raise TaskFailed(f"Building failed: {err}") from err
            raise

    async def _build_steps(
        self, task: Task, home: str, part: PartitionInfo, arch: str
    ) -> dict[str, Any]:
        loop = asyncio.get_running_loop()
        env = manifest.read(home)
        build = env.builds[arch]
        prefix = build.path
        if os.path.dirname(prefix) != home:
            raise TaskFailed(f"Refusing to build outside the environment's folder: {prefix}")

        def clear() -> None:  # left by an earlier failed try (a link: itself, not its target)
            with contextlib.suppress(FileNotFoundError):
                ownership.remove_entry(home, os.path.basename(prefix))

        # A big venv on a shared file system takes a while.
        await loop.run_in_executor(None, clear)
        logs = files.private_dir(os.path.join(home, "logs"))  # a planted link there is refused
        launch = self.write_launch_script(env, build)
        script = os.path.join(home, f".build-{arch}.sh")
        if env.kind == "conda":
            text = self._conda_build_script(env, build, launch)
        else:
            text = scripts.build_script(
                self._context(),
                name=env.name,
                arch=arch,
                prefix=prefix,
                launch=launch,
                modules=env.modules,
                packages=env.packages,
                system_site_packages=env.options.get("system_site_packages", True),
                pip_options=env.options.get("pip_options") or [],
                upgrade_pip=self.config.upgrade_pip,
            )
        if self._in_shared_root(home):
            # Members of the VO read the build; only its owner writes it, whatever their umask.
            text = f"umask 022\n{text}"
            os.chmod(logs, 0o700)  # the build logs stay the owner's
        files.write_atomic(script, text, 0o700)
        for warning in env.options.get("warnings") or []:
            task.log(f"Note: {warning}")
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
                for job in await slurm.jobs_with_prefix(job_name):
                    await slurm.cancel(job.job_id)

            task.on_cancel.append(cancel_job)
        else:
            task.log(f"Running on this node ({self.site.hostname}, {self.site.arch}).")
        started = time.time()
        try:
            code = await task.run(argv, env=self.environ_for(part), on_line=on_line, cwd=home)
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
            await loop.run_in_executor(None, self._fail_build, home, arch, reason, task)
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
            for key in encryption.FIELDS:
                setattr(b, key, info.get(key, ""))
            b.error = ""
            b.log = self._keep_log(task, home, arch)
            env = m
        self.register_kernel(env, part)
        task.log(f"Kernel {kernelspec.kernel_name(env.name, part.name)} registered.")
        return {"home": home, "arch": arch, "seconds": round(time.time() - started, 1)}

    def _conda_build_script(self, env: Manifest, build: Build, launch: str) -> str:
        engine = self.recorded_engine(env)
        python = env.options.get("python")
        requested = [*([f"python={python}"] if python else []), *env.packages]
        if not any(conda.spec_name(s) == "ipykernel" for s in requested):
            requested.append("ipykernel")  # the kernel's own package, as a conda package
        channels = list(env.options.get("channels") or [])
        create = engine.command(
            "create",
            build.path,
            specs=requested,
            requested=requested,
            channels=channels,
            cache=self.conda_cache(os.path.dirname(env.home)),
        )
        return scripts.conda_build_script(
            self._context(),
            name=env.name,
            arch=build.arch,
            prefix=build.path,
            launch=launch,
            engine=engine.label,
            create=create,
            activation=engine.activation_command(build.path, self.activation_path(env, build.arch)),
            pip_packages=list(env.options.get("pip_packages") or []),
        )

    def _keep_log(self, task: Task, home: str, arch: str) -> str:
        """A copy of the task's log beside the environment, as private as the log (0600)."""
        path = os.path.join(home, "logs", f"{arch}-{time.strftime('%Y%m%d-%H%M%S')}.log")
        with contextlib.suppress(OSError), open(self.tasks.log_path(task.id), "rb") as f:
            files.private_dir(os.path.dirname(path))
            files.write_atomic(path, f.read(), 0o600)
        return path

    def _fail_build(self, home: str, arch: str, reason: str, task: Task | None) -> None:
        with contextlib.suppress(names.NotFound), manifest.updating(home) as m:
            build = m.builds.get(arch)
            if build is None or build.state != BUILDING:
                return  # not ours to undo, or failed already
            if os.path.dirname(build.path) == home and not build.adopted:
                with contextlib.suppress(OSError):
                    ownership.remove_entry(home, os.path.basename(build.path))
            if not build.partitions:
                for path in (self.launch_path(m, arch), self.activation_path(m, arch)):
                    with contextlib.suppress(FileNotFoundError):
                        ownership.remove_entry(home, os.path.basename(path))
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
                for job in await slurm.jobs_with_prefix(job_name):
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
        trust = self.trust(env)
        if trust.mine:
            launch = self.write_launch_script(env, build)
        else:  # shared by another: their launch script, registered for this user only
            launch = self.checked_script(env, self.launch_path(env, arch))
            if not os.path.isfile(launch):
                raise names.Conflict(
                    f"{env.name} (shared by {trust.owner_name}) has no launch script for {arch}: "
                    f"ask {trust.owner_name} to register it on partition {part.name} once."
                )
        name = kernelspec.kernel_name(env.name, part.name)
        existing = kernelspec.read(self.config.kernels_dir, name)
        meta = (existing or {}).get("metadata", {}).get("hpc_envs") or {}
        if existing is not None and (
            meta.get("path") != env.home or meta.get("partition") != part.name
        ):
            # hpcenv-x-gpu-long is both (x-gpu, long) and (x, gpu-long): never overwrite another's.
            raise names.Conflict(
                f"The kernel name {name} is taken by {meta.get('name', 'another kernel')} on "
                f"{meta.get('partition', '?')}: rename this environment to register it here.",
                field="name",
            )
        # The user's resource choices for this kernel (time, CPUs, …) survive a re-registration.
        chosen = (existing or {}).get("metadata", {}).get("kernel_provisioner", {}).get("config")
        config = {**(chosen if isinstance(chosen, dict) else {}), "partition": part.name}
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
                provisioner_config=config,
                owner=trust.owner,
                shared=trust.shared,
            ),
        )
        if trust.mine:
            with manifest.updating(env.home) as m:
                b = m.builds[arch]
                if part.name not in b.partitions:
                    b.partitions.append(part.name)
        return name

    async def register(self, name: object, partition: object = None) -> list[str]:
        """Reactivate: register again the kernels of every ready build (or of one partition)."""
        env = self.get(name)
        parts = await self.site.partitions()
        wanted = (
            (await self.site.partition(partition)).name if partition not in (None, "") else None
        )
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
        """Register a venv (or a conda environment) made by hand, inferring its Python module and
        arch where possible."""
        venv = names.clean_path("path", path)
        if conda.is_conda_prefix(venv):
            return await self._adopt_conda(venv, name=name, modules=modules, partition=partition)
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
        build = Build(
            arch=arch,
            path=venv,
            state=READY,
            built_partition=part.name,
            adopted=True,
            python=settings.get("version", ""),
            finished=time.time(),
        )
        env = await self._new_home(
            storage.path, env_name, "venv", module_list, [], {"adopted": True}, {arch: build}
        )
        home = env.home
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

    async def _adopt_conda(
        self, prefix: str, *, name: object, modules: object, partition: object
    ) -> dict[str, Any]:
        """Register a conda environment made by hand (``conda create -n science …``) as a kernel:
        activated with the engine, no modules; never deleted by remove."""
        conda.require_allowed(self.config)
        if modules:
            raise names.InvalidInput("modules", conda.NO_MODULES)
        if not any(names.within(prefix, r.path) for r in self.site.storage_roots()):
            raise names.InvalidInput(
                "path",
                f"{prefix} is outside the storage roots; only environments inside them are adopted.",
            )
        for env in self.all():
            for build in env.builds.values():
                if os.path.realpath(build.path) == os.path.realpath(prefix):
                    raise names.Conflict(f"{prefix} is the environment {env.name} already.")
        part = await self.site.partition_or_default(partition)
        arch = await self.resolve_arch(part)
        if name in (None, ""):
            base = os.path.basename(prefix.rstrip("/"))
            name = re.sub(r"[^A-Za-z0-9_-]", "-", base).strip("-") or "adopted"
        env_name = names.env_name(name)
        engine = await self.conda.choose()
        storage = self.site.storage_root(None)
        opts = {
            "adopted": True,
            "engine": engine.to_json(),
            "channels": list(self.config.conda_channels),
            "python": "",
            "pip_packages": [],
            "warnings": self.conda_warnings(),
        }
        env = await self._new_home(
            storage.path, env_name, "conda", [], conda.requested_specs(prefix), opts
        )
        env.builds[arch] = Build(
            arch=arch,
            path=prefix,
            state=READY,
            built_partition=part.name,
            adopted=True,
            python=conda.python_of(prefix),
            finished=time.time(),
        )
        manifest.write(env)
        launch = self.write_launch_script(env, env.builds[arch])
        problem = await self.refresh_activation(env, env.builds[arch])
        problem = problem or await self.smoke_test(launch, part)
        if problem:
            shutil.rmtree(env.home, ignore_errors=True)
            raise names.InvalidInput(
                "path",
                f"{prefix} does not work as a kernel: {problem} Install ipykernel into it (with "
                f"the engine: 'conda install --prefix {prefix} ipykernel'), then adopt it again.",
            )
        kernel = self.register_kernel(env, part)
        return {"name": env_name, "home": env.home, "arch": arch, "modules": [], "kernel": kernel}

    async def refresh_activation(self, env: Manifest, build: Build) -> str | None:
        """Write the activation file again (rattler engine) after the environment changed; the
        problem, or ``None``. Other engines activate with their shell hook: nothing to write."""
        engine = self.recorded_engine(env)
        argv = engine.activation_command(build.path, self.activation_path(env, build.arch))
        if argv is None:
            return None
        try:
            code, out, err = await proc.run(argv, timeout=120, env=clean_environ())
        except proc.CommandError as error:
            return str(error)
        if code != 0:
            return (err.strip() or out.strip() or f"exit status {code}").splitlines()[-1]
        return None

    async def smoke_test(self, launch: str, part: PartitionInfo) -> str | None:
        """Start Python with ipykernel through a launch script; the problem, or ``None``."""
        argv = self.on_partition(
            part, [launch, "python", "-c", "import ipykernel"], f"{slurm.JOB_PREFIX}-check"
        )
        try:
            code, out, err = await proc.run(
                argv, timeout=300, env=self.environ_for(part), cwd=os.path.dirname(launch)
            )
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
        """Remove one partition's kernel (and its build when no kernel uses it), or everything.
        Of an environment shared by another: only this user's own kernel of one partition."""
        env = self.get(name)
        mine = self.trust(env).mine
        if not mine and partition in (None, ""):
            self.require_owner(env)
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
        if not mine:
            return {"removed": removed}
        try:
            if wanted:
                with manifest.updating(env.home) as m:
                    for arch, build in list(m.builds.items()):
                        goes = _goes_with(build, wanted)
                        if wanted in build.partitions:
                            build.partitions.remove(wanted)
                        if goes:
                            removed += self._delete_build(m, arch)
                return {"removed": removed}
            with manifest.locked(env.home):
                for arch in list(env.builds):
                    removed += self._delete_build(env, arch)
                # The manifest goes last: until then, a half-done removal is still an environment
                # that can be removed again. Nothing is followed out of the folder (a link is
                # removed itself, never its target).
                self._check(env.home, self._in_shared_root(env.home))
                ownership.remove_folder(env.home, keep_last=MANIFEST)
        except OSError as err:
            raise names.Conflict(
                f"Removing {env.name} stopped at {err.filename or env.home}: {err.strerror or err}. "
                "A running kernel may hold files there (on NFS): stop its kernels and remove again."
            ) from None
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
        if not build.adopted and os.path.dirname(build.path) == env.home:
            with contextlib.suppress(FileNotFoundError):
                ownership.remove_entry(env.home, os.path.basename(build.path))
            removed.append(f"build {build.path}")
        for path in (self.launch_path(env, arch), self.activation_path(env, arch)):
            with contextlib.suppress(FileNotFoundError):
                ownership.remove_entry(env.home, os.path.basename(path))
        return removed

    def removal_plan(self, name: object, partition: object = None) -> list[str]:
        """What :meth:`remove` would delete, for the confirmation dialog."""
        env = self.get(name)
        if partition in (None, ""):
            self.require_owner(env)
        wanted = names.partition(partition) if partition not in (None, "") else None
        plan = [
            f"kernel {k}"
            for k, meta in kernelspec.ours(self.config.kernels_dir).items()
            if meta.get("path") == env.home and (not wanted or meta.get("partition") == wanted)
        ]
        if not self.trust(env).mine:
            return plan  # another's environment: only this user's kernel
        for build in env.builds.values():
            if wanted and not _goes_with(build, wanted):
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
        part = await self.site.partition_or_default(partition)
        build = env.builds.get(part.arch or "")
        if build is None or build.state != READY:
            ready = [a for a, b in env.builds.items() if b.state == READY]
            raise names.Conflict(
                f"{env.name} has no ready build for partition {part.name} ({part.arch}); "
                f"ready builds: {', '.join(ready) or 'none'}."
            )
        launch = self.checked_script(env, self.launch_path(env, build.arch))
        return f"source {shlex.quote(launch)}\n"

    # --- partitions' architectures ------------------------------------------------------------

    async def resolve_arch(self, part: PartitionInfo) -> str:
        """The partition's arch: from the site description, else asked on a node of it."""
        if part.arch:
            return part.arch
        if not self.site.slurm_enabled:
            return self.site.arch
        # A login shell, as a user's job would have: sites set their arch variable in the
        # profile of their nodes. The job gets this node's environment minus its arch and job.
        probe = (
            f'a="${{{self.config.arch_variable}:-}}"; [ -n "$a" ] || a=$('
            f"{shlex.quote(sys.executable)} -c "
            '"import archspec.cpu; print(archspec.cpu.host().name)"); echo "$a"'
        )
        argv = self.on_partition(part, ["bash", "-lc", probe], f"{slurm.JOB_PREFIX}-probe", "1")
        try:
            code, out, err = await proc.run(argv, timeout=300, env=self.environ_for(part))
        except proc.CommandError as error:
            code, out, err = 1, "", str(error)
        arch = out.strip().splitlines()[-1] if out.strip() else ""
        if code != 0 or not arch:
            said = err.strip().splitlines()[-1] if err.strip() else f"exit status {code}"
            raise names.Conflict(
                f"Cannot tell the CPU architecture of partition {part.name} ({said}). Ask your "
                "admins to describe it in the site file (HpcEnvs.partitions)."
            )
        self.site.remember_arch(part, names.arch(arch))
        return part.arch or arch


SHARED = object()  # the storage root of a shared environment: the VO's folder


def _make_envs_folder(root: str, shared: bool) -> None:
    """``<root>/hpc-envs``, made if missing, then checked by the ownership rule. In a VO's folder
    it is setgid in the VO's group and sticky: members add environments, none renames another's."""
    folder = os.path.join(root, ENVS_FOLDER)
    owner = os.stat(root).st_uid
    if shared and not os.path.lexists(folder) and os.geteuid() not in (0, owner):
        # Made by a member, the other members would refuse it (any member could have swapped it).
        raise names.InvalidInput(
            "shared",
            f"{folder} does not exist yet: ask the owner of {root} "
            f"({ownership.user_name(owner)}) to make it once with 'mkdir -m 3775 {folder}', so "
            "that the environments every member shares there are accepted.",
        )
    with contextlib.suppress(FileExistsError):
        os.mkdir(folder, 0o755)
        if shared:
            os.chown(folder, -1, os.stat(root).st_gid)
            os.chmod(folder, 0o3775)
    ownership.check_envs_folder(root, shared=shared)


def _is_env_name(value: str) -> bool:
    try:
        return names.env_name(value) == value
    except names.InvalidInput:
        return False


def _refused(home: str, shared: bool, reason: str) -> dict[str, Any]:
    """A refused environment as ``list`` shows it: its name, where, and why nothing of it is
    read or run."""
    return {
        "name": os.path.basename(home),
        "kind": "",
        "modules": [],
        "packages": [],
        "builds": {},
        "home": home,
        "kernels": [],
        "tasks": [],
        "shared": shared,
        "refused": reason,
        "warnings": [reason],
    }


def _goes_with(build: Build, partition: str) -> bool:
    """Whether removing ``partition``'s kernel removes the build too: when no other partition
    uses it any more (partitions of one arch share a build)."""
    others = [p for p in build.partitions if p != partition]
    return not others and (partition in build.partitions or build.built_partition == partition)


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


def _conda_options(value: object) -> dict[str, Any]:
    """Options of a conda environment: ``python`` and ``channels`` (also accepted top-level)."""
    opts: dict[str, Any] = {"python": "", "channels": []}
    if value in (None, ""):
        return opts
    if not isinstance(value, dict):
        raise names.InvalidInput("options", "Options must be an object.")
    for key, item in value.items():
        if key == "python":
            opts["python"] = conda.python_version(item) if item not in (None, "") else ""
        elif key == "channels":
            opts["channels"] = conda.channel_list(item) if item not in (None, "") else []
        else:
            raise names.InvalidInput(
                "options", f"Unknown option {key!r} for a conda environment: python, channels."
            )
    return opts


def _pip_options(value: object) -> list[str]:
    if not isinstance(value, (list, tuple)):
        raise names.InvalidInput("options", "pip_options must be a list.")
    out = []
    for item in value:
        if not isinstance(item, str) or item not in names.SAFE_PIP_OPTIONS:
            raise names.InvalidInput(
                "options",
                f"pip option {item!r} is not accepted; allowed: {', '.join(sorted(names.SAFE_PIP_OPTIONS))}.",
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


def clean_environ() -> dict[str, str]:
    """For builds and pip: the server's environment minus what would leak the server's Python."""
    env = dict(os.environ)
    for var in ("PYTHONPATH", "PYTHONHOME", "VIRTUAL_ENV", "CONDA_PREFIX", "PYTHONSTARTUP"):
        env.pop(var, None)
    env["PYTHONNOUSERSITE"] = "1"
    env["PIP_DISABLE_PIP_VERSION_CHECK"] = "1"
    # Logs are read in a browser: no progress bars drawn with carriage returns, no colour codes.
    env["PIP_PROGRESS_BAR"] = "off"
    env["PIP_NO_COLOR"] = "1"
    return env
