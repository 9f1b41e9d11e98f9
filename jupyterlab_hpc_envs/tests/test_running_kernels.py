"""What runs on an environment: its kernels, stopped by a removal the user agrees to (``stop=1``),
and terminals on another partition, which run with the kernel's resources and are listed (and
cancelled) with the kernel jobs.

On the demo site's real Slurm: an environment built for zen4 (where the test server runs: a local
kernel) and zen2 (a Slurm kernel job), kernels started through the server's kernels API, one of
them used by a notebook session, a terminal's srun run in a pseudo-terminal. Nothing is mocked.
"""

from __future__ import annotations

import asyncio
import json
import os
import pty
import shlex
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from jupyter_core.paths import jupyter_data_dir

from .helpers import call

PYTHON = "Python/3.11.7-GCCcore-12.3.0"
IPYTHON = "IPython/8.14.0-GCCcore-12.3.0"
ENV = "panel-stop"
CLI_ENV = "firsthour-cli-stop"


def _build(demo_site, root: Path, *argvs: list[str]) -> Path:
    """Run the CLI commands that build an environment under ``root`` (its data and kernels)."""
    (root / "data").mkdir()
    env = dict(demo_site.env, VSC_DATA=str(root / "data"), JUPYTER_DATA_DIR=str(root / "jupyter"))
    for argv in argvs:
        result = subprocess.run(
            [sys.executable, "-m", "jupyterlab_hpc_envs.cli", *argv],
            env=env, capture_output=True, text=True, timeout=600, check=False,
        )  # fmt: skip
        assert result.returncode == 0, result.stdout + result.stderr
    return root


def _serve(monkeypatch, root: Path, name: str, partitions: tuple[str, ...]):
    """The test server sees the environment ``name`` built under ``root``, and its kernels; at
    the end, no kernel job of it is left in the queue."""
    monkeypatch.setenv("VSC_DATA", str(root / "data"))
    kernels = Path(jupyter_data_dir()) / "kernels"
    for part in partitions:
        shutil.copytree(root / "jupyter" / "kernels" / f"hpcenv-{name}-{part}",
                        kernels / f"hpcenv-{name}-{part}")  # fmt: skip
    yield name
    leftovers = [j for j in _queue() if j[1].startswith(f"hpc-envs-kernel:{name}:")]
    if leftovers:
        subprocess.run(["scancel", *(j[0] for j in leftovers)], check=False)


@pytest.fixture(scope="module")
def built(demo_site, tmp_path_factory) -> Path:
    """The environment, built for zen4 and zen2 by the CLI; the root of its data and kernels."""
    return _build(
        demo_site,
        tmp_path_factory.mktemp("removal-kernels"),
        ["create", ENV, "--module", PYTHON, "--module", IPYTHON, "--partition", "zen4", "-q"],
        ["rebuild", ENV, "--partition", "zen2"],
    )


@pytest.fixture
def environment(site_env, built, monkeypatch) -> str:
    """The test server sees the environment (its storage root) and its two kernels."""
    yield from _serve(monkeypatch, built, ENV, ("zen4", "zen2"))


@pytest.fixture
def zen2_only(demo_site, site_env, tmp_path_factory, monkeypatch) -> str:
    """An environment of its own, built for zen2 only (a Slurm build job), seen by the server."""
    root = _build(
        demo_site,
        tmp_path_factory.mktemp("cli-removal"),
        ["create", CLI_ENV, "--module", PYTHON, "--module", IPYTHON, "--partition", "zen2", "-q"],
    )
    yield from _serve(monkeypatch, root, CLI_ENV, ("zen2",))


def _queue() -> list[tuple[str, str]]:
    """(job id, job name) of the user's jobs in the queue."""
    out = subprocess.run(
        ["squeue", "-h", "--me", "-o", "%i|%j"], capture_output=True, text=True, check=True
    ).stdout
    return [tuple(line.split("|", 1)) for line in out.splitlines()]  # type: ignore[misc]


