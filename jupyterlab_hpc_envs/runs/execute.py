"""What a run's batch job executes: ``python -m jupyterlab_hpc_envs.runs.execute RUN_DIR``.

The notebook is executed by nbclient with the environment's kernel started *here*, on the job's
node, through the environment's launch script (the kernelspec's argv, without our provisioner: the
job already is the Slurm allocation). The output notebook is written whatever happens, partial when
a cell fails, and ``status.json`` beside the run's record says how the run ended and which cell
failed; the exit status tells Slurm the same.
"""

from __future__ import annotations

import json
import os
import sys
import time
from typing import Any

import nbformat
from jupyter_client.kernelspec import KernelSpecManager
from jupyter_client.manager import AsyncKernelManager
from nbclient import NotebookClient
from nbclient.exceptions import CellExecutionError, CellTimeoutError, DeadKernelError

from .. import files
from . import params

LOCAL_KERNEL = "hpc-envs-run"  # the name of the run's own, provisioner-less kernelspec


def _local_kernelspec(run_dir: str, record: dict[str, Any]) -> KernelSpecManager:
    """A kernelspec with the environment's argv and the default (local) provisioner."""
    folder = os.path.join(run_dir, "kernelspec", LOCAL_KERNEL)
    os.makedirs(folder, exist_ok=True)
    spec = {
        "argv": record["argv"],
        "display_name": record["kernel"],
        "language": "python",
        "interrupt_mode": "message",
    }
    files.write_atomic(os.path.join(folder, "kernel.json"), json.dumps(spec, indent=1) + "\n")
    return KernelSpecManager(kernel_dirs=[os.path.dirname(folder)])


def failed_cell(nb: nbformat.NotebookNode) -> dict[str, Any] | None:
    """The first cell with an error output: its index, first line and the error."""
    for index, cell in enumerate(nb.cells):
        for output in cell.get("outputs", []):
            if output.get("output_type") == "error":
                first = (cell.get("source") or "").strip().splitlines()[:1]
                return {
                    "cell": index,
                    "source": first[0] if first else "",
                    "error": f"{output.get('ename', '')}: {output.get('evalue', '')}",
                }
    return None


def run(run_dir: str) -> dict[str, Any]:
    """Execute the run's notebook; write the output notebook and ``status.json``."""
    with open(os.path.join(run_dir, "run.json"), encoding="utf-8") as f:
        record = json.load(f)
    nb = nbformat.read(record["notebook"], as_version=4)  # type: ignore[no-untyped-call]
    task = os.environ.get("SLURM_ARRAY_TASK_ID", "")
    chosen = record["tasks"][int(task)] if record.get("tasks") else record
    params.inject(nb, chosen["parameters"])
    output = chosen["output"]
    km = AsyncKernelManager(
        kernel_name=LOCAL_KERNEL, kernel_spec_manager=_local_kernelspec(run_dir, record)
    )
    client = NotebookClient(
        nb,
        km=km,
        timeout=None,
        resources={"metadata": {"path": os.path.dirname(record["notebook"])}},
    )
    status: dict[str, Any] = {"state": "SUCCEEDED", "started": time.time(), "task": task}
    try:
        client.execute()
    except (CellExecutionError, CellTimeoutError, DeadKernelError) as err:
        status.update(state="FAILED", failure=failed_cell(nb) or {"error": str(err)[:2000]})
    finally:
        nbformat.write(nb, output)  # type: ignore[no-untyped-call]
        status.update(ended=time.time(), output=output)
        name = f"status-{task}.json" if record.get("tasks") else "status.json"
        files.write_atomic(os.path.join(run_dir, name), json.dumps(status) + "\n")
    return status


def main() -> int:
    status = run(sys.argv[1])
    failure = status.get("failure")
    if failure:
        where = f"cell {failure['cell']} ({failure['source']})" if "cell" in failure else "a cell"
        print(f"hpc-envs: the notebook failed in {where}: {failure['error']}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
