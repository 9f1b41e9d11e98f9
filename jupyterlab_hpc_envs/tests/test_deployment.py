"""Deployment as centres run JupyterLab: the server inside a Slurm job (Open OnDemand, batchspawner),
a HOME that is not the usual one, kernelspecs on $VSC_DATA found through JUPYTER_PATH (as the admin
guide describes), builds and kernels for another partition started from inside the job; and a
manifest written by an older version still read."""

from __future__ import annotations

import asyncio
import json
import os
import secrets
import socket
import subprocess
import sys
import time
import uuid
from pathlib import Path

import pytest
from tornado.httpclient import AsyncHTTPClient, HTTPRequest
from tornado.websocket import websocket_connect

from jupyterlab_hpc_envs.envs import manifest

from .test_envs_rest import IPYTHON, PYTHON

FINAL = ("succeeded", "failed", "cancelled", "interrupted")


class JobServer:
    """``srun -p zen4 … jupyter server``: JupyterLab's server as Open OnDemand starts it."""

    def __init__(self, env: dict[str, str], root: Path) -> None:
        self.env, self.root = env, root
        self.token = secrets.token_hex(16)
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            self.port = s.getsockname()[1]
        self.name = f"ood-{uuid.uuid4().hex[:8]}"
        self.client = AsyncHTTPClient(force_instance=True)
        self.log = root / "server.log"
        self.proc: subprocess.Popen | None = None

    def start(self) -> None:
        with open(self.log, "w") as log:
            self.proc = subprocess.Popen(
                [
                    "srun",
                    "--partition=zen4",
                    f"--job-name={self.name}",
                    "--time=15",
                    "--nodes=1",
                    "--ntasks=1",
                    "--cpus-per-task=1",
                    sys.executable,
                    "-m",
                    "jupyter_server",
                    "--allow-root",
                    "--no-browser",
                    f"--port={self.port}",
                    "--ServerApp.ip=127.0.0.1",
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
                f"http://127.0.0.1:{self.port}/{path}",
                method=method,
                headers={"Authorization": f"token {self.token}"},
                body=json.dumps(body) if body is not None else None,
                request_timeout=180,
            ),
            raise_error=False,
        )
        return response.code, json.loads(response.body or b"null")

    async def ready(self) -> None:
        for _ in range(300):
            try:
                if (await self.call("GET", "hpc-envs/api/info"))[0] == 200:
                    return
            except OSError:
                pass
            await asyncio.sleep(0.2)
        raise AssertionError(f"the server did not come up: {self.log.read_text()[-2000:]}")

    async def task(self, task_id: str) -> dict:
        while True:
            _, record = await self.call("GET", f"hpc-envs/api/tasks/{task_id}")
            if record["state"] in FINAL:
                return record
            await asyncio.sleep(0.3)

    async def execute(self, kernel_id: str, code: str) -> str:
        """Run code through the server's kernel websocket, as JupyterLab does; stdout."""
        ws = await websocket_connect(
            f"ws://127.0.0.1:{self.port}/api/kernels/{kernel_id}/channels?token={self.token}"
        )
        msg_id = uuid.uuid4().hex
        ws.write_message(
            json.dumps(
                {
                    "header": {
                        "msg_id": msg_id,
                        "msg_type": "execute_request",
                        "username": "test",
                        "session": uuid.uuid4().hex,
                        "version": "5.3",
                        "date": "",
                    },
                    "parent_header": {},
                    "metadata": {},
                    "channel": "shell",
                    "content": {
                        "code": code,
                        "silent": False,
                        "store_history": False,
                        "user_expressions": {},
                        "allow_stdin": False,
                        "stop_on_error": True,
                    },
                }
            )
        )
        out = []
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            msg = json.loads(await asyncio.wait_for(ws.read_message(), 120))
            if msg.get("parent_header", {}).get("msg_id") != msg_id:
                continue
            if msg["msg_type"] == "stream":
                out.append(msg["content"]["text"])
            elif msg["msg_type"] == "error":
                raise AssertionError("\n".join(msg["content"]["traceback"]))
            elif msg["msg_type"] == "status" and msg["content"]["execution_state"] == "idle":
                ws.close()
                return "".join(out)
        raise AssertionError("no reply from the kernel")

    def stop(self) -> None:
        subprocess.run(["scancel", f"--name={self.name}"], env=self.env, check=False)
        if self.proc is not None:
            try:
                self.proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.proc.kill()


