"""Long operations (builds, installs, removals) as tasks that outlive a page reload and a restart.

Each task is a JSON record and a log file in ``<data_dir>/tasks/``. The log is appended line by line
while the task runs and read by offset, so a client that reloads picks up where it was; the record
is rewritten atomically on every change of state. A server that starts finds tasks that were
running when the previous server died, marks them ``interrupted`` and calls the recovery hook
registered for their kind (a build's half-made folder is removed there). The process groups it
kills are only those whose leader still has the start time recorded with it: a pid reused by an
unrelated process is left alone.

Tasks that take a slot (:meth:`TaskManager.slot`, builds) run at most ``limit`` at a time in this
server process; the others wait in order, *pending* with the message "waiting for N builds to
finish", and can be cancelled while they wait.
"""

from __future__ import annotations

import asyncio
import builtins
import contextlib
import json
import logging
import os
import signal
import socket
import time
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import asdict, dataclass, field, fields
from typing import Any

from . import errors, files, names, proc

log = logging.getLogger(__name__)

PENDING, RUNNING, SUCCEEDED, FAILED, CANCELLED, INTERRUPTED = (
    "pending",
    "running",
    "succeeded",
    "failed",
    "cancelled",
    "interrupted",
)
FINAL = {SUCCEEDED, FAILED, CANCELLED, INTERRUPTED}
KEEP_FINISHED = 200  # finished tasks kept on disk; older ones are pruned at start-up


class TaskFailed(RuntimeError):
    """Raised inside a task to end it as failed with a message for the user."""


class TaskCancelled(RuntimeError):
    """Raised inside a task's code when the user cancelled it, to end it as *cancelled*."""


@dataclass
class TaskRecord:
    """A task as stored in ``<data_dir>/tasks/<id>.json`` and shown in the panel: what it does,
    its state and step, and the process groups it started with their start times (so that a
    restarted server can tell whether they still run, and never kills a reused pid)."""

    id: str
    kind: str
    title: str
    env: str = ""
    partition: str = ""
    state: str = PENDING
    step: str = ""
    message: str = ""
    created: float = field(default_factory=time.time)
    started: float | None = None
    finished: float | None = None
    server_pid: int = field(default_factory=os.getpid)
    host: str = field(default_factory=socket.gethostname)  # where server_pid and pids live
    pids: list[int] = field(default_factory=list)  # process groups of running children
    # pid -> its start time (proc.process_start), to tell our child from a reused pid
    pid_starts: dict[str, str] = field(default_factory=dict)
    params: dict[str, Any] = field(default_factory=dict)
    result: dict[str, Any] = field(default_factory=dict)

    def to_json(self) -> dict[str, Any]:
        data = asdict(self)
        data.pop("server_pid")
        data.pop("pids")
        data.pop("pid_starts")
        data.pop("host")
        return data


Runner = Callable[["Task"], Awaitable[dict[str, Any] | None]]
Recovery = Callable[[TaskRecord], Awaitable[None]]


class Task:
    """A running task as its code sees it: a log to write to, a step to set, children to run."""

    def __init__(self, manager: TaskManager, record: TaskRecord) -> None:
        self.manager = manager
        self.record = record
        self.cancel_requested = False
        self._future: asyncio.Future[None] | None = None
        self._log_path = manager.log_path(record.id)
        self._procs: list[asyncio.subprocess.Process] = []
        self.on_cancel: list[Callable[[], Awaitable[None]]] = []

    @property
    def id(self) -> str:
        return self.record.id

    def log(self, text: str) -> None:
        with open(self._log_path, "a", encoding="utf-8") as f:
            f.write(text if text.endswith("\n") else text + "\n")

    def set_step(self, step: str) -> None:
        self.record.step = step
        self.log(f"==> {step}")
        self.manager.save(self.record)

    def check_cancelled(self) -> None:
        if self.cancel_requested:
            raise TaskCancelled("Cancelled by the user.")

    async def run(
        self,
        argv: list[str],
        env: dict[str, str] | None = None,
        on_line: Callable[[str], None] | None = None,
        cwd: str | None = None,
    ) -> int:
        """Run a child in its own process group, streaming its output into the log. It runs in
        ``cwd``, else in a private empty folder (:func:`proc.private_cwd`), never in the server's
        working directory."""
        self.check_cancelled()
        child = await asyncio.create_subprocess_exec(
            *argv,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.STDOUT,
            stdin=asyncio.subprocess.DEVNULL,
            env=env,
            cwd=cwd or proc.private_cwd(),
            start_new_session=True,
        )
        self._procs.append(child)
        self.record.pids.append(child.pid)
        self.record.pid_starts[str(child.pid)] = proc.process_start(child.pid)
        self.manager.save(self.record)
        assert child.stdout is not None
        with open(self._log_path, "ab") as logfile:
            while True:
                line = await child.stdout.readline()
                if not line:
                    break
                logfile.write(line)
                logfile.flush()
                if on_line is not None:
                    on_line(line.decode(errors="replace").rstrip("\n"))
        code = await child.wait()
        self._procs.remove(child)
        self.record.pids.remove(child.pid)
        self.record.pid_starts.pop(str(child.pid), None)
        self.manager.save(self.record)
        self.check_cancelled()
        return code

    async def cancel(self) -> None:
        self.cancel_requested = True
        await self.manager._wake_waiting()  # a task waiting for a slot ends now
        for hook in self.on_cancel:
            with contextlib.suppress(Exception):
                await hook()
        for child in list(self._procs):
            _kill_group(child.pid, signal.SIGTERM)
        await asyncio.sleep(0.5)
        for child in list(self._procs):
            _kill_group(child.pid, signal.SIGKILL)


