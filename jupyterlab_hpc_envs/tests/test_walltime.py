"""The walltime of a Slurm kernel: its time limit, start and end in the kernel-jobs listing, and
its end at the limit recorded as such (``kernels/walltime.py``).

On the demo site's real Slurm: an environment built for zen2, its kernel started through the test
server's kernels API with a two-minute limit, the listing asked through the REST API and compared
with what ``squeue`` says; then Slurm ends the job at its limit (slurmctld checks limits about
every 30 s, ``KillWait=2``) and the listing says ``TIMEOUT``. A limit the site extends with
``scontrol update`` reaches the listing too. Nothing is mocked.
"""

from __future__ import annotations

import asyncio
import json
import logging
import shutil
import subprocess
import time
from pathlib import Path
from typing import Any

import pytest
from jupyter_core.paths import jupyter_data_dir

from jupyterlab_hpc_envs.kernels import walltime

from .helpers import call, zen2_environment

PYTHON = "Python/3.11.7-GCCcore-12.3.0"
IPYTHON = "IPython/8.14.0-GCCcore-12.3.0"
ENV = "walltime"
KERNEL = f"hpcenv-{ENV}-zen2"


@pytest.fixture(scope="module")
def built(demo_site, tmp_path_factory) -> Path:
    """The environment's zen2 kernelspec (built as a Slurm job by the CLI)."""
    return zen2_environment(demo_site, tmp_path_factory.mktemp("walltime"), ENV, [PYTHON, IPYTHON])


@pytest.fixture
def kernel(site_env, built, monkeypatch) -> Any:
    """The test server sees the environment and its zen2 kernel; no job of it is left after."""
    monkeypatch.setenv("VSC_DATA", str(built.parents[2] / "data"))
    shutil.copytree(built, Path(jupyter_data_dir()) / "kernels" / KERNEL)
    yield KERNEL
    for job_id, name in _queue():
        if name.startswith(job_name_prefix()):
            subprocess.run(["scancel", job_id], check=False)


def job_name_prefix() -> str:
    return f"hpc-envs-kernel:{ENV}:"


def _queue() -> list[tuple[str, str]]:
    out = subprocess.run(
        ["squeue", "-h", "--me", "-o", "%i|%j"], capture_output=True, text=True, check=True
    ).stdout
    return [tuple(line.split("|", 1)) for line in out.splitlines()]  # type: ignore[misc]


def squeue_times(job_id: str) -> tuple[str, str, str, str]:
    """State, start (%S), time limit (%l) and end (%e) of a job, as squeue says them."""
    out = subprocess.run(
        ["squeue", "-h", "--states=all", "-j", job_id, "-o", "%T|%S|%l|%e"],
        capture_output=True, text=True, check=True,
    ).stdout.strip()  # fmt: skip
    state, start, limit, end = out.split("|")
    return state, start, limit, end


async def listed(jp_fetch, kernel_id: str) -> dict[str, Any]:
    _, data = await call(jp_fetch, "GET", "kernel-jobs")
    return next((j for j in data["jobs"] if j["kernel_id"] == kernel_id), {})


async def test_a_two_minute_kernel_job_lists_its_limit_and_end_and_then_its_timeout(
    kernel, jp_fetch, caplog
):
    caplog.set_level(logging.DEBUG)  # srun's lines, as the provisioner logs them
    # Given the zen2 kernel with a two-minute time limit, started through the server
    await call(jp_fetch, "PUT", "kernels", KERNEL, "resources", body={"time": "2", "cpus": 1})
    response = await jp_fetch("api", "kernels", method="POST", body=json.dumps({"name": KERNEL}))
    kernel_id = str(json.loads(response.body)["id"])
    before = time.time()

    # The listing says its time limit, start and end, as squeue says them
    entry = await listed(jp_fetch, kernel_id)
    assert entry["state"] == "RUNNING", entry
    state, start, limit, end = squeue_times(entry["job_id"])
    assert (state, limit) == ("RUNNING", "2:00")
    assert entry["time_limit"] == 120
    assert entry["start_time"] == walltime.moment(start)
    assert entry["end_time"] == walltime.moment(end)
    assert entry["end_time"] - entry["start_time"] == 120
    assert before - 60 < entry["start_time"] <= before + 1
    assert entry["end_reason"] is None

    # When Slurm ends the job at its limit, the listing says TIMEOUT and why, and srun's own
    # words say it too (what tells it once Slurm has forgotten the job)
    deadline = time.monotonic() + 200
    while entry.get("state") != "TIMEOUT":
        assert time.monotonic() < deadline, (entry, squeue_times(entry["job_id"]))
        await asyncio.sleep(2)
        entry = await listed(jp_fetch, kernel_id)
    print(f"walltime: TIMEOUT listed {time.time() - entry['start_time']:.0f} s after the start")
    assert entry["end_reason"] == "timeout"
    assert "reached its walltime of 0:02:00" in entry["message"]
    assert entry["ended"] >= entry["end_time"] - 1
    assert squeue_times(entry["job_id"])[0] == "TIMEOUT"
    srun_said = [
        r.getMessage() for r in caplog.records if f"Kernel {kernel_id}: " in r.getMessage()
    ]
    assert walltime.said_time_limit(srun_said), srun_said
    assert walltime.end_reason("GONE", srun_said) == ("TIMEOUT", "timeout")


async def test_a_time_limit_extended_with_scontrol_reaches_the_listing(kernel, jp_fetch):
    # Given the zen2 kernel running with a two-minute limit
    await call(jp_fetch, "PUT", "kernels", KERNEL, "resources", body={"time": "2", "cpus": 1})
    response = await jp_fetch("api", "kernels", method="POST", body=json.dumps({"name": KERNEL}))
    kernel_id = str(json.loads(response.body)["id"])
    entry = await listed(jp_fetch, kernel_id)
    assert entry["time_limit"] == 120, entry

    # When the site extends its job to ten minutes
    update = ["scontrol", "update", f"JobId={entry['job_id']}", "TimeLimit=10"]
    await asyncio.to_thread(subprocess.run, update, check=True)

    # Then the listing says the new limit and end, as squeue does (the kernel's next poll)
    deadline = time.monotonic() + 60
    while entry["time_limit"] != 600:
        assert time.monotonic() < deadline, (entry, squeue_times(entry["job_id"]))
        await asyncio.sleep(2)
        entry = await listed(jp_fetch, kernel_id)
    _, _, limit, end = squeue_times(entry["job_id"])
    assert limit == "10:00"
    assert entry["end_time"] == walltime.moment(end) == entry["start_time"] + 600
    await jp_fetch("api", "kernels", kernel_id, method="DELETE")


def test_end_reasons_follow_slurms_final_state_and_sruns_words():
    said = ["slurmstepd: error: *** STEP 7.0 ON vm CANCELLED AT 2026-01-01T10:00:00 ***"]
    assert walltime.end_reason("CANCELLED by 0", said) == ("CANCELLED by 0", "cancelled")
    assert walltime.end_reason("GONE", said) == ("GONE", "failed")
    assert walltime.end_reason("OUT_OF_MEMORY", []) == ("OUT_OF_MEMORY", "failed")
    assert walltime.limit_seconds("1-00:00:00") == 86400
    assert walltime.limit_seconds("UNLIMITED") is None
    assert walltime.moment("N/A") is None
