"""``jupyter hpc-envs submit`` and ``jupyter hpc-envs runs``: the subcommands of runs."""

from __future__ import annotations

import argparse
import asyncio
import json
from typing import Any

from ..config import HpcEnvs
from . import params, plan, records, sweep

WAIT_INTERVAL = 3.0  # seconds between two looks at a run that --wait follows
FINAL = ("SUCCEEDED", "FAILED", "ENDED")


def add_arguments(c: argparse.ArgumentParser) -> None:
    """The options of ``submit``."""
    c.add_argument("notebook", help="the notebook (.ipynb) to run")
    c.add_argument("--kernel", help="kernelspec to run it with (default: the notebook's)")
    c.add_argument("--partition", help="the partition (default: the kernel's)")
    for name in ("time", "cpus", "memory", "gpus", "account"):
        c.add_argument(f"--{name}", help=f"the job's {name} (default: the kernel's choice)")
    c.add_argument(
        "-p", "--parameter", action="append", default=[], metavar="NAME=VALUE",
        help="a parameter (VALUE a JSON/YAML literal); repeat",
    )  # fmt: skip
    c.add_argument("--sweep", help="a JSON/YAML file: a list of parameter sets, or a grid")
    c.add_argument("--output-dir", help="where the output notebook goes (default: beside it)")
    c.add_argument("--wait", action="store_true", help="wait for the run to end")


def line(view: dict[str, Any]) -> str:
    """One run in words: id, state (with Slurm's reason or the failed cell), output."""
    text = f"{view['id']}  job {view['job_id']}  {view['state']}"
    if view.get("reason"):
        text += f" ({view['reason']})"
    failure = view.get("failure")
    if failure:
        where = f"cell {failure['cell']}: " if "cell" in failure else ""
        text += f" — {where}{failure['error']}"
    if "elapsed" in view:
        text += f"  {view['elapsed']} s"
    text += f"\n    {view['notebook']} -> {view['output']}\n    log: {view['log']}"
    for task in view.get("tasks") or []:
        text += f"\n    task {task['task']} {task['state']} {json.dumps(task['parameters'])}"
        text += f" -> {task['output']}"
    return text


async def submit(config: HpcEnvs, args: argparse.Namespace) -> tuple[int, dict[str, Any]]:
    """Check, submit, and with ``--wait`` follow the run; (exit status, the run's view)."""
    request = plan.Request(
        notebook=args.notebook,
        kernel=args.kernel or "",
        partition=args.partition or "",
        resources={k: getattr(args, k) for k in ("time", "cpus", "memory", "gpus", "account")},
        parameters=params.parse_assignments(args.parameter),
        output_dir=args.output_dir or "",
        sweep=sweep.read(args.sweep, config.run_array_limit) if args.sweep else None,
    )
    checked = plan.make(config, request)
    record = await asyncio.to_thread(plan.submit, config, checked)
    view = dict(record, state="SUBMITTED")
    while args.wait:
        view = await records.state(config, record["id"]) or view
        if view["state"] in FINAL:
            return (0 if view["state"] == "SUCCEEDED" else 1), view
        await asyncio.sleep(WAIT_INTERVAL)
    return 0, view
