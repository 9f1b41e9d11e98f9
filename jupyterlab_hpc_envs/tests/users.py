"""Real Unix users for the multi-user tests: a VO group and its members besides the test runner.

The user who runs the tests (root in ``make test`` and CI) stands for the owner of the server and its
environments. The ``vo`` fixture makes, once per machine and idempotently, a group ``hpcenvs-vo`` and
two members with homes of their own:

- ``mallory``: another member of the same VO, the attacker of the security tests;
- ``bob``: a colleague who uses an environment shared with the group.

Tests run their commands as these users with ``setpriv`` (real uid, gid and supplementary groups)::

    def test_something(vo):
        proc = vo.mallory.run(["touch", str(path)], check=False)
        assert proc.returncode != 0

Homes live under a world-traversable temporary folder (pytest's own is private to its owner). The
users are left on the machine (creating them is what costs; they own nothing outside that folder).
"""

from __future__ import annotations

import grp
import os
import pwd
import shutil
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path

import pytest

VO_GROUP = "hpcenvs-vo"
MEMBERS = ("hpcenvs-mallory", "hpcenvs-bob")


@dataclass(frozen=True)
class User:
    name: str
    uid: int
    gid: int
    home: Path

    def argv(self, *cmd: str) -> list[str]:
        """``cmd`` run as this user (its uid, its primary group and its supplementary groups)."""
        return [
            "setpriv",
            f"--reuid={self.uid}",
            f"--regid={self.gid}",
            "--init-groups",
            "--reset-env",
            "--",
            *cmd,
        ]

    def run(
        self,
        cmd: list[str],
        *,
        env: dict[str, str] | None = None,
        check: bool = True,
        timeout: float = 120,
        **kw,
    ) -> subprocess.CompletedProcess:
        """Run ``cmd`` as this user with ``env`` (HOME and USER set to this user's unless given)."""
        full_env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), **(env or {})}
        full_env.setdefault("HOME", str(self.home))
        full_env.setdefault("USER", self.name)
        full_env.setdefault("LOGNAME", self.name)
        kw.setdefault("cwd", str(self.home))
        # setpriv --reset-env would drop env: pass it through `env` instead.
        argv = self.argv("env", *(f"{k}={v}" for k, v in full_env.items()), *cmd)
        proc = subprocess.run(argv, capture_output=True, text=True, timeout=timeout, **kw)
        if check and proc.returncode != 0:
            raise AssertionError(
                f"as {self.name}: {cmd} failed ({proc.returncode})\n"
                f"--- stdout ---\n{proc.stdout}\n--- stderr ---\n{proc.stderr}"
            )
        return proc


@dataclass(frozen=True)
class VO:
    group: str
    gid: int
    folder: Path  # world-traversable; the users' homes are in it
    mallory: User
    bob: User


def _ensure_group(name: str) -> int:
    try:
        return grp.getgrnam(name).gr_gid
    except KeyError:
        subprocess.run(["groupadd", name], check=True)
        return grp.getgrnam(name).gr_gid


def _ensure_user(name: str, group: str, home: Path) -> User:
    try:
        pw = pwd.getpwnam(name)
    except KeyError:
        subprocess.run(
            ["useradd", "-M", "-N", "-g", group, "-s", "/bin/bash", "-d", str(home), name],
            check=True,
        )
        pw = pwd.getpwnam(name)
    home.mkdir(parents=True, exist_ok=True)
    os.chown(home, pw.pw_uid, pw.pw_gid)
    home.chmod(0o700)
    return User(name, pw.pw_uid, pw.pw_gid, home)


@pytest.fixture(scope="session")
def vo() -> VO:
    """The VO group and its members (made here when missing); needs root, as the demo site does."""
    if os.geteuid() != 0:
        # Not a skip: the multi-user tests must run in `make test` and CI, which run as root.
        pytest.fail("the multi-user tests make Unix users (useradd): run them as root")
    if not shutil.which("setpriv") or not shutil.which("useradd"):
        pytest.fail("setpriv and useradd (Debian's util-linux and passwd) are needed")
    gid = _ensure_group(VO_GROUP)
    folder = Path(tempfile.mkdtemp(prefix="hpcenvs-vo-"))
    folder.chmod(0o755)
    mallory, bob = (_ensure_user(n, VO_GROUP, folder / n) for n in MEMBERS)
    yield VO(VO_GROUP, gid, folder, mallory, bob)
    shutil.rmtree(folder, ignore_errors=True)