@pytest.fixture
def job_server(demo_site, tmp_path):
    """A server in a zen4 job, with the admin guide's JUPYTER_PATH set-up and another HOME."""
    data = tmp_path / "vsc_data"
    config = tmp_path / "config"
    for folder in (data, config, tmp_path / "ood-home"):
        folder.mkdir()
    (config / "jupyter_server_config.json").write_text(
        json.dumps(
            {"HpcEnvs": {"kernels_dir": "${VSC_DATA}/jupyter/kernels", "upgrade_pip": False}}
        )
    )
    env = dict(demo_site.env)
    env.update(
        VSC_DATA=str(data),
        VSC_SCRATCH=str(data),
        HOME=str(tmp_path / "ood-home"),  # Open OnDemand may run with another HOME layout
        JUPYTER_PATH=f"{data}/jupyter",
        JUPYTER_CONFIG_DIR=str(config),
        JUPYTER_DATA_DIR=str(tmp_path / "ood-home" / "jupyter-data"),
        JUPYTER_RUNTIME_DIR=str(tmp_path / "runtime"),
    )
    server = JobServer(env, tmp_path)
    server.start()
    yield server
    server.stop()


async def test_a_server_inside_a_slurm_job_finds_its_kernels_on_vsc_data_and_starts_one_on_zen2(
    job_server,
):
    server = job_server
    await server.ready()
    _, site = await server.call("GET", "hpc-envs/api/site")
    assert site["in_job"] is True
    assert site["partition"] == "zen4"

    code, data = await server.call(
        "POST",
        "hpc-envs/api/envs",
        {"name": "ood", "modules": [PYTHON, IPYTHON], "partition": "zen4"},
    )
    assert code == 202, data
    record = await server.task(data["task"]["id"])
    assert record["state"] == "succeeded", record["message"]
    # From inside the zen4 job, the zen2 build must be a job of its own on zen2, not a step of the
    # server's job (which would run it on the server's zen4 node).
    code, data = await server.call("POST", "hpc-envs/api/envs/ood/builds", {"partition": "zen2"})
    assert code == 202, data
    record = await server.task(data["task"]["id"])
    assert record["state"] == "succeeded", record["message"]
    _, log = await server.call("GET", f"hpc-envs/api/tasks/{record['id']}/log?offset=0&wait=0")
    assert "::hpc-envs::info node_arch=zen2" in log["text"]

    kernels = Path(server.env["VSC_DATA"]) / "jupyter" / "kernels"
    assert sorted(p.name for p in kernels.iterdir()) == ["hpcenv-ood-zen2", "hpcenv-ood-zen4"]
    _, specs = await server.call("GET", "api/kernelspecs")
    assert {"hpcenv-ood-zen2", "hpcenv-ood-zen4"} <= set(specs["kernelspecs"])

    code, kernel = await server.call("POST", "api/kernels", {"name": "hpcenv-ood-zen2"})
    assert code == 201, kernel
    try:
        out = await server.execute(
            kernel["id"],
            "import os, sys\nprint(os.environ.get('SLURM_JOB_PARTITION'), "
            "os.environ.get('VSC_ARCH_LOCAL'), sys.prefix)",
        )
        partition, arch, prefix = out.split()
        assert (partition, arch) == ("zen2", "zen2")
        assert prefix.endswith("/hpc-envs/ood/venv-zen2")
    finally:
        await server.call("DELETE", f"api/kernels/{kernel['id']}")


def test_a_manifest_written_by_the_previous_format_is_read_and_upgraded(tmp_path):
    # Format 0 (before any release) kept one build per environment under "build".
    (tmp_path / "hpc-env.json").write_text(
        json.dumps(
            {
                "name": "old",
                "kind": "venv",
                "modules": [PYTHON],
                "packages": ["icecream"],
                "build": {
                    "arch": "zen4",
                    "path": str(tmp_path / "venv-zen4"),
                    "state": "ready",
                    "partitions": ["zen4"],
                    "some_future_field": 1,
                },
            }
        )
    )
    env = manifest.read(str(tmp_path))
    assert env.format == manifest.FORMAT
    assert env.builds["zen4"].state == "ready"
    assert env.builds["zen4"].partitions == ["zen4"]
    with manifest.updating(str(tmp_path)) as m:
        m.packages.append("six")
    on_disk = json.loads((tmp_path / "hpc-env.json").read_text())
    assert on_disk["format"] == manifest.FORMAT
    assert "build" not in on_disk
    assert on_disk["builds"]["zen4"]["path"] == str(tmp_path / "venv-zen4")


def test_a_manifest_from_a_newer_version_is_refused_with_what_to_do(tmp_path):
    (tmp_path / "hpc-env.json").write_text(
        json.dumps({"name": "new", "kind": "venv", "format": 99})
    )
    with pytest.raises(Exception, match="newer jupyterlab-hpc-envs"):
        manifest.read(str(tmp_path))


@pytest.fixture(autouse=True)
def _not_in_a_job(monkeypatch):
    for key in list(os.environ):
        if key.startswith("SLURM_JOB"):
            monkeypatch.delenv(key)