async def _start(jp_fetch, kernel: str) -> str:
    response = await jp_fetch("api", "kernels", method="POST", body=json.dumps({"name": kernel}))
    return str(json.loads(response.body)["id"])


async def _kernel_ids(jp_fetch) -> set[str]:
    return {k["id"] for k in json.loads((await jp_fetch("api", "kernels")).body)}


async def test_a_terminal_on_another_partition_has_the_kernels_time_limit_and_is_listed_and_cancelled(
    environment, jp_fetch
):
    # Given the zen2 kernel's resources chosen with a 20 minute time limit
    await call(jp_fetch, "PUT", "kernels", f"hpcenv-{ENV}-zen2", "resources",
               body={"time": "0:20:00", "cpus": 1})  # fmt: skip

    # When the panel asks how to open a terminal on zen2
    _, reply = await call(
        jp_fetch, "GET", "envs", ENV, "activation", params={"partition": "zen2", "terminal": "1"}
    )

    # Then it is an srun on zen2 with that time limit and a name the jobs list recognises
    argv = shlex.split(reply["srun"])
    assert argv[0] == "srun"
    assert argv[-3:] == ["--pty", "bash", "-l"]
    assert "--partition=zen2" in argv
    assert "--time=0:20:00" in argv
    assert "--cpus-per-task=1" in argv
    assert f"--job-name=hpc-envs-terminal:{ENV}:zen2" in argv

    # When the terminal runs it (in a pseudo-terminal, as JupyterLab's terminal does)
    main, side = pty.openpty()
    shell = await asyncio.create_subprocess_exec(
        *argv, stdin=side, stdout=side, stderr=side, start_new_session=True
    )
    os.close(side)
    try:
        entry = None
        for _ in range(120):
            _, listing = await call(jp_fetch, "GET", "kernel-jobs")
            entry = next((j for j in listing["jobs"] if j.get("kind") == "terminal"), None)
            if entry and entry["state"] == "RUNNING":
                break
            await asyncio.sleep(0.5)

        # Then it is listed with the kernel jobs, running on zen2 with its time limit
        assert entry is not None
        assert entry["state"] == "RUNNING"
        assert (entry["env"], entry["partition"]) == (ENV, "zen2")
        assert _time_limit(entry["job_id"]) == "20:00"

        # When the user cancels it from the list
        await call(jp_fetch, "DELETE", "kernel-jobs", entry["kernel_id"])

        # Then srun ends and its job leaves the queue
        await asyncio.wait_for(shell.wait(), 60)
        for _ in range(60):
            if entry["job_id"] not in {j[0] for j in _queue()}:
                break
            await asyncio.sleep(0.5)
        assert entry["job_id"] not in {j[0] for j in _queue()}
    finally:
        if shell.returncode is None:
            shell.kill()
        os.close(main)


def _time_limit(job_id: str) -> str:
    """squeue's time limit of a job (``20:00``)."""
    return subprocess.run(
        ["squeue", "-h", "-j", job_id, "-o", "%l"], capture_output=True, text=True, check=True
    ).stdout.strip()


