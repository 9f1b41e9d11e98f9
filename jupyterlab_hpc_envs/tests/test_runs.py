"""Notebooks run as Slurm batch jobs (``jupyter hpc-envs submit``), on the demo site's real Slurm.

An environment is built for zen2 (Python and IPython from modules); notebooks are submitted to it
by the CLI and executed by nbclient inside the job, with the environment's kernel started on the
job's node through its launch script. Nothing is mocked.
"""

from __future__ import annotations

import asyncio
import json
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import nbformat
import pytest

from .servers import ServerProcess

PYTHON = "Python/3.11.7-GCCcore-12.3.0"
IPYTHON = "IPython/8.14.0-GCCcore-12.3.0"
ENV = "runs-demo"
KERNEL = f"hpcenv-{ENV}-zen2"


@pytest.fixture(scope="module")
def site(demo_site, tmp_path_factory) -> dict[str, Any]:
    """The environment ``runs-demo`` built for zen2 only; the CLI's environment to use it."""
    root = tmp_path_factory.mktemp("runs")
    (root / "data").mkdir()
    (root / "config").mkdir()
    limits = {
        "HpcEnvs": {
            "kernel_limits": {"time": "2:00:00"},
            "run_array_limit": 4,
            "run_array_throttle": 2,
        }
    }
    (root / "config" / "jupyter_server_config.json").write_text(json.dumps(limits))
    env = dict(
        demo_site.env,
        VSC_DATA=str(root / "data"),
        JUPYTER_DATA_DIR=str(root / "jupyter"),
        JUPYTER_CONFIG_DIR=str(root / "config"),
    )
    created = cli(env, "create", ENV, "--module", PYTHON, "--module", IPYTHON,
                  "--partition", "zen2", "--quiet")  # fmt: skip
    assert created.returncode == 0, created.stdout + created.stderr
    return {"env": env, "root": root}


def cli(env: dict[str, str], *args: str, timeout: float = 600) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "jupyterlab_hpc_envs.cli", *args],
        env=env, capture_output=True, text=True, timeout=timeout, check=False,
    )  # fmt: skip


def notebook(path: Path, *sources: str, kernel: str = KERNEL, parameters: str = "") -> Path:
    """A notebook of code cells; ``parameters`` becomes a first cell tagged ``parameters``."""
    nb = nbformat.v4.new_notebook()
    nb.metadata["kernelspec"] = {"name": kernel, "display_name": kernel, "language": "python"}
    if parameters:
        nb.cells.append(nbformat.v4.new_code_cell(parameters, metadata={"tags": ["parameters"]}))
    nb.cells += [nbformat.v4.new_code_cell(s) for s in sources]
    nbformat.write(nb, path)
    return path


def text_of(path: str) -> str:
    nb = nbformat.read(path, as_version=4)
    return "".join(o.get("text", "") for c in nb.cells for o in c.get("outputs", []))


def runs_folder(site: dict[str, Any]) -> Path:
    return site["root"] / "jupyter" / "hpc_envs" / "runs"


def test_submit_runs_on_zen2_in_the_environment_with_parameters(site, tmp_path):
    path = notebook(
        tmp_path / "analysis.ipynb",
        "import os\nprint('SLURM_JOB_PARTITION=' + os.environ['SLURM_JOB_PARTITION'])",
        "import IPython\nprint('IPython from', IPython.__file__)",
        "print(f'alpha={alpha!r} label={label!r}')",
        parameters="alpha = 1.0\nlabel = 'default'",
    )
    done = cli(site["env"], "submit", str(path), "-p", "alpha=0.25", "-p", "label=run a",
               "--wait", "--json")  # fmt: skip
    assert done.returncode == 0, done.stdout + done.stderr
    run = json.loads(done.stdout)
    assert run["state"] == "SUCCEEDED"
    assert run["resources"]["partition"] == "zen2"
    out = run["output"]
    assert Path(out).parent == tmp_path
    assert Path(out).name == f"analysis-run-{run['id']}.ipynb"
    text = text_of(out)
    assert "SLURM_JOB_PARTITION=zen2" in text
    assert "alpha=0.25 label='run a'" in text
    # IPython is the module's, from the zen2 software tree, not the server's own.
    ipython = next(x for x in text.splitlines() if x.startswith("IPython from"))
    assert "/software/zen2/" in ipython or "/zen2/" in ipython, ipython
    assert "IPython/8.14.0" in ipython, ipython
    # The script is kept beside the record, readable, and the injected cell follows the parameters.
    script = Path(run["script"]).read_text()
    assert "#SBATCH --partition=zen2" in script
    assert "runs.execute" in script
    cells = nbformat.read(out, as_version=4).cells
    assert cells[1].metadata["tags"] == ["injected-parameters"]
    assert "alpha = 0.25" in cells[1].source


