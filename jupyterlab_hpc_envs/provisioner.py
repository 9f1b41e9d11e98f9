"""The kernel provisioner ``hpc-envs-provisioner``: kernels on this node, or on any partition.

Kernels of HPC environments start through their build's launch script, which loads the recorded
modules and activates the venv. Before anything starts, the provisioner checks what the script would
otherwise find out later and less clearly: that the environment and its build exist and are ready.

**Local mode** (this node has the build's CPU microarchitecture): the kernel is a child process, as
with jupyter_client's own provisioner, which also makes its CurveZMQ keys and writes them into the
kernel's private connection file.

**Encryption** (``HpcEnvs.kernel_encryption``, see :mod:`.envs.encryption`): every kernel whose
ipykernel can encrypt its traffic does; the others run unencrypted with a warning (``preferred``)
or are refused (``required``).

**Slurm mode** (another arch, or asked for with ``mode: slurm``): the kernel is the one step of a Slurm
job on the kernel's partition, started by ``srun`` with the kernel's resources. ``srun`` alone both
allocates and runs, so the job lives exactly as long as the kernel: no idle allocation can be left
behind by a kernel that died, and a pending ``srun`` that gets SIGTERM revokes its job. The step runs
:mod:`.kernel_launcher` with the environment's own Python: the kernel binds its ports on the compute
node and reports address and ports on the step's standard output; the connection key and the
kernel's CurveZMQ keys go the other way on its standard input, never in a command line. That input
stays open while this process manages the kernel, so the kernel ends with it, even after a
``kill -9`` (as a local kernel ends
with its server through ``JPY_PARENT_PID``). While the job waits in the queue, its state, reason and
estimated start are logged and written to the per-user record (:mod:`.kernel_jobs`) that the UI
shows; a queue or connect timeout cancels the job and says why.

Lifecycle in Slurm mode: ``poll`` answers from the local ``srun`` and a shared, cached ``squeue``
view (an unreachable controller counts as alive); interrupts are messages (``interrupt_mode:
message``), and a SIGINT asked for explicitly becomes ``scancel --signal=INT job.step`` (a SIGINT to
the local ``srun`` would not reach the kernel); terminate and kill go through ``scancel``; a job that
reached its walltime is reported as such and not resubmitted behind the user's back.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import json
import os
import re
import secrets
import signal
import time
from collections import deque
from dataclasses import dataclass, field
from typing import Any

import zmq
from jupyter_client.connect import KernelConnectionInfo
from jupyter_client.localinterfaces import localhost
from jupyter_client.provisioning import LocalProvisioner
from jupyter_client.provisioning.provisioner_base import KernelProvisionerBase
from tornado.web import HTTPError
from traitlets import Float, Int, Unicode, Union

from . import kernel_jobs, kernel_launcher, names, ownership
from .config import HpcEnvs
from .envs import encryption, manifest
from .envs.kernel_resources import MODES
from .kernel_jobs import JobWatch, KernelJobs, Owner, sweep_orphans
from .site import host_arch, resources, slurm

__all__ = ["HpcEnvsProvisioner", "KernelStartError", "sweep_orphans"]

# srun's own lines on stderr (informational, printed at its default verbosity).
_QUEUED = re.compile(r"job (\d+) queued and waiting for resources")
_ALLOCATED = re.compile(r"job (\d+) has been allocated resources")
STATUS_INTERVAL = 2.0  # seconds between two squeue queries while a start waits in the queue
FINAL_GRACE = 20.0  # seconds a poll may wait, after srun ended, for Slurm to say why the job ended


class KernelStartError(HTTPError, RuntimeError):
    """The kernel cannot start; the message says why and what to do.

    An HTTPError, because jupyter_server passes only those on to JupyterLab with their message:
    any other exception of a kernel start reaches the user as "Unhandled error".
    """

    def __init__(self, message: str, status: int = 500) -> None:
        # tornado formats log_message with %: keep the text free of it.
        super().__init__(status, message.replace("%", "\uff05"))
        self.message = message

    def __str__(self) -> str:
        return self.message


@functools.cache
def _launcher_source() -> str:
    with open(kernel_launcher.__file__, encoding="utf-8") as f:
        return f.read()


def _job_environment(env: dict[str, str], arch_variable: str) -> dict[str, str]:
    """The environment srun passes on to the kernel's job (``--export=ALL``), minus what would
    mislead it (see :func:`slurm.job_environ`). The server's own arch variable goes too: the
    compute node sets its own (or the launch script skips the check rather than refusing a right
    node for this node's value). So does the server's JPY_PARENT_PID."""
    return slurm.job_environ(env, drop=(arch_variable, "JPY_PARENT_PID"))


def _when(start: str) -> str:
    """squeue's estimated start (``2024-05-02T14:05:00``) as people read it; '' when unknown."""
    try:
        moment = time.strptime(start, "%Y-%m-%dT%H:%M:%S")
    except (TypeError, ValueError):
        return ""
    if time.strftime("%Y-%m-%d", moment) == time.strftime("%Y-%m-%d"):
        return time.strftime("%H:%M", moment)
    return time.strftime("%Y-%m-%d %H:%M", moment)


def _seconds(value: float) -> str:
    if value >= 120:
        return f"{value / 60:.0f} minutes"
    return f"{value:.0f} s"


def queue_message(state: slurm.JobState) -> str:
    """``pending (Resources), estimated start 14:05``: a job's place in the queue in one line."""
    text = state.state.lower()
    if state.reason and state.reason not in ("None", "(null)"):
        text += f" ({state.reason})"
    when = _when(state.start)
    if state.state == "PENDING" and when:
        text += f", estimated start {when}"
    return text


@dataclass
class _Job:
    """One launch of a kernel as a Slurm job: what was asked for and what became of it."""

    kernel_id: str
    env: str
    partition: str
    name: str
    resources: resources.KernelResources | None = None
    key: bytes = b""
    signature_scheme: str = "hmac-sha256"
    curve: tuple[str, str] | None = None  # CurveZMQ (public, secret) keys, Z85; None: plain
    encryption: str = "preferred"  # HpcEnvs.kernel_encryption for this start
    extra_arguments: list[str] = field(default_factory=list)
    queue_timeout: float = 300.0
    connect_timeout: float = 120.0
    arch_variable: str = "VSC_ARCH_LOCAL"
    ip: str = ""
    data_dir: str = ""
    job_id: str = ""
    step_id: str = ""
    host: str = ""
    proc: asyncio.subprocess.Process | None = None
    pending: bool = False
    allocated_at: float | None = None
    reported: tuple[str, str, str] | None = None
    exited_at: float | None = None
    returncode: int | None = None
    final: slurm.JobState | None = None
    stopping: bool = False
    held: bool = True
    watch: JobWatch | None = None
    watching: bool = False
    marker: asyncio.Future[dict[str, Any]] | None = None
    errors: deque[str] = field(default_factory=lambda: deque(maxlen=40))
    tasks: list[asyncio.Task[Any]] = field(default_factory=list)

    @property
    def label(self) -> str:
        return f"{self.env} ({self.partition})"

    def tail(self, lines: int = 6) -> str:
        text = [line for line in self.errors if line.strip()][-lines:]
        return (" Last output: " + " | ".join(text)) if text else ""


class HpcEnvsProvisioner(LocalProvisioner):  # type: ignore[misc]
    """Launches the kernel of an HPC environment through its launch script, here or through Slurm."""

    partition = Unicode(
        "",
        config=True,
        help="The partition this kernel is for (set in the kernelspec by jupyterlab-hpc-envs).",
    )
    mode = Unicode(
        "",
        config=True,
        help="'auto', 'local' or 'slurm' (see HpcEnvs.kernel_mode, the default when empty).",
    )
    time = Union(
        [Unicode(), Int()],
        default_value=None,
        allow_none=True,
        config=True,
        help="Walltime of the kernel's job (Slurm format: 90, 1:30:00, 1-00:00:00).",
    )
    cpus = Union(
        [Int(), Unicode()],
        default_value=None,
        allow_none=True,
        config=True,
        help="CPUs of the kernel's job (--cpus-per-task).",
    )
    memory = Union(
        [Unicode(), Int()],
        default_value=None,
        allow_none=True,
        config=True,
        help="Memory of the kernel's job (--mem: 4G, 500M).",
    )
    gpus = Union(
        [Int(), Unicode()],
        default_value=None,
        allow_none=True,
        config=True,
        help="GPUs of the kernel's job (--gpus).",
    )
    account = Unicode(
        None, allow_none=True, config=True, help="Account the kernel's job is charged to."
    )
    queue_timeout = Float(
        None,
        allow_none=True,
        config=True,
        help="Seconds the job may wait in the queue (default: HpcEnvs.kernel_queue_timeout).",
    )
    connect_timeout = Float(
        None,
        allow_none=True,
        config=True,
        help="Seconds a started job may take to report the kernel (default: "
        "HpcEnvs.kernel_connect_timeout).",
    )

    _job: _Job | None = None
    _saved_restart_limit: int | None = None
    ended: dict[str, Any] | None = None  # why the last Slurm job ended, when it ended on its own

    # --- what this kernel is ------------------------------------------------------------------

    def _environment(self) -> dict[str, Any] | None:
        meta = (self.kernel_spec.metadata or {}).get("hpc_envs")
        return meta if isinstance(meta, dict) else None

    @property
    def in_slurm(self) -> bool:
        """Whether the current (or last) launch is a Slurm job."""
        return self._job is not None

    @property
    def job_id(self) -> str:
        return self._job.job_id if self._job else ""

    @property
    def step(self) -> str:
        """``JOB.STEP`` of the kernel, as ``scancel`` takes it."""
        job = self._job
        return f"{job.job_id}.{job.step_id or 0}" if job and job.job_id else ""

    def check_build(
        self, config: HpcEnvs | None = None, check_arch: bool = True
    ) -> manifest.Build | None:
        """Refuse clearly when the build is missing, not ready, or (here) for another CPU; the
        build (``None`` for a kernelspec that is not of an HPC environment)."""
        meta = self._environment()
        if meta is None:
            return None  # a plain kernelspec naming this provisioner: behave as the local one
        name, arch, home = meta.get("name", "?"), meta.get("arch", ""), meta.get("path", "")
        self.check_owner(meta)
        try:
            env = manifest.read(home)
        except (names.NotFound, names.Conflict) as err:
            raise KernelStartError(
                f"The environment {name} of this kernel is gone ({err}). Remove the kernel "
                f"('jupyter kernelspec remove {os.path.basename(self.kernel_spec.resource_dir)}') "
                "or create the environment again."
            ) from None
        build = env.builds.get(arch)
        if build is None or build.state != manifest.READY:
            state = build.state if build else "missing"
            raise KernelStartError(
                f"{name} has no ready build for {arch} (it is {state}): rebuild it from the "
                "HPC environments panel."
            )
        if not os.path.isdir(build.path):
            raise KernelStartError(f"The build folder {build.path} of {name} is gone: rebuild it.")
        if not check_arch:
            return build
        config = config or HpcEnvs(parent=self)
        node_arch, source = host_arch(config)
        if node_arch != arch:
            raise KernelStartError(
                f"{name} was built for {arch}, but this node is {node_arch} (from {source}). "
                f"Start the kernel on a {arch} partition or rebuild the environment for {node_arch}."
            )
        return build

    def check_owner(self, meta: dict[str, Any]) -> None:
        """The ownership rule (see ownership.py) for the environment and the launch script this
        kernel is about to run, and the owner its kernelspec was registered for: a few lstat
        calls, so that nothing another user planted or swapped in is ever run."""
        name, home, launch = meta.get("name", "?"), meta.get("path", ""), meta.get("launch", "")
        owner = meta.get("owner")
        # What runs: the metadata's launch script (as a Slurm job) or argv's first (here).
        scripts = {str(launch), *(self.kernel_spec.argv or [])[:1]}
        try:
            for script in scripts:
                if not home or os.path.dirname(script) != home:
                    raise ownership.Refused(script, "outside its environment's folder")
            ownership.check_environment(
                home,
                shared=bool(meta.get("shared")),
                owner=owner if isinstance(owner, int) else None,
                scripts=sorted(scripts),
            )
        except ownership.Refused as err:
            raise KernelStartError(f"The kernel of {name} was not started: {err.message}") from None
        except names.NotFound:
            return  # said below, with what to do

    def run_mode(self, config: HpcEnvs) -> str:
        """``local`` or ``slurm`` for the next launch (see the module's docstring)."""
        wanted = self.mode or config.kernel_mode
        if wanted not in MODES:
            raise KernelStartError(
                f"Unknown kernel mode {wanted!r}: use one of {', '.join(MODES)}."
            )
        meta = self._environment()
        if meta is None or wanted == "local":
            return "local"
        if wanted == "auto" and host_arch(config)[0] == meta.get("arch"):
            return "local"
        usable = config.use_slurm == "yes" or (config.use_slurm == "auto" and slurm.available())
        if not usable:
            if wanted == "slurm":
                raise KernelStartError(
                    f"{meta.get('name', '?')}: this kernel is set to run through Slurm, but Slurm "
                    "is not available here (no srun, or HpcEnvs.use_slurm = 'no')."
                )
            return "local"  # the local check then says which partition to use instead
        return "slurm"

    # --- encryption of the kernel's traffic (CurveZMQ, see envs.encryption) ------------------

    def _unencrypted(self, found: manifest.Build | dict[str, Any], policy: str = "") -> str:
        """``science (zen2): ipykernel 6.29.5 in this environment cannot encrypt …``."""
        meta = self._environment() or {}
        build = found
        if isinstance(found, dict):
            build = manifest.Build(
                arch=str(meta.get("arch", "")),
                path=str(meta.get("prefix", "")),
                ipykernel=str(found.get("ipykernel") or ""),
                ipykernel_path=str(found.get("ipykernel_path") or ""),
                encryption=encryption.NONE,
            )
        assert isinstance(build, manifest.Build)
        text = encryption.problem(build, str(meta.get("kind") or "venv"))
        return f"{self._label()}: {text} {encryption.consequence(policy) if policy else ''}".strip()

    def _label(self) -> str:
        meta = self._environment() or {}
        return f"{meta.get('name', '?')} ({self.partition or meta.get('partition', '?')})"

    def _curve_keys(self) -> tuple[str, str]:
        """The kernel manager's CurveZMQ keys (kept across restarts, as its session key is), or
        a new pair."""
        km = self.parent
        public, secret = getattr(km, "curve_publickey", None), getattr(km, "curve_secretkey", None)
        if not public or not secret:
            public, secret = zmq.curve_keypair()
        return public.decode("ascii"), secret.decode("ascii")

    def _forget_curve_keys(self) -> None:
        """A kernel without encryption: the manager's clients must not try CurveZMQ with it."""
        km = self.parent
        if km is not None and getattr(km, "curve_publickey", None) is not None:
            if self._job is None:
                km.cleanup_connection_file()  # written with the keys: written again without
            km.curve_publickey = km.curve_secretkey = None

    async def _record_check(self, found: dict[str, Any]) -> None:
        """Keep what the kernel found about its ipykernel in the manifest (off the event loop:
        the manifest's lock may be held)."""
        meta = self._environment() or {}
        if meta.get("path") and meta.get("arch"):
            await asyncio.get_running_loop().run_in_executor(
                None, encryption.record, str(meta["path"]), str(meta["arch"]), found
            )

    async def _local_encryption(
        self, config: HpcEnvs, build: manifest.Build, env: dict[str, str] | None
    ) -> str:
        """``required`` (jupyter_client's local provisioner makes keys and writes them into the
        kernel's private connection file) or ``disabled`` for a kernel on this node."""
        km = self.parent
        policy = config.kernel_encryption
        found: dict[str, Any] = {k: getattr(build, k) for k in encryption.FIELDS}
        if policy != "off" and build.encryption not in (encryption.CURVE, encryption.NONE):
            meta = self._environment() or {}
            found = await encryption.probe(str(meta.get("launch", "")), env)
            await self._record_check(found)
        if policy != "off" and found.get("encryption") == encryption.CURVE:
            if km is not None and km.curve_publickey is None and km._connection_file_written:
                km.cleanup_connection_file()  # written without keys: written again with them
            return "required"
        if policy != "off":
            message = (
                self._unencrypted(found, policy)
                if found
                else f"{self._label()}: whether its ipykernel can encrypt kernel traffic could "
                "not be checked (running its launch script failed). "
                + encryption.consequence(policy)
            )
            if policy == "required":
                raise KernelStartError(message)
            self.log.warning("Kernel %s: %s", self.kernel_id, message)
        self._forget_curve_keys()
        return "disabled"

    # --- launch -------------------------------------------------------------------------------

    async def pre_launch(self, **kwargs: Any) -> dict[str, Any]:
        self._restore_restarts()
        self.ended = None
        config = HpcEnvs(parent=self)
        if self.run_mode(config) == "local":
            if self._job is not None and getattr(self.parent, "transport", "") == "tcp":
                # The last launch was remote (the mode was changed): back to a local address.
                self.parent.ip = localhost()
            self._job = None
            build = self.check_build(config)
            if build is not None:
                kwargs["transport_encryption"] = await self._local_encryption(
                    config, build, kwargs.get("env")
                )
            return await super().pre_launch(**kwargs)
        build = self.check_build(config, check_arch=False)
        meta = self._environment() or {}
        if config.kernel_encryption == "required" and build and build.encryption == encryption.NONE:
            # Known already: refused before a job is queued for nothing.
            raise KernelStartError(self._unencrypted(build, "required"))
        partition = self.partition or meta.get("partition") or ""
        chosen = {
            "time": self.time,
            "cpus": self.cpus,
            "memory": self.memory,
            "gpus": self.gpus,
            "account": self.account,
        }
        try:
            res = resources.resolve(config, partition, chosen)
        except names.InvalidInput as err:
            raise KernelStartError(
                f"{meta.get('name')} ({partition}): {err.message}", 400
            ) from None
        km = self.parent
        session = getattr(km, "session", None)
        job = _Job(
            kernel_id=self.kernel_id,
            env=str(meta.get("name")),
            partition=res.partition,
            name=kernel_jobs.job_name(str(meta.get("name")), self.kernel_id),
            resources=res,
            # The kernel manager's session key, so that clients of an earlier start (websockets
            # kept across a restart) still sign correctly; a fresh one without a manager.
            key=session.key
            if session is not None and session.key
            else secrets.token_hex(32).encode(),
            signature_scheme=session.signature_scheme if session is not None else "hmac-sha256",
            extra_arguments=list(kwargs.pop("extra_arguments", None) or []),
            queue_timeout=self.queue_timeout or config.kernel_queue_timeout,
            connect_timeout=self.connect_timeout or config.kernel_connect_timeout,
            arch_variable=config.arch_variable,
            ip=config.kernel_ip,
            data_dir=config.data_dir,
            curve=self._curve_keys() if config.kernel_encryption != "off" else None,
            encryption=config.kernel_encryption,
        )
        job.watch = kernel_jobs.job_watch(config.kernel_poll_interval)
        cmd = [
            "srun",
            f"--job-name={job.name}",
            f"--comment={Owner.current().comment()}",
            *res.srun_options(),
            *config.kernel_srun_options,
            meta["launch"],
            "python",
            "-c",
            kernel_launcher.BOOTSTRAP,
        ]
        self._job = job
        # The base class applies the kernelspec's env substitutions; LocalProvisioner's own
        # preparation (local ports, a local connection file) does not apply to a remote kernel.
        return await KernelProvisionerBase.pre_launch(self, cmd=cmd, **kwargs)

    async def launch_kernel(self, cmd: list[str], **kwargs: Any) -> KernelConnectionInfo:
        job = self._job
        if job is None:
            return await super().launch_kernel(cmd, **kwargs)
        env = _job_environment(dict(kwargs.get("env") or os.environ), job.arch_variable)
        cwd = kwargs.get("cwd")
        if cwd and not os.path.isdir(cwd):
            cwd = None
        self.cwd = cwd or os.getcwd()  # the kernel starts there too (a shared file system)
        loop = asyncio.get_running_loop()
        job.marker = loop.create_future()
        owner = Owner.current()
        self._record(
            job,
            job_name=job.name,
            env=job.env,
            partition=job.partition,
            resources=job.resources.to_json() if job.resources else {},
            owner=owner.encode(),
            state="SUBMITTING",
            reason="",
            start="",
            message="submitting",
            submitted=time.time(),
            ended=None,
            cancel=False,
        )
        kernel_jobs.hold(self.kernel_id, job.name)
        self.log.info("Kernel %s %s: submitting %s", self.kernel_id, job.label, " ".join(cmd[:-3]))
        try:
            job.proc = await asyncio.create_subprocess_exec(
                *cmd,
                stdin=asyncio.subprocess.PIPE,
                stdout=asyncio.subprocess.PIPE,
                stderr=asyncio.subprocess.PIPE,
                env=env,
                cwd=cwd,
                # Its own session: a Ctrl-C at the server's terminal must not reach srun (two
                # SIGINTs within a second cancel the step).
                start_new_session=True,
                limit=1 << 20,
            )
        except OSError as err:
            kernel_jobs.release(self.kernel_id)
            self._forget(job)
            raise KernelStartError(f"{job.label}: cannot run srun: {err}") from None
        job.tasks += [
            loop.create_task(self._read_stdout(job)),
            loop.create_task(self._read_stderr(job)),
        ]
        try:
            header = {
                "key": job.key.decode(),
                "signature_scheme": job.signature_scheme,
                "ip": job.ip,
                "kernel_name": getattr(self.parent, "kernel_name", "") or "",
                "extra_arguments": job.extra_arguments,
                "arch_variable": job.arch_variable,
                "launcher": _launcher_source(),
            }
            if job.curve is not None:
                # The kernel's CurveZMQ keys go the way of its key: never on a command line.
                header.update(
                    curve_publickey=job.curve[0],
                    curve_secretkey=job.curve[1],
                    encryption=job.encryption,
                )
            assert job.proc.stdin is not None
            job.proc.stdin.write((json.dumps(header) + "\n").encode())
            with contextlib.suppress(ConnectionError):
                await job.proc.stdin.drain()
            # stdin stays open while this process manages the kernel: its end of file (this
            # process gone, even by kill -9) ends the kernel (see kernel_launcher).
            report = await self._wait_for_kernel(job)
        except BaseException as err:
            # A failed, timed-out or cancelled start (the server stopping, a client giving up)
            # must leave no job behind.
            why = str(err) if isinstance(err, KernelStartError) else f"start interrupted ({err!r})"
            await asyncio.shield(self._abandon(job, why))
            raise
        job.job_id = str(report.get("job_id") or job.job_id)
        job.step_id = str(report.get("step_id") or "0")
        job.host = str(report.get("host") or "")
        kernel_jobs.hold(self.kernel_id, job.job_id)
        await self._record_check(report)
        self.connection_info = {
            "ip": report["ip"],
            "transport": report.get("transport", "tcp"),
            "shell_port": int(report["shell_port"]),
            "iopub_port": int(report["iopub_port"]),
            "stdin_port": int(report["stdin_port"]),
            "hb_port": int(report["hb_port"]),
            "control_port": int(report["control_port"]),
            "key": job.key,
            "signature_scheme": job.signature_scheme,
        }
        if job.curve is not None and report.get("encrypted") is True:
            self.connection_info["curve_publickey"] = job.curve[0]
            self.connection_info["curve_secretkey"] = job.curve[1]
        else:
            if job.curve is not None:
                self.log.warning(
                    "Kernel %s %s: %s", self.kernel_id, job.label, self._unencrypted(report)
                )
            self._forget_curve_keys()
        self._record(
            job,
            job_id=job.job_id,
            step=self.step,
            host=job.host,
            state="RUNNING",
            reason="",
            message=f"running on {job.host}",
            started=time.time(),
        )
        if job.watch is not None:
            job.watch.watch(job.job_id)
            job.watching = True
        job.tasks.append(loop.create_task(self._monitor(job)))
        self.log.info(
            "Kernel %s %s runs as job step %s on %s (%s, arch %s)",
            self.kernel_id,
            job.label,
            self.step,
            job.host,
            report["ip"],
            report.get("arch") or "?",
        )
        return self.connection_info

    async def _read_stdout(self, job: _Job) -> None:
        assert job.proc is not None
        assert job.proc.stdout is not None
        with contextlib.suppress(ValueError, ConnectionError):
            async for raw in job.proc.stdout:
                line = raw.decode(errors="replace").rstrip("\r\n")
                if line.startswith(kernel_launcher.MARKER):
                    if job.marker is not None and not job.marker.done():
                        try:
                            job.marker.set_result(json.loads(line[len(kernel_launcher.MARKER) :]))
                        except ValueError:
                            job.errors.append(line)
                    continue
                job.errors.append(line)
                self.log.debug("Kernel %s: %s", self.kernel_id, line)

    async def _read_stderr(self, job: _Job) -> None:
        assert job.proc is not None
        assert job.proc.stderr is not None
        with contextlib.suppress(ValueError, ConnectionError):
            async for raw in job.proc.stderr:
                line = raw.decode(errors="replace").rstrip("\r\n")
                queued, allocated = _QUEUED.search(line), _ALLOCATED.search(line)
                if queued:
                    job.job_id = job.job_id or queued.group(1)
                    job.pending = True
                    kernel_jobs.hold(self.kernel_id, job.job_id)
                elif allocated:
                    job.job_id = job.job_id or allocated.group(1)
                    job.pending = False
                    job.allocated_at = asyncio.get_running_loop().time()
                else:
                    job.errors.append(line)
                self.log.debug("Kernel %s: %s", self.kernel_id, line)

    async def _wait_for_kernel(self, job: _Job) -> dict[str, Any]:
        """Wait for the launcher's report, following the job through the queue; timeouts raise."""
        assert job.proc is not None
        assert job.marker is not None
        loop = asyncio.get_running_loop()
        submitted = last_query = loop.time()
        exited = loop.create_task(job.proc.wait())
        try:
            while True:
                await asyncio.wait({job.marker, exited}, timeout=0.5, return_when="FIRST_COMPLETED")
                if job.marker.done():
                    report = job.marker.result()
                    if report.get("error") == "encryption":
                        await self._record_check(report)
                        raise KernelStartError(self._unencrypted(report, "required"))
                    if report.get("error"):
                        raise KernelStartError(f"{job.label}: {report['error']}")
                    return report
                if exited.done():
                    # Let the readers take in srun's last words before saying what went wrong.
                    await asyncio.wait(job.tasks, timeout=2)
                    if job.marker.done():
                        continue
                    raise KernelStartError(await self._early_end_message(job))
                now = loop.time()
                if now - last_query >= STATUS_INTERVAL:
                    last_query = now
                    state = await self._queue_state(job)
                    if state is not None:
                        self._follow(job, state)
                if job.pending:
                    if now - submitted > job.queue_timeout:
                        raise KernelStartError(await self._queue_timeout_message(job))
                else:
                    since = job.allocated_at if job.allocated_at is not None else submitted
                    if now - since > job.connect_timeout:
                        raise KernelStartError(
                            f"{job.label}: job {job.job_id or job.name} got a node of partition "
                            f"{job.partition}, but the kernel did not report its ports within "
                            f"{_seconds(job.connect_timeout)} (loading modules and starting "
                            f"Python took too long, or the node is unwell). The job was "
                            f"cancelled.{job.tail()}"
                        )
        finally:
            exited.cancel()

    async def _queue_state(self, job: _Job) -> slurm.JobState | None:
        """The job's state now (None: not known yet, or the controller does not answer)."""
        try:
            if job.job_id:
                found = await slurm.jobs([job.job_id])
                return found.get(job.job_id) or slurm.JobState(job.job_id, "GONE", "", "")
            for candidate in await slurm.jobs_with_prefix(job.name):
                if candidate.name == job.name:
                    job.job_id = candidate.job_id
                    kernel_jobs.hold(self.kernel_id, job.job_id)
                    return candidate
        except slurm.SlurmError as err:
            self.log.debug("Kernel %s: no job state (%s)", self.kernel_id, err)
        return None

    def _follow(self, job: _Job, state: slurm.JobState) -> None:
        """Take in a state of a starting job; log and record it when it changed."""
        loop = asyncio.get_running_loop()
        if state.state == "PENDING":
            job.pending = True
        elif state.active:
            if job.pending or job.allocated_at is None:
                job.allocated_at = loop.time()
            job.pending = False
        else:
            raise KernelStartError(self._ended_while_starting(job, state))
        seen = (state.state, state.reason, state.start)
        if seen == job.reported:
            return
        job.reported = seen
        message = queue_message(state)
        self.log.info("Kernel %s %s: job %s %s", self.kernel_id, job.label, state.job_id, message)
        self._record(
            job,
            job_id=state.job_id,
            state=state.state,
            reason=state.reason,
            start=state.start,
            message=message,
        )

    async def _queue_timeout_message(self, job: _Job) -> str:
        state = await self._queue_state(job)
        where = f"job {job.job_id}" if job.job_id else f"job {job.name}"
        why = queue_message(state) if state is not None else "pending"
        return (
            f"{job.label}: no node of partition {job.partition} became free within "
            f"{_seconds(job.queue_timeout)}: {where} was still waiting in the queue ({why}). The "
            "job was cancelled. Ask for fewer resources or a shorter time, choose another "
            "partition, or try again later."
        )

    def _ended_while_starting(self, job: _Job, state: slurm.JobState) -> str:
        if state.state.startswith("CANCELLED"):
            return (
                f"{job.label}: job {state.job_id} was cancelled while the kernel was "
                f"{'waiting in the queue' if job.pending else 'starting'}."
            )
        return (
            f"{job.label}: job {state.job_id} ended ({state.state.lower()}) while the kernel was "
            f"{'waiting in the queue' if job.pending else 'starting'}.{job.tail()}"
        )

    async def _early_end_message(self, job: _Job) -> str:
        assert job.proc is not None
        state = await self._queue_state(job) if job.job_id else None
        if state is not None and state.state.startswith("CANCELLED"):
            return self._ended_while_starting(job, state)
        ended = f", job {job.job_id} {state.state}" if state is not None else ""
        return (
            f"{job.label}: the kernel's job ended before the kernel started (srun exit status "
            f"{job.proc.returncode}{ended}).{job.tail() or ' srun said nothing.'}"
        )

    # --- while it runs ------------------------------------------------------------------------

    async def _monitor(self, job: _Job) -> None:
        """Notice the end of the job step at once, and find out from Slurm why it ended."""
        assert job.proc is not None
        job.returncode = await job.proc.wait()
        loop = asyncio.get_running_loop()
        job.exited_at = loop.time()
        final = None if job.stopping else await self._final_state(job)
        if job.final is None:
            job.final = final or slurm.JobState(job.job_id, "UNKNOWN", "", "")
            self._ended(job)
        self._unwatch(job)
        kernel_jobs.release(self.kernel_id)

    async def _final_state(self, job: _Job) -> slurm.JobState | None:
        loop = asyncio.get_running_loop()
        deadline = loop.time() + FINAL_GRACE - 2
        last = None
        while not job.stopping:
            try:
                found = await slurm.jobs([job.job_id])
            except slurm.SlurmError:
                found = None
            if found is not None:
                last = found.get(job.job_id) or slurm.JobState(job.job_id, "GONE", "", "")
                if not last.active:
                    return last
            if loop.time() > deadline:
                break
            await asyncio.sleep(1.0)
        return last

    def _ended(self, job: _Job) -> None:
        """The job ended on its own: say why; a walltime or a cancellation is not resubmitted."""
        if job.stopping or job.final is None:
            return
        state, reason = job.final.state, job.final.reason
        where = f"job {job.job_id} on {job.host or job.partition}"
        if state == "TIMEOUT":
            limit = job.resources.time if job.resources else "?"
            message = (
                f"{job.label}: the kernel's {where} reached its walltime of {limit} and was "
                "ended by Slurm. It is not restarted automatically (that would queue a new job "
                "behind your back): restart the kernel to start a new one, with a longer time "
                "if needed."
            )
            self._stop_auto_restart()
        elif state.startswith("CANCELLED"):
            try:
                asked = KernelJobs(job.data_dir).read().get(self.kernel_id, {}).get("cancelled_by")
            except OSError:
                asked = None
            by = "from JupyterLab (Kernel jobs)" if asked else "outside of Jupyter (scancel)"
            message = f"{job.label}: the kernel's {where} was cancelled {by}."
            self._stop_auto_restart()
        else:
            message = (
                f"{job.label}: the kernel's {where} ended ({state.lower()}"
                f"{', ' + reason if reason and reason != 'None' else ''}; srun exit status "
                f"{job.returncode}).{job.tail(3)}"
            )
        self.log.warning("Kernel %s: %s", self.kernel_id, message)
        self.ended = {"state": state, "reason": reason, "job_id": job.job_id, "message": message}
        self._record(job, state=state, reason=reason, message=message, ended=time.time())

    def _stop_auto_restart(self) -> None:
        """Make jupyter_client's restarter report the kernel dead instead of restarting it."""
        restarter = getattr(self.parent, "_restarter", None)
        if restarter is not None and hasattr(restarter, "restart_limit"):
            if self._saved_restart_limit is None:
                self._saved_restart_limit = restarter.restart_limit
            restarter.restart_limit = 0

    def _restore_restarts(self) -> None:
        restarter = getattr(self.parent, "_restarter", None)
        if restarter is not None and self._saved_restart_limit is not None:
            restarter.restart_limit = self._saved_restart_limit
        self._saved_restart_limit = None

    def _unwatch(self, job: _Job) -> None:
        if job.watching and job.watch is not None:
            job.watch.unwatch(job.job_id)
        job.watching = False

    @property
    def has_process(self) -> bool:
        if self._job is not None:
            return self._job.held
        return super().has_process

    async def poll(self) -> int | None:
        job = self._job
        if job is None:
            return await super().poll()
        if not job.held:
            return job.returncode if job.returncode is not None else 0
        if job.exited_at is not None:
            waited = asyncio.get_running_loop().time() - job.exited_at
            if job.final is not None or job.stopping or waited > FINAL_GRACE:
                return job.returncode if job.returncode is not None else 1
            return None  # srun ended a moment ago: wait until Slurm says why (a walltime?)
        state = job.watch.get(job.job_id) if job.watch is not None and job.job_id else None
        if state is not None and not state.active:
            # The job ended while srun did not notice (cancelled elsewhere, a node failure).
            if job.final is None:
                job.final = state
                self._ended(job)
                if job.proc is not None and job.proc.returncode is None:
                    with contextlib.suppress(ProcessLookupError):
                        job.proc.terminate()
            return 1
        return None

    async def wait(self) -> int | None:
        job = self._job
        if job is None:
            return await super().wait()
        while (code := await self.poll()) is None:  # noqa: ASYNC110 - poll() is the source
            await asyncio.sleep(0.1)
        job.held = False
        return code

    async def send_signal(self, signum: int) -> None:
        job = self._job
        if job is None:
            return await super().send_signal(signum)
        if signum == 0 or not job.held:
            return None
        if signum == signal.SIGTERM:
            return await self.terminate()
        if signum == signal.SIGKILL:
            return await self.kill()
        if not job.job_id:
            self.log.warning("Kernel %s: no job to signal yet", self.kernel_id)
            return None
        name = signal.Signals(signum).name.removeprefix("SIG")
        # To the kernel's step through Slurm, never to the local srun: one SIGINT to srun only
        # makes it print a status line, and two cancel the step.
        await slurm.cancel(self.step, signal=name)
        return None

    async def shutdown_requested(self, restart: bool = False) -> None:
        if self._job is not None:
            self._job.stopping = True
        await super().shutdown_requested(restart=restart)

    async def terminate(self, restart: bool = False) -> None:
        job = self._job
        if job is None:
            return await super().terminate(restart=restart)
        job.stopping = True
        await self._cancel(job)
        return None

    async def kill(self, restart: bool = False) -> None:
        job = self._job
        if job is None:
            return await super().kill(restart=restart)
        job.stopping = True
        if job.job_id:
            with contextlib.suppress(slurm.SlurmError):
                await slurm.cancel(job.job_id, signal="KILL")
        await self._cancel(job)
        return None

    def get_shutdown_wait_time(self, recommended: float = 5.0) -> float:
        if self._job is not None:
            return max(recommended, 10.0)  # the step's end travels through slurmstepd and srun
        return super().get_shutdown_wait_time(recommended)

    # --- the end ----------------------------------------------------------------------------------

    async def _cancel(self, job: _Job) -> bool:
        """scancel the job (by name while its id is unknown); retried later if Slurm is away."""
        try:
            if job.job_id:
                await slurm.cancel(job.job_id)
            else:
                await slurm.cancel_named(job.name)
            return True
        except slurm.SlurmError as err:
            self.log.warning(
                "Kernel %s: cancelling %s failed: %s", self.kernel_id, job.job_id or job.name, err
            )
            if job.proc is not None and job.proc.returncode is None:
                # SIGTERM to srun ends the step (and revokes a pending job) without the controller.
                with contextlib.suppress(ProcessLookupError):
                    job.proc.terminate()
            if job.job_id and job.watch is not None:
                job.watch.cancel_later(job.job_id)
            return False

    async def _abandon(self, job: _Job, why: str) -> None:
        """Give up a start: cancel the job, end srun, and say so in the record."""
        job.stopping = True
        self.log.warning("Kernel %s: %s", self.kernel_id, why)
        cancelled = await self._cancel(job)
        await self._end_srun(job)
        self._unwatch(job)
        for task in job.tasks:
            task.cancel()
        job.held = False
        kernel_jobs.release(self.kernel_id)
        if cancelled:
            self._forget(job)
        else:
            self._record(job, state="CANCELLING", message=why, cancel=True)

    async def _end_srun(self, job: _Job) -> None:
        proc = job.proc
        if proc is not None and proc.stdin is not None:
            with contextlib.suppress(OSError, RuntimeError):
                proc.stdin.close()
        if proc is None or proc.returncode is not None:
            return
        with contextlib.suppress(ProcessLookupError):
            proc.terminate()
        try:
            await asyncio.wait_for(proc.wait(), 10)
        except asyncio.TimeoutError:
            with contextlib.suppress(ProcessLookupError):
                proc.kill()
            await proc.wait()

    async def cleanup(self, restart: bool = False) -> None:
        job = self._job
        if job is not None:
            job.stopping = True
            cancelled = True
            # Unless Slurm said the job is over, make sure: srun may have gone (killed) while the
            # job runs on.
            if job.final is None or job.final.active or job.final.state == "UNKNOWN":
                cancelled = await self._cancel(job)
            await self._end_srun(job)
            self._unwatch(job)
            for task in job.tasks:
                task.cancel()
            job.held = False
            kernel_jobs.release(self.kernel_id)
            if cancelled:
                self._forget(job)
            else:
                self._record(job, state="CANCELLING", cancel=True)
            self._job = None
        await super().cleanup(restart=restart)

    # --- the record ---------------------------------------------------------------------------

    def _record(self, job: _Job, **fields: Any) -> None:
        try:
            KernelJobs(job.data_dir).update(self.kernel_id, **fields)
        except OSError as err:
            self.log.warning("Cannot record kernel job %s: %s", job.name, err)

    def _forget(self, job: _Job) -> None:
        with contextlib.suppress(OSError):
            KernelJobs(job.data_dir).remove(self.kernel_id)

    async def get_provisioner_info(self) -> dict[str, Any]:
        info = await super().get_provisioner_info()
        job = self._job
        if job is not None:
            info["slurm"] = {
                "job_id": job.job_id,
                "step_id": job.step_id,
                "job_name": job.name,
                "host": job.host,
                "env": job.env,
                "partition": job.partition,
                "data_dir": job.data_dir,
            }
        return info

    async def load_provisioner_info(self, provisioner_info: dict[str, Any]) -> None:
        """Take over a running kernel job (its srun belongs to another process): the job is
        followed through squeue only, and ended with scancel."""
        await super().load_provisioner_info(provisioner_info)
        data = provisioner_info.get("slurm")
        if isinstance(data, dict) and data.get("job_id"):
            config = HpcEnvs(parent=self)
            job = _Job(
                kernel_id=self.kernel_id,
                env=str(data.get("env", "")),
                partition=str(data.get("partition", "")),
                name=str(data.get("job_name", "")),
                job_id=str(data["job_id"]),
                step_id=str(data.get("step_id") or "0"),
                host=str(data.get("host", "")),
                data_dir=str(data.get("data_dir") or config.data_dir),
            )
            job.watch = kernel_jobs.job_watch(config.kernel_poll_interval)
            job.watch.watch(job.job_id)
            job.watching = True
            self._job = job
