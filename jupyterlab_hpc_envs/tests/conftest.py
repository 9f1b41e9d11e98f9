"""Shared fixtures of the test suite.

``demo_site`` (session scope) is the demo HPC site made by ``scripts/demo-site``: EasyBuild-style Lmod
module trees per CPU arch (zen2, zen4) backed by real interpreters and real pip installs, and a one-node
Slurm cluster (partitions zen2 and zen4, zen4 the default and the arch of the "server" node). Other tests
reuse it (builds on partitions, the provisioner, the doctor, …)::

    def test_something(demo_site):
        out = demo_site.run("module load Python/3.11.7-GCCcore-12.3.0; srun -p zen2 python -V").stdout
        subprocess.run([...], env=demo_site.env)   # the environment of DIR/env.sh

It builds and starts a site in a temporary folder, or reuses the one named by ``HPC_ENVS_DEMO_DIR``
(built, and started if it is not running). At the end of the session it stops the site only if it
started it. Tests may stop and restart it (``test_demo_site.py`` does) but leave it running.
Note that ``demo_site.env`` sets HOME to DIR/home: kernelspecs written with it land in the site.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from dataclasses import dataclass, field
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
DEMO_SITE_SCRIPT = REPO / "scripts" / "demo-site"

# Variables of the caller that would leak into the site's shells and jobs (a venv, loaded modules, an
# enclosing Slurm job, …). env.sh sets what the site needs.
_LEAKY_PREFIXES = ("__LMOD_", "_ModuleTable", "LMOD_", "SLURM_", "CONDA_", "BASH_FUNC_")
_LEAKY_NAMES = {
    "PYTHONPATH",
    "PYTHONHOME",
    "PYTHONNOUSERSITE",
    "VIRTUAL_ENV",
    "LOADEDMODULES",
    "_LMFILES_",
    "MODULEPATH",
    "MODULEPATH_ROOT",
    "MODULESHOME",
    "BASH_ENV",
    "HPC_ENVS_DEMO_DIR",
}


def _base_env() -> dict[str, str]:
    env = {
        k: v
        for k, v in os.environ.items()
        if k not in _LEAKY_NAMES and not k.startswith(_LEAKY_PREFIXES)
    }
    venv = os.environ.get("VIRTUAL_ENV")
    if venv:
        venv_bin = str(Path(venv) / "bin")
        env["PATH"] = os.pathsep.join(
            p for p in env.get("PATH", "").split(os.pathsep) if p != venv_bin
        )
    return env


@dataclass
class DemoSite:
    """A demo site: ``dir`` (its folder), ``env`` (the environment of DIR/env.sh), helpers."""

    dir: Path
    env: dict[str, str] = field(default_factory=dict)
    started_here: bool = False

    @property
    def env_sh(self) -> Path:
        return self.dir / "env.sh"

    def load_env(self) -> None:
        """Read the environment that ``source DIR/env.sh`` gives (with the ``module`` function)."""
        out = subprocess.run(
            ["bash", "-c", 'source "$1" >/dev/null && env -0', "bash", str(self.env_sh)],
            env=_base_env(),
            check=True,
            capture_output=True,
        ).stdout
        env = {}
        for item in out.split(b"\0"):
            if b"=" in item:
                key, _, value = item.decode().partition("=")
                env[key] = value
        for key in ("_", "PWD", "OLDPWD", "SHLVL"):
            env.pop(key, None)
        self.env = env

    def run(
        self, cmd: str, *, check: bool = True, timeout: float = 120, env=None, **kw
    ) -> subprocess.CompletedProcess:
        """Run a bash command with the site's environment; ``module`` works in it.

        Returns the CompletedProcess (text); with ``check`` a failure raises AssertionError showing
        the output. ``env`` adds to (or, with a None value, removes from) the site's environment.
        """
        full_env = dict(self.env)
        for key, value in (env or {}).items():
            if value is None:
                full_env.pop(key, None)
            else:
                full_env[key] = value
        kw.setdefault("cwd", self.dir)
        proc = subprocess.run(
            ["bash", "-c", cmd],
            env=full_env,
            capture_output=True,
            text=True,
            timeout=timeout,
            **kw,
        )
        if check and proc.returncode != 0:
            raise AssertionError(
                f"command failed ({proc.returncode}): {cmd}\n"
                f"--- stdout ---\n{proc.stdout}\n--- stderr ---\n{proc.stderr}"
            )
        return proc

    def ctl(
        self, command: str, *args: str, check: bool = True, timeout: float = 600
    ) -> subprocess.CompletedProcess:
        """Run ``scripts/demo-site COMMAND DIR ARGS…`` (build, start, stop, status, break-module, …)."""
        proc = subprocess.run(
            [str(DEMO_SITE_SCRIPT), command, str(self.dir), *args],
            env=_base_env(),
            capture_output=True,
            text=True,
            timeout=timeout,
        )
        if check and proc.returncode != 0:
            raise AssertionError(
                f"scripts/demo-site {command} {self.dir} {' '.join(args)} failed ({proc.returncode})\n"
                f"--- stdout ---\n{proc.stdout}\n--- stderr ---\n{proc.stderr}"
            )
        return proc

    def is_running(self) -> bool:
        return self.ctl("status", check=False).returncode == 0

    def modulepath(self, arch: str) -> Path:
        return self.dir / "modules" / arch / "all"

    @property
    def partitions(self) -> dict:
        """The site file's partitions: partition -> {"arch": …, "modulepath": […]}."""
        return json.loads((self.dir / "site" / "site.json").read_text())["partitions"]


