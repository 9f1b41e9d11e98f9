"""Benchmark 9: a kernel on another partition, from ``start_kernel`` to the first ``kernel_info`` reply.

The server is on the demo site's zen4 node; one environment (Python + IPython modules and a venv)
is built by us for zen2, so each of its kernels is a Slurm job on partition zen2. Four ways to
start that kernel, through jupyter_client's AsyncKernelManager, in interleaved rounds:

- ours: the kernelspec we register (provisioner ``hpc-envs-provisioner``: srun runs the launch
  script and our launcher, which reports the ports the kernel bound on the node);
- floor: a plain kernelspec whose argv is ``srun <the same resources> <launch script> python -m
  ipykernel_launcher -f {connection_file}`` (ports chosen here; it works only because the demo's
  partitions share this node, and on a real cluster it could not reach the kernel);
- slurm-jupyter-kernel (PyPI, provisioner ``remote-slurm-provisioner``): sbatch through ssh to a
  login node, squeue through ssh on each poll, then an ssh tunnel for the ports. This machine has no
  ssh server, and its login node is this node: the benchmark gives it an ``ssh`` on PATH that runs
  the command here as sshd would (``$SHELL -c``) and makes the tunnel a no-op (the kernel's ports
  are on this node already). That leaves out two ssh handshakes per start: it flatters the peer;
- jupyter-slurm-provisioner (PyPI, provisioner ``slurm-provisioner``): run, and when it cannot
  start a kernel on this machine, its error is recorded instead of a number.

Every candidate uses the same launch script (modules loaded, venv activated), partition and
walltime. Medians and ratios against the floor, in the same run.
"""

from __future__ import annotations

import asyncio
import json
import logging
import os
import re
import shutil
import statistics
import subprocess
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

from common import ainterleave, enter_site, print_table, record, start_kernel_once, summary

PYTHON = "Python/3.11.7-GCCcore-12.3.0"
IPYTHON = "IPython/8.14.0-GCCcore-12.3.0"
ENV = "benchslurmkernel"
PARTITION = "zen2"
PARTITION_ARCH = "zen2"  # the demo's zen2 partition has the zen2 arch
OURS = f"hpcenv-{ENV}-{PARTITION}"  # the kernelspec we register for the build
WALLTIME = "1:00:00"
ROUNDS = int(os.environ.get("BENCH_ROUNDS", "10"))
FLOOR_JOB = "bench-slurm-floor"
ALLOCATION_JOB = "bench-slurm-allocation"
JSP = "jupyter-slurm-provisioner"
# The jobs of the floor, of slurm-jupyter-kernel and the allocation made beforehand.
JOB_NAMES = (FLOOR_JOB, "jupyter_slurm_kernel", ALLOCATION_JOB)
OUR_JOBS = f"hpc-envs-kernel:{ENV}:"
LAUNCH_ARGV = ["python", "-m", "ipykernel_launcher", "-f", "{connection_file}"]

# What the ssh of slurm-jupyter-kernel does on a login node, run here: the command after the host
# through the user's shell (as sshd runs it); -N (a tunnel only) does nothing.
SSH_SHIM = """#!/bin/bash
# OpenSSH takes options before and after the host; what follows them is the command.
host="" tunnel=""
while [ $# -gt 0 ]; do
  case "$1" in
    -[JLopilFRDWEbceimw]) shift 2 ;;
    -*N*) tunnel=1; shift ;;
    -*) shift ;;
    *) if [ -z "$host" ]; then host=$1; shift; else break; fi ;;
  esac
done
[ -n "$tunnel" ] && exit 0
exec "${SHELL:-/bin/bash}" -c "$*"
"""


async def build_env() -> dict[str, str]:
    """The zen2 environment (built once as a Slurm job, kept in $VSC_DATA) and its kernelspec."""
    from jupyterlab_hpc_envs.config import HpcEnvs
    from jupyterlab_hpc_envs.core import Core
    from jupyterlab_hpc_envs.errors import NotFound

    core = Core(HpcEnvs())
    try:
        env = core.envs.get(ENV)
    except NotFound:
        env = None
    build = env.builds.get(PARTITION_ARCH) if env is not None else None
    if env is None or build is None or build.state != "ready":
        if env is not None:
            core.envs.remove(ENV)
        task = await core.envs.create(
            name=ENV, modules=[PYTHON, IPYTHON], partition=PARTITION, root=os.environ["VSC_DATA"]
        )
        done = await core.tasks.wait(task.id)
        assert done.state == "succeeded", done.message
        env = core.envs.get(ENV)
    else:
        await core.envs.register(ENV, PARTITION)
    spec = json.loads(
        (Path(os.environ["JUPYTER_DATA_DIR"]) / "kernels" / OURS / "kernel.json").read_text()
    )
    return {"launch": spec["metadata"]["hpc_envs"]["launch"]}


