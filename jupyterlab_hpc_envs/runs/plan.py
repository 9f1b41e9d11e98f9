"""A run request checked and turned into a readable sbatch script, before anything is submitted.

Every refusal comes first: a notebook without a kernel of ours, a kernel whose environment is not
built for the partition, resources over the site's limits, parameters that are not values. Then the
run's folder is written (``run.json``, ``job.sbatch``) and the script given to ``sbatch``.
"""

from __future__ import annotations

import datetime
import json
import os
import secrets
import shlex
import subprocess
import sys
from dataclasses import dataclass, field
from typing import Any

import nbformat

from .. import errors, files, names
from ..config import KERNEL_PREFIX, HpcEnvs
from ..envs import kernelspec
from ..kernels import resources
from ..site import slurm
from . import params

JOB_NAME_PREFIX = f"{slurm.JOB_PREFIX}-run:"


@dataclass
class Request:
    """What the user asked for (CLI or REST), unchecked."""

    notebook: str
    kernel: str = ""
    partition: str = ""
    resources: dict[str, Any] = field(default_factory=dict)
    parameters: dict[str, Any] = field(default_factory=dict)
    output_dir: str = ""
    sweep: list[dict[str, Any]] | None = None  # parameter sets: one job array task each


def runs_dir(config: HpcEnvs) -> str:
    return os.path.join(config.data_dir, "runs")


def _notebook(path: str) -> tuple[str, nbformat.NotebookNode]:
    path = names.clean_path("notebook", os.path.abspath(path) if isinstance(path, str) else path)
    if not path.endswith(".ipynb") or not os.path.isfile(path):
        raise errors.InvalidInput("notebook", f"{path} is not a notebook (.ipynb) file.")
    try:
        return path, nbformat.read(path, as_version=4)  # type: ignore[no-untyped-call]
    except (OSError, ValueError) as err:
        raise errors.InvalidInput(
            "notebook", f"{path} cannot be read as a notebook: {err}"
        ) from None


def _kernel(config: HpcEnvs, name: str, partition: str) -> tuple[str, dict[str, Any]]:
    """The kernelspec to run with, checked to be ours and built for ``partition``."""
    spec = kernelspec.read(config.kernels_dir, name) if name.startswith(KERNEL_PREFIX) else None
    meta = (spec or {}).get("metadata", {}).get("hpc_envs")
    if spec is None or not isinstance(meta, dict):
        raise errors.InvalidInput(
            "kernel",
            f"The notebook's kernel {name or '(none)'!r} is not a kernel of an HPC environment: "
            "choose one with --kernel (see `jupyter hpc-envs list`).",
        )
    own = str(meta.get("partition", ""))
    if partition and partition != own:
        other = kernelspec.kernel_name(str(meta.get("name", "")), partition)
        hint = (
            f"use its kernel {other} (--kernel {other})"
            if kernelspec.read(config.kernels_dir, other)
            else f"build it there first: jupyter hpc-envs rebuild {meta.get('name')} -p {partition}"
        )
        raise errors.InvalidInput(
            "partition",
            f"Kernel {name} runs environment {meta.get('name')} as built for partition {own}, "
            f"not {partition}: {hint}.",
        )
    return name, spec