def test_failing_notebook_is_reported_with_its_cell_and_keeps_its_output(site, tmp_path):
    path = notebook(tmp_path / "broken.ipynb", "print('before the failure')",
                    "raise ValueError('boom at step 2')", "print('never')")  # fmt: skip
    done = cli(site["env"], "submit", str(path), "--wait", "--json")
    assert done.returncode == 1, done.stdout + done.stderr
    run = json.loads(done.stdout)
    assert run["state"] == "FAILED"
    assert run["failure"]["cell"] == 1
    assert run["failure"]["error"] == "ValueError: boom at step 2"
    text = text_of(run["output"])
    assert "before the failure" in text
    assert "never" not in text
    listed = cli(site["env"], "runs")
    assert f"{run['id']}  job {run['job_id']}  FAILED" in listed.stdout
    assert "cell 1: ValueError: boom at step 2" in listed.stdout


def test_a_sweep_is_one_job_array_with_one_output_per_parameter_set(site, tmp_path):
    path = notebook(
        tmp_path / "sweep.ipynb",
        "import os\nprint(f'task={os.environ[\"SLURM_ARRAY_TASK_ID\"]} alpha={alpha} n={n}')",
        parameters="alpha = 0\nn = 0",
    )
    (tmp_path / "points.yaml").write_text("- {alpha: 0.1}\n- {alpha: 0.2}\n- {alpha: 0.3, n: 7}\n")
    done = cli(site["env"], "submit", str(path), "--sweep", str(tmp_path / "points.yaml"),
               "-p", "n=1", "--wait", "--json")  # fmt: skip
    assert done.returncode == 0, done.stdout + done.stderr
    run = json.loads(done.stdout)
    assert run["state"] == "SUCCEEDED"
    assert "#SBATCH --array=0-2%2" in Path(run["script"]).read_text()
    assert [t["state"] for t in run["tasks"]] == ["SUCCEEDED"] * 3
    expected = ["task=0 alpha=0.1 n=1", "task=1 alpha=0.2 n=1", "task=2 alpha=0.3 n=7"]
    for task, line in zip(run["tasks"], expected, strict=True):
        assert task["output"].endswith(f"sweep-run-{run['id']}-{task['task']}.ipynb")
        assert line in text_of(task["output"])


def test_a_grid_over_the_array_limit_is_refused_before_submitting(site, tmp_path):
    path = notebook(tmp_path / "grid.ipynb", "print(1)")
    (tmp_path / "grid.json").write_text(json.dumps({"a": [1, 2, 3], "b": [1, 2]}))
    done = cli(site["env"], "submit", str(path), "--sweep", str(tmp_path / "grid.json"),
               timeout=60)  # fmt: skip
    assert done.returncode == 2, done.stdout + done.stderr
    assert "6 parameter sets; this site allows at most 4" in done.stderr


@pytest.mark.parametrize(
    ("args", "kernel", "message"),
    [
        (["-p", "1x=3"], KERNEL, "not a parameter name"),
        (["-p", "alpha"], KERNEL, "NAME=VALUE"),
        (["-p", "when=2024-01-01"], KERNEL, "not a JSON/YAML literal"),
        ([], "python3", "not a kernel of an HPC environment"),
        (["--partition", "zen4"], KERNEL, "built for partition zen2, not zen4"),
        (["--time", "5:00:00"], KERNEL, "at most 2:00:00"),
        (["--cpus", "0"], KERNEL, "at least 1"),
    ],
)
def test_bad_input_is_refused_before_anything_is_submitted(site, tmp_path, args, kernel, message):
    path = notebook(tmp_path / "n.ipynb", "print(1)", kernel=kernel)
    before = set(runs_folder(site).iterdir()) if runs_folder(site).exists() else set()
    done = cli(site["env"], "submit", str(path), *args, timeout=60)
    assert done.returncode == 2, done.stdout + done.stderr
    assert message in done.stderr
    after = set(runs_folder(site).iterdir()) if runs_folder(site).exists() else set()
    assert after == before


def squeue_ids(env: dict[str, str], job_id: str) -> str:
    return subprocess.run(
        ["squeue", "-h", "-j", job_id, "-o", "%i"],
        env=env, capture_output=True, text=True, check=False,
    ).stdout.strip()  # fmt: skip


