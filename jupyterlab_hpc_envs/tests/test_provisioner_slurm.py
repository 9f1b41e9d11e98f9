"""Kernels on another partition, through the demo site's real one-node Slurm.

The "server" (this test process, or a ``jupyter server`` it starts) runs on the site's zen4 node
(``VSC_ARCH_LOCAL=zen4``); the environment is built for zen2, so its kernel runs as a Slurm job step
on partition zen2, whose TaskProlog gives it ``VSC_ARCH_LOCAL=zen2``. Nothing is mocked: srun,
squeue, scancel, slurmctld, the launch script, Lmod and ipykernel are the real ones.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import pytest
from jupyter_client.ioloop import AsyncIOLoopKernelManager
from jupyter_client.multikernelmanager import AsyncMultiKernelManager
from jupyter_core.paths import jupyter_data_dir
from traitlets.config import Config

from jupyterlab_hpc_envs.config import HpcEnvs
from jupyterlab_hpc_envs.kernels import diagnosis
from jupyterlab_hpc_envs.kernels.jobs import JOB_NAME_PREFIX, KernelJobs, sweep_orphans
from jupyterlab_hpc_envs.kernels.provisioner import KernelStartError

from .helpers import call, zen2_environment

PYTHON = "Python/3.11.7-GCCcore-12.3.0"
IPYTHON = "IPython/8.14.0-GCCcore-12.3.0"
ENV = "remote"
KERNEL = f"hpcenv-{ENV}-zen2"
HOLD = "hpc-envs-test-hold"


# --- the environment and its kernel -----------------------------------------------------------


@pytest.fixture(scope="module")
def zen2_kernelspec(demo_site, tmp_path_factory) -> Path:
    """An environment built for zen2 only (as a Slurm job, by the CLI); its kernelspec's folder."""
    root = tmp_path_factory.mktemp("provisioner")
    return zen2_environment(demo_site, root, ENV, [PYTHON, IPYTHON])


@pytest.fixture
def kernel(site_env, zen2_kernelspec) -> Iterator[str]:
    """The zen2 kernel, installed in this test's Jupyter data folder; no job of ours left after."""
    shutil.copytree(zen2_kernelspec, kernels_dir() / KERNEL)
    yield KERNEL
    leftovers = our_jobs()
    if leftovers:
        subprocess.run(["scancel", *(j["id"] for j in leftovers)], check=False)
    subprocess.run(["scancel", f"--name={HOLD}"], check=False)
    wait_until(lambda: not our_jobs(), 30)


def kernels_dir() -> Path:
    return Path(jupyter_data_dir()) / "kernels"


def set_kernel_config(**values: Any) -> None:
    """Change the kernel's ``metadata.kernel_provisioner.config`` (what the UI's choice sets)."""
    path = kernels_dir() / KERNEL / "kernel.json"
    spec = json.loads(path.read_text())
    spec["metadata"]["kernel_provisioner"]["config"].update(values)
    path.write_text(json.dumps(spec))


# --- Slurm as the tests see it ----------------------------------------------------------------


def squeue(*args: str) -> list[dict[str, str]]:
    out = subprocess.run(
        ["squeue", "-h", "-o", "%i|%T|%r|%S|%l|%j", *args],
        capture_output=True, text=True, check=True,
    ).stdout  # fmt: skip
    keys = ("id", "state", "reason", "start", "limit", "name")
    return [dict(zip(keys, line.split("|", 5), strict=True)) for line in out.splitlines()]


def job_request(job_id: str) -> str:
    """CPUs, memory and time limit of a job, as squeue shows them."""
    return subprocess.run(
        ["squeue", "-h", "-j", job_id, "-o", "%C|%m|%l"],
        capture_output=True, text=True, check=True,
    ).stdout.strip()  # fmt: skip


def our_jobs(*args: str) -> list[dict[str, str]]:
    """This module's kernel jobs in the queue (pending or running, as plain squeue lists them);
    those of other environments (other tests running beside these) are left alone."""
    return [j for j in squeue(*args) if j["name"].startswith(f"{JOB_NAME_PREFIX}{ENV}:")]


def job_of(kernel_id: str, *args: str) -> dict[str, str] | None:
    found = [j for j in our_jobs(*args) if j["name"].endswith(":" + kernel_id[:8])]
    return found[-1] if found else None


