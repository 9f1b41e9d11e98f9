"""The demo HPC site of scripts/demo-site: module trees, real Python modules, the one-node Slurm cluster.

These tests check the site itself, the ground the rest of the suite stands on (fixture ``demo_site`` in
conftest.py). The last test stops and restarts the site; it leaves it running.
"""

from __future__ import annotations

import re
import time
from pathlib import Path

import pytest

ZEN4_ONLY = {"tqdm/4.66.1-GCCcore-12.3.0"}
BOTH_TREES = {
    "GCCcore/11.3.0",
    "GCCcore/12.3.0",
    "GCCcore/13.2.0",
    "gfbf/2023a",
    "gfbf/2023b",
    "foss/2022a",
    "SciPy-bundle/2023.07-gfbf-2023a",
    "IPython/8.14.0-GCCcore-12.3.0",
}
PY311 = re.compile(r"^Python/3\.11\.\d+-GCCcore-12\.3\.0$")
PY310 = re.compile(r"^Python/3\.10\.\d+-GCCcore-11\.3\.0$")


def avail(site, arch: str) -> set[str]:
    """The modules `module -t avail` lists for one arch's tree (it prints to stderr)."""
    out = site.run(f"export MODULEPATH={site.modulepath(arch)}; module -t avail 2>&1").stdout
    return {
        line.strip() for line in out.splitlines() if line.strip() and not line.endswith((":", "/"))
    }


def python311(site) -> str:
    return next(m for m in avail(site, "zen4") if PY311.match(m))


def test_module_trees_per_arch(demo_site):
    zen4 = avail(demo_site, "zen4")
    zen2 = avail(demo_site, "zen2")
    assert zen4 >= BOTH_TREES | ZEN4_ONLY
    assert zen2 >= BOTH_TREES
    assert not ZEN4_ONLY & zen2, "tqdm must only exist in the zen4 tree"
    assert any(PY311.match(m) for m in zen4)
    assert any(PY311.match(m) for m in zen2)
    assert not any(m.startswith("Broken/") for m in zen4)
    # The same Python modules in both trees.
    assert {m for m in zen4 if m.startswith("Python/")} == {
        m for m in zen2 if m.startswith("Python/")
    }


def test_env_sh(demo_site):
    env, d = demo_site.env, demo_site.dir
    assert env["HPC_ENVS_DEMO_DIR"] == str(d)
    assert env["SLURM_CONF"] == str(d / "slurm" / "slurm.conf")
    assert env["VSC_ARCH_LOCAL"] == "zen4"
    assert env["MODULEPATH"] == str(demo_site.modulepath("zen4"))
    assert env["HOME"] == env["VSC_HOME"] == str(d / "home")
    assert env["VSC_DATA"] == str(d / "data")
    assert env["VSC_SCRATCH"] == str(d / "scratch")
    assert Path(env["LMOD_CMD"]).exists()
    assert Path(env["LMOD_DIR"]).is_dir()
    assert demo_site.ctl("env").stdout.strip() == str(d / "env.sh")
    # Interactive use: a fresh bash that sources env.sh has `module`.
    out = demo_site.run(
        f"env -i PATH=/usr/bin:/bin bash -c 'source {d}/env.sh; type -t module; echo $MODULEPATH'"
    ).stdout.split()
    assert out == ["function", str(demo_site.modulepath("zen4"))]


def test_site_file_describes_each_partitions_arch_and_module_tree(demo_site):
    parts = demo_site.partitions
    assert set(parts) == {"zen2", "zen4"}
    for name, part in parts.items():
        assert part["arch"] == name
        assert part["modulepath"] == [str(demo_site.modulepath(name))]


def test_scipy_bundle_numpy_from_its_prefix(demo_site):
    out = demo_site.run(
        "module load SciPy-bundle/2023.07-gfbf-2023a && "
        'python -c "import numpy; print(numpy.__version__); print(numpy.__file__)"'
    ).stdout.split()
    prefix = (
        demo_site.dir / "software/zen4/SciPy-bundle/2023.07-gfbf-2023a/lib/python3.11/site-packages"
    )
    assert out[0] == "1.25.1"
    assert Path(out[1]).is_relative_to(prefix)


def test_modulefiles_look_like_easybuild(demo_site):
    lua = (demo_site.modulepath("zen4") / "SciPy-bundle" / "2023.07-gfbf-2023a.lua").read_text()
    for needle in (
        "help([==[",
        "whatis([==[Description:",
        'local root = "',
        'conflict("SciPy-bundle")',
        'if not ( isloaded("gfbf/2023a") ) then',
        'prepend_path("PYTHONPATH", pathJoin(root, "lib/python3.11/site-packages"))',
        'setenv("EBROOTSCIPYMINBUNDLE", root)',
        'setenv("EBVERSIONSCIPYMINBUNDLE", "2023.07")',
    ):
        assert needle in lua
    # EBROOT/EBVERSION through Lmod, and the dependency chain to GCCcore.
    out = demo_site.run(
        "module load SciPy-bundle/2023.07-gfbf-2023a && echo $EBVERSIONPYTHON $EBROOTGCCCORE && "
        "echo $LOADEDMODULES"
    ).stdout.splitlines()
    assert out[0].startswith("3.11.")
    assert out[1].split(":")[:2] == ["GCCcore/12.3.0", "gfbf/2023a"]