async def test_a_removal_with_consent_stops_the_local_kernel_and_cancels_the_slurm_kernel_job(
    environment, jp_fetch
):
    # Given a local kernel on zen4, used by a notebook, and a Slurm kernel job on zen2
    local = await _start(jp_fetch, f"hpcenv-{ENV}-zen4")
    remote = await _start(jp_fetch, f"hpcenv-{ENV}-zen2")
    await jp_fetch("api", "sessions", method="POST", body=json.dumps(
        {"path": "analysis.ipynb", "type": "notebook", "name": "analysis.ipynb",
         "kernel": {"id": local}}
    ))  # fmt: skip

    # When the user asks what removing the zen2 build does
    _, plan = await call(jp_fetch, "GET", "envs", ENV, "removal", params={"partition": "zen2"})

    # Then only the zen2 kernel is named, with its job
    assert [k["kernel_id"] for k in plan["running"]] == [remote]
    job = plan["running"][0]["job_id"]
    assert job
    assert job in {j[0] for j in _queue()}

    # When the user removes the zen2 build, agreeing to stop its kernel
    _, reply = await call(
        jp_fetch, "DELETE", "envs", ENV, params={"partition": "zen2", "stop": "1"}
    )

    # Then its job is gone from the queue and the server no longer lists the kernel; the zen4
    # kernel runs on
    assert reply["stopped"] == [f"kernel {remote}"]
    assert job not in {j[0] for j in _queue()}
    assert await _kernel_ids(jp_fetch) == {local}
    _, listing = await call(jp_fetch, "GET", "kernel-jobs")
    assert all(j["ended"] for j in listing["jobs"] if j["kernel_id"] == remote), listing

    # When the user removes the environment, agreeing to stop the rest
    _, plan = await call(jp_fetch, "GET", "envs", ENV, "removal")
    assert [(k["kernel_id"], k["notebook"], k["job_id"]) for k in plan["running"]] == [
        (local, "analysis.ipynb", "")
    ]
    _, reply = await call(jp_fetch, "DELETE", "envs", ENV, params={"stop": "1"})

    # Then no kernel of it runs any more, and it is gone
    assert reply["stopped"] == [f"kernel {local}"]
    assert await _kernel_ids(jp_fetch) == set()
    code, _ = await call(jp_fetch, "GET", "envs", ENV, ok=False)
    assert code == 404


async def _cli(*argv: str) -> tuple[int, str, str]:
    """``jupyter hpc-envs ARGV`` in a process of its own, in this test's environment (the same
    Jupyter data folder, hence the same record of kernel jobs, as the test server)."""
    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "jupyterlab_hpc_envs.cli", *argv,
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
    )  # fmt: skip
    out, err = await asyncio.wait_for(proc.communicate(), 120)
    assert proc.returncode is not None
    return proc.returncode, out.decode(), err.decode()


async def test_the_cli_removal_refuses_while_a_slurm_kernel_job_runs_and_cancels_it_with_stop(
    zen2_only, jp_fetch
):
    # Given a kernel of the environment running as a Slurm job on zen2 (started by a server; the
    # command line has no kernel manager, only the user's record of kernel jobs)
    kernel = await _start(jp_fetch, f"hpcenv-{CLI_ENV}-zen2")
    _, listing = await call(jp_fetch, "GET", "kernel-jobs")
    job = next(j["job_id"] for j in listing["jobs"] if j["kernel_id"] == kernel)
    assert job in {j[0] for j in _queue()}

    # When the user asks what removing it would do
    code, out, _ = await _cli("remove", CLI_ENV)

    # Then the kernel job is named with what would go, and --stop is asked for
    assert code == 2, out
    assert f"kernel job {job} on zen2" in out
    assert "--yes --stop" in out

    # When the user removes it without --stop
    code, out, err = await _cli("remove", CLI_ENV, "--yes")

    # Then it is refused, saying what runs and how to end it; nothing is removed or cancelled
    assert code == 4, out + err
    assert f"kernel job {job} on zen2" in err
    assert "--stop" in err
    assert f"scancel {job}" in err
    assert job in {j[0] for j in _queue()}
    code, _ = await call(jp_fetch, "GET", "envs", CLI_ENV, ok=False)
    assert code == 200

    # When the user agrees to stop it
    code, out, err = await _cli("remove", CLI_ENV, "--yes", "--stop")

    # Then the job is cancelled before the environment goes
    assert code == 0, out + err
    assert f"Stopped job {job}" in out
    for _ in range(60):
        if job not in {j[0] for j in _queue()}:
            break
        await asyncio.sleep(0.5)
    assert job not in {j[0] for j in _queue()}
    code, _ = await call(jp_fetch, "GET", "envs", CLI_ENV, ok=False)
    assert code == 404