def wait_until(condition, timeout: float, interval: float = 0.25) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(interval)
    return bool(condition())


async def async_wait_until(condition, timeout: float, interval: float = 0.25) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if await asyncio.to_thread(condition):
            return True
        await asyncio.sleep(interval)
    return bool(await asyncio.to_thread(condition))


@contextlib.contextmanager
def full_node() -> Iterator[None]:
    """Both CPUs of the one node taken by two batch jobs of 10 minutes: a kernel job must wait."""
    for _ in range(2):
        subprocess.run(
            ["sbatch", "-p", "zen4", f"--job-name={HOLD}", "--time=10", "-o", "/dev/null",
             "--wrap", "sleep 600"],
            check=True, capture_output=True,
        )  # fmt: skip
    assert wait_until(
        lambda: [j["state"] for j in squeue(f"--name={HOLD}")] == ["RUNNING", "RUNNING"], 30
    ), squeue()
    try:
        yield
    finally:
        subprocess.run(["scancel", f"--name={HOLD}"], check=False)
        wait_until(lambda: not squeue(f"--name={HOLD}"), 30)


# --- kernels through jupyter_client -------------------------------------------------------------


def manager(config: dict[str, Any] | None = None, kernel: str = KERNEL) -> AsyncIOLoopKernelManager:
    """A kernel manager as jupyter_server makes them (with the auto-restarter)."""
    return AsyncIOLoopKernelManager(kernel_name=kernel, config=Config(config or {}))


@contextlib.asynccontextmanager
async def running(config: dict[str, Any] | None = None, kernel: str = KERNEL) -> AsyncIterator[Any]:
    km = manager(config, kernel)
    await km.start_kernel()
    kc = km.client()
    kc.start_channels()
    try:
        await kc.wait_for_ready(timeout=60)
        yield km, kc
    finally:
        kc.stop_channels()
        if km.has_kernel:
            await km.shutdown_kernel()


async def execute(kc, code: str, timeout: float = 60) -> tuple[str, str]:
    """Run code; returns (reply status or error name, stdout)."""
    msg_id = kc.execute(code)
    out: list[str] = []
    deadline = time.monotonic() + timeout
    while True:
        msg = await kc.get_iopub_msg(timeout=max(0.1, deadline - time.monotonic()))
        if msg["parent_header"].get("msg_id") != msg_id:
            continue
        if msg["msg_type"] == "stream":
            out.append(msg["content"]["text"])
        elif msg["msg_type"] == "status" and msg["content"]["execution_state"] == "idle":
            break
    while True:
        reply = await kc.get_shell_msg(timeout=max(0.1, deadline - time.monotonic()))
        if reply["parent_header"].get("msg_id") == msg_id:
            content = reply["content"]
            status = content["status"] if content["status"] == "ok" else content.get("ename", "")
            return status, "".join(out)


async def start_sleep(kc, seconds: int = 60) -> str:
    """Start a cell that sleeps, and return once the kernel is busy with it."""
    # stop_on_error=False: else ipykernel aborts requests that arrive just after the interrupt.
    msg_id = kc.execute(f"import time; time.sleep({seconds})", stop_on_error=False)
    while True:
        msg = await kc.get_iopub_msg(timeout=30)
        if msg["parent_header"].get("msg_id") == msg_id and msg["msg_type"] == "execute_input":
            await asyncio.sleep(0.5)  # inside time.sleep by now
            return msg_id


async def interrupted(kc, msg_id: str, timeout: float = 20) -> str:
    """The status (or error name) of the reply to ``msg_id``."""
    deadline = time.monotonic() + timeout
    while True:
        reply = await kc.get_shell_msg(timeout=max(0.1, deadline - time.monotonic()))
        if reply["parent_header"].get("msg_id") == msg_id:
            content = reply["content"]
            return content["status"] if content["status"] == "ok" else content.get("ename", "")


# --- a kernel on zen2 from a zen4 server ---------------------------------------------------------