def _demo_site_unavailable() -> str | None:
    if os.geteuid() != 0:
        return "the demo site's Slurm cluster needs root"
    # Daemons live in sbin, which a non-login PATH may lack; scripts/demo-site build installs missing
    # Debian packages (lmod, slurm-wlm, munge) when it can.
    path = os.pathsep.join([os.environ.get("PATH", ""), "/usr/sbin", "/sbin"])
    if not shutil.which("apt-get") and not all(
        shutil.which(tool, path=path) for tool in ("munged", "slurmctld", "slurmd", "srun")
    ):
        return "Slurm and munge are not installed and cannot be (no apt-get)"
    return None


@pytest.fixture(scope="session")
def demo_site(tmp_path_factory) -> DemoSite:
    """The demo HPC site (built and started here, or reused from HPC_ENVS_DEMO_DIR); shared by tests."""
    reason = _demo_site_unavailable()
    if reason:
        # Not a skip: every test that needs the site must run in `make test` and CI.
        pytest.fail(f"demo site unavailable: {reason}")
    given = os.environ.get("HPC_ENVS_DEMO_DIR")
    if given:
        site = DemoSite(Path(given).resolve())
        if not site.env_sh.exists():
            site.ctl("build")
    else:
        # Short path: Unix sockets (munge's, slurmstepd's) live inside the site.
        site = DemoSite(tmp_path_factory.mktemp("demo-site"))
        site.ctl("build")
    if not site.is_running():
        site.ctl("start")
        site.started_here = True
    site.load_env()
    yield site
    if site.started_here:
        site.ctl("stop", check=False)


@pytest.fixture
def site_env(demo_site, jp_environ, monkeypatch, tmp_path):
    """This process (and the test server in it) sees the demo site as a user on its zen4 node.

    Storage roots ($VSC_DATA, $VSC_SCRATCH) are fresh folders of the test, so tests never see each
    other's environments; the module trees and Slurm are the demo site's. Jupyter's own folders stay
    pytest-jupyter's per-test ones (kernelspecs land in ``$JUPYTER_DATA_DIR/kernels``). HOME is the
    site's home, which holds the stray ``~/.local`` user site that the site documentation warns about.
    """
    keep = {k: os.environ[k] for k in os.environ if k.startswith("JUPYTER")}
    for key in list(os.environ):
        if key in _LEAKY_NAMES or key.startswith(_LEAKY_PREFIXES):
            monkeypatch.delenv(key)
    for key, value in demo_site.env.items():
        monkeypatch.setenv(key, value)
    for key, value in keep.items():
        monkeypatch.setenv(key, value)
    roots = {}
    for var in ("VSC_DATA", "VSC_SCRATCH"):
        roots[var] = tmp_path / var.lower()
        roots[var].mkdir()
        monkeypatch.setenv(var, str(roots[var]))
    demo_site.ctl("stray-user-site", "add")
    return roots


@pytest.fixture
def core(tmp_path, monkeypatch):
    """A core with no module system and no Slurm, storage and state in the test's folder: for the
    tests of the engine's bookkeeping (manifests, tasks, files) that build nothing."""
    from jupyterlab_hpc_envs.config import HpcEnvs
    from jupyterlab_hpc_envs.core import Core

    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    (tmp_path / "data").mkdir()
    config = HpcEnvs(
        module_system="none",
        use_slurm="no",
        site_file="",
        storage_roots=[str(tmp_path / "data")],
        kernels_dir=str(tmp_path / "kernels"),
        data_dir=str(tmp_path / "state"),
    )
    return Core(config)
