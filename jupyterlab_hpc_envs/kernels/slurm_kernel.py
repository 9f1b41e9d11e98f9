"""A kernel that is the one step of a Slurm job: its launch, its lifecycle and its one teardown.

``srun`` alone both allocates and runs, so the job lives exactly as long as the kernel. The step
runs :mod:`.launcher` with the environment's own Python: the kernel binds its ports on the compute
node and reports address and ports on the step's standard output; the connection key and the
kernel's CurveZMQ keys go the other way on its standard input, never in a command line. That input
stays open while this process manages the kernel, so the kernel ends with it, even after a
``kill -9``. While the job waits in the queue, :mod:`.slurm_start` follows it.

``poll`` answers from the local ``srun`` and a shared, cached ``squeue`` view (an unreachable
controller counts as alive); a SIGINT asked for explicitly becomes ``scancel --signal=INT
job.step``; terminate and kill go through ``scancel``; a job that reached its walltime is reported
as such and not resubmitted behind the user's back. Every way out (a given-up start, a cleanup)
goes through :meth:`SlurmKernel.teardown`.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import secrets
import signal
import time
from typing import Any, Protocol, cast

from jupyter_client.connect import KernelConnectionInfo

from ..config import HpcEnvs
from ..site import slurm
from . import jobs, launcher, slurm_start, walltime
from .jobs import KernelJobs, Owner
from .resources import KernelResources
from .slurm_job import KernelStartError, Phase, SlurmJob

FINAL_GRACE = 20.0  # seconds a poll may wait, after srun ended, for Slurm to say why the job ended


class KernelHost(Protocol):
    """What a Slurm kernel needs of the provisioner that holds it."""

    kernel_id: str
    parent: Any  # the kernel manager
    connection_info: KernelConnectionInfo
    cwd: str | None
    ended: dict[str, Any] | None

    def unencrypted(self, found: dict[str, Any], policy: str = "") -> str: ...

    def forget_curve_keys(self) -> None: ...

    async def record_check(self, found: dict[str, Any]) -> None: ...

    def stop_auto_restart(self) -> None: ...


def _job_environment(env: dict[str, str], arch_variable: str) -> dict[str, str]:
    """The environment srun passes on to the kernel's job (``--export=ALL``), minus what would
    mislead it (see :func:`slurm.job_environ`). The server's own arch variable goes too: the
    compute node sets its own (or the launch script skips the check rather than refusing a right
    node for this node's value). So does the server's JPY_PARENT_PID."""
    return slurm.job_environ(env, drop=(arch_variable, "JPY_PARENT_PID"))


def srun_command(job: SlurmJob, config: HpcEnvs, launch: str) -> list[str]:
    """The ``srun`` that both allocates the kernel's job and runs the launcher as its step."""
    assert job.resources is not None
    return [
        "srun",
        f"--job-name={job.name}",
        f"--comment={Owner.current().comment()}",
        *job.resources.srun_options(),
        *config.kernel_srun_options,
        launch,
        "python",
        "-c",
        launcher.BOOTSTRAP,
    ]


class SlurmKernel:
    """A kernel run as a Slurm job step, for the provisioner that holds it (its host).

    Its :class:`SlurmJob` carries the phase; this class moves it through the kernel's life:
    submit, wait for the report, run, and end in :meth:`teardown` whichever way it ends.
    """

    def __init__(self, host: KernelHost, job: SlurmJob) -> None:
        self.host = host
        self.job = job
        self._torn_down = False

    @classmethod
    def adopt(cls, host: KernelHost, info: dict[str, Any], log: Any) -> SlurmKernel:
        """Take over a running kernel job (its srun belongs to another process): the job is
        followed through squeue only, and ended with scancel."""
        config = HpcEnvs(parent=host)
        job = SlurmJob(
            kernel_id=host.kernel_id,
            env=str(info.get("env", "")),
            partition=str(info.get("partition", "")),
            name=str(info.get("job_name", "")),
            log=log,
            job_id=str(info["job_id"]),
            step_id=str(info.get("step_id") or "0"),
            host=str(info.get("host", "")),
            data_dir=str(info.get("data_dir") or config.data_dir),
            phase=Phase.RUNNING,
        )
        job.follow(jobs.job_watch(config.kernel_poll_interval))
        return cls(host, job)

    def provisioner_info(self) -> dict[str, Any]:
        """What :meth:`adopt` needs to take this kernel over in another process."""
        job = self.job
        return {
            "slurm": {
                "job_id": job.job_id,
                "step_id": job.step_id,
                "job_name": job.name,
                "host": job.host,
                "env": job.env,
                "partition": job.partition,
                "data_dir": job.data_dir,
            }
        }

    # --- launch -------------------------------------------------------------------------------

    async def launch_kernel(self, cmd: list[str], **kwargs: Any) -> KernelConnectionInfo:
        """Submit the job, hand the launcher its key, and wait until the kernel reports; a start
        that fails, times out or is interrupted leaves no job behind."""
        job = self.job
        await self._submit(cmd, kwargs)
        try:
            kernel_name = getattr(self.host.parent, "kernel_name", "") or ""
            await slurm_start.send_header(job, kernel_name)
            # stdin stays open while this process manages the kernel: its end of file (this
            # process gone, even by kill -9) ends the kernel (see launcher).
            report = await slurm_start.wait_for_kernel(job)
            if report.get("error") == "encryption":
                await self.host.record_check(report)
                raise KernelStartError(self.host.unencrypted(report, "required"))
        except BaseException as err:
            # A failed, timed-out or cancelled start (the server stopping, a client giving up)
            # must leave no job behind.
            why = (
                err.message if isinstance(err, KernelStartError) else f"start interrupted ({err!r})"
            )
            await asyncio.shield(self.teardown(why))
            raise
        return await self._running(report)

    async def _submit(self, cmd: list[str], kwargs: dict[str, Any]) -> None:
        """Record the job as submitting and start srun with the readers of its output."""
        job = self.job
        env = _job_environment(dict(kwargs.get("env") or os.environ), job.arch_variable)
        cwd = kwargs.get("cwd")
        if cwd and not os.path.isdir(cwd):
            cwd = None
        self.host.cwd = cwd or os.getcwd()  # the kernel starts there too (a shared file system)
        loop = asyncio.get_running_loop()
        job.launcher_report = loop.create_future()
        job.record(
            job_name=job.name,
            env=job.env,
            partition=job.partition,
            resources=job.resources.to_json() if job.resources else {},
            owner=Owner.current().encode(),
            state="SUBMITTING",
            reason="",
            start="",
            message="submitting",
            submitted=time.time(),
            ended=None,
            cancel=False,
            # A restart reuses the kernel's entry: nothing of the previous job's walltime stays.
            time_limit=None,
            start_time=None,
            end_time=None,
            end_reason=None,
        )
        jobs.hold(job.kernel_id, job.name)
        job.log.info("Kernel %s %s: submitting %s", job.kernel_id, job.label, " ".join(cmd[:-3]))
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
            jobs.release(job.kernel_id)
            job.forget()
            raise KernelStartError(f"{job.label}: cannot run srun: {err}") from None
        job.tasks += [
            loop.create_task(slurm_start.read_stdout(job)),
            loop.create_task(slurm_start.read_stderr(job)),
        ]

    async def _running(self, report: dict[str, Any]) -> KernelConnectionInfo:
        """The kernel reported: connect to it, record it as running and watch for its end."""
        job = self.job
        job.job_id = str(report.get("job_id") or job.job_id)
        job.step_id = str(report.get("step_id") or "0")
        job.host = str(report.get("host") or "")
        job.advance(Phase.RUNNING)
        jobs.hold(job.kernel_id, job.job_id)
        await self.host.record_check(report)
        info: dict[str, Any] = {
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
            info["curve_publickey"] = job.curve[0]
            info["curve_secretkey"] = job.curve[1]
        else:
            if job.curve is not None:
                job.log.warning(
                    "Kernel %s %s: %s", job.kernel_id, job.label, self.host.unencrypted(report)
                )
            self.host.forget_curve_keys()
        self.host.connection_info = cast(KernelConnectionInfo, info)
        job.record(
            job_id=job.job_id,
            step=job.step,
            host=job.host,
            state="RUNNING",
            reason="",
            message=f"running on {job.host}",
            started=time.time(),
        )
        await self._record_walltime()
        if job.watch is not None:
            job.follow(job.watch)
        job.tasks.append(asyncio.get_running_loop().create_task(self._monitor()))
        job.log.info(
            "Kernel %s %s runs as job step %s on %s (%s, arch %s)",
            job.kernel_id,
            job.label,
            job.step,
            job.host,
            report["ip"],
            report.get("arch") or "?",
        )
        return self.host.connection_info

    async def _record_walltime(self) -> None:
        """Record when the job started and ends and its time limit (the UI counts down to the
        end): Slurm's own times, or the limit asked for from now when Slurm does not answer."""
        job = self.job
        state = await slurm_start.queue_state(job)
        if state is not None and state.end:
            job.ends = state.end
            job.record(**walltime.times(state))
        else:
            minutes = job.resources.minutes if job.resources else None
            job.record(**walltime.fallback_times(minutes, time.time()))

    # --- while it runs ------------------------------------------------------------------------

    async def _monitor(self) -> None:
        """Notice the end of the job step at once, and find out from Slurm why it ended."""
        job = self.job
        assert job.proc is not None
        job.returncode = await job.proc.wait()
        job.exited_at = asyncio.get_running_loop().time()
        final = None if job.stopping else await self._final_state()
        if job.final is None:
            job.final = final or slurm.JobState(job.job_id, "UNKNOWN", "", "")
            self._ended()
        job.unfollow()
        jobs.release(job.kernel_id)

    async def _final_state(self) -> slurm.JobState | None:
        job = self.job
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

    def _ended(self) -> None:
        """The job ended on its own: say why; a walltime or a cancellation is not resubmitted."""
        job = self.job
        if job.stopping or job.final is None:
            return
        reason = job.final.reason
        state, end_reason = walltime.end_reason(job.final.state, job.errors)
        where = f"job {job.job_id} on {job.host or job.partition}"
        if state == "TIMEOUT":
            limit = job.resources.time if job.resources else "?"
            message = (
                f"{job.label}: the kernel's {where} reached its walltime of {limit} and was "
                "ended by Slurm. It is not restarted automatically (that would queue a new job "
                "behind your back): restart the kernel to start a new one, with a longer time "
                "if needed."
            )
            self.host.stop_auto_restart()
        elif state.startswith("CANCELLED"):
            try:
                asked = KernelJobs(job.data_dir).read().get(job.kernel_id, {}).get("cancelled_by")
            except OSError:
                asked = None
            by = "from JupyterLab (Kernel jobs)" if asked else "outside of Jupyter (scancel)"
            message = f"{job.label}: the kernel's {where} was cancelled {by}."
            self.host.stop_auto_restart()
        else:
            message = (
                f"{job.label}: the kernel's {where} ended ({state.lower()}"
                f"{', ' + reason if reason and reason != 'None' else ''}; srun exit status "
                f"{job.returncode}).{job.tail(3)}"
            )
        job.log.warning("Kernel %s: %s", job.kernel_id, message)
        self.host.ended = {
            "state": state,
            "reason": reason,
            "job_id": job.job_id,
            "message": message,
        }
        job.record(
            state=state, reason=reason, message=message, ended=time.time(), end_reason=end_reason
        )

    @property
    def has_process(self) -> bool:
        return self.job.phase is not Phase.ENDED

    async def poll(self) -> int | None:
        """None while the kernel's job runs; its exit code once Slurm said why it ended."""
        job = self.job
        if job.phase is Phase.ENDED:
            return job.returncode if job.returncode is not None else 0
        if job.exited_at is not None:
            waited = asyncio.get_running_loop().time() - job.exited_at
            if job.final is not None or job.stopping or waited > FINAL_GRACE:
                return job.returncode if job.returncode is not None else 1
            return None  # srun ended a moment ago: wait until Slurm says why (a walltime?)
        state = job.watch.get(job.job_id) if job.watch is not None and job.job_id else None
        if state is not None and state.active and state.end and state.end != job.ends:
            # Its time limit changed (scontrol update TimeLimit=...), or it was not known yet.
            job.ends = state.end
            job.record(**walltime.times(state))
        if state is not None and not state.active:
            # The job ended while srun did not notice (cancelled elsewhere, a node failure).
            if job.final is None:
                job.final = state
                self._ended()
                if job.proc is not None and job.proc.returncode is None:
                    with contextlib.suppress(ProcessLookupError):
                        job.proc.terminate()
            return 1
        return None

    async def wait(self) -> int | None:
        while (code := await self.poll()) is None:  # noqa: ASYNC110 - poll() is the source
            await asyncio.sleep(0.1)
        self.job.move(Phase.ENDED)
        return code

    async def send_signal(self, signum: int) -> None:
        job = self.job
        if signum == 0 or job.phase is Phase.ENDED:
            return None
        if signum == signal.SIGTERM:
            return await self.terminate()
        if signum == signal.SIGKILL:
            return await self.kill()
        if not job.job_id:
            job.log.warning("Kernel %s: no job to signal yet", job.kernel_id)
            return None
        name = signal.Signals(signum).name.removeprefix("SIG")
        # To the kernel's step through Slurm, never to the local srun: one SIGINT to srun only
        # makes it print a status line, and two cancel the step.
        await slurm.cancel(job.step, signal=name)
        return None

    def stop_asked(self) -> None:
        """A shutdown was asked for: the job's end that follows is not news."""
        self.job.stop()

    async def terminate(self, restart: bool = False) -> None:
        self.job.stop()
        await self._cancel()

    async def kill(self, restart: bool = False) -> None:
        job = self.job
        job.stop()
        if job.job_id:
            with contextlib.suppress(slurm.SlurmError):
                await slurm.cancel(job.job_id, signal="KILL")
        await self._cancel()

    def get_shutdown_wait_time(self, recommended: float = 5.0) -> float:
        return max(recommended, 10.0)  # the step's end travels through slurmstepd and srun

    # --- the end ------------------------------------------------------------------------------

    async def _cancel(self) -> bool:
        """scancel the job (by name while its id is unknown); retried later if Slurm is away."""
        job = self.job
        try:
            if job.job_id:
                await slurm.cancel(job.job_id)
            else:
                await slurm.cancel_named(job.name)
            return True
        except slurm.SlurmError as err:
            job.log.warning(
                "Kernel %s: cancelling %s failed: %s", job.kernel_id, job.job_id or job.name, err
            )
            if job.proc is not None and job.proc.returncode is None:
                # SIGTERM to srun ends the step (and revokes a pending job) without the controller.
                with contextlib.suppress(ProcessLookupError):
                    job.proc.terminate()
            if job.job_id and job.watch is not None:
                job.watch.cancel_later(job.job_id)
            return False

    async def _end_srun(self) -> None:
        proc = self.job.proc
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

    async def teardown(self, why: str = "") -> None:
        """The one way out: cancel the job unless Slurm said it is over, end srun, stop following
        it, and forget it in the record (or mark it CANCELLING there while Slurm is away).

        ``why`` is set for a start given up (logged and recorded); a cleanup passes nothing.
        """
        job = self.job
        if self._torn_down:
            return  # once: a failed start tore it down, jupyter_client's cleanup may come after
        self._torn_down = True
        job.stop()
        if why:
            job.log.warning("Kernel %s: %s", job.kernel_id, why)
        cancelled = True
        # Unless Slurm said the job is over, make sure: srun may have gone (killed) while the
        # job runs on.
        if why or job.final is None or job.final.active or job.final.state == "UNKNOWN":
            cancelled = await self._cancel()
        await self._end_srun()
        job.unfollow()
        for task in job.tasks:
            task.cancel()
        if job.launcher_report is not None and not job.launcher_report.done():
            job.launcher_report.cancel()  # nobody waits for the launcher any more
        job.move(Phase.ENDED)
        jobs.release(job.kernel_id)
        if cancelled:
            job.forget()
        elif why:
            job.record(state="CANCELLING", message=why, cancel=True)
        else:
            job.record(state="CANCELLING", cancel=True)


def new_job(
    host: KernelHost,
    config: HpcEnvs,
    meta: dict[str, Any],
    res: KernelResources,
    kwargs: dict[str, Any],
    log: Any,
    curve: tuple[str, str] | None,
    timeouts: tuple[float | None, float | None],
) -> SlurmJob:
    """The job of a new launch, from the configuration, the kernelspec and the manager's key
    (``timeouts``: the kernel's own queue and connect timeouts, None for the site's)."""
    session = getattr(host.parent, "session", None)
    job = SlurmJob(
        kernel_id=host.kernel_id,
        env=str(meta.get("name")),
        partition=res.partition,
        name=jobs.job_name(str(meta.get("name")), host.kernel_id),
        log=log,
        resources=res,
        # The kernel manager's session key, so that clients of an earlier start (websockets
        # kept across a restart) still sign correctly; a fresh one without a manager.
        key=session.key if session is not None and session.key else secrets.token_hex(32).encode(),
        signature_scheme=session.signature_scheme if session is not None else "hmac-sha256",
        extra_arguments=list(kwargs.pop("extra_arguments", None) or []),
        queue_timeout=timeouts[0] or config.kernel_queue_timeout,
        connect_timeout=timeouts[1] or config.kernel_connect_timeout,
        arch_variable=config.arch_variable,
        ip=config.kernel_ip,
        data_dir=config.data_dir,
        curve=curve,
        encryption=config.kernel_encryption,
    )
    job.watch = jobs.job_watch(config.kernel_poll_interval)
    return job
