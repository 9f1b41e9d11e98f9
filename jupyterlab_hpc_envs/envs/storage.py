"""Storage: finding, describing and creating the folders of environments.

Environments live in ``<storage root>/hpc-envs/<name>``, the user's own roots and the VO's shared
folders. Nothing of an environment is read before the ownership rule of :mod:`..ownership` passed
for it; this class is the one place that applies it to what it finds, and remembers the verdict.
"""

from __future__ import annotations

import contextlib
import difflib
import os
import shutil
from collections.abc import AsyncIterator, Iterable, Iterator
from typing import Any

from .. import errors, files, names, ownership
from ..config import ENVS_FOLDER, MANIFEST, HpcEnvs
from ..site import PartitionInfo, Site, StorageRoot
from ..tasks import TaskManager
from . import encryption, failure, kernelspec, manifest
from .manifest import FAILED, READY, Build, Manifest

SHARED = object()  # the storage root of a shared environment: the VO's folder


class Storage:
    """The environments on disk: which exist (each checked by the ownership rule), who owns
    them, how they are shown, and where a new one's folder and manifest are made."""

    def __init__(self, config: HpcEnvs, site: Site, tasks: TaskManager) -> None:
        self.config = config
        self.site = site
        self.tasks = tasks
        self._trust: dict[str, ownership.Trust] = {}

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
            except errors.NotFound:
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

    def check(self, home: str, shared: bool, scripts: Iterable[str] = ()) -> ownership.Trust:
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
                self.check(home, shared)
                found.append(manifest.read(home))
            except ownership.Refused as err:
                refused.append(_refused(home, shared, err.message))
            except (errors.NotFound, errors.Conflict):
                continue  # gone meanwhile, or a damaged manifest (get says which)
        return found, refused

    def all(self) -> list[Manifest]:
        """The environments that pass the ownership rule (the refused ones left out)."""
        return self._scan()[0]

    def trust(self, env: Manifest) -> ownership.Trust:
        """Who owns ``env`` (read by :meth:`get` or :meth:`all`), checked again if unknown."""
        known = self._trust.get(env.home)
        if known is not None:
            return known
        return self.check(env.home, self.in_shared_root(env.home))

    def in_shared_root(self, home: str) -> bool:
        """Whether ``home`` is in one of the VO's shared folders."""
        root = os.path.realpath(os.path.dirname(os.path.dirname(home)))
        return any(os.path.realpath(r.path) == root for r in self.site.shared_roots())

    def checked_script(self, env: Manifest, path: str) -> str:
        """``path`` (a script of ``env`` about to be run), after the ownership rule passed for
        it and for the environment once more."""
        if os.path.dirname(path) != env.home:
            raise ownership.Refused(path, "outside its environment's folder")
        self.check(env.home, self.in_shared_root(env.home), scripts=[path])
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
        refused: list[errors.Conflict] = []
        known: list[str] = []
        for home, shared, folder_refused in self._candidates():
            known.append(os.path.basename(home))
            if os.path.basename(home) != wanted:
                continue
            if folder_refused:
                refused.append(errors.Conflict(folder_refused, field="name"))
                continue
            try:
                trust = self.check(home, shared)
            except ownership.Refused as err:
                refused.append(err)
                continue
            (own if trust.mine else others).append(home)
        chosen = own or others
        if len(chosen) > 1:
            raise errors.Conflict(
                f"The name {wanted!r} is ambiguous: there are environments {' and '.join(chosen)}"
                ". Nothing was done: remove or rename one of them.",
                field="name",
            )
        if chosen:
            return manifest.read(chosen[0])
        if refused:
            raise refused[0]
        close = difflib.get_close_matches(wanted, known, n=3)
        hint = f" Did you mean {', '.join(close)}?" if close else ""
        raise errors.NotFound(f"There is no environment {wanted!r}.{hint}", close, field="name")

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
        for arch, build in env.builds.items():
            if build.state == FAILED:
                inside = bool(build.log) and names.within(build.log, env.home)
                data["builds"][arch]["failure"] = failure.describe(build.error, build.log, inside)
        data["tasks"] = [t.to_json() for t in self.tasks.running(env.name)]
        data["warnings"] = self._env_warnings(env)
        return data

    def _env_warnings(self, env: Manifest) -> list[str]:
        """What the user should fix: a home-folder quota, a build folder gone, no encryption."""
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

    @contextlib.asynccontextmanager
    async def user_lock(self) -> AsyncIterator[None]:
        """The user's lock on creating environments, waited for without holding the event loop;
        still held after a few seconds: a Conflict (another operation holds it)."""
        os.makedirs(self.config.data_dir, mode=0o700, exist_ok=True)
        async with files.locked_async(
            os.path.join(self.config.data_dir, ".envs.lock"), "your environments"
        ):
            yield

    async def partition_and_root(
        self, partition: object, root: object
    ) -> tuple[PartitionInfo, StorageRoot]:
        """The partition (default: this server's) and the writable storage root of a request
        (the VO's shared folder for :data:`SHARED`)."""
        part = await self.site.partition_or_default(partition)
        storage = self.site.shared_root() if root is SHARED else self.site.storage_root(root)
        if not storage.writable:
            raise errors.InvalidInput("root", f"The storage root {storage.path} is not writable.")
        return part, storage

    async def new_home(
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
        async with self.user_lock():
            for home, _shared, _refused in self._candidates():
                if os.path.basename(home).lower() == env_name.lower():
                    raise errors.Conflict(
                        f"An environment named {os.path.basename(home)!r} exists already "
                        f"({home}): choose another name, or rebuild that one.",
                        field="name",
                    )
            folder = os.path.join(root, ENVS_FOLDER)
            home = os.path.join(folder, env_name)
            try:
                make_envs_folder(root, shared)
                os.mkdir(home, 0o755)
                if shared:
                    os.chown(home, -1, os.stat(root).st_gid)
                    os.chmod(home, 0o2755)  # whatever the creator's umask
            except FileExistsError:
                raise errors.Conflict(
                    f"The folder {home} exists already but holds no environment: move it away "
                    "or choose another name.",
                    field="name",
                ) from None
            except OSError as err:  # a VO folder made by another member, a full quota, ...
                raise errors.InvalidInput(
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
                raise errors.InvalidInput(
                    "root", f"Cannot write in {home}: {err.strerror or err}. Free some space."
                ) from None
        return env

    def launch_path(self, env: Manifest, arch: str) -> str:
        """The launch script of the build of ``arch``, in the environment's folder."""
        return os.path.join(env.home, f"launch-{arch}.sh")

    def activation_path(self, env: Manifest, arch: str) -> str:
        """The rattler engine's activation of a conda build, sourced by its launch script."""
        return os.path.join(env.home, f"activate-{arch}.sh")


def make_envs_folder(root: str, shared: bool) -> None:
    """``<root>/hpc-envs``, made if missing, then checked by the ownership rule. In a VO's folder
    it is setgid in the VO's group and sticky: members add environments, none renames another's."""
    folder = os.path.join(root, ENVS_FOLDER)
    owner = os.stat(root).st_uid
    if shared and not os.path.lexists(folder) and os.geteuid() not in (0, owner):
        # Made by a member, the other members would refuse it (any member could have swapped it).
        raise errors.InvalidInput(
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
    except errors.InvalidInput:
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
