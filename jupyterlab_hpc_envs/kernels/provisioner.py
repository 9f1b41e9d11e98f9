"""The kernel provisioner ``hpc-envs-provisioner``: kernels on this node, or on any partition.

Kernels of HPC environments start through their build's launch script, which loads the recorded
modules and activates the venv. Before anything starts, the provisioner checks what the script would
otherwise find out later and less clearly: that the environment and its build exist and are ready.
Then it hands every lifecycle call to the kernel of this launch: a :class:`LocalKernel` or a
:class:`~.slurm_kernel.SlurmKernel`, so that no method asks which one it is.

**Local mode** (this node has the build's CPU microarchitecture): the kernel is a child process, as
with jupyter_client's own provisioner, which also makes its CurveZMQ keys and writes them into the
kernel's private connection file.

**Encryption** (``HpcEnvs.kernel_encryption``, see :mod:`..envs.encryption`): every kernel whose
ipykernel can encrypt its traffic does; the others run unencrypted with a warning (``preferred``)
or are refused (``required``).

**Slurm mode** (another arch, or asked for with ``mode: slurm``): the kernel is the one step of a Slurm
job on the kernel's partition, started by ``srun`` with the kernel's resources (see
:mod:`.slurm_kernel`). While the job waits in the queue, its state, reason and estimated start are
logged and written to the per-user record (:mod:`.jobs`) that the UI shows; a queue or connect
timeout cancels the job and says why. Interrupts are messages (``interrupt_mode: message``).
"""

from __future__ import annotations

import asyncio
import contextlib
import os
from collections.abc import Iterator
from typing import Any, Protocol

import zmq
from jupyter_client.connect import KernelConnectionInfo
from jupyter_client.localinterfaces import localhost
from jupyter_client.provisioning.local_provisioner import LocalProvisioner
from jupyter_client.provisioning.provisioner_base import KernelProvisionerBase
from traitlets import Float, Int, Unicode, Union

from .. import errors, ownership
from ..config import HpcEnvs
from ..envs import drift, encryption, lock, manifest
from ..site import host_arch, slurm
from . import diagnosis, resources, slurm_kernel
from .jobs import sweep_orphans
from .resources import MODES
from .slurm_job import KernelStartError
from .slurm_kernel import SlurmKernel

__all__ = ["HpcEnvsProvisioner", "KernelStartError", "sweep_orphans"]


class Kernel(Protocol):
    """The kernel of one launch, as the provisioner drives it (local or a Slurm job)."""

    @property
    def has_process(self) -> bool: ...

    async def launch_kernel(self, cmd: list[str], **kwargs: Any) -> KernelConnectionInfo: ...

    async def poll(self) -> int | None: ...

    async def wait(self) -> int | None: ...

    async def send_signal(self, signum: int) -> None: ...

    async def kill(self, restart: bool = False) -> None: ...

    async def terminate(self, restart: bool = False) -> None: ...

    def get_shutdown_wait_time(self, recommended: float = 5.0) -> float: ...

    def stop_asked(self) -> None: ...

    async def teardown(self, why: str = "") -> None: ...

    def provisioner_info(self) -> dict[str, Any]: ...


class LocalKernel:
    """A kernel on this node: jupyter_client's :class:`LocalProvisioner` does it all."""

    def __init__(self, provisioner: HpcEnvsProvisioner) -> None:
        self.provisioner = provisioner

    @property
    def has_process(self) -> bool:
        return self.provisioner.process is not None  # LocalProvisioner.has_process

    async def launch_kernel(self, cmd: list[str], **kwargs: Any) -> KernelConnectionInfo:
        return await LocalProvisioner.launch_kernel(self.provisioner, cmd, **kwargs)

    async def poll(self) -> int | None:
        return await LocalProvisioner.poll(self.provisioner)

    async def wait(self) -> int | None:
        return await LocalProvisioner.wait(self.provisioner)

    async def send_signal(self, signum: int) -> None:
        await LocalProvisioner.send_signal(self.provisioner, signum)

    async def kill(self, restart: bool = False) -> None:
        await LocalProvisioner.kill(self.provisioner, restart=restart)

    async def terminate(self, restart: bool = False) -> None:
        await LocalProvisioner.terminate(self.provisioner, restart=restart)

    def get_shutdown_wait_time(self, recommended: float = 5.0) -> float:
        return LocalProvisioner.get_shutdown_wait_time(self.provisioner, recommended)

    def stop_asked(self) -> None:
        """Nothing to note: LocalProvisioner's own shutdown_requested follows."""

    async def teardown(self, why: str = "") -> None:
        """Nothing beyond LocalProvisioner's own cleanup, which follows."""

    def provisioner_info(self) -> dict[str, Any]:
        return {}  # LocalProvisioner's own (pid, pgid, ip) is all


