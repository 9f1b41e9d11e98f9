"""Benchmark 1: kernel start, from ``start_kernel`` to the first ``kernel_info`` reply.

One environment (Python + SciPy-bundle modules and a venv, built by us on the demo site's zen4
partition), four kernelspecs for it, started through jupyter_client in interleaved rounds:

- ours: the kernelspec we register (provisioner ``hpc-envs-provisioner`` + launch script);
- bare: ``<venv>/bin/python -m ipykernel_launcher`` with no module system at all (the floor);
- nesi-wrapper: a static bash wrapper in the style of NeSI's nesi-add-kernel (Lmod init, purge,
  load, activate, exec);
- envkernel: ``envkernel lmod`` (from PyPI) loading the same modules, then the venv's Python.
"""

from __future__ import annotations

import asyncio
import json
import os
import shlex
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

from common import ainterleave, print_table, record, site_environ, start_kernel_once, summary

PYTHON = "Python/3.11.7-GCCcore-12.3.0"
SCIPY = "SciPy-bundle/2023.07-gfbf-2023a"
ROUNDS = int(os.environ.get("BENCH_ROUNDS", "20"))


def write_spec(kernels: Path, name: str, argv: list[str], **extra) -> None:
    folder = kernels / name
    folder.mkdir(parents=True, exist_ok=True)
    spec = {"argv": argv, "display_name": name, "language": "python", **extra}
    (folder / "kernel.json").write_text(json.dumps(spec))


async def build_env(data: Path) -> dict:
    from jupyterlab_hpc_envs.config import HpcEnvs
    from jupyterlab_hpc_envs.core import Core

    core = Core(HpcEnvs())
    from jupyterlab_hpc_envs.errors import NotFound

    try:
        env = core.envs.get("benchkernel")
    except NotFound:
        env = None
    if env is None or env.builds.get("zen4") is None or env.builds["zen4"].state != "ready":
        if env is not None:
            core.envs.remove("benchkernel")
        task = await core.envs.create(
            name="benchkernel", modules=[PYTHON, SCIPY], partition="zen4", root=str(data)
        )
        record_ = await core.tasks.wait(task.id)
        assert record_.state == "succeeded", record_.message
        env = core.envs.get("benchkernel")
    else:
        await core.envs.register("benchkernel", "zen4")
    return {"home": env.home, "prefix": env.builds["zen4"].path}


def main() -> None:
    environ = site_environ()
    os.environ.clear()
    os.environ.update(environ)
    scratch = Path(tempfile.mkdtemp(prefix="bench-kernel-"))
    os.environ["JUPYTER_DATA_DIR"] = str(scratch / "jupyter")
    data = Path(os.environ["VSC_DATA"])
    info = asyncio.run(build_env(data))
    kernels = scratch / "jupyter" / "kernels"
    prefix = info["prefix"]
    launch_argv = ["-m", "ipykernel_launcher", "-f", "{connection_file}"]
    write_spec(kernels, "bare", [f"{prefix}/bin/python", *launch_argv])

    lmod_init = os.path.join(os.environ["LMOD_PKG"], "init", "bash")
    wrapper = scratch / "nesi-wrapper.sh"
    wrapper.write_text(
        "#!/usr/bin/env bash\n"
        f"source {shlex.quote(lmod_init)}\n"
        "module purge\n"
        f"module load {PYTHON} {SCIPY}\n"
        f"source {shlex.quote(prefix)}/bin/activate\n"
        'exec python -m ipykernel_launcher -f "$1"\n'
    )
    wrapper.chmod(0o755)
    write_spec(kernels, "nesi-wrapper", [str(wrapper), "{connection_file}"])

    envkernel = shutil.which("envkernel") or os.path.join(
        os.path.dirname(sys.executable), "envkernel"
    )
    subprocess.run(
        [
            envkernel,
            "lmod",
            "--name=envkernel",
            f"--prefix={scratch / 'jupyter'}",
            "--purge",
            f"--python={prefix}/bin/python",
            PYTHON,
            SCIPY,
        ],
        check=True,
        capture_output=True,
    )
    # envkernel installs into PREFIX/share/jupyter/kernels: move it where the others are.
    installed = scratch / "jupyter" / "share" / "jupyter" / "kernels" / "envkernel"
    if installed.exists():
        shutil.move(str(installed), kernels / "envkernel")

    candidates = {
        "ours": lambda: start_kernel_once("hpcenv-benchkernel-zen4"),
        "bare": lambda: start_kernel_once("bare"),
        "nesi-wrapper": lambda: start_kernel_once("nesi-wrapper"),
        "envkernel": lambda: start_kernel_once("envkernel"),
    }
    times = asyncio.run(ainterleave(candidates, ROUNDS))
    table = summary(times, "ours")
    print_table("Kernel start (start_kernel -> kernel_info reply), medians", table)
    bare = table["bare"]["median_ms"]
    ours = table["ours"]["median_ms"]
    result = {
        "table": table,
        "ours_over_bare": round(ours / bare, 3),
        "bar": "ours <= 1.10 x bare, and faster than nesi-wrapper and envkernel",
        "met": ours <= 1.10 * bare
        and ours < table["nesi-wrapper"]["median_ms"]
        and ours < table["envkernel"]["median_ms"],
    }
    print(f"  ours / bare = {result['ours_over_bare']}  bar met: {result['met']}")
    record("kernel_start", result)
    shutil.rmtree(scratch, ignore_errors=True)


if __name__ == "__main__":
    main()