def write_spec(kernels: Path, name: str, argv: list[str], **metadata: Any) -> None:
    folder = kernels / name
    folder.mkdir(parents=True, exist_ok=True)
    spec = {"argv": argv, "display_name": name, "language": "python", "metadata": metadata}
    (folder / "kernel.json").write_text(json.dumps(spec))


def peer_specs(kernels: Path, launch: str, scratch: Path) -> None:
    """The floor's and the peers' kernelspecs, for the same launch script, partition, walltime."""
    srun = ["srun", f"--partition={PARTITION}", f"--time={WALLTIME}", "--nodes=1", "--ntasks=1"]
    write_spec(kernels, "floor", [*srun, f"--job-name={FLOOR_JOB}", launch, *LAUNCH_ARGV])
    write_spec(
        kernels,
        "slurm-jupyter-kernel",
        [launch, *LAUNCH_ARGV],
        kernel_provisioner={
            "provisioner_name": "remote-slurm-provisioner",
            "config": {
                "sbatch_flags": {
                    "partition": PARTITION,
                    "time": WALLTIME,
                    "output": str(scratch / "slurm-%j.out"),
                },
                # Without a proxy jump its ssh command has an empty argument where the host is.
                "proxyjump": "localhost",
                "loginnode": "localhost",
                "username": os.environ.get("USER") or "root",
            },
        },
    )
    jsp_spec(kernels, launch, "None")


def jsp_spec(kernels: Path, launch: str, jobid: str) -> None:
    """jupyter-slurm-provisioner's kernelspec as its README has it: it makes an allocation of its
    own (jobid None), or starts its kernel as a step of the given one."""
    write_spec(
        kernels,
        JSP if jobid == "None" else f"{JSP}-in-allocation",
        [launch, *LAUNCH_ARGV],
        kernel_provisioner={
            "provisioner_name": "slurm-provisioner",
            "config": {
                "project": os.environ.get("VSC_INSTITUTE_CLUSTER") or "hpcdemo",
                "partition": PARTITION,
                "nodes": "1",
                "runtime": 60,
                "gpus": "0",
                "reservation": "None",
                "jobid": jobid,
                "node": "None",
                "kernel_argv": [launch, *LAUNCH_ARGV],
            },
        },
    )


async def jsp_in_allocation(kernels: Path, launch: str) -> str:
    """jupyter-slurm-provisioner given an allocation made beforehand (its other mode, which
    needs no site tool to make one); '' when its kernel started, else its error."""
    _, said = await run(
        "salloc", "--no-shell", f"--partition={PARTITION}", f"--time={WALLTIME}",
        f"--job-name={ALLOCATION_JOB}",
    )  # fmt: skip
    found = re.search(r"Granted job allocation (\d+)", said)
    if not found:
        return f"salloc failed: {said.strip()}"
    try:
        jsp_spec(kernels, launch, found.group(1))
        error = await attempt(f"{JSP}-in-allocation")
        if "sacct" in error:
            # It finds its allocation's name and its kernel's step through sacct.
            error += f" (sacct said: {(await run('sacct', '-n'))[1].strip()})"
        return error
    finally:
        await run("scancel", found.group(1))


class Phases(logging.Handler):
    """Where our starts spend their time, from the provisioner's log lines: before srun runs
    (this server's checks), from srun to the launcher's report (Slurm, the launch script's module
    load, Python importing and initialising ipykernel on the node), then to the first reply."""

    def __init__(self) -> None:
        super().__init__(logging.INFO)
        self.marks: dict[str, float] = {}
        self.seen: dict[str, list[float]] = {
            "before srun": [],
            "srun to report": [],
            "report to reply": [],
        }
        logger = logging.getLogger("traitlets")  # jupyter_client's provisioners log there
        logger.setLevel(logging.INFO)
        logger.addHandler(self)

    def emit(self, record: logging.LogRecord) -> None:
        message = record.getMessage()
        if ": submitting srun" in message:
            self.marks["submitted"] = time.perf_counter()
        elif " runs as job step " in message:
            self.marks["reported"] = time.perf_counter()

    async def timed(self) -> float:
        self.marks.clear()
        start = time.perf_counter()
        elapsed = await start_once(OURS)
        submitted, reported = self.marks["submitted"], self.marks["reported"]
        self.seen["before srun"].append(submitted - start)
        self.seen["srun to report"].append(reported - submitted)
        self.seen["report to reply"].append(start + elapsed - reported)
        return elapsed

    def medians(self) -> dict[str, float]:
        return {k: round(statistics.median(v) * 1000, 1) for k, v in self.seen.items() if v}


async def start_once(name: str) -> float:
    """Seconds from start_kernel to the first kernel_info reply; the kernel and its job ended."""
    return await start_kernel_once(name, timeout=120, shutdown=shutdown)


