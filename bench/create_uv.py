"""Benchmark 7: creation with a realistic package set, ours with ``installer=auto`` (uv with the
modules' versions pinned) against the site documentation's pip commands typed in a shell.

Modules Python + SciPy-bundle (numpy 1.25.1); ten requested packages, three of which need numpy
(the module's must serve them) and several of whose dependencies the base Python has. Ours is the
whole create task on the demo's zen4 node; the baseline is one bash script: module purge/load,
``python -m venv --system-site-packages``, pip upgraded, ``pip install --no-cache-dir
--no-build-isolation ipykernel PACKAGES``. Both download every wheel (no cache on either side).
Interleaved rounds, medians.

Then the identical-result check: the distributions (name and version) in the venv's own
site-packages after ours and after pip by hand are the same, and in ours every package the modules
provide (numpy) is still imported from the module's folder — checked by importing it through the
launch script.

Not numexpr: its newest release needs a newer numpy than the module's, so pip by hand upgrades
numpy into the venv (a second numpy shadowing the module's) where uv with the pins picks the
release before it; a first run with numexpr in the set found exactly that difference.
"""

from __future__ import annotations

import asyncio
import os
import shlex
import shutil
import subprocess
import time
from pathlib import Path

from common import demo_dir, enter_site, interleave, print_table, record, summary

PYTHON = "Python/3.11.7-GCCcore-12.3.0"
SCIPY = "SciPy-bundle/2023.07-gfbf-2023a"
NEEDS_NUMPY = ["patsy", "bottleneck", "imageio"]
PACKAGES = [
    *NEEDS_NUMPY,
    "icecream",
    "tabulate",
    "rich",
    "toolz",
    "humanize",
    "more-itertools",
    "tqdm",
]
ROUNDS = int(os.environ.get("BENCH_ROUNDS", "5"))


def venv_own(prefix: Path) -> dict[str, str]:
    """Name -> version of the distributions in a venv's own site-packages."""
    found = {}
    for meta in prefix.glob("lib/python*/site-packages/*.dist-info"):
        name, _, version = meta.name[: -len(".dist-info")].partition("-")
        found[name.lower().replace("_", "-")] = version
    return found


def main() -> None:
    scratch = enter_site("bench-create-uv-")

    from jupyterlab_hpc_envs.config import HpcEnvs
    from jupyterlab_hpc_envs.core import Core

    core = Core(HpcEnvs(storage_roots=[str(scratch)], installer="auto"))
    loop = asyncio.new_event_loop()
    lmod_init = os.path.join(os.environ["LMOD_PKG"], "init", "bash")
    kept: dict[str, Path] = {}

    def ours(keep: bool = False) -> float:
        name = "benchuvkeep" if keep else "benchuv"
        start = time.perf_counter()
        task = loop.run_until_complete(
            core.envs.create(
                name=name, modules=[PYTHON, SCIPY], packages=PACKAGES, partition="zen4"
            )
        )
        done = loop.run_until_complete(core.tasks.wait(task.id))
        elapsed = time.perf_counter() - start
        assert done.state == "succeeded", done.message
        home = Path(core.envs.get(name).home)
        if keep:
            kept["ours"] = home
        else:
            core.envs.remove(name)
        return elapsed

    def by_hand(target: Path) -> float:
        shutil.rmtree(target, ignore_errors=True)
        packages = " ".join(shlex.quote(p) for p in ["ipykernel", *PACKAGES])
        script = (
            f"source {shlex.quote(lmod_init)}\nmodule purge\nmodule load {PYTHON} {SCIPY}\n"
            f"set -e\nexport PYTHONNOUSERSITE=1\n"
            f"python3 -m venv --system-site-packages {target}\n"
            f"source {target}/bin/activate\n"
            "python3 -m pip install --no-cache-dir --upgrade pip\n"
            f"python3 -m pip install --no-cache-dir --no-build-isolation {packages}\n"
        )
        start = time.perf_counter()
        subprocess.run(["bash", "-c", script], check=True, capture_output=True)
        return time.perf_counter() - start

    times = interleave(
        {"ours (installer=auto)": ours, "pip by hand": lambda: by_hand(scratch / "manual")},
        ROUNDS,
    )
    table = summary(times, "ours (installer=auto)")
    print_table("Creation, Python + SciPy-bundle, 10 packages (3 need numpy), medians", table)
    ratio = table["ours (installer=auto)"]["median_ms"] / table["pip by hand"]["median_ms"]

    ours(keep=True)
    by_hand(scratch / "manual")
    mine, pips = venv_own(kept["ours"] / "venv-zen4"), venv_own(scratch / "manual")
    launch = kept["ours"] / "launch-zen4.sh"
    numpy_from = subprocess.run(
        [str(launch), "python", "-c", "import numpy; print(numpy.__file__)"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout.strip()
    numpy_from = numpy_from.replace(str(demo_dir()), "$HPC_ENVS_DEMO_DIR")
    identical = mine == pips
    module_numpy = f"/{SCIPY.split('/')[0]}/" in numpy_from and "numpy" not in mine
    result = {
        "table": table,
        "ours": "ours (installer=auto)",
        "ours_over_pip_by_hand": round(ratio, 3),
        "bar": "ours (installer=auto) <= 0.3 x pip by hand, identical venv, numpy from the module",
        "met": ratio <= 0.3 and identical and module_numpy,
        "identical_distributions": identical,
        "only_ours": sorted(f"{k}=={v}" for k, v in mine.items() if pips.get(k) != v),
        "only_pip": sorted(f"{k}=={v}" for k, v in pips.items() if mine.get(k) != v),
        "numpy_imported_from": numpy_from,
        "numpy_from_module": module_numpy,
        "requested": PACKAGES,
        "note": "run once near the end on a shared 2-core machine while other helpers ran tests "
        "and builds: noisy; network time to the package index is in both",
    }
    print(f"  ours / pip by hand = {result['ours_over_pip_by_hand']}; identical: {identical}")
    print(f"  numpy from {numpy_from}; bar met: {result['met']}")
    record("creation_with_uv", result)
    core.envs.remove("benchuvkeep")
    shutil.rmtree(scratch, ignore_errors=True)


if __name__ == "__main__":
    main()
