"""Whose environment is this: the ownership rule checked before anything of an environment is
read or run, and removal that never leaves the environment's folder.

On a login node other users can write where you store environments (a VO folder is writable by
every member of the VO). Whoever can write a launch script or a manifest that you then run or
read runs code as you. So every entry point (listing, get, kernel start, ``activate``, package
operations, rebuild, register, remove) goes through :func:`check_environment` first.

The rule, for an environment folder ``<root>/hpc-envs/<name>``:

*In a storage root of your own* (``$VSC_DATA``, ``$VSC_SCRATCH``, the per-user VO folders,
``$HOME``, or what ``HpcEnvs.storage_roots`` names):

- the root is owned by you (or by root) and is not writable by group or others, unless its
  sticky bit is set (then nobody else can rename what is in it);
- ``hpc-envs``, the environment folder, its manifest ``hpc-env.json`` and the scripts about to be
  run (``launch-<arch>.sh``, ``activate-<arch>.sh``) are owned by you and are not group- or
  world-writable;
- none of them is a symbolic link: links are refused, never followed.

*In a shared root* (``HpcEnvs.shared_roots``, by default ``$VSC_DATA_VO`` and
``$VSC_SCRATCH_VO``), where a member puts an environment for the whole VO:

- the root itself may be writable by the group (a VO folder is), so any member could rename its
  ``hpc-envs`` away and put a folder of their own there. Hence ``hpc-envs`` must be owned by root,
  by the owner of the VO folder (its moderator) or by you, and must not be writable by group or
  others unless its sticky bit is set (members may then add environments but not rename or
  remove each other's);
- the environment folder may be owned by another user X (it is then *shared by X* and read-only
  for you); the folder, its manifest and its scripts must all be owned by that one user X and
  none may be group- or world-writable or a symbolic link. A kernelspec records the owner it
  was registered for, and a kernel is not started when the environment's owner has changed.

Anything that fails the rule is *refused*: it is listed with the reason (``owned by mallory``,
``group-writable``, ``a symbolic link``), and nothing of it is read or run. The checks are a few
``lstat`` calls; the manifest is then opened with ``O_NOFOLLOW``.
"""

from __future__ import annotations

import contextlib
import os
import pwd
import shutil
import stat
from collections.abc import Iterable
from dataclasses import dataclass

from . import errors
from .config import ENVS_FOLDER, MANIFEST


class Refused(errors.Conflict):
    """Something of an environment failed the ownership rule: nothing of it is read or run."""

    def __init__(self, path: str, reason: str, advice: str = "") -> None:
        message = f"{path} is {reason}: nothing of it is read or run."
        super().__init__(f"{message} {advice}".strip(), field="name")
        self.path = path
        self.reason = reason


class NotOwner(errors.Conflict):
    """A change asked of an environment shared by another user, who alone may change it."""

    def __init__(self, env: str, owner: str) -> None:
        super().__init__(
            f"{env} is shared by {owner}: only {owner} can change it. Create your own "
            "environment (export its requirements) to change packages."
        )
        self.owner = owner


def user_name(uid: int) -> str:
    """The login name of ``uid`` (its number when it has none)."""
    try:
        return pwd.getpwuid(uid).pw_name
    except KeyError:
        return str(uid)


@dataclass(frozen=True)
class Trust:
    """An environment that passed the rule: who owns it, and whether it is in a shared root."""

    owner: int
    shared: bool

    @property
    def mine(self) -> bool:
        return self.owner == os.geteuid()

    @property
    def owner_name(self) -> str:
        return user_name(self.owner)

    def require_owner(self, env: str) -> None:
        """Raise :class:`NotOwner` unless the current user owns the environment."""
        if not self.mine:
            raise NotOwner(env, self.owner_name)


def _writable_by_others(st: os.stat_result) -> str:
    if st.st_mode & stat.S_IWOTH:
        return "world-writable"
    if st.st_mode & stat.S_IWGRP:
        return "group-writable"
    return ""


def _lstat(path: str) -> os.stat_result:
    try:
        return os.lstat(path)
    except FileNotFoundError:
        raise errors.NotFound(f"{path} does not exist.") from None
    except OSError as err:
        raise Refused(path, f"unreadable ({err.strerror or err})") from None


def _check_owned(
    path: str, owners: Iterable[int], *, folder: bool, sticky_ok: bool = False
) -> os.stat_result:
    """``path`` (not followed) is a folder or regular file owned by one of ``owners`` and not
    writable by others (unless ``sticky_ok`` and its sticky bit is set)."""
    st = _lstat(path)
    if stat.S_ISLNK(st.st_mode):
        raise Refused(path, "a symbolic link", "Links are not followed: move it away.")
    if folder and not stat.S_ISDIR(st.st_mode):
        raise Refused(path, "not a folder")
    if not folder and not stat.S_ISREG(st.st_mode):
        raise Refused(path, "not a regular file")
    allowed = set(owners)
    if st.st_uid not in allowed:
        expected = " or ".join(sorted(user_name(u) for u in allowed))
        raise Refused(
            path,
            f"owned by {user_name(st.st_uid)}",
            f"Only what {expected} owns is used here: move it away or ask an admin.",
        )
    writable = _writable_by_others(st)
    if writable and not (sticky_ok and st.st_mode & stat.S_ISVTX):
        advice = f"Run 'chmod go-w {path}' if it is yours." if st.st_uid == os.geteuid() else ""
        raise Refused(path, writable, advice)
    return st