async def test_a_zen2_kernel_from_a_zen4_server_runs_as_a_job_step_on_zen2(kernel):
    assert os.environ["VSC_ARCH_LOCAL"] == "zen4", "the server's own node is zen4"
    started = time.monotonic()
    async with running() as (km, kc):
        seconds = time.monotonic() - started
        status, out = await execute(
            kc,
            "import os, sys\n"
            "print(os.environ['SLURM_JOB_PARTITION'], os.environ['VSC_ARCH_LOCAL'],\n"
            "      os.environ['SLURM_JOB_ID'], os.environ['SLURM_STEP_ID'], sys.prefix)",
        )
        assert status == "ok", out
        partition, arch, job_id, step_id, prefix = out.split()
        assert (partition, arch) == ("zen2", "zen2")
        assert prefix.endswith(f"/hpc-envs/{ENV}/venv-zen2")
        job = job_of(km.kernel_id)
        assert job is not None, our_jobs()
        assert (job["id"], job["state"]) == (job_id, "RUNNING")
        assert job["name"] == f"{JOB_NAME_PREFIX}{ENV}:{km.kernel_id[:8]}"
        assert km.provisioner.step == f"{job_id}.{step_id}"
        assert km.ip == "127.0.0.1"
    assert not our_jobs(), "shutting the kernel down ends its job"
    print(f"zen2 kernel started through Slurm in {seconds:.2f} s")


async def test_the_key_is_in_no_command_line_and_the_remote_connection_file_is_private(kernel):
    async with running() as (km, kc):
        key = km.session.key
        assert key
        for entry in Path("/proc").iterdir():
            if entry.name.isdigit():
                with contextlib.suppress(OSError):
                    assert key not in (entry / "cmdline").read_bytes(), (
                        entry / "cmdline"
                    ).read_bytes()
        status, out = await execute(
            kc,
            "import os, sys\nf = sys.argv[sys.argv.index('-f') + 1]\n"
            "print(oct(os.stat(f).st_mode & 0o777), oct(os.stat(os.path.dirname(f)).st_mode & 0o777))",
        )
        assert status == "ok"
        assert out.split() == ["0o600", "0o700"]
        record = Path(jupyter_data_dir()) / "hpc_envs" / "kernel-jobs.json"
        assert record.stat().st_mode & 0o777 == 0o600
        assert km.kernel_id in json.loads(record.read_text())["jobs"]
    assert km.kernel_id not in KernelJobs(str(record.parent)).read()


async def test_mode_slurm_runs_the_kernel_through_slurm_even_where_it_could_run_here(
    kernel, monkeypatch
):
    monkeypatch.setenv("VSC_ARCH_LOCAL", "zen2")  # a server on a zen2 node: auto would be local
    set_kernel_config(mode="slurm")
    async with running() as (km, kc):
        assert km.provisioner.in_slurm
        assert job_of(km.kernel_id)["state"] == "RUNNING"
        assert (await execute(kc, "import os; print(os.environ['SLURM_JOB_PARTITION'])"))[
            1
        ] == "zen2\n"


async def test_mode_local_refuses_a_build_for_another_arch_than_this_nodes(kernel):
    set_kernel_config(mode="local")
    with pytest.raises(KernelStartError, match="built for zen2, but this node is zen4") as caught:
        await manager().start_kernel()
    # The frontend's dialog tells the kind apart by the diagnosis line (kernels/diagnosis.py).
    assert diagnosis.parse(str(caught.value))[1] == {
        "kind": "arch",
        "env": ENV,
        "partition": "zen2",
        "subjects": ["zen2", "zen4"],
        "fixes": ["choose"],
    }
    assert our_jobs() == []


# --- interrupt, restart, shutdown ----------------------------------------------------------------


async def test_an_interrupt_message_stops_a_sleeping_cell_and_the_kernel_lives_on(kernel):
    async with running() as (km, kc):
        job_before = job_of(km.kernel_id)
        msg_id = await start_sleep(kc)
        t0 = time.monotonic()
        await km.interrupt_kernel()  # interrupt_mode "message": an interrupt_request
        assert await interrupted(kc, msg_id) == "KeyboardInterrupt"
        assert time.monotonic() - t0 < 10
        assert await execute(kc, "print('alive')") == ("ok", "alive\n")
        assert job_of(km.kernel_id) == job_before
        assert await km.is_alive()


async def test_a_sigint_goes_to_the_job_step_through_scancel_not_to_srun(kernel):
    async with running() as (km, kc):
        msg_id = await start_sleep(kc)
        await km.signal_kernel(signal.SIGINT)  # the fallback: scancel --signal=INT job.step
        assert await interrupted(kc, msg_id) == "KeyboardInterrupt"
        assert await execute(kc, "print('alive')") == ("ok", "alive\n")
        assert await km.is_alive()


