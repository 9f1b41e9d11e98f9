"""Long operations (builds, installs, removals) as tasks that outlive a page reload and a restart.

Each task is a JSON record and a log file in ``<data_dir>/tasks/``. The log is appended line by line
while the task runs and read by offset, so a client that reloads picks up where it was; the record
is rewritten atomically on every change of state. A server that starts finds tasks that were
running when the previous server died, marks them ``interrupted`` and calls the recovery hook
registered for their kind (a build's half-made folder is removed there).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import os
import signal
import socket
import time
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import asdict, dataclass, field, fields
from typing import Any

from . import files, names

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
    pass


@dataclass
class TaskRecord:
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
    params: dict[str, Any] = field(default_factory=dict)
    result: dict[str, Any] = field(default_factory=dict)

    def to_json(self) -> dict[str, Any]:
        data = asdict(self)
        data.pop("server_pid")
        data.pop("pids")
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
        """Run a child in its own process group, streaming its output into the log."""
        self.check_cancelled()
        proc = await asyncio.create_subprocess_exec(
            *argv,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.STDOUT,
            stdin=asyncio.subprocess.DEVNULL,
            env=env,
            cwd=cwd,
            start_new_session=True,
        )
        self._procs.append(proc)
        self.record.pids.append(proc.pid)
        self.manager.save(self.record)
        assert proc.stdout is not None
        with open(self._log_path, "ab") as logfile:
            while True:
                line = await proc.stdout.readline()
                if not line:
                    break
                logfile.write(line)
                logfile.flush()
                if on_line is not None:
                    on_line(line.decode(errors="replace").rstrip("\n"))
        code = await proc.wait()
        self._procs.remove(proc)
        self.record.pids.remove(proc.pid)
        self.manager.save(self.record)
        self.check_cancelled()
        return code

    async def cancel(self) -> None:
        self.cancel_requested = True
        for hook in self.on_cancel:
            with contextlib.suppress(Exception):
                await hook()
        for proc in list(self._procs):
            _kill_group(proc.pid, signal.SIGTERM)
        await asyncio.sleep(0.5)
        for proc in list(self._procs):
            _kill_group(proc.pid, signal.SIGKILL)


def _kill_group(pid: int, sig: int) -> None:
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(pid, sig)


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
        self.dir = os.path.join(data_dir, "tasks")
        os.makedirs(self.dir, mode=0o700, exist_ok=True)
        self._live: dict[str, Task] = {}
        self._recovery: dict[str, Recovery] = {}

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
            raise names.NotFound(f"There is no task {task_id}.") from None
        except (ValueError, TypeError, AttributeError) as err:
            raise names.NotFound(f"Task {task_id} is unreadable: {err}") from None

    def list(self) -> list[TaskRecord]:
        records = []
        for entry in os.scandir(self.dir):
            if entry.name.endswith(".json"):
                with contextlib.suppress(names.NotFound, names.InvalidInput):
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

    async def recover(self) -> list[TaskRecord]:
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
                _kill_group(pid, signal.SIGKILL)
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
            record.pids = []
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
        record.pids = []
        try:
            with contextlib.suppress(OSError):
                task.log(f"==> {record.state}: {record.message}")
            self.save(record)
        except OSError as err:  # e.g. the home quota full: the task still ends here
            log.error("Cannot save the end of task %s: %s", record.id, err)
        finally:
            self._live.pop(record.id, None)

    async def cancel(self, task_id: str) -> TaskRecord:
        record = self.load(task_id)
        live = self._live.get(task_id)
        if record.state in FINAL:
            raise names.Conflict(f"Task {task_id} has already ended ({record.state}).")
        if live is None:
            raise names.Conflict(f"Task {task_id} is run by another server; cancel it there.")
        await live.cancel()
        return record

    async def wait(self, task_id: str, timeout: float | None = None) -> TaskRecord:
        live = self._live.get(task_id)
        if live is not None and live._future is not None:
            await asyncio.wait_for(asyncio.shield(live._future), timeout)
        return self.load(task_id)

    def running(self, env: str | None = None) -> list[TaskRecord]:
        return [t.record for t in self._live.values() if env is None or t.record.env == env]

    async def shutdown(self) -> None:
        for task in list(self._live.values()):
            await task.cancel()


def _is_same_user_server(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/cmdline", "rb") as f:
            cmd = f.read().replace(b"\x00", b" ")
    except OSError:
        return False
    return b"jupyter" in cmd or b"hpc-envs" in cmd