def _kill_group(pid: int, sig: int) -> None:
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(pid, sig)


def _kill_recorded_group(pid: int, started: str) -> bool:
    """Kill the process group ``pid`` that a dead server recorded, unless the pid now belongs to
    another process: a leader whose start time differs from ``started`` (or that was recorded
    without one) means the pid was reused, so that group is not ours. A leader that is gone
    while its group lives on is safe to kill: a pid is not reused while its group exists."""
    now = proc.process_start(pid)
    if now and (not started or now != started):
        log.warning("Not killing process group %s: its pid now belongs to another process", pid)
        return False
    _kill_group(pid, signal.SIGKILL)
    return True


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


class TaskManager:
    """Starts, lists, persists and cancels tasks."""

    def __init__(self, data_dir: str) -> None:
        self.dir = files.private_dir(os.path.join(data_dir, "tasks"))
        self._live: dict[str, Task] = {}
        self._recovery: dict[str, Recovery] = {}
        self._slots: dict[str, _Slots] = {}

    # --- files --------------------------------------------------------------------------------

    def record_path(self, task_id: str) -> str:
        return os.path.join(self.dir, f"{task_id}.json")

    def log_path(self, task_id: str) -> str:
        return os.path.join(self.dir, f"{task_id}.log")

    def save(self, record: TaskRecord) -> None:
        files.write_atomic(self.record_path(record.id), json.dumps(asdict(record)), 0o600)

    def load(self, task_id: str) -> TaskRecord:
        names.task_id(task_id)
        live = self._live.get(task_id)
        if live is not None:
            return live.record
        try:
            with open(self.record_path(task_id), encoding="utf-8") as f:
                data = json.load(f)
            known = {item.name for item in fields(TaskRecord)}
            return TaskRecord(**{k: v for k, v in data.items() if k in known})
        except FileNotFoundError:
            raise errors.NotFound(f"There is no task {task_id}.") from None
        except (ValueError, TypeError, AttributeError) as err:
            raise errors.NotFound(f"Task {task_id} is unreadable: {err}") from None

    def list(self) -> list[TaskRecord]:
        records = []
        for entry in os.scandir(self.dir):
            if entry.name.endswith(".json"):
                with contextlib.suppress(errors.NotFound, errors.InvalidInput):
                    records.append(self.load(entry.name[:-5]))
        return sorted(records, key=lambda r: r.created, reverse=True)

    def read_log(self, task_id: str, offset: int = 0, limit: int = 1 << 20) -> tuple[str, int]:
        """Log text from byte ``offset`` (at most ``limit`` bytes, ending at a line break)."""
        self.load(task_id)
        try:
            with open(self.log_path(task_id), "rb") as f:
                f.seek(max(0, offset))
                chunk = f.read(limit)
        except FileNotFoundError:
            return "", offset
        if len(chunk) == limit and b"\n" in chunk:
            chunk = chunk[: chunk.rindex(b"\n") + 1]
        return chunk.decode(errors="replace"), offset + len(chunk)

    # --- lifecycle ----------------------------------------------------------------------------

    def on_recover(self, kind: str, hook: Recovery) -> None:
        """Register what to do for tasks of ``kind`` that a dead server left running."""
        self._recovery[kind] = hook

    async def recover(self) -> builtins.list[TaskRecord]:
        """Mark tasks left running by a server that died; kill their children; run recovery."""
        recovered = []
        records = self.list()
        for record in records:
            if record.state in FINAL or record.id in self._live:
                continue
            if record.host != socket.gethostname():
                # The data folder is shared by every node: a task of a server on another host
                # (an Open OnDemand job, another login node) is not ours to judge from here.
                continue
            if (
                record.server_pid != os.getpid()
                and _alive(record.server_pid)
                and _is_same_user_server(record.server_pid)
            ):
                continue  # another live server of this user owns it
            for pid in record.pids:
                _kill_recorded_group(pid, record.pid_starts.get(str(pid), ""))
            record.state = INTERRUPTED
            record.finished = time.time()
            record.message = (
                "The server stopped while this task ran. Nothing half-made was kept; run it again."
            )
            hook = self._recovery.get(record.kind)
            if hook is not None:
                try:
                    await hook(record)
                except Exception as err:  # noqa: BLE001 - recovery must go on for the others
                    record.message += f" Clean-up failed: {err}"
            with open(self.log_path(record.id), "a", encoding="utf-8") as f:
                f.write(f"==> interrupted: {record.message}\n")
            record.pids, record.pid_starts = [], {}
            self.save(record)
            recovered.append(record)
        for old in [r for r in records if r.state in FINAL][KEEP_FINISHED:]:
            for path in (self.record_path(old.id), self.log_path(old.id)):
                with contextlib.suppress(FileNotFoundError):
                    os.remove(path)
        return recovered

    def start(self, kind: str, title: str, runner: Runner, **fields: Any) -> TaskRecord:
        """Create a task and run ``runner`` in the background; returns at once."""
        record = TaskRecord(id=uuid.uuid4().hex, kind=kind, title=title, **fields)
        fd = os.open(self.log_path(record.id), os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        os.close(fd)
        self.save(record)
        task = Task(self, record)
        self._live[record.id] = task
        task._future = asyncio.ensure_future(self._execute(task, runner))
        return record

    async def _execute(self, task: Task, runner: Runner) -> None:
        record = task.record
        record.state, record.started = RUNNING, time.time()
        self.save(record)
        try:
            result = await runner(task)
            record.result = result or {}
            record.state = SUCCEEDED
            record.message = record.message or "Done."
        except TaskCancelled as err:
            record.state, record.message = CANCELLED, str(err)
        except TaskFailed as err:
            record.state, record.message = FAILED, str(err)
        except Exception as err:  # a task's failure must be recorded, not lost
            log.exception("Task %s (%s) failed", record.id, record.kind)
            record.state, record.message = FAILED, f"Unexpected error: {err}"
        record.finished = time.time()
        record.pids, record.pid_starts = [], {}
        try:
            with contextlib.suppress(OSError):
                task.log(f"==> {record.state}: {record.message}")
            self.save(record)
        except OSError as err:  # e.g. the home quota full: the task still ends here
            log.error("Cannot save the end of task %s: %s", record.id, err)
        finally:
            self._live.pop(record.id, None)

    @contextlib.asynccontextmanager
    async def slot(self, task: Task, kind: str, limit: int) -> AsyncIterator[None]:
        """Run the ``with`` block when fewer than ``limit`` tasks of ``kind`` hold a slot in this
        server process; until then the task is *pending*, its step and message say how many must
        finish first, and it starts in the order it came. Cancelling it while it waits ends it."""
        slots = self._slots.setdefault(kind, _Slots())
        record = task.record
        slots.waiting.append(task.id)
        said = ""
        try:
            # The state is checked under the condition's lock, so no change is missed between
            # the check and the wait.
            async with slots.changed:
                while True:
                    task.check_cancelled()
                    ahead = slots.waiting.index(task.id)
                    if ahead == 0 and len(slots.holding) < max(1, limit):
                        break
                    count = len(slots.holding) - max(1, limit) + 1 + ahead
                    text = (
                        f"waiting for {count} {kind}{'s' if count != 1 else ''} to finish "
                        f"(at most {max(1, limit)} at a time)"
                    )
                    if text != said:
                        said = text
                        record.state, record.step = PENDING, text
                        record.message = f"{text[0].upper()}{text[1:]}."
                        task.log(f"==> {text}")
                        self.save(record)
                    await slots.changed.wait()
            slots.waiting.remove(task.id)
            slots.holding.add(task.id)
            if said:
                record.state, record.started, record.step, record.message = (
                    RUNNING,
                    time.time(),
                    "",
                    "",
                )
                self.save(record)
            yield
        finally:
            if task.id in slots.waiting:
                slots.waiting.remove(task.id)
            slots.holding.discard(task.id)
            async with slots.changed:
                slots.changed.notify_all()

    async def _wake_waiting(self) -> None:
        """Let tasks waiting for a slot look again (one of them was cancelled)."""
        for slots in self._slots.values():
            async with slots.changed:
                slots.changed.notify_all()

    async def cancel(self, task_id: str) -> TaskRecord:
        record = self.load(task_id)
        live = self._live.get(task_id)
        if record.state in FINAL:
            raise errors.Conflict(f"Task {task_id} has already ended ({record.state}).")
        if live is None:
            raise errors.Conflict(f"Task {task_id} is run by another server; cancel it there.")
        await live.cancel()
        return record

    async def wait(self, task_id: str, timeout: float | None = None) -> TaskRecord:
        live = self._live.get(task_id)
        if live is not None and live._future is not None:
            await asyncio.wait_for(asyncio.shield(live._future), timeout)
        return self.load(task_id)

    def running(self, env: str | None = None) -> builtins.list[TaskRecord]:
        return [t.record for t in self._live.values() if env is None or t.record.env == env]

    async def shutdown(self) -> None:
        for task in list(self._live.values()):
            await task.cancel()


@dataclass
class _Slots:
    """The tasks of one kind that run (``holding``) and wait (``waiting``, in order)."""

    holding: set[str] = field(default_factory=set)
    waiting: list[str] = field(default_factory=list)
    changed: asyncio.Condition = field(default_factory=asyncio.Condition)


def _is_same_user_server(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/cmdline", "rb") as f:
            cmd = f.read().replace(b"\x00", b" ")
    except OSError:
        return False
    return b"jupyter" in cmd or b"hpc-envs" in cmd