async def test_a_restart_reuses_the_provisioner_with_a_new_job_and_ends_the_old_one(kernel):
    async with running() as (km, kc):
        provisioner = km.provisioner
        assert (await execute(kc, "x = 42; print(x)"))[1] == "42\n"
        first = provisioner.job_id
        await km.restart_kernel()
        assert km.provisioner is provisioner
        second = provisioner.job_id
        assert second
        assert second != first
        # A new job binds new ports (maybe on another node): clients connect again, as
        # JupyterLab does after every restart.
        kc2 = km.client()
        kc2.start_channels()
        try:
            await kc2.wait_for_ready(timeout=60)
            assert (await execute(kc2, "print('x' in globals())"))[1] == "False\n"
        finally:
            kc2.stop_channels()
        assert [j["id"] for j in our_jobs()] == [second], "the first job ended with the restart"
    assert not our_jobs()


# --- waiting in the queue ------------------------------------------------------------------------


async def test_a_start_on_a_full_node_times_out_saying_why_and_leaves_no_job(kernel):
    set_kernel_config(queue_timeout=12)
    with full_node():
        km = manager()
        t0 = time.monotonic()
        with pytest.raises(KernelStartError) as caught:
            await km.start_kernel()
        waited = time.monotonic() - t0
        message = str(caught.value)
        assert "still waiting in the queue" in message
        assert "Resources" in message
        assert "estimated start" in message
        assert "cancelled" in message
        found = diagnosis.parse(message)[1]
        assert found is not None
        assert (found["kind"], found["env"], found["partition"]) == ("queue-timeout", ENV, "zen2")
        assert found["subjects"][0].isdigit(), "the job id"
        assert 12 <= waited < 30
        assert our_jobs() == []
        assert KernelJobs(str(Path(jupyter_data_dir()) / "hpc_envs")).read() == {}
    print(f"queue timeout: {message}")


async def test_cancelling_a_pending_start_cancels_its_job(kernel):
    record = KernelJobs(str(Path(jupyter_data_dir()) / "hpc_envs"))
    with full_node():
        km = manager()
        start = asyncio.ensure_future(km.start_kernel())

        def pending() -> bool:
            entry = record.read().get(km.kernel_id or "", {})
            return entry.get("state") == "PENDING" and entry.get("reason") == "Resources"

        assert await async_wait_until(pending, 20), record.read()
        assert [j["state"] for j in our_jobs()] == ["PENDING"]
        start.cancel()
        with pytest.raises(asyncio.CancelledError):
            await start
        assert our_jobs() == []
        assert record.read() == {}


async def test_a_pending_job_cancelled_from_the_ui_ends_the_start_with_that_reason(
    kernel, jp_fetch
):
    with full_node():
        start = asyncio.ensure_future(
            jp_fetch("api", "kernels", method="POST", body=json.dumps({"name": KERNEL}),
                     raise_error=False)
        )  # fmt: skip
        entry: dict[str, Any] = {}

        async def listed_pending() -> bool:
            _, data = await call(jp_fetch, "GET", "kernel-jobs")
            entry.update(next((j for j in data["jobs"] if j.get("env") == ENV), {}))
            return entry.get("state") == "PENDING"

        deadline = time.monotonic() + 20
        while not await listed_pending():
            assert time.monotonic() < deadline, entry
            await asyncio.sleep(0.5)
        assert entry["partition"] == "zen2"
        assert entry["reason"] == "Resources"
        assert entry["message"].startswith("pending (Resources)")
        code, _ = await call(jp_fetch, "DELETE", "kernel-jobs", entry["kernel_id"])
        assert code == 200
        response = await asyncio.wait_for(start, 30)
        assert response.code == 500
        message = json.loads(response.body)["message"]
        assert "cancelled while the kernel was waiting in the queue" in message
        assert diagnosis.parse(message)[1]["kind"] == "cancelled"
        assert our_jobs() == []


# --- failures that are the user's to fix -----------------------------------------------------------


