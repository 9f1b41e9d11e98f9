"""Helpers shared by the tests: waiting for tasks, running code in a real kernel."""

from __future__ import annotations

import asyncio
import json
import subprocess
import sys
from pathlib import Path
from typing import Any

from jupyter_client.manager import AsyncKernelManager


async def call(jp_fetch, method: str, *path: str, body: Any = None, params=None, ok=True):
    """A REST call; returns (status, JSON). With ``ok`` a 4xx/5xx fails the test with its message."""
    kw: dict[str, Any] = {"method": method, "raise_error": False}
    if body is not None:
        kw["body"] = json.dumps(body)
    elif method in ("POST", "PUT"):
        kw["body"] = "{}"
    if params:
        kw["params"] = params
    response = await jp_fetch("hpc-envs", "api", *path, **kw)
    data = json.loads(response.body or b"null")
    if ok:
        assert response.code < 400, f"{method} {'/'.join(path)} -> {response.code}: {data}"
    return response.code, data


async def wait_task(jp_fetch, task_id: str, timeout: float = 600) -> dict[str, Any]:
    """Poll a task until it ends; returns its record."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while True:
        _, record = await call(jp_fetch, "GET", "tasks", task_id)
        if record["state"] in ("succeeded", "failed", "cancelled", "interrupted"):
            return record
        assert loop.time() < deadline, f"task {task_id} still {record['state']} after {timeout} s"
        await asyncio.sleep(0.5)


async def task_log(jp_fetch, task_id: str) -> str:
    _, data = await call(
        jp_fetch, "GET", "tasks", task_id, "log", params={"offset": "0", "wait": "0"}
    )
    return data["text"]


async def run_code(kernel_name: str, code: str, timeout: float = 120) -> str:
    """Start the kernel through jupyter_client (so through its provisioner), run code, return stdout."""
    km = AsyncKernelManager(kernel_name=kernel_name)
    await km.start_kernel()
    kc = km.client()
    kc.start_channels()
    try:
        await kc.wait_for_ready(timeout=timeout)
        msg_id = kc.execute(code)
        out: list[str] = []
        while True:
            msg = await kc.get_iopub_msg(timeout=timeout)
            if msg["parent_header"].get("msg_id") != msg_id:
                continue
            kind = msg["msg_type"]
            if kind == "stream":
                out.append(msg["content"]["text"])
            elif kind == "error":
                raise AssertionError("\n".join(msg["content"]["traceback"]))
            elif kind == "status" and msg["content"]["execution_state"] == "idle":
                return "".join(out)
    finally:
        kc.stop_channels()
        await km.shutdown_kernel(now=True)


def zen2_environment(demo_site, root: Path, env: str, modules: list[str]) -> Path:
    """``env`` built for zen2 only (as a Slurm job, by the CLI), its data and Jupyter folders in
    ``root``; the folder of its kernelspec."""
    (root / "data").mkdir()
    environ = dict(
        demo_site.env, VSC_DATA=str(root / "data"), JUPYTER_DATA_DIR=str(root / "jupyter")
    )
    argv = [sys.executable, "-m", "jupyterlab_hpc_envs.cli", "create", env, "--partition", "zen2"]
    for module in modules:
        argv += ["--module", module]
    result = subprocess.run(
        [*argv, "--quiet"], env=environ, capture_output=True, text=True, timeout=600, check=False
    )
    assert result.returncode == 0, result.stdout + result.stderr
    spec = root / "jupyter" / "kernels" / f"hpcenv-{env}-zen2"
    assert (spec / "kernel.json").exists()
    return spec
