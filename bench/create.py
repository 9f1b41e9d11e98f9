"""Benchmark 4: environment creation, ours against the seed's commands typed in a shell.

Same modules (Python + SciPy-bundle + IPython, which brings ipykernel) and the same package
(icecream), on the demo site's zen4 node, interleaved: ours is the whole create task (validation,
manifest, launch script, build script, smoke test, kernelspec); the baseline is the seed's steps in
one bash script: module purge/load, python -m venv --system-site-packages, pip upgrade, pip install
--no-cache-dir --no-build-isolation. Optionally (where the uv package installs) the same with uv.
Network time to the package index is in both and dominates: medians over interleaved rounds.
"""

from __future__ import annotations

import asyncio
import os
import shlex
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from common import interleave, print_table, record, site_environ, summary

PYTHON = "Python/3.11.7-GCCcore-12.3.0"
SCIPY = "SciPy-bundle/2023.07-gfbf-2023a"
IPYTHON = "IPython/8.14.0-GCCcore-12.3.0"
PACKAGE = "icecream"


def find_uv() -> str | None:
    beside = Path(sys.executable).parent / "uv"
    return shutil.which("uv") or (str(beside) if beside.exists() else None)


ROUNDS = int(os.environ.get("BENCH_ROUNDS", "5"))


def main() -> None:
    environ = site_environ()
    os.environ.clear()
    os.environ.update(environ)
    scratch = Path(tempfile.mkdtemp(prefix="bench-create-", dir=os.environ["VSC_SCRATCH"]))
    os.environ["JUPYTER_DATA_DIR"] = str(scratch / "jupyter")

    from jupyterlab_hpc_envs.config import HpcEnvs
    from jupyterlab_hpc_envs.core import Core

    core = Core(HpcEnvs(storage_roots=[str(scratch)]))
    loop = asyncio.new_event_loop()
    counter = {"n": 0}

    def ours() -> float:
        counter["n"] += 1
        name = f"benchcreate{counter['n']}"
        start = time.perf_counter()
        task = loop.run_until_complete(
            core.envs.create(
                name=name,
                modules=[PYTHON, SCIPY, IPYTHON],
                packages=[PACKAGE],
                partition="zen4",
                root=str(scratch),
            )
        )
        done = loop.run_until_complete(core.tasks.wait(task.id))
        elapsed = time.perf_counter() - start
        assert done.state == "succeeded", done.message
        core.envs.remove(name)
        return elapsed

    lmod_init = os.path.join(os.environ["LMOD_PKG"], "init", "bash")

    def by_hand(installer: str) -> float:
        target = scratch / f"manual-{installer}"
        shutil.rmtree(target, ignore_errors=True)
        if installer == "pip":
            steps = (
                f"python3 -m venv --system-site-packages {target}\n"
                f"source {target}/bin/activate\n"
                "python3 -m pip install --no-cache-dir --upgrade pip\n"
                f"python3 -m pip install --no-cache-dir --no-build-isolation {PACKAGE}\n"
            )
        else:
            uv = find_uv()
            steps = (
                f'{uv} venv -q --system-site-packages --python "$(command -v python3)" {target}\n'
                f"{uv} pip install -q --no-cache --no-build-isolation --python {target}/bin/python "
                f"{PACKAGE}\n"
            )
        script = (
            f"source {shlex.quote(lmod_init)}\nmodule purge\nmodule load {PYTHON} {SCIPY} {IPYTHON}\n"
            f"set -e\n{steps}"
        )
        start = time.perf_counter()
        subprocess.run(["bash", "-c", script], check=True, capture_output=True)
        return time.perf_counter() - start

    candidates = {"ours": ours, "seed-by-hand (pip)": lambda: by_hand("pip")}
    if find_uv():
        candidates["seed-by-hand (uv)"] = lambda: by_hand("uv")
    times = interleave(candidates, ROUNDS)
    table = summary(times, "ours")
    print_table("Environment creation (Python + SciPy-bundle + IPython, icecream), medians", table)
    ratio = table["ours"]["median_ms"] / table["seed-by-hand (pip)"]["median_ms"]
    result = {
        "table": table,
        "ours_over_by_hand": round(ratio, 3),
        "bar": "ours <= 1.05 x the seed's commands by hand",
        "met": ratio <= 1.05,
    }
    if "seed-by-hand (uv)" in table:
        result["uv_over_pip_by_hand"] = round(
            table["seed-by-hand (uv)"]["median_ms"] / table["seed-by-hand (pip)"]["median_ms"], 3
        )
    print(f"  ours / by hand = {result['ours_over_by_hand']}; bar met: {result['met']}")
    record("environment_creation", result)
    shutil.rmtree(scratch, ignore_errors=True)


if __name__ == "__main__":
    main()