async def test_a_request_slurm_refuses_fails_at_once_with_slurms_reason_and_no_job(kernel):
    set_kernel_config(memory="100000G")
    km = manager()
    with pytest.raises(KernelStartError) as caught:
        await asyncio.wait_for(km.start_kernel(), 30)
    assert "ended before the kernel started" in str(caught.value)
    assert "node configuration is not available" in str(caught.value)
    assert our_jobs() == []


class RecordingKernels(AsyncMultiKernelManager):
    """A multi-kernel manager that keeps the kernel managers it made, even a failed one's."""

    def pre_start_kernel(self, kernel_name, kwargs):
        made = super().pre_start_kernel(kernel_name, kwargs)
        self.made = [*getattr(self, "made", []), made[0]]
        return made


async def test_a_failed_start_leaves_nothing_behind_and_its_cleanup_can_run_again(kernel):
    # Given a kernel start Slurm refuses, through a multi-kernel manager as a server has
    set_kernel_config(memory="100000G")
    mkm = RecordingKernels()
    with pytest.raises(KernelStartError):
        await asyncio.wait_for(mkm.start_kernel(kernel_name=KERNEL), 30)

    # Then no job, no pending start in the manager, nothing pending in the provisioner
    assert our_jobs() == []
    assert mkm._pending_kernels == {}
    assert mkm.list_kernel_ids() == []
    await asyncio.wait_for(mkm.shutdown_all(), 10)
    # And the failed kernel's provisioner has no process and nothing pending
    (made,) = mkm.made
    provisioner = made.provisioner
    assert provisioner.has_process is False
    job = provisioner._slurm.job
    assert job.launcher_report.done()
    assert all(task.done() for task in job.tasks)
    # And its cleanup, which jupyter_client may call after, runs again without a Slurm call
    await asyncio.wait_for(provisioner.cleanup(), 10)
    await asyncio.wait_for(provisioner.cleanup(), 10)
    assert provisioner.has_process is False
    assert our_jobs() == []


async def test_a_refused_start_tells_jupyterlab_slurms_whole_message_in_readable_lines(kernel):
    # Given a kernelspec asking for a GPU on zen2, whose node has none (chosen before the check
    # of the resources existed, or by hand: the provisioner leaves the verdict to Slurm)
    set_kernel_config(gpus=1)
    km = manager()
    with pytest.raises(KernelStartError) as caught:
        await asyncio.wait_for(km.start_kernel(), 30)
    # Then the message JupyterLab shows (jupyter_server sends str() of the error) carries
    # Slurm's whole line, on a line of its own (a <pre> that does not wrap shows it whole)
    shown = str(caught.value).splitlines()
    assert "srun: error: Invalid generic resource (gres) specification" in shown
    assert "ended before the kernel started" in shown[0]
    assert diagnosis.parse(str(caught.value))[1]["kind"] == "ended"
    assert our_jobs() == []


async def test_a_job_that_does_not_report_the_kernel_in_time_is_cancelled_saying_so(
    kernel, tmp_path
):
    # A node that takes too long to load modules and start Python: the launch script sleeps first.
    spec_path = kernels_dir() / KERNEL / "kernel.json"
    spec = json.loads(spec_path.read_text())
    launch = Path(spec["metadata"]["hpc_envs"]["launch"])
    # Beside the real one: a script outside the environment's folder is refused (ownership.py).
    slow = launch.parent / f"slow-{tmp_path.name}.sh"
    lines = launch.read_text().splitlines(keepends=True)
    slow.write_text(lines[0] + "sleep 60\n" + "".join(lines[1:]))
    slow.chmod(0o755)
    spec["metadata"]["hpc_envs"]["launch"] = str(slow)
    spec["metadata"]["kernel_provisioner"]["config"]["connect_timeout"] = 3
    spec_path.write_text(json.dumps(spec))
    km = manager()
    t0 = time.monotonic()
    with pytest.raises(KernelStartError) as caught:
        await km.start_kernel()
    assert 3 <= time.monotonic() - t0 < 15
    assert "did not report its ports within 3 s" in str(caught.value)
    assert "The job was cancelled" in str(caught.value)
    slow.unlink()
    # Cancelled; Slurm may still be ending its processes for a moment (COMPLETING).
    assert await async_wait_until(lambda: not our_jobs(), 15), our_jobs()