async def shutdown(km: Any) -> None:
    """Shut the kernel down, then end what the floor and slurm-jupyter-kernel leave behind."""
    job_id = getattr(km.provisioner, "job_id", None)
    await km.shutdown_kernel(now=True)
    # slurm-jupyter-kernel never cancels its batch job (its kill ends the local ssh only); the
    # floor's srun, killed, leaves its job running: both ended here, and every job of this
    # benchmark gone before the next start, which would otherwise wait for a CPU.
    if km.kernel_name == "slurm-jupyter-kernel" and job_id:
        await run("scancel", str(job_id))
    await run("scancel", f"--name={FLOOR_JOB}")
    await jobs_gone()


async def run(*argv: str) -> tuple[str, str]:
    """A Slurm command's output and error output (whatever its exit status)."""
    proc = await asyncio.create_subprocess_exec(
        *argv, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE
    )
    out, err = await proc.communicate()
    return out.decode(), err.decode()


async def jobs_gone(timeout: float = 60) -> None:
    """Wait until no job of this benchmark is left in the queue (not even completing)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        names = (await run("squeue", "-h", "-o", "%j"))[0].split()
        if not any(n in JOB_NAMES or n.startswith(OUR_JOBS) for n in names):
            return
        await asyncio.sleep(0.2)


async def attempt(name: str) -> str:
    """Start a kernel once; '' when it worked, else its error, word for word."""
    try:
        await asyncio.wait_for(start_once(name), 180)
    except Exception as err:  # noqa: BLE001 - the peer's error is the result
        return f"{type(err).__name__}: {err}".strip()
    return ""


def start_agent(scratch: Path) -> int:
    """An ssh-agent, which slurm-jupyter-kernel asks for before anything; its pid."""
    out = subprocess.run(
        ["ssh-agent", "-s", "-a", str(scratch / "agent.sock")],
        check=True,
        capture_output=True,
        text=True,
    ).stdout
    os.environ["SSH_AUTH_SOCK"] = str(scratch / "agent.sock")
    return int(out.split("SSH_AGENT_PID=", 1)[1].split(";", 1)[0])


def main() -> None:
    """Build or reuse the environment, write the kernelspecs, time the starts, record them."""
    scratch = enter_site("bench-slurm-kernel-")
    os.chdir(scratch)
    info = asyncio.run(build_env())
    kernels = Path(os.environ["JUPYTER_DATA_DIR"]) / "kernels"
    peer_specs(kernels, info["launch"], scratch)
    shim = scratch / "bin" / "ssh"
    shim.parent.mkdir()
    shim.write_text(SSH_SHIM)
    shim.chmod(0o755)
    os.environ["PATH"] = f"{shim.parent}:{os.environ['PATH']}"
    agent = start_agent(scratch)
    try:
        result = asyncio.run(measure(kernels, info["launch"]))
    finally:
        os.kill(agent, 15)
    record("slurm_kernel_start", result)
    shutil.rmtree(scratch, ignore_errors=True)


async def measure(kernels: Path, launch: str) -> dict[str, Any]:
    """Try each peer once (an error recorded instead of a number), then the interleaved rounds."""
    load_before = os.getloadavg()
    failed = {}
    phases = Phases()
    candidates: dict[str, Callable[[], Awaitable[float]]] = {
        "ours": phases.timed,
        "floor": lambda: start_once("floor"),
        "slurm-jupyter-kernel": lambda: start_once("slurm-jupyter-kernel"),
    }
    for name in ("slurm-jupyter-kernel", JSP):
        error = await attempt(name)
        if error:
            failed[name] = error
            candidates.pop(name, None)
    if JSP in failed:
        error = await jsp_in_allocation(kernels, launch)
        failed[f"{JSP} in an allocation made beforehand"] = error or (
            "started, but only in an allocation made for it beforehand (not timed: the "
            "allocation is part of a start)"
        )
    times = await ainterleave(candidates, ROUNDS)
    table = summary(times, "ours")
    print_table(f"Kernel start on {PARTITION} through Slurm, medians", table)
    floor = table["floor"]["median_ms"]
    ours = table["ours"]["median_ms"]
    peers = [name for name in table if name not in ("ours", "floor")]
    result: dict[str, Any] = {
        "table": table,
        "ours": "ours",
        "ours_over_floor": round(ours / floor, 3),
        "bar": "ours below each peer, and <= 1.2 x the floor (srun + the launch script + "
        "ipykernel_launcher)",
        "met": ours <= 1.2 * floor and all(ours < table[p]["median_ms"] for p in peers),
        "ours_phases_median_ms": phases.medians(),
        "load_average_before_after": [
            [round(x, 2) for x in load] for load in (load_before, os.getloadavg())
        ],
        "note": "the demo's partitions share one node of 2 cores, with other work running; "
        "a peer that cannot start a kernel here is not counted in the bar",
    }
    for name, error in failed.items():
        result[f"{name} could not run here"] = error
        print(f"  {name}: {error}")
    print(f"  ours, where the time goes (medians, ms): {result['ours_phases_median_ms']}")
    print(f"  ours / floor = {result['ours_over_floor']}  bar met: {result['met']}")
    return result


if __name__ == "__main__":
    main()
