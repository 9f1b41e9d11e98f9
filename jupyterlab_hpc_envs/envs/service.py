"""Environments: create, build per partition, register as kernels, adopt, remove.

One :class:`Environments` instance per server (or CLI run) is the facade the REST handlers and the
CLI call; it validates each request's common fields and hands the work to the parts that own it:
:mod:`.storage` (finding, describing, creating folders), :mod:`.removal`, :mod:`.builder` (build
tasks), :mod:`.kernels` (kernelspecs), :mod:`.placement` (where a command runs) and the kinds
(:mod:`.kinds`: venv, conda), which hold everything that differs between a venv and a conda
environment. Every long operation runs as a task.
"""

from __future__ import annotations

import os
import shlex
from typing import Any

from .. import errors, names, ownership
from ..config import HpcEnvs
from ..site import PartitionInfo, Site
from ..tasks import Task, TaskManager, TaskRecord
from . import conda, lock, manifest, migrate
from .builder import BUILD_JOB, Builder
from .drift import Drift
from .kernels import KernelRegistry
from .kind_base import CreateRequest, KindTools
from .kinds import Kinds
from .manifest import BUILDING, FAILED, READY, Build, Manifest
from .placement import Placement, clean_environ
from .removal import Removal
from .storage import SHARED, Storage

__all__ = ["BUILD_JOB", "SHARED", "Environments", "clean_environ"]