async def test_a_request_above_the_sites_limit_is_refused_before_anything_is_submitted(kernel):
    set_kernel_config(cpus=2)
    km = manager({"HpcEnvs": {"kernel_limits": {"cpus": 1}}})
    with pytest.raises(KernelStartError, match="at most 1 CPU on partition zen2"):
        await km.start_kernel()
    assert squeue("--states=all", f"--name={JOB_NAME_PREFIX}{ENV}:{km.kernel_id[:8]}") == []


async def test_the_kernels_resources_reach_its_job(kernel):
    set_kernel_config(cpus=2, time="30", memory="700M")
    async with running() as (km, kc):
        status, out = await execute(kc, "import os; print(os.environ['SLURM_CPUS_PER_TASK'])")
        assert (status, out) == ("ok", "2\n")
        job = job_of(km.kernel_id)
        assert job_request(job["id"]) == "2|700M|30:00"


# --- the end of a job, and Slurm going away -------------------------------------------------------


async def test_a_one_minute_walltime_is_reported_as_expired_and_not_resubmitted(kernel):
    set_kernel_config(time="1")
    events: list[str] = []
    async with running() as (km, _):
        km.add_restart_callback(lambda: events.append("restart"), "restart")
        km.add_restart_callback(lambda: events.append("dead"), "dead")
        job_id = km.provisioner.job_id
        t0 = time.monotonic()
        deadline = t0 + 150
        while "dead" not in events:
            assert time.monotonic() < deadline, (events, squeue("--states=all"))
            await asyncio.sleep(1)
        print(f"walltime: the kernel was reported dead {time.monotonic() - t0:.0f} s after start")
        assert events == ["dead"], "never restarted: a restart would queue a new job"
        ended = km.provisioner.ended
        assert ended["state"] == "TIMEOUT"
        assert "reached its walltime of 0:01:00" in ended["message"]
        entry = KernelJobs(str(Path(jupyter_data_dir()) / "hpc_envs")).read()[km.kernel_id]
        assert entry["state"] == "TIMEOUT"
        assert "walltime" in entry["message"]
        name = f"{JOB_NAME_PREFIX}{ENV}:{km.kernel_id[:8]}"
        jobs = squeue("--states=all", f"--name={name}")
        assert [(j["id"], j["state"]) for j in jobs] == [(job_id, "TIMEOUT")], "no second job"


async def test_a_running_kernel_job_cancelled_from_jupyterlab_is_reported_as_such(kernel):
    from jupyterlab_hpc_envs.config import HpcEnvs
    from jupyterlab_hpc_envs.kernels.jobs import cancel_kernel_job

    events: list[str] = []
    async with running() as (km, _):
        km.add_restart_callback(lambda: events.append("dead"), "dead")
        reply = await cancel_kernel_job(HpcEnvs(), km.kernel_id)
        assert reply["cancelled"] is True
        assert await async_wait_until(lambda: "dead" in events, 60), squeue("--states=all")
        assert "was cancelled from JupyterLab" in km.provisioner.ended["message"]
    entry = KernelJobs(str(Path(jupyter_data_dir()) / "hpc_envs")).read().get(km.kernel_id)
    if entry is not None:  # an ended job stays listed until cleared: clearing removes it
        reply = await cancel_kernel_job(HpcEnvs(), km.kernel_id)
        assert reply["cancelled"] is False
        assert km.kernel_id not in KernelJobs(str(Path(jupyter_data_dir()) / "hpc_envs")).read()


def _slurmctld_pid(demo_site) -> int:
    return int((demo_site.dir / "slurm" / "run" / "slurmctld.pid").read_text().split()[0])


async def test_a_kernel_outlives_slurmctld_being_stopped_for_a_while(kernel, demo_site):
    events: list[str] = []
    async with running({"HpcEnvs": {"kernel_poll_interval": 1.0}}) as (km, kc):
        km.add_restart_callback(lambda: events.append("restart"), "restart")
        km.add_restart_callback(lambda: events.append("dead"), "dead")
        job_id = km.provisioner.job_id
        watch = km.provisioner._slurm.job.watch
        pid = _slurmctld_pid(demo_site)
        os.kill(pid, signal.SIGTERM)
        try:
            assert await async_wait_until(lambda: not Path(f"/proc/{pid}").exists(), 30)
            outage = time.monotonic()
            noticed = False
            while time.monotonic() - outage < 30:
                assert await km.is_alive()
                noticed = noticed or not watch.reachable
                await asyncio.sleep(1)
            assert noticed, "the squeue of the poll failed while slurmctld was down"
            assert await execute(kc, "print('still here')") == ("ok", "still here\n")
        finally:
            await asyncio.to_thread(demo_site.ctl, "start")
        assert await execute(kc, "print('and now')") == ("ok", "and now\n")
        assert await async_wait_until(lambda: watch.reachable, 30)
        assert [(j["id"], j["state"]) for j in our_jobs()] == [(job_id, "RUNNING")]
        assert events == []
        assert await km.is_alive()
    assert await async_wait_until(lambda: not our_jobs(), 20)