def test_scipy_bundle_2022_with_python_310(demo_site):
    if not any(PY310.match(m) for m in avail(demo_site, "zen4")):
        # The demo site backs its modules with the interpreters the machine has (pyenv or
        # Debian's); the 2022a generation needs a Python 3.10 one, which it has here and in CI.
        pytest.skip(
            "no Python 3.10 interpreter on this machine, so the demo site has no 2022a Python "
            "module: install one (pyenv or python3.10) to run this test"
        )
    out = demo_site.run(
        "module load SciPy-bundle/2022.05-foss-2022a && python -V && "
        'python -c "import numpy; print(numpy.__version__, numpy.__file__)"'
    ).stdout.split()
    assert out[1].startswith("3.10.")
    assert out[2] == "1.22.3"
    assert "/SciPy-bundle/2022.05-foss-2022a/lib/python3.10/site-packages/" in out[3]


def test_ipython_module_provides_ipykernel(demo_site):
    out = demo_site.run(
        "module load IPython/8.14.0-GCCcore-12.3.0 && "
        'python -c "import ipykernel, IPython; print(ipykernel.__file__, IPython.__version__)"'
    ).stdout.split()
    assert "/software/zen4/IPython/8.14.0-GCCcore-12.3.0/lib/python3.11/site-packages/" in out[0]
    assert out[1] == "8.14.0"


def test_tqdm_only_in_zen4(demo_site):
    out = demo_site.run(
        "module load tqdm/4.66.1-GCCcore-12.3.0 && "
        'python -c "import tqdm; print(tqdm.__version__, tqdm.__file__)"'
    ).stdout.split()
    assert out[0] == "4.66.1"
    assert "/software/zen4/tqdm/4.66.1-GCCcore-12.3.0/" in out[1]
    job = demo_site.run(
        "srun -p zen2 -t 1 bash -lc 'module load tqdm/4.66.1-GCCcore-12.3.0'", check=False
    )
    assert job.returncode != 0
    assert "unknown" in job.stderr


@pytest.mark.parametrize("partition", ["zen2", "zen4"])
def test_job_gets_its_partitions_arch(demo_site, partition):
    out = demo_site.run(
        f"srun -p {partition} -t 1 bash -lc 'echo $VSC_ARCH_LOCAL; echo $MODULEPATH'"
    ).stdout.splitlines()
    assert out == [partition, str(demo_site.modulepath(partition))]


def test_default_partition_is_zen4(demo_site):
    assert demo_site.run("srun -t 1 bash -c 'echo $SLURM_JOB_PARTITION'").stdout.strip() == "zen4"
    sinfo = demo_site.run("sinfo -h -o '%P %l'").stdout.split()
    assert sinfo == ["zen2", "1-00:00:00", "zen4*", "1-00:00:00"]


def venv_check(site, where: str, arch: str) -> None:
    """Create a venv from the Python module (+ SciPy-bundle) on ARCH and check it works."""
    py = python311(site)
    venv = site.dir / "data" / f"test-venv-{arch}"
    script = (
        f"module load {py} SciPy-bundle/2023.07-gfbf-2023a && rm -rf {venv} && "
        f"python3 -m venv --system-site-packages {venv} && source {venv}/bin/activate && "
        'python -c "import sys, numpy; print(sys.prefix); print(numpy.__file__)" && '
        "python -m pip --version"
    )
    cmd = script if where == "local" else f"srun -p {arch} -t 1 bash -lc '{script}'"
    out = site.run(cmd, timeout=180).stdout.splitlines()
    cfg = dict(
        line.split(" = ", 1)
        for line in (venv / "pyvenv.cfg").read_text().splitlines()
        if " = " in line
    )
    assert Path(cfg["home"]) == site.dir / "software" / arch / py / "bin"
    assert cfg["include-system-site-packages"] == "true"
    assert out[0] == str(venv)
    assert f"/software/{arch}/SciPy-bundle/2023.07-gfbf-2023a/" in out[1]
    assert out[2].startswith("pip ")
    assert str(venv) in out[2]


def test_venv_from_python_module_local(demo_site):
    venv_check(demo_site, "local", "zen4")


def test_venv_from_python_module_in_zen2_job(demo_site):
    venv_check(demo_site, "job", "zen2")