@dataclass
class Plan:
    """A checked run: everything ``sbatch`` needs, and the record kept on disk."""

    run_id: str
    folder: str
    notebook: str
    output: str
    kernel: str
    env: str
    argv: list[str]
    resources: resources.KernelResources
    parameters: dict[str, Any]
    sweep: list[dict[str, Any]] | None = None

    def tasks(self) -> list[dict[str, Any]]:
        """A sweep's tasks: each its parameters (over the common ones) and output notebook."""
        stem = self.output[: -len(".ipynb")]
        return [
            {"task": i, "parameters": {**self.parameters, **values}, "output": f"{stem}-{i}.ipynb"}
            for i, values in enumerate(self.sweep or [])
        ]

    def record(self) -> dict[str, Any]:
        log = "job-%a.log" if self.sweep else "job.log"
        return {
            "id": self.run_id,
            "notebook": self.notebook,
            "output": self.output,
            "kernel": self.kernel,
            "env": self.env,
            "argv": self.argv,
            "resources": self.resources.to_json(),
            "parameters": self.parameters,
            "log": os.path.join(self.folder, log),
            "script": os.path.join(self.folder, "job.sbatch"),
            "tasks": self.tasks() if self.sweep else None,
        }

    def script(self, config: HpcEnvs) -> str:
        """The batch script: readable, every value quoted; submit it again with ``sbatch``."""
        options = [*self.resources.srun_options(), *config.kernel_srun_options]
        runner = [sys.executable, "-m", "jupyterlab_hpc_envs.runs.execute", self.folder]
        if self.sweep:
            throttle = f"%{config.run_array_throttle}" if config.run_array_throttle > 0 else ""
            options.append(f"--array=0-{len(self.sweep) - 1}{throttle}")
        lines = [
            "#!/bin/bash",
            f"#SBATCH --job-name={JOB_NAME_PREFIX}{self.run_id}",
            *(f"#SBATCH {shlex.quote(o)}" for o in options),
            f"#SBATCH --output={shlex.quote(self.record()['log'])}",
            f"# Runs {self.notebook}",
            f"# with kernel {self.kernel} (environment {self.env}) on this job's node: the",
            "# kernel starts through the environment's launch script, which loads its modules.",
            f"# Parameters: {json.dumps(self.parameters)}",
            *(
                f"# Task {t['task']}: {json.dumps(t['parameters'])} -> {t['output']}"
                for t in self.tasks()
            ),
            f"# Output notebook: {self.output}" if not self.sweep else "",
            shlex.join(runner),
            "",
        ]
        return "\n".join(lines)


def make(config: HpcEnvs, request: Request) -> Plan:
    """Check a request (nothing written): raises :class:`errors.InvalidInput` naming the field."""
    path, nb = _notebook(request.notebook)
    chosen_kernel = request.kernel or str(nb.metadata.get("kernelspec", {}).get("name", ""))
    partition = names.partition(request.partition) if request.partition else ""
    name, spec = _kernel(config, chosen_kernel, partition)
    meta = spec["metadata"]["hpc_envs"]
    chosen = dict(spec["metadata"].get("kernel_provisioner", {}).get("config") or {})
    chosen = {k: v for k, v in chosen.items() if k in resources.FIELDS}
    chosen.update({k: v for k, v in request.resources.items() if v not in (None, "")})
    unknown = sorted(set(request.resources) - set(resources.FIELDS))
    if unknown:
        raise errors.InvalidInput(unknown[0], f"Unknown resource {unknown[0]!r}.")
    checked = resources.resolve(config, str(meta["partition"]), chosen)
    values = params.check_parameters(request.parameters)
    run_id = datetime.datetime.now().strftime("%Y%m%d-%H%M%S-") + secrets.token_hex(2)
    out_dir = os.path.abspath(request.output_dir) if request.output_dir else os.path.dirname(path)
    if not os.path.isdir(out_dir):
        raise errors.InvalidInput("output_dir", f"{out_dir} is not a folder.")
    stem = os.path.basename(path)[: -len(".ipynb")]
    return Plan(
        run_id=run_id,
        folder=os.path.join(runs_dir(config), run_id),
        notebook=path,
        output=os.path.join(out_dir, f"{stem}-run-{run_id}.ipynb"),
        kernel=name,
        env=str(meta.get("name", "")),
        argv=[str(a) for a in spec["argv"]],
        resources=checked,
        parameters=values,
        sweep=request.sweep,
    )


def submit(config: HpcEnvs, plan: Plan) -> dict[str, Any]:
    """Write the run's folder and submit its script; the record with the job's id."""
    files.private_dir(runs_dir(config))
    os.mkdir(plan.folder, 0o700)
    record = plan.record()
    script = record["script"]
    files.write_atomic(script, plan.script(config), mode=0o644)
    path = os.path.join(plan.folder, "run.json")
    files.write_atomic(path, json.dumps(record, indent=1) + "\n")  # before the job can start
    env = slurm.job_environ(dict(os.environ), drop=(config.arch_variable, "JPY_PARENT_PID"))
    done = subprocess.run(
        ["sbatch", "--parsable", script],
        env=env, capture_output=True, text=True, timeout=60, check=False,
    )  # fmt: skip
    if done.returncode != 0:
        raise errors.SlurmError(f"sbatch refused the run: {done.stderr.strip() or done.stdout}")
    record["job_id"] = done.stdout.strip().split(";")[0]
    record["submitted"] = datetime.datetime.now().timestamp()
    files.write_atomic(path, json.dumps(record, indent=1) + "\n")
    return record