# --- no orphans ------------------------------------------------------------------------------


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Server:
    """A real ``jupyter server`` with this extension, in a process of its own (to kill -9)."""

    def __init__(self, root: Path, name: str) -> None:
        self.port, self.token = _free_port(), "t0ken-" + name
        self.log = root / f"{name}.log"
        with open(self.log, "wb") as log:
            self.proc = subprocess.Popen(
                [sys.executable, "-m", "jupyter_server", f"--ServerApp.port={self.port}",
                 "--ServerApp.port_retries=0", "--ServerApp.ip=127.0.0.1",
                 f"--IdentityProvider.token={self.token}", "--ServerApp.open_browser=False",
                 "--ServerApp.allow_root=True", f"--ServerApp.root_dir={root}"],
                stdout=log, stderr=subprocess.STDOUT, env=dict(os.environ),
            )  # fmt: skip
        assert wait_until(self._up, 60), self.log.read_text()

    def _up(self) -> bool:
        try:
            self.request("GET", "api/status")
        except OSError:
            return False
        return True

    def request(self, method: str, path: str, body: Any = None, timeout: float = 120) -> Any:
        request = urllib.request.Request(
            f"http://127.0.0.1:{self.port}/{path}",
            method=method,
            data=None if body is None else json.dumps(body).encode(),
            headers={"Authorization": f"token {self.token}"},
        )
        with urllib.request.urlopen(request, timeout=timeout) as response:
            return json.loads(response.read() or b"null")

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(30)
            except subprocess.TimeoutExpired:
                self.proc.kill()


def srun_of(kernel_id: str) -> int:
    """The pid of the srun that runs a kernel's job step."""
    wanted = f"--job-name={JOB_NAME_PREFIX}{ENV}:{kernel_id[:8]}".encode()
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            with contextlib.suppress(OSError):
                argv = (entry / "cmdline").read_bytes().split(b"\0")
                if argv[0].endswith(b"srun") and wanted in argv:
                    return int(entry.name)
    raise AssertionError(f"no srun for kernel {kernel_id}")


def test_a_kernels_job_ends_with_its_server_even_one_killed_with_kill_9(kernel, tmp_path):
    server = Server(tmp_path, "killed")
    try:
        model = server.request("POST", "api/kernels", {"name": KERNEL})
        assert job_of(model["id"])["state"] == "RUNNING"
        server.proc.kill()  # SIGKILL: no shutdown, no atexit; srun lives on, the kernel does not
        server.proc.wait()
        assert wait_until(lambda: job_of(model["id"]) is None, 20), our_jobs()
    finally:
        server.stop()


def test_a_server_stops_on_sigterm_after_a_failed_kernel_start(kernel, tmp_path):
    # Given a server with a running kernel (with none, jupyter_server skips the kernels' shutdown:
    # its kernel manager, of length 0, is false) and a kernel start that failed (Slurm refuses it)
    set_kernel_config(memory="100000G")
    server = Server(tmp_path, "sigterm")
    try:
        server.request("POST", "api/kernels", {"name": "python3"})
        with pytest.raises(urllib.error.HTTPError) as refused:
            server.request("POST", "api/kernels", {"name": KERNEL})
        assert refused.value.code == 500
        assert our_jobs() == []

        # When it gets SIGTERM
        server.proc.send_signal(signal.SIGTERM)

        # Then it stops, without jupyter_server's "Kernel does not exist" from shutting it down
        try:
            server.proc.wait(30)
        except subprocess.TimeoutExpired:
            pytest.fail(f"the server still runs 30 s after SIGTERM:\n{server.log.read_text()}")
        log = server.log.read_text()
        assert "Kernel does not exist" not in log, log
        assert server.proc.returncode == 0, log
        assert "Shutting down 1 kernel" in log, log
    finally:
        server.stop()