def test_two_one_cpu_jobs_fill_the_node(demo_site):
    ids = []
    try:
        for _ in range(3):
            out = demo_site.run("sbatch --parsable -n1 -t 2 -o /dev/null --wrap 'sleep 60'").stdout
            ids.append(out.strip().split(";")[0])
        # The third waits for the node's CPUs. Its reason is "None" until the scheduler's first
        # pass over it, "Resources" after: wait for both, or fail with what squeue said last.
        deadline = time.monotonic() + 15
        while True:
            rows = demo_site.run(f"squeue -h -j {','.join(ids)} -o '%i %T %r'").stdout.split("\n")
            states = {r.split()[0]: r.split()[1:] for r in rows if r.strip()}
            if [states[i] for i in ids] == [
                ["RUNNING", "None"],
                ["RUNNING", "None"],
                ["PENDING", "Resources"],
            ]:
                break
            assert time.monotonic() < deadline, states
            time.sleep(0.3)
    finally:
        if ids:
            demo_site.run(f"scancel {' '.join(ids)}", check=False)


def test_stray_user_site(demo_site):
    site_pkgs = demo_site.dir / "home/.local/lib/python3.11/site-packages"
    had_it = (site_pkgs / "numpy").exists()
    py = python311(demo_site)
    probe = 'python -c "import numpy; print(numpy.__version__)"'
    try:
        demo_site.ctl("stray-user-site", "add")
        assert (site_pkgs / "numpy-1.0.0.dist-info" / "METADATA").exists()
        assert demo_site.run(f"module load {py} && {probe}").stdout.strip() == "1.0.0+stray"
        # PYTHONNOUSERSITE=1 (what the project's kernels set) hides it.
        hidden = demo_site.run(f"module load {py} && PYTHONNOUSERSITE=1 {probe}", check=False)
        assert hidden.returncode != 0
        assert "No module named 'numpy'" in hidden.stderr
        # A module's PYTHONPATH comes before the user site.
        out = demo_site.run(f"module load SciPy-bundle/2023.07-gfbf-2023a && {probe}").stdout
        assert out.strip() == "1.25.1"
        demo_site.ctl("stray-user-site", "remove")
        assert not (site_pkgs / "numpy").exists()
    finally:
        demo_site.ctl("stray-user-site", "add" if had_it else "remove")


def test_break_and_fix_module(demo_site):
    broken = demo_site.modulepath("zen4") / "Broken" / "1.0.lua"
    had_it = broken.exists()
    try:
        demo_site.ctl("break-module")
        assert broken.exists()
        load = demo_site.run("module load Broken/1.0", check=False)
        assert load.returncode != 0
        assert "Broken/1.0" in load.stderr
        # The other modules still load.
        demo_site.run("module load SciPy-bundle/2023.07-gfbf-2023a")
        demo_site.ctl("fix-module")
        assert not broken.exists()
        assert "Broken/1.0" not in avail(demo_site, "zen4")
    finally:
        demo_site.ctl("break-module" if had_it else "fix-module")


def site_daemons(site) -> list[str]:
    """Processes of this site: its daemons (by command line) and slurmstepds (by their marker)."""
    found = []
    for proc in Path("/proc").iterdir():
        if not proc.name.isdigit():
            continue
        try:
            comm = (proc / "comm").read_text().strip()
            if comm not in ("munged", "slurmctld", "slurmscriptd", "slurmd", "slurmstepd"):
                continue
            if (proc / "stat").read_text().rpartition(")")[2].split()[0] == "Z":
                continue
            cmdline = (proc / "cmdline").read_bytes().decode(errors="replace")
            environ = (proc / "environ").read_bytes().decode(errors="replace")
        except OSError:
            continue
        if str(site.dir) in cmdline or f"HPC_ENVS_DEMO_SITE={site.dir}\0" in environ:
            found.append(f"{proc.name} {comm}")
    return found


def settled_daemons(site, timeout: float = 60) -> list[str]:
    """The site's processes once the job steps of earlier tests have ended (slurmstepd lingers
    for a moment after its job; a step still there after ``timeout`` is a leaked job)."""
    deadline = time.monotonic() + timeout
    while True:
        found = site_daemons(site)
        if not any(d.endswith(" slurmstepd") for d in found) or time.monotonic() > deadline:
            return found
        time.sleep(0.5)


def test_start_stop_idempotent(demo_site):
    daemons = settled_daemons(demo_site)
    jobs = demo_site.run("squeue -h -o '%i %j %T'", check=False).stdout
    assert len(daemons) == 4, (daemons, jobs)  # munged, slurmctld (+ its slurmscriptd), slurmd
    again = demo_site.ctl("start")
    assert "already running" in again.stderr
    status = demo_site.ctl("status").stdout
    assert re.search(r"slurmctld: running \(pid \d+, port \d+\)", status)
    try:
        t0 = time.monotonic()
        demo_site.ctl("stop")
        assert site_daemons(demo_site) == []
        assert demo_site.ctl("status", check=False).returncode == 3
        demo_site.ctl("stop")  # nothing to stop: still fine
        assert time.monotonic() - t0 < 30
    finally:
        demo_site.ctl("start")
    demo_site.ctl("start")
    assert len(site_daemons(demo_site)) == 4  # munged, slurmctld (+ its slurmscriptd), slurmd
    # Jobs run right after a start.
    assert (
        demo_site.run("srun -p zen2 -t 1 bash -c 'echo $VSC_ARCH_LOCAL'").stdout.strip() == "zen2"
    )