class HpcEnvsProvisioner(LocalProvisioner):
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

    _slurm: SlurmKernel | None = None  # the Slurm kernel of the current launch
    _saved_restart_limit: int | None = None
    ended: dict[str, Any] | None = None  # why the last Slurm job ended, when it ended on its own

    @property
    def kernel(self) -> Kernel:
        """The kernel of the current launch, to which every lifecycle call goes."""
        return self._slurm if self._slurm is not None else LocalKernel(self)

    @property
    def in_slurm(self) -> bool:
        """Whether the current launch is a Slurm job."""
        return self._slurm is not None

    @property
    def job_id(self) -> str:
        return self._slurm.job.job_id if self._slurm else ""

    @property
    def step(self) -> str:
        """``JOB.STEP`` of the kernel, as ``scancel`` takes it."""
        return self._slurm.job.step if self._slurm else ""

    # --- what this kernel is ------------------------------------------------------------------

    def _environment(self) -> dict[str, Any] | None:
        meta = (self.kernel_spec.metadata or {}).get("hpc_envs")
        return meta if isinstance(meta, dict) else None

    def check_build(
        self, config: HpcEnvs | None = None, check_arch: bool = True
    ) -> manifest.Build | None:
        """Refuse clearly when the build is missing, not ready, or (here) for another CPU; the
        build (``None`` for a kernelspec that is not of an HPC environment)."""
        meta = self._environment()
        if meta is None:
            return None  # a plain kernelspec naming this provisioner: behave as the local one
        name, arch, home = meta.get("name", "?"), meta.get("arch", ""), meta.get("path", "")
        partition = self.partition or str(meta.get("partition") or "")
        self.check_owner(meta)
        try:
            env = manifest.read(home)
        except (errors.NotFound, errors.Conflict) as err:
            raise KernelStartError(
                f"The environment {name} of this kernel is gone ({err}). Remove the kernel "
                f"('jupyter kernelspec remove {os.path.basename(self.kernel_spec.resource_dir)}') "
                "or create the environment again."
            ) from None
        build = env.builds.get(arch)
        # A stale build (a package change did not reach it) still runs, with its old packages.
        if build is None or build.state not in (manifest.READY, manifest.STALE):
            state = build.state if build else "missing"
            raise KernelStartError(
                f"{name} has no ready build for {arch} (it is {state}): rebuild it from the "
                "HPC environments panel.",
                diagnosis=diagnosis.of("build", name, partition, [arch], ("rebuild", "choose")),
            )
        if not os.path.isdir(build.path):
            raise KernelStartError(
                f"The build folder {build.path} of {name} is gone: rebuild it.",
                diagnosis=diagnosis.of("build", name, partition, [build.path], _REBUILD),
            )
        _check_drift(name, partition, build, str(meta.get("kind") or "venv"))
        if not check_arch:
            return build
        config = config or HpcEnvs(parent=self)
        node_arch, source = host_arch(config)
        if node_arch != arch:
            raise KernelStartError(
                f"{name} was built for {arch}, but this node is {node_arch} (from {source}). "
                f"Start the kernel on a {arch} partition or rebuild the environment for {node_arch}.",
                diagnosis=diagnosis.of("arch", name, partition, [arch, node_arch]),
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
        except errors.NotFound:
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

    def unencrypted(self, found: manifest.Build | dict[str, Any], policy: str = "") -> str:
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

    def forget_curve_keys(self) -> None:
        """A kernel without encryption: the manager's clients must not try CurveZMQ with it."""
        km = self.parent
        if km is not None and getattr(km, "curve_publickey", None) is not None:
            if not self.in_slurm:
                km.cleanup_connection_file()  # written with the keys: written again without
            km.curve_publickey = km.curve_secretkey = None

    async def record_check(self, found: dict[str, Any]) -> None:
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
            await self.record_check(found)
        if policy != "off" and found.get("encryption") == encryption.CURVE:
            if km is not None and km.curve_publickey is None and km._connection_file_written:
                km.cleanup_connection_file()  # written without keys: written again with them
            return "required"
        if policy != "off":
            message = (
                self.unencrypted(found, policy)
                if found
                else f"{self._label()}: whether its ipykernel can encrypt kernel traffic could "
                "not be checked (running its launch script failed). "
                + encryption.consequence(policy)
            )
            if policy == "required":
                raise KernelStartError(message)
            self.log.warning("Kernel %s: %s", self.kernel_id, message)
        self.forget_curve_keys()
        return "disabled"

    # --- launch -------------------------------------------------------------------------------

    async def pre_launch(self, **kwargs: Any) -> dict[str, Any]:
        """Check the build, then prepare a local start or the srun of a Slurm job; a start that
        fails here is forgotten by the kernel manager (see :func:`forget_failed_start`)."""
        with forgotten_if_failed(self):
            return await self._prepare(**kwargs)

    async def _prepare(self, **kwargs: Any) -> dict[str, Any]:
        self._restore_restarts()
        self.ended = None
        config = HpcEnvs(parent=self)
        if self.run_mode(config) == "slurm":
            return await self._pre_launch_slurm(config, kwargs)
        km = self.parent
        if self._slurm is not None and km is not None and getattr(km, "transport", "") == "tcp":
            # The last launch was remote (the mode was changed): back to a local address.
            km.ip = localhost()
        self._slurm = None
        build = self.check_build(config)
        if build is not None:
            kwargs["transport_encryption"] = await self._local_encryption(
                config, build, kwargs.get("env")
            )
        result: dict[str, Any] = await super().pre_launch(**kwargs)
        return result

    async def _pre_launch_slurm(self, config: HpcEnvs, kwargs: dict[str, Any]) -> dict[str, Any]:
        """Resolve the kernel's resources and make the Slurm kernel of this launch."""
        build = self.check_build(config, check_arch=False)
        meta = self._environment() or {}
        if config.kernel_encryption == "required" and build and build.encryption == encryption.NONE:
            # Known already: refused before a job is queued for nothing.
            raise KernelStartError(self.unencrypted(build, "required"))
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
        except errors.InvalidInput as err:
            raise KernelStartError(
                f"{meta.get('name')} ({partition}): {err.message}", 400
            ) from None
        curve = self._curve_keys() if config.kernel_encryption != "off" else None
        timeouts = (self.queue_timeout, self.connect_timeout)
        job = slurm_kernel.new_job(self, config, meta, res, kwargs, self.log, curve, timeouts)
        self._slurm = SlurmKernel(self, job)
        cmd = slurm_kernel.srun_command(job, config, meta["launch"])
        # The base class applies the kernelspec's env substitutions; LocalProvisioner's own
        # preparation (local ports, a local connection file) does not apply to a remote kernel.
        result: dict[str, Any] = await KernelProvisionerBase.pre_launch(self, cmd=cmd, **kwargs)
        return result

    async def launch_kernel(self, cmd: list[str], **kwargs: Any) -> KernelConnectionInfo:
        with forgotten_if_failed(self):
            return await self.kernel.launch_kernel(cmd, **kwargs)

    # --- lifecycle: all to the kernel of this launch ------------------------------------------

    @property
    def has_process(self) -> bool:
        return self.kernel.has_process

    async def poll(self) -> int | None:
        return await self.kernel.poll()

    async def wait(self) -> int | None:
        return await self.kernel.wait()

    async def send_signal(self, signum: int) -> None:
        await self.kernel.send_signal(signum)

    async def terminate(self, restart: bool = False) -> None:
        await self.kernel.terminate(restart=restart)

    async def kill(self, restart: bool = False) -> None:
        await self.kernel.kill(restart=restart)

    def get_shutdown_wait_time(self, recommended: float = 5.0) -> float:
        return self.kernel.get_shutdown_wait_time(recommended)

    async def shutdown_requested(self, restart: bool = False) -> None:
        self.kernel.stop_asked()
        await super().shutdown_requested(restart=restart)

    async def cleanup(self, restart: bool = False) -> None:
        """End the kernel (a Slurm kernel's one teardown), then the local provisioner's part."""
        await self.kernel.teardown()
        self._slurm = None
        await super().cleanup(restart=restart)

    async def get_provisioner_info(self) -> dict[str, Any]:
        info: dict[str, Any] = await super().get_provisioner_info()
        info.update(self.kernel.provisioner_info())
        return info

    async def load_provisioner_info(self, provisioner_info: dict[str, Any]) -> None:
        """Take over a running kernel job (its srun belongs to another process): the job is
        followed through squeue only, and ended with scancel."""
        await super().load_provisioner_info(provisioner_info)
        data = provisioner_info.get("slurm")
        if isinstance(data, dict) and data.get("job_id"):
            self._slurm = SlurmKernel.adopt(self, data, self.log)

    # --- jupyter_client's restarter -----------------------------------------------------------

    def stop_auto_restart(self) -> None:
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


_REBUILD = ("rebuild", "choose")


def _check_drift(name: str, partition: str, build: manifest.Build, kind: str) -> None:
    """Refuse to start a build whose module or interpreter is gone or changed since its lock
    (file stats only), saying which and the fix, instead of a kernel dying with a cryptic error;
    the diagnosis' kind is the first problem's (a module gone, else the interpreter); a venv
    (``kind``) may also migrate to a newer toolchain."""
    taken = lock.read(build.path)
    if taken is None:
        return
    blocking = [*drift.module_problems(taken, [], {}), *drift.interpreter_problems(taken)]
    # A rebuild is refused while a module is gone: a newer toolchain's are the fix.
    gone = any(p["kind"] == "module" for p in blocking)
    fixes = [f for f in diagnosis.FIXES if not (f == "rebuild" and gone)]
    fixes = [f for f in fixes if f != "migrate" or kind == "venv"]
    if blocking:
        raise KernelStartError(
            f"The kernel of {name} cannot start: "
            + " ".join(p["message"] for p in blocking)
            + " Or start an environment built on another partition whose modules still exist.",
            diagnosis=diagnosis.of(
                blocking[0]["kind"],
                name,
                partition,
                [p["subject"] for p in blocking],
                fixes,
            ),
        )


@contextlib.contextmanager
def forgotten_if_failed(provisioner: KernelProvisionerBase) -> Iterator[None]:
    """A kernel start that fails inside the block is forgotten (:func:`forget_failed_start`)."""
    try:
        yield
    except BaseException:
        forget_failed_start(provisioner.parent, provisioner.kernel_id)
        raise


def forget_failed_start(kernel_manager: object, kernel_id: str) -> None:
    """Drop a failed start from the multi-kernel manager's pending starts, as a good start is.

    jupyter_client's ``MultiKernelManager._async_start_kernel`` keeps every start in
    ``_pending_kernels`` and only ``_add_kernel_when_ready`` pops it, after a start that worked; a
    failed one stays there for ever, under an id that is in no ``_kernels``. ``shutdown_all``
    shuts down every id of both, and jupyter_server's ``_async_shutdown_kernel`` begins with
    ``_check_kernel_id``: HTTP 404 "Kernel does not exist" for that id, raised out of
    ``ServerApp._stop`` before ``io_loop.stop()``, so the server never exits on SIGTERM (when
    another kernel runs: with none, the kernel manager is empty, hence false, and skipped). Only
    a first start is forgotten (an id not in ``_kernels``); a failed restart is the kernel's own.
    """
    manager = getattr(kernel_manager, "parent", None)
    pending = getattr(manager, "_pending_kernels", None)
    kernels = getattr(manager, "_kernels", None)
    if isinstance(pending, dict) and isinstance(kernels, dict) and kernel_id not in kernels:
        pending.pop(kernel_id, None)