def test_a_pending_run_is_listed_with_its_reason_cancelled_and_run_again(site, tmp_path):
    # Our own job pends by its own means: sbatch --begin an hour from now (Slurm's reason BeginTime).
    later = tmp_path / "config"
    later.mkdir()
    options = {"HpcEnvs": {"kernel_srun_options": ["--begin=now+1hour"]}}
    (later / "jupyter_server_config.json").write_text(json.dumps(options))
    env = dict(site["env"], JUPYTER_CONFIG_DIR=str(later))
    path = notebook(tmp_path / "later.ipynb", "print(f'x={x}')", parameters="x = 0")
    done = cli(env, "submit", str(path), "-p", "x=5", "--json", timeout=60)
    assert done.returncode == 0, done.stdout + done.stderr
    run = json.loads(done.stdout)
    listed = json.loads(cli(env, "runs", "--json").stdout)
    mine = next(v for v in listed if v["id"] == run["id"])
    assert mine["state"] == "PENDING"
    assert mine["reason"] == "BeginTime"
    assert squeue_ids(env, run["job_id"]) == run["job_id"]

    cancelled = cli(env, "runs", "--cancel", run["id"], "--json")
    assert cancelled.returncode == 0, cancelled.stderr
    assert squeue_ids(env, run["job_id"]) == ""
    mine = next(v for v in json.loads(cancelled.stdout) if v["id"] == run["id"])
    assert mine["state"] == "ENDED"
    assert "ended before the notebook did" in mine["reason"]

    # Run again (here, without the --begin of that configuration): a new run, same parameters.
    again = cli(site["env"], "runs", "--again", run["id"], "--json")
    assert again.returncode == 0, again.stderr
    newer = json.loads(again.stdout)[0]
    assert newer["id"] != run["id"]
    assert newer["parameters"] == {"x": 5}
    assert cli(site["env"], "runs", "--cancel", newer["id"]).returncode == 0


def test_an_unknown_run_is_not_found(site):
    done = cli(site["env"], "runs", "--cancel", "20990101-000000-abcd", timeout=60)
    assert done.returncode == 3
    assert "There is no run" in done.stderr


async def test_rest_submits_refuses_bad_input_and_lists_runs_after_a_server_restart(site, tmp_path):
    notebook(tmp_path / "rest.ipynb", "print(f'y={y}')", parameters="y = 0")
    server = ServerProcess(site["env"], tmp_path)
    server.start()
    try:
        await server.ready()
        code, bad = await server.call("POST", "hpc-envs/api/runs", {"notebook": "../out.ipynb"})
        assert (code, bad["field"]) == (400, "notebook")
        body = {"notebook": "rest.ipynb", "parameters": {"import os": 1}}
        code, bad = await server.call("POST", "hpc-envs/api/runs", body)
        assert (code, bad["field"]) == (400, "parameters")
        body = {"notebook": "rest.ipynb", "parameters": {"y": [1, "two"]}}
        code, run = await server.call("POST", "hpc-envs/api/runs", body)
        assert code == 201, run
    finally:
        server.stop()
    again = ServerProcess(site["env"], tmp_path)  # a new server: the run is known from disk
    again.start()
    try:
        await again.ready()
        deadline = time.monotonic() + 300
        while True:
            code, view = await again.call("GET", f"hpc-envs/api/runs/{run['id']}")
            assert code == 200, view
            if view["state"] in ("SUCCEEDED", "FAILED", "ENDED") or time.monotonic() > deadline:
                break
            await asyncio.sleep(2)
        assert view["state"] == "SUCCEEDED", view
        code, listed = await again.call("GET", "hpc-envs/api/runs")
        assert run["id"] in [r["id"] for r in listed["runs"]]
        # The notebooks as JupyterLab opens them: relative to the server's folder.
        assert (run["notebook_path"], view["notebook_path"]) == ("rest.ipynb", "rest.ipynb")
        assert view["output_path"] == Path(run["output"]).name
        # The generated script and the job's log, readable through the API.
        code, script = await again.call("GET", f"hpc-envs/api/runs/{run['id']}/script")
        assert code == 200, script
        assert script["exists"]
        assert "#SBATCH --partition=zen2" in script["text"]
        assert script["path"] == run["script"]
        code, log = await again.call("GET", f"hpc-envs/api/runs/{run['id']}/log")
        assert (code, log["exists"], log["path"]) == (200, True, run["log"])
        code, bad = await again.call("GET", f"hpc-envs/api/runs/{run['id']}x/script")
        assert code == 404, bad
    finally:
        again.stop()
    assert "y=[1, 'two']" in text_of(run["output"])


def test_a_long_job_log_is_read_from_its_end_only(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A job's log shown in JupyterLab is its last MAX_FILE_CHARS bytes (a log of gigabytes is not
    read into the server's memory); a script not written is ``exists: false``."""
    from ..runs import records, rest

    log = tmp_path / "job.log"
    log.write_bytes(b"x" * (rest.MAX_FILE_CHARS + 10) + "naïve end\n".encode())
    record = {"script": str(tmp_path / "job.sbatch"), "log": str(log)}
    monkeypatch.setattr(records, "find", lambda config, run_id: record)
    shown = rest.read_file(None, "r1", "log", None)  # type: ignore[arg-type]
    assert (shown["exists"], shown["truncated"]) == (True, True)
    assert shown["text"].endswith("naïve end\n")
    assert len(shown["text"].encode()) == rest.MAX_FILE_CHARS
    missing = rest.read_file(None, "r1", "script", None)  # type: ignore[arg-type]
    assert missing == {"path": record["script"], "text": "", "exists": False, "truncated": False}
