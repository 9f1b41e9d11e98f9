"""Benchmark 4: environment creation, ours against the seed's commands typed in a shell.

Same modules (Python + SciPy-bundle + IPython, which brings ipykernel) and the same package
(icecream), on the demo site's zen4 node, interleaved: ours is the whole create task (validation,
manifest, launch script, build script, smoke test, kernelspec); the baseline is the seed's steps in
one bash script: module purge/load, python -m venv --system-site-packages, pip upgrade, pip install
--no-cache-dir --no-build-isolation. Optionally (where the uv package installs) the same with uv.
Network time to the package index is in both and dominates: medians over interleaved rounds.

uv is offered as an installer only if it keeps the seed's semantics. This benchmark checks the one
that matters most on a cluster: with SciPy-bundle loaded, installing a package that needs numpy
(``numexpr==2.8.7``, which any numpy since 1.13.3 satisfies) must use the module's optimised numpy, not put a second copy into the venv. pip
keeps the module's copy (it sees what is on ``sys.path``, ``PYTHONPATH`` included); the result of
both installers is recorded in ``module_numpy_kept``. uv's maintainers say why it differs: uv
queries the interpreter with ``-I`` (no ``PYTHONPATH``) and does not support
``--system-site-packages`` (astral-sh/uv issues 7358 and 4466). The "uv by hand" here is plain
uv; ours uses uv only with the modules' versions pinned (``installer``; see create_uv.py).
"""

from __future__ import annotations

import asyncio
import os
import shlex
import shutil
import subprocess
import sys
import time
from pathlib import Path

from common import enter_site, interleave, print_table, record, summary

PYTHON = "Python/3.11.7-GCCcore-12.3.0"
SCIPY = "SciPy-bundle/2023.07-gfbf-2023a"
IPYTHON = "IPython/8.14.0-GCCcore-12.3.0"
PACKAGE = "icecream"
NEEDS_NUMPY = "numexpr==2.8.7"  # small; needs numpy>=1.13.3, which the SciPy-bundle module has


def find_uv() -> str | None:
    beside = Path(sys.executable).parent / "uv"
    return shutil.which("uv") or (str(beside) if beside.exists() else None)


ROUNDS = int(os.environ.get("BENCH_ROUNDS", "5"))


def main() -> None:
    scratch = enter_site("bench-create-")

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

    def by_hand_script(installer: str, target: Path, package: str, modules: str) -> str:
        """The seed's steps typed in a shell, with pip (upgraded first, as the seed says) or uv."""
        if installer == "pip":
            steps = (
                f"python3 -m venv --system-site-packages {target}\n"
                f"source {target}/bin/activate\n"
                "python3 -m pip install --no-cache-dir --upgrade pip\n"
                f"python3 -m pip install --no-cache-dir --no-build-isolation {package}\n"
            )
        else:
            uv = find_uv()
            steps = (
                f'{uv} venv -q --system-site-packages --python "$(command -v python3)" {target}\n'
                f"{uv} pip install -q --no-cache --no-build-isolation --python {target}/bin/python "
                f"{package}\n"
            )
        return (
            f"source {shlex.quote(lmod_init)}\nmodule purge\nmodule load {modules}\nset -e\n{steps}"
        )

    def by_hand(installer: str) -> float:
        target = scratch / f"manual-{installer}"
        shutil.rmtree(target, ignore_errors=True)
        script = by_hand_script(installer, target, PACKAGE, f"{PYTHON} {SCIPY} {IPYTHON}")
        start = time.perf_counter()
        subprocess.run(["bash", "-c", script], check=True, capture_output=True)
        return time.perf_counter() - start

    def keeps_module_numpy(installer: str) -> bool:
        """Whether installing NEEDS_NUMPY leaves numpy to the module (no copy in the venv)."""
        target = scratch / f"semantics-{installer}"
        shutil.rmtree(target, ignore_errors=True)
        script = by_hand_script(installer, target, NEEDS_NUMPY, f"{PYTHON} {SCIPY}")
        subprocess.run(["bash", "-c", script], check=True, capture_output=True)
        site = next(target.glob("lib/python3*/site-packages"))
        copied = any(p.name.startswith("numpy-") for p in site.iterdir())
        shutil.rmtree(target, ignore_errors=True)
        return not copied

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
        kept = {"pip": keeps_module_numpy("pip"), "uv": keeps_module_numpy("uv")}
        result["module_numpy_kept"] = kept
        result["uv_note"] = (
            "uv keeps the seed's semantics here and could be offered"
            if kept["uv"]
            else f"not offered: installing {NEEDS_NUMPY} with uv put a second numpy into the venv "
            "(it does not count the module's numpy on PYTHONPATH as installed); pip kept the "
            "module's"
            if kept["pip"]
            else "pip and uv both copied numpy into the venv: check the demo site"
        )
        print(f"  module numpy kept: {kept}; uv: {result['uv_note']}")
    print(f"  ours / by hand = {result['ours_over_by_hand']}; bar met: {result['met']}")
    record("environment_creation", result)
    shutil.rmtree(scratch, ignore_errors=True)


if __name__ == "__main__":
    main()
