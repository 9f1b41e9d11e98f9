"""A real ``jupyter server`` with the extension in a process of its own, for the tests that kill
it, start it inside a Slurm job, or fuzz it; and the benchmarks that load it."""

from __future__ import annotations

import asyncio
import json
import secrets
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

from tornado.httpclient import AsyncHTTPClient, HTTPRequest

FINAL = ("succeeded", "failed", "cancelled", "interrupted")


class ServerProcess:
    """``[launcher…] python -m jupyter_server`` on a free loopback port with a token of its own.

    ``launcher`` runs the server through another command (``["srun", "-p", "zen4", …]``);
    ``call`` paths are relative to the server's root URL (``hpc-envs/api/site``, ``api/kernels``).
    """

    def __init__(self, env: dict[str, str], root: Path, launcher: list[str] | None = None) -> None:
        self.env, self.root = env, root
        self.launcher = list(launcher or [])
        self.token = secrets.token_hex(16)
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            self.port = s.getsockname()[1]
        self.url = f"http://127.0.0.1:{self.port}"
        self.log = root / f"server-{self.port}.log"
        self.proc: subprocess.Popen | None = None
        self.client = AsyncHTTPClient(force_instance=True)

    @property
    def headers(self) -> dict[str, str]:
        return {"Authorization": f"token {self.token}"}

    def start(self) -> None:
        with open(self.log, "a") as log:
            self.proc = subprocess.Popen(
                [
                    *self.launcher,
                    sys.executable,
                    "-m",
                    "jupyter_server",
                    "--allow-root",
                    "--no-browser",
                    "--ServerApp.ip=127.0.0.1",
                    f"--port={self.port}",
                    "--ServerApp.port_retries=0",
                    f"--IdentityProvider.token={self.token}",
                    f"--ServerApp.root_dir={self.root}",
                ],
                env=self.env,
                stdout=log,
                stderr=subprocess.STDOUT,
            )

    async def call(self, method: str, path: str, body: dict | None = None) -> tuple[int, dict]:
        response = await self.client.fetch(
            HTTPRequest(
                f"{self.url}/{path}",
                method=method,
                headers=self.headers,
                body=json.dumps(body) if body is not None else None,
                request_timeout=180,
            ),
            raise_error=False,
        )
        return response.code, json.loads(response.body or b"null")

    async def ready(self, timeout: float = 60) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                if (await self.call("GET", "hpc-envs/api/info"))[0] == 200:
                    return
            except OSError:
                pass
            await asyncio.sleep(0.2)
        raise AssertionError(f"the server did not come up: {self.log.read_text()[-2000:]}")

    def ready_sync(self, timeout: float = 60) -> None:
        request = urllib.request.Request(f"{self.url}/hpc-envs/api/info", headers=self.headers)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                with urllib.request.urlopen(request, timeout=5):
                    return
            except (urllib.error.URLError, OSError):
                time.sleep(0.2)
        raise AssertionError(f"the server did not come up: {self.log.read_text()[-2000:]}")

    async def wait_task(self, task_id: str, timeout: float = 300) -> dict:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            _, record = await self.call("GET", f"hpc-envs/api/tasks/{task_id}")
            if record["state"] in FINAL:
                return record
            await asyncio.sleep(0.3)
        raise AssertionError(f"task {task_id} did not end")

    def kill(self) -> None:
        assert self.proc is not None
        self.proc.send_signal(signal.SIGKILL)
        self.proc.wait(timeout=30)

    def stop(self) -> None:
        if self.proc and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(timeout=30)