def check_envs_folder(root: str, *, shared: bool) -> os.stat_result:
    """The root and its ``hpc-envs`` folder pass the rule (see the module's docstring)."""
    me = os.geteuid()
    try:
        root_st = os.stat(root)  # the configured path itself may be a link (a site's layout)
    except OSError as err:
        raise errors.NotFound(f"The storage root {root} is unusable: {err.strerror}.") from None
    if not shared:
        if root_st.st_uid not in (me, 0):
            raise Refused(root, f"owned by {user_name(root_st.st_uid)}", "Use a root of yours.")
        writable = _writable_by_others(root_st)
        if writable and not root_st.st_mode & stat.S_ISVTX:
            raise Refused(
                root,
                writable,
                "Others could swap its hpc-envs folder: run 'chmod go-w' on it or make "
                "environments for your group with --shared.",
            )
        return _check_owned(os.path.join(root, ENVS_FOLDER), (me,), folder=True)
    return _check_owned(
        os.path.join(root, ENVS_FOLDER), {me, 0, root_st.st_uid}, folder=True, sticky_ok=True
    )


def check_environment(
    home: str, *, shared: bool, owner: int | None = None, scripts: Iterable[str] = ()
) -> Trust:
    """Check ``home`` (``<root>/hpc-envs/<name>``), its manifest and ``scripts`` (those that
    exist) before any is read or run; ``owner`` pins the owner a kernelspec was made for.
    Raises :class:`Refused` (or ``NotFound``)."""
    me = os.geteuid()
    check_envs_folder(os.path.dirname(os.path.dirname(home)), shared=shared)
    home_st = _check_owned(home, (me,) if not shared else (_lstat(home).st_uid,), folder=True)
    env_owner = home_st.st_uid
    if owner is not None and env_owner != owner:
        raise Refused(
            home,
            f"owned by {user_name(env_owner)}, not by {user_name(owner)} as when its kernel was "
            "registered",
            "Someone replaced it: do not use it, and tell your admins.",
        )
    _check_owned(os.path.join(home, MANIFEST), (env_owner,), folder=False)
    for path in _with_activation(scripts):
        with contextlib.suppress(errors.NotFound):
            _check_owned(path, (env_owner,), folder=False)
    return Trust(env_owner, shared)


def _with_activation(scripts: Iterable[str]) -> list[str]:
    """``scripts`` and, beside each ``launch-<arch>.sh``, the ``activate-<arch>.sh`` it sources
    (a conda build's activation)."""
    found = []
    for path in scripts:
        found.append(path)
        folder, base = os.path.split(path)
        if base.startswith("launch-") and base.endswith(".sh"):
            found.append(os.path.join(folder, "activate-" + base[len("launch-") :]))
    return found


def remove_entry(parent: str, name: str) -> None:
    """Delete ``parent/name`` (a file or a whole folder) without following a symbolic link
    anywhere: ``parent`` is opened with ``O_NOFOLLOW`` and everything is removed relative to it."""
    if name in ("", ".", "..") or "/" in name:
        raise ValueError(f"not an entry name: {name!r}")
    fd = os.open(parent, os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW)
    try:
        st = os.lstat(name, dir_fd=fd)
        if stat.S_ISDIR(st.st_mode):
            shutil.rmtree(name, dir_fd=fd)
        else:
            os.unlink(name, dir_fd=fd)  # a link is removed itself, never its target
    finally:
        os.close(fd)


def remove_folder(path: str, keep_last: str = "") -> None:
    """Delete the folder ``path`` and everything in it, ``keep_last`` (an entry) removed last,
    without following links; ``path`` itself must not be a link."""
    fd = os.open(path, os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW)
    try:
        entries = sorted(os.listdir(fd), key=lambda e: e == keep_last)
        for entry in entries:
            st = os.lstat(entry, dir_fd=fd)
            if stat.S_ISDIR(st.st_mode):
                shutil.rmtree(entry, dir_fd=fd)
            else:
                os.unlink(entry, dir_fd=fd)
    finally:
        os.close(fd)
    parent, name = os.path.split(path.rstrip("/"))
    pfd = os.open(parent, os.O_RDONLY | os.O_DIRECTORY)
    try:
        os.rmdir(name, dir_fd=pfd)
    finally:
        os.close(pfd)