class Environments:
    """The operations on environments the handlers and the CLI offer, each one validated before
    anything is created; the work itself is done by storage, builder, kernels and kinds."""

    def __init__(self, config: HpcEnvs, site: Site, tasks: TaskManager) -> None:
        self.config = config
        self.site = site
        self.tasks = tasks
        self.conda = conda.Engines(config, site)
        self.storage = Storage(config, site, tasks)
        self.placement = Placement(config, site)
        self.kernels = KernelRegistry(config, site, self.storage, self._write_launch)
        tools = KindTools(config, site, self.storage, self.placement, self.conda, self.kernels)
        self.kinds = Kinds(tools, tasks)
        self.builder = Builder(
            config, site, tasks, self.storage, self.placement, self.kinds, self.kernels
        )
        self.removal = Removal(self.storage)
        self.drift = Drift(site)

    def _write_launch(self, env: Manifest, build: Build) -> str:
        return self.kinds.write_launch(env, build)

    # --- finding and describing ---------------------------------------------------------------

    def all(self) -> list[Manifest]:
        """The environments that pass the ownership rule."""
        return self.storage.all()

    def trust(self, env: Manifest) -> ownership.Trust:
        """Who owns ``env``."""
        return self.storage.trust(env)

    def get(self, name: object) -> Manifest:
        """The environment named exactly ``name`` (see :meth:`Storage.get`)."""
        return self.storage.get(name)

    def describe_all(self) -> list[dict[str, Any]]:
        """Every environment as the UI and ``list --json`` show it."""
        return self.storage.describe_all()

    def describe(
        self, env: Manifest, kernels: dict[str, dict[str, Any]] | None = None
    ) -> dict[str, Any]:
        """An environment as the UI and ``list --json`` show it."""
        return self.storage.describe(env, kernels)

    async def describe_all_checked(self) -> list[dict[str, Any]]:
        """:meth:`describe_all` with each build's drift (``problems``; ready ones with problems
        ``stale``), from file stats and the cached site facts."""
        described = self.describe_all()
        await self.drift.annotate(described)
        return described

    async def describe_checked(self, env: Manifest) -> dict[str, Any]:
        """:meth:`describe` with each build's drift."""
        described = self.describe(env)
        await self.drift.annotate([described])
        return described

    async def lock(self, name: object, partition: object = None) -> dict[str, Any]:
        """The lock of the environment's build for ``partition`` (the default one if none)."""
        env = self.get(name)
        part = await self.site.partition_or_default(partition)
        build = env.builds.get(part.arch or "")
        if build is None or build.state != READY:
            raise errors.NotFound(
                f"{env.name} has no ready build for partition {part.name}.", field="partition"
            )
        data = lock.read(build.path)
        if data is None:
            raise errors.NotFound(
                f"The {build.arch} build of {env.name} has no lock (it was built before locks "
                f"existed): rebuild it ('jupyter hpc-envs rebuild {env.name} -p {part.name} "
                "--force')."
            )
        return data

    async def create_from_lock(
        self,
        data: object,
        *,
        name: object = None,
        partition: object = None,
        root: object = None,
        kind: object = None,
        shared: object = False,
    ) -> TaskRecord:
        """Create an environment from a lock: the same modules, the venv's packages pinned to
        the same versions (a conda one's from its explicit list); refused before anything is
        made when the lock is malformed or of another ``kind``."""
        request = lock.parse(data, kind)
        assert isinstance(data, dict)  # parse refused anything else
        return await self.create(
            name=data.get("name") if name in (None, "") else name,
            partition=data.get("partition") if partition in (None, "") else partition,
            root=root,
            shared=shared,
            **request,
        )

    # --- create and build ---------------------------------------------------------------------

    async def create(self, *, partition: object = None, **request: Any) -> TaskRecord:
        """Validate everything, create the environment's folder and manifest, start its build
        on ``partition`` (see :meth:`create_on`)."""
        return (await self.create_on(partitions=[partition], **request))[0]

    async def create_on(
        self,
        *,
        partitions: object,
        name: object,
        modules: object = (),
        root: object = None,
        packages: object = (),
        requirements: object = None,
        kind: object = "venv",
        options: object = None,
        python: object = None,
        channels: object = None,
        shared: object = False,
    ) -> list[TaskRecord]:
        """Validate everything (on every partition), create the environment's folder and
        manifest, start one build per partition; they run at once (up to
        ``max_concurrent_builds``), each usable when it is done, a failed one undoing no other.
        ``shared``: in the VO's folder, for every member to use and only its creator to change."""
        env_name = names.env_name(name)
        if shared not in (None, False, True):
            raise errors.InvalidInput("shared", "shared must be true or false.")
        if shared and root not in (None, ""):
            raise errors.InvalidInput(
                "root", "A shared environment goes to the VO's folder: give no storage root."
            )
        wanted = list(partitions) if isinstance(partitions, (list, tuple)) else [partitions]
        if not wanted:
            raise errors.InvalidInput("partition", "Give at least one partition.")
        chosen = self.kinds.named(kind)
        request = CreateRequest(modules, packages, requirements, options, python, channels)
        draft = chosen.draft(request)
        part, storage = await self.storage.partition_and_root(wanted[0], SHARED if shared else root)
        targets: dict[str, PartitionInfo] = {}  # arch -> the partition built on
        for each in [part, *[await self.site.partition(p) for p in wanted[1:]]]:
            await chosen.complete(draft, each, storage)
            arch = await self.placement.resolve_arch(each)
            if arch in targets:
                raise errors.InvalidInput(
                    "partition",
                    f"{targets[arch].name} and {each.name} are both {arch}: one build serves "
                    f"both. Create on {targets[arch].name}, then rebuild on {each.name} to "
                    "register its kernel.",
                )
            targets[arch] = each
        self._replace_failed(env_name)
        env = await self.storage.new_home(
            storage.path,
            env_name,
            chosen.name,
            draft.modules,
            draft.specs,
            draft.options,
            shared=storage.shared,
        )
        return [
            self.builder.start_build(env, p, arch, title=f"Create {env_name} on {p.name}")
            for arch, p in targets.items()
        ]

    def _replace_failed(self, env_name: str) -> None:
        """Mend a failed environment: one of the user's own whose builds all failed (and no task
        works on) is removed, so that ``create`` with the same name makes it again with the new
        spec. Any other environment of that name stays, and the name stays taken (409)."""
        try:
            env = self.get(env_name)
        except (errors.NotFound, errors.Conflict):
            return
        failed = bool(env.builds) and all(b.state == FAILED for b in env.builds.values())
        if failed and self.trust(env).mine and not self.tasks.running(env.name):
            self.removal.remove(env.name)

    async def rebuild(
        self, name: object, partition: object, force: bool = False
    ) -> TaskRecord | None:
        """Build the environment for another partition (or again); ``None`` if a build of the same
        arch is ready already and only the kernel had to be registered."""
        env = self.get(name)
        part = await self.site.partition(partition)
        arch = await self.placement.resolve_arch(part)
        existing = env.builds.get(arch)
        if not self.trust(env).mine and not (existing and existing.state == READY and not force):
            self.storage.require_owner(env)  # another's: only registering a ready build's kernel
        adopted_ready_here = existing is not None and existing.adopted and existing.state == READY
        if env.options.get("adopted") and not (adopted_ready_here and not force):
            # Its packages were never recorded: a build here would be an empty environment.
            raise errors.Conflict(
                f"{env.name} was made by hand and adopted: it cannot be built again here. Create "
                "an environment with the same modules and packages (export its requirements) "
                "instead."
            )
        await self.kinds.of(env).check_rebuild(env, part)
        if existing and existing.state == BUILDING:
            raise errors.Conflict(f"{env.name} is being built for {arch} already.")
        if existing and existing.state == READY and not force:
            self.register_kernel(env, part)
            return None
        if existing and existing.state == READY and force:
            self.removal.remove_build(env, arch)
            env = manifest.read(env.home)
        return self.builder.start_build(env, part, arch, title=f"Build {env.name} on {part.name}")

    async def rebuild_on(
        self, name: object, partitions: list[object] | None, force: bool = False
    ) -> list[tuple[str, TaskRecord | None]]:
        """:meth:`rebuild` on several partitions at once (``None``: every partition of the site),
        each (partition, its build task or ``None`` when its kernel was only registered); a second
        partition of an arch being built is left for later (``rebuild`` it when that is done)."""
        listed = (
            await self.site.partitions()
            if partitions is None
            else [await self.site.partition(p) for p in partitions]
        )
        if not listed:
            raise errors.InvalidInput("partition", "Give at least one partition.")
        for part in listed:  # every check first: nothing started on bad input
            await self.kinds.of(self.get(name)).check_rebuild(self.get(name), part)
        started: dict[str, str] = {}
        results: list[tuple[str, TaskRecord | None]] = []
        for part in listed:
            arch = await self.placement.resolve_arch(part)
            if arch in started:
                continue  # built by the build for started[arch]
            task = await self.rebuild(name, part.name, force=force)
            started[arch] = part.name
            results.append((part.name, task))
        return results

    def _keep_log(self, task: Task, home: str, arch: str) -> str:
        """A copy of the task's log beside the environment (see :meth:`Builder.keep_log`)."""
        return self.builder.keep_log(task, home, arch)

    # --- migration to another toolchain generation ---------------------------------------------

    async def migration_plan(
        self, name: object, to: object, new_name: object = None, partition: object = None
    ) -> migrate.Plan:
        """What :meth:`migrate` would build (see :func:`migrate.plan`); a new name that is
        taken is refused here already."""
        env = self.get(name)
        part = await self.site.partition_or_default(partition)
        await self.site.catalog(part)
        catalog = await self.site.catalogs.get(part.modulepath, complete=True)
        plan = await migrate.plan(env, part, catalog, to, new_name)
        try:
            taken = self.get(plan.new_name).home
        except errors.NotFound:
            return plan
        except errors.Conflict:
            taken = plan.new_name
        raise errors.Conflict(
            f"An environment named {plan.new_name!r} exists already ({taken}): give the new "
            "one another name.",
            field="as",
        )

    async def migrate(
        self, name: object, to: object, new_name: object = None, partition: object = None
    ) -> tuple[migrate.Plan, TaskRecord]:
        """Build a new environment from the old one's modules moved to generation ``to``, in the
        old one's storage root; the old environment is left as it is."""
        plan = await self.migration_plan(name, to, new_name, partition)
        shared = self.trust(plan.env).shared
        options = {k: v for k, v in plan.env.options.items() if k in migrate.KEPT_OPTIONS}
        task = await self.create(
            name=plan.new_name,
            partition=plan.partition.name,
            modules=plan.modules,
            packages=plan.packages,
            options=options,
            root=None if shared else migrate.root_of(plan.env),
            shared=shared,
        )
        return plan, task

    # --- conda --------------------------------------------------------------------------------

    def conda_warnings(self) -> list[str]:
        """What a user is told before (and when) making a conda environment here."""
        return self.kinds.conda.warnings()

    async def conda_info(self, refresh: bool = False) -> dict[str, Any]:
        """The site's conda policy, the engines found and the one used, or how to get one."""
        engines = await self.conda.all(refresh)
        try:
            engine: conda.Engine | None = await self.conda.choose()
            how_to = ""
        except errors.Conflict as err:
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
        except errors.Conflict:
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

    # --- kernels, adoption, removal, activation -------------------------------------------------

    def register_kernel(self, env: Manifest, part: PartitionInfo) -> str:
        """(Re)write the launch script and the kernelspec of the build for ``part``'s arch."""
        return self.kernels.register_kernel(env, part)

    async def register(self, name: object, partition: object = None) -> list[str]:
        """Reactivate: register again the kernels of every ready build (or of one partition)."""
        return await self.kernels.register(self.get(name), partition)

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
        where = names.clean_path("path", path)
        kind = self.kinds.for_adoption(where)
        return await kind.adopt(where, name=name, modules=modules, partition=partition)

    def remove(self, name: object, partition: object = None) -> dict[str, Any]:
        """Remove one partition's kernel (and its build when no kernel uses it), or everything."""
        return self.removal.remove(name, partition)

    def removal_plan(self, name: object, partition: object = None) -> list[str]:
        """What :meth:`remove` would delete, for the confirmation dialog."""
        return self.removal.removal_plan(name, partition)

    async def activation(self, name: object, partition: object = None) -> str:
        """Shell code that activates the environment: ``eval "$(jupyter hpc-envs activate X)"``."""
        env = self.get(name)
        part = await self.site.partition_or_default(partition)
        build = env.builds.get(part.arch or "")
        if build is None or build.state != READY:
            ready = [a for a, b in env.builds.items() if b.state == READY]
            raise errors.Conflict(
                f"{env.name} has no ready build for partition {part.name} ({part.arch}); "
                f"ready builds: {', '.join(ready) or 'none'}."
            )
        launch = self.storage.checked_script(env, self.storage.launch_path(env, build.arch))
        return f"source {shlex.quote(launch)}\n"

    async def resolve_arch(self, part: PartitionInfo) -> str:
        """The partition's arch: from the site description, else asked on a node of it."""
        return await self.placement.resolve_arch(part)
