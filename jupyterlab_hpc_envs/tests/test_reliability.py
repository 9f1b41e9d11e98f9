"""Faults on a shared cluster: a server killed mid-build, a build job cancelled from outside, a full
disk, concurrent creations, and broken surroundings — on the demo site's real Lmod and Slurm."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from .helpers import call, task_log, wait_task
from .servers import FINAL, ServerProcess
from .test_envs_rest import IPYTHON, PYTHON, create, our_kernels


@pytest.fixture
def server(site_env, tmp_path):
    env = dict(os.environ)  # the site's environment, as site_env made it
    env.pop("JUPYTER_TOKEN", None)
    srv = ServerProcess(env, tmp_path)
    yield srv
    srv.stop()


def _task_file(task_id: str) -> dict:
    from jupyter_core.paths import jupyter_data_dir

    return json.loads(
        (Path(jupyter_data_dir()) / "hpc_envs" / "tasks" / f"{task_id}.json").read_text()
    )


async def test_a_server_killed_mid_build_leaves_an_interrupted_task_a_clean_folder_and_a_retry_works(
    server, site_env
):
    server.start()
    await server.ready()
    code, data = await server.call(
        "POST",
        "hpc-envs/api/envs",
        {"name": "crash", "modules": [PYTHON, IPYTHON], "partition": "zen4"},
    )
    assert code == 202, data
    task_id = data["task"]["id"]
    prefix = site_env["VSC_DATA"] / "hpc-envs" / "crash" / "venv-zen4"
    deadline = time.monotonic() + 120
    while not (prefix / "bin" / "activate").exists():  # mid-build: the venv is half made
        assert time.monotonic() < deadline, "the build never made its venv"
        await asyncio.sleep(0.05)
    server.kill()
    pids = _task_file(task_id)["pids"]
    assert pids, "the task recorded its build's process group"

    server.start()
    await server.ready()
    record = await server.wait_task(task_id, timeout=30)
    assert record["state"] == "interrupted"
    assert "run it again" in record["message"]
    for pid in pids:
        assert not Path(f"/proc/{pid}").exists() or _zombie(pid), "the orphaned build was killed"
    assert not prefix.exists(), "the half-made build folder was removed"
    assert "hpcenv-crash-zen4" not in our_kernels()
    _, env = await server.call("GET", "hpc-envs/api/envs/crash")
    assert env["builds"]["zen4"]["state"] == "failed"
    _, log = await server.call("GET", f"hpc-envs/api/tasks/{task_id}/log?offset=0&wait=0")
    assert "interrupted" in log["text"]

    code, data = await server.call("POST", "hpc-envs/api/envs/crash/builds", {"partition": "zen4"})
    assert code == 202, data
    retry = await server.wait_task(data["task"]["id"])
    assert retry["state"] == "succeeded", retry["message"]
    assert "hpcenv-crash-zen4" in our_kernels()


def _zombie(pid: int) -> bool:
    try:
        return Path(f"/proc/{pid}/stat").read_text().split()[2] == "Z"
    except OSError:
        return True


async def test_a_build_job_cancelled_from_outside_fails_cleanly(site_env, jp_fetch, demo_site):
    record = await create(jp_fetch, name="outside", modules=[PYTHON, IPYTHON], partition="zen4")
    assert record["state"] == "succeeded"
    code, data = await call(
        jp_fetch, "POST", "envs", "outside", "builds", body={"partition": "zen2"}
    )
    assert code == 202
    task_id = data["task"]["id"]
    job = ""
    for _ in range(300):
        out = demo_site.run("squeue -h -o '%i|%j|%T'").stdout
        job = next(
            (
                line.split("|")[0]
                for line in out.splitlines()
                if "hpc-envs-build:outside" in line and line.endswith("RUNNING")
            ),
            "",
        )
        if job:
            break
        await asyncio.sleep(0.1)
    assert job, "the build ran as a Slurm job"
    await asyncio.sleep(1.0)
    demo_site.run(f"scancel {job}")
    record = await wait_task(jp_fetch, task_id)
    assert record["state"] == "failed"
    assert "zen2" in record["message"]
    home = site_env["VSC_DATA"] / "hpc-envs" / "outside"
    assert not (home / "venv-zen2").exists()
    assert "hpcenv-outside-zen2" not in our_kernels()
    assert "hpcenv-outside-zen4" in our_kernels(), "the zen4 build is untouched"


@pytest.fixture
def small_disk(tmp_path):
    """A 12 MiB file system: a venv with pip does not fit."""
    mount = tmp_path / "small"
    mount.mkdir()
    subprocess.run(
        ["mount", "-t", "tmpfs", "-o", "size=12m,mode=0755", "tmpfs", str(mount)], check=True
    )
    yield mount
    subprocess.run(["umount", "-l", str(mount)], check=False)


async def test_a_full_disk_fails_the_build_with_the_reason_and_leaves_nothing(
    site_env, small_disk, monkeypatch, jp_fetch
):
    monkeypatch.setenv("VSC_SCRATCH", str(small_disk))
    code, data = await call(
        jp_fetch,
        "POST",
        "envs",
        body={
            "name": "full",
            "modules": [PYTHON, IPYTHON],
            "partition": "zen4",
            "root": str(small_disk),
        },
    )
    assert code == 202, data
    record = await wait_task(jp_fetch, data["task"]["id"])
    log = await task_log(jp_fetch, record["id"])
    assert record["state"] == "failed"
    assert "is full" in record["message"], log
    assert "choose another storage root" in record["message"]
    home = small_disk / "hpc-envs" / "full"
    assert not (home / "venv-zen4").exists()
    assert "hpcenv-full-zen4" not in our_kernels()


async def test_ten_creations_at_once_all_succeed(site_env, jp_fetch):
    names = [f"many{i}" for i in range(10)]
    answers = await asyncio.gather(
        *[
            call(
                jp_fetch,
                "POST",
                "envs",
                body={"name": n, "modules": [PYTHON, IPYTHON], "partition": "zen4", "options": {}},
            )
            for n in names
        ]
    )
    assert [code for code, _ in answers] == [202] * 10
    records = await asyncio.gather(*[wait_task(jp_fetch, d["task"]["id"]) for _, d in answers])
    assert [r["state"] for r in records] == ["succeeded"] * 10, [r["message"] for r in records]
    _, listing = await call(jp_fetch, "GET", "envs")
    assert sorted(e["name"] for e in listing["environments"]) == sorted(names)
    assert sorted(our_kernels()) == sorted(f"hpcenv-{n}-zen4" for n in names)


async def test_two_creations_of_one_name_give_one_success_and_one_conflict(site_env, jp_fetch):
    body = {"name": "same", "modules": [PYTHON, IPYTHON], "partition": "zen4"}
    answers = await asyncio.gather(
        call(jp_fetch, "POST", "envs", body=body, ok=False),
        call(jp_fetch, "POST", "envs", body=body, ok=False),
    )
    assert sorted(code for code, _ in answers) == [202, 409]
    conflict = next(d for code, d in answers if code == 409)
    assert "exists already" in conflict["message"]
    task = next(d for code, d in answers if code == 202)["task"]
    assert (await wait_task(jp_fetch, task["id"]))["state"] == "succeeded"


async def test_reads_during_builds_stay_correct(site_env, jp_fetch):
    code, data = await call(
        jp_fetch,
        "POST",
        "envs",
        body={"name": "reading", "modules": [PYTHON, IPYTHON], "partition": "zen4"},
    )
    assert code == 202
    states = set()
    while True:
        _, env = await call(jp_fetch, "GET", "envs", "reading")
        states.add(env["builds"]["zen4"]["state"])
        _, task = await call(jp_fetch, "GET", "tasks", data["task"]["id"])
        if task["state"] in FINAL:
            break
        await asyncio.sleep(0.05)
    _, env = await call(jp_fetch, "GET", "envs", "reading")
    assert env["builds"]["zen4"]["state"] == "ready"
    assert states <= {"building", "ready"}


# --- broken surroundings -----------------------------------------------------------------------


@pytest.fixture
def broken_module(demo_site):
    demo_site.ctl("break-module")
    yield "Broken/1.0"
    demo_site.ctl("fix-module")


async def test_a_modulefile_with_a_syntax_error_does_not_break_the_catalog(
    site_env, broken_module, jp_fetch
):
    code, data = await call(jp_fetch, "GET", "modules", params={"partition": "zen4"}, ok=False)
    assert code == 200, data
    assert PYTHON in {m["full"] for m in data["modules"]}
    code, data = await call(
        jp_fetch,
        "POST",
        "envs",
        body={
            "name": "withbroken",
            "modules": [PYTHON, IPYTHON, broken_module],
            "partition": "zen4",
        },
    )
    assert code == 202
    record = await wait_task(jp_fetch, data["task"]["id"])
    log = await task_log(jp_fetch, record["id"])
    assert record["state"] == "failed"
    assert "loading the modules failed" in record["message"]
    assert "Broken" in log
    assert "hpcenv-withbroken-zen4" not in our_kernels()


async def test_without_lmod_the_site_says_so_and_nothing_crashes(site_env, monkeypatch, jp_fetch):
    for var in ("LMOD_PKG", "LMOD_DIR", "LMOD_CMD", "MODULESHOME"):
        monkeypatch.delenv(var, raising=False)
    monkeypatch.setattr("jupyterlab_hpc_envs.site.modules.LMOD_CANDIDATES", ())
    monkeypatch.setattr("jupyterlab_hpc_envs.site.modules.TCL_CANDIDATES", ())
    # The server built before this test's patches read Lmod's location: a fresh core sees none.
    from jupyterlab_hpc_envs.config import HpcEnvs
    from jupyterlab_hpc_envs.core import Core

    core = Core(HpcEnvs())
    site = await core.site.describe()
    assert site["module_system"]["kind"] == "none"
    assert "no-modules" in [w["code"] for w in site["warnings"]]
    with pytest.raises(Exception, match="no module system"):
        await core.envs.create(name="nolmod", modules=[PYTHON], partition="zen4")


async def test_with_slurmctld_down_the_site_warns_and_the_panel_still_loads(
    site_env, demo_site, jp_fetch
):
    pid = int((demo_site.dir / "slurm" / "run" / "slurmctld.pid").read_text())
    os.kill(pid, signal.SIGSTOP)  # the controller stops answering, as when it hangs or is down
    try:
        code, site = await call(jp_fetch, "GET", "site", params={"refresh": "1"}, ok=False)
        assert code == 200
        assert "slurm" in [w["code"] for w in site["warnings"]]
        assert {p["name"] for p in site["partitions"]} == {"zen2", "zen4"}
        code, _ = await call(jp_fetch, "GET", "envs")
        assert code == 200
    finally:
        os.kill(pid, signal.SIGCONT)


async def test_a_partition_that_disappeared_is_named_with_the_ones_that_exist(site_env, jp_fetch):
    code, data = await call(
        jp_fetch,
        "POST",
        "envs",
        body={"name": "x", "modules": [PYTHON], "partition": "zen3"},
        ok=False,
    )
    assert code == 404
    assert "zen3" in data["message"]
    assert "zen2" in data["message"]
    assert "zen4" in data["message"]


async def test_a_deleted_build_folder_is_reported_by_the_kernel_and_the_doctor(
    site_env, jp_fetch, demo_site
):
    record = await create(jp_fetch, name="deleted", modules=[PYTHON, IPYTHON], partition="zen4")
    assert record["state"] == "succeeded"
    import shutil

    shutil.rmtree(site_env["VSC_DATA"] / "hpc-envs" / "deleted" / "venv-zen4")
    _, env = await call(jp_fetch, "GET", "envs", "deleted")
    assert any("is gone" in w for w in env["warnings"])
    from jupyter_client.manager import AsyncKernelManager

    km = AsyncKernelManager(kernel_name="hpcenv-deleted-zen4")
    with pytest.raises(RuntimeError, match="is gone: rebuild it"):
        await km.start_kernel()
    doctor = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "jupyterlab_hpc_envs.cli",
        "doctor",
        "--json",
        stdout=asyncio.subprocess.PIPE,
        env=dict(os.environ),
    )
    out, _ = await doctor.communicate()
    problems = json.loads(out)["problems"]
    assert any("is gone" in p["message"] for p in problems)


async def test_what_we_write_is_writable_by_its_owner_only(site_env, jp_fetch):
    import stat

    from jupyter_core.paths import jupyter_data_dir

    os.umask(0o022)
    record = await create(jp_fetch, name="perms", modules=[PYTHON, IPYTHON], partition="zen4")
    assert record["state"] == "succeeded"
    home = site_env["VSC_DATA"] / "hpc-envs" / "perms"
    tasks = Path(jupyter_data_dir()) / "hpc_envs" / "tasks"

    def mode(path: Path) -> int:
        return stat.S_IMODE(path.stat().st_mode)

    for path in [home, home / "hpc-env.json", home / "launch-zen4.sh", *home.glob("logs/*")]:
        assert mode(path) & 0o022 == 0, f"{path} is writable by others: {oct(mode(path))}"
    assert mode(tasks) == 0o700
    for path in tasks.iterdir():
        assert mode(path) == 0o600, f"{path}: {oct(mode(path))}"
    assert not list(home.glob(".build-*.sh")), "the build script is removed after the build"
