"""Deployment as centres run JupyterLab: the server inside a Slurm job (Open OnDemand, batchspawner),
a HOME that is not the usual one, kernelspecs on $VSC_DATA found through JUPYTER_PATH (as the admin
guide describes), builds and kernels for another partition started from inside the job; and a
manifest written by an older version still read."""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import time
import uuid
from pathlib import Path

import pytest
from tornado.websocket import websocket_connect

from jupyterlab_hpc_envs.envs import manifest

from .servers import ServerProcess
from .test_envs_rest import IPYTHON, PYTHON

FINAL = ("succeeded", "failed", "cancelled", "interrupted")


async def execute(server: ServerProcess, kernel_id: str, code: str) -> str:
    """Run code through the server's kernel websocket, as JupyterLab does; stdout."""
    ws = await websocket_connect(
        f"ws://127.0.0.1:{server.port}/api/kernels/{kernel_id}/channels?token={server.token}"
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
    name = f"ood-{uuid.uuid4().hex[:8]}"
    # JupyterLab's server as Open OnDemand starts it: in a one-CPU job on zen4.
    launcher = [
        "srun",
        "--partition=zen4",
        f"--job-name={name}",
        "--time=15",
        "--nodes=1",
        "--ntasks=1",
        "--cpus-per-task=1",
    ]
    server = ServerProcess(env, tmp_path, launcher)
    server.start()
    yield server
    subprocess.run(["scancel", f"--name={name}"], env=env, check=False)
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
    record = await server.wait_task(data["task"]["id"])
    assert record["state"] == "succeeded", record["message"]
    # From inside the zen4 job, the zen2 build must be a job of its own on zen2, not a step of the
    # server's job (which would run it on the server's zen4 node).
    code, data = await server.call("POST", "hpc-envs/api/envs/ood/builds", {"partition": "zen2"})
    assert code == 202, data
    record = await server.wait_task(data["task"]["id"])
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
        out = await execute(
            server,
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