def test_an_orphan_left_by_a_server_killed_with_kill_9_is_cancelled_by_the_next_servers_sweep(
    kernel, tmp_path
):
    srun = 0
    try:
        first = Server(tmp_path, "first")
        try:
            model = first.request("POST", "api/kernels", {"name": KERNEL})
            job = job_of(model["id"])
            assert job is not None
            assert job["state"] == "RUNNING"
            # An srun that cannot pass the server's end on (hung, or stopped as here): the only
            # way a job outlives its server here.
            srun = srun_of(model["id"])
            os.kill(srun, signal.SIGSTOP)
            first.proc.kill()  # SIGKILL
            first.proc.wait()
            time.sleep(3)
            assert job_of(model["id"]) == job, "an orphan: its server is gone, the job runs on"
        finally:
            first.stop()
        second = Server(tmp_path, "second")
        try:
            swept = f"Cancelled kernel job {job['id']}"
            assert wait_until(lambda: swept in second.log.read_text(), 30), second.log.read_text()
            assert job_of(model["id"])["state"] != "RUNNING"
            os.kill(srun, signal.SIGCONT)  # Slurm finishes the cancellation with srun
            assert wait_until(lambda: job_of(model["id"]) is None, 30), our_jobs()
            assert model["id"] not in KernelJobs(str(Path(jupyter_data_dir()) / "hpc_envs")).read()
        finally:
            second.stop()
    finally:
        if srun:
            with contextlib.suppress(ProcessLookupError):
                os.kill(srun, signal.SIGCONT)


async def test_the_sweep_leaves_a_job_with_a_live_kernel_alone(kernel):
    async with running() as (km, kc):
        cancelled = await sweep_orphans(HpcEnvs())
        assert cancelled == []
        assert job_of(km.kernel_id)["state"] == "RUNNING"
        assert await execute(kc, "print(1)") == ("ok", "1\n")


def test_a_recorded_job_whose_owner_is_gone_is_swept_and_its_record_dropped(kernel):
    dead = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"],
                          capture_output=True, text=True, check=True).stdout.strip()  # fmt: skip
    owner = f"{socket.gethostname()}:{dead}:"
    name = f"{JOB_NAME_PREFIX}{ENV}:deadbeef"
    subprocess.run(
        ["sbatch", "-p", "zen2", f"--job-name={name}", f"--comment=hpc-envs-owner={owner}",
         "--time=5", "-o", "/dev/null", "--wrap", "sleep 300"],
        check=True, capture_output=True,
    )  # fmt: skip
    record = KernelJobs(str(Path(jupyter_data_dir()) / "hpc_envs"))
    record.update("deadbeef-0000", job_name=name, owner=owner, state="RUNNING")
    assert wait_until(lambda: bool(our_jobs()), 10)
    job_id = our_jobs()[0]["id"]
    assert asyncio.run(sweep_orphans(HpcEnvs())) == [job_id]
    assert wait_until(lambda: not our_jobs(), 20)
    assert record.read() == {}


# --- many cycles ---------------------------------------------------------------------------------


@pytest.mark.slow
@pytest.mark.timeout(600)
async def test_fifty_start_interrupt_shutdown_cycles_leave_squeue_empty(kernel):
    from jupyter_client.manager import AsyncKernelManager

    t0 = time.monotonic()
    for cycle in range(50):
        km = AsyncKernelManager(kernel_name=KERNEL)
        await km.start_kernel()
        kc = km.client()
        kc.start_channels()
        try:
            await kc.wait_for_ready(timeout=60)
            msg_id = await start_sleep(kc)
            await km.interrupt_kernel()
            assert await interrupted(kc, msg_id) == "KeyboardInterrupt", f"cycle {cycle}"
        finally:
            kc.stop_channels()
            await km.shutdown_kernel()
    seconds = time.monotonic() - t0
    assert await async_wait_until(lambda: not our_jobs(), 20), our_jobs()
    assert KernelJobs(str(Path(jupyter_data_dir()) / "hpc_envs")).read() == {}
    print(f"50 cycles in {seconds:.0f} s ({seconds / 50:.2f} s each)")
