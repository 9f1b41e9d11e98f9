"""The launch script, run for real with bash on a real venv (no module system needed here)."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from jupyterlab_hpc_envs.envs import scripts

CTX = scripts.ScriptContext(module_kind="none", module_init="", arch_variable="HPC_TEST_ARCH")


@pytest.fixture(scope="module")
def venv(tmp_path_factory):
    prefix = tmp_path_factory.mktemp("env") / "venv-zen4"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(prefix)], check=True)
    return prefix


def write_launch(path, prefix, **kw):
    text = scripts.launch_script(
        CTX,
        name=kw.get("name", "science"),
        kind="venv",
        arch=kw.get("arch", "zen4"),
        prefix=str(prefix),
        launch=str(path),
        modules=kw.get("modules", []),
    )
    path.write_text(text)
    path.chmod(0o755)
    return path


def run(argv, **env):
    environ = {k: v for k, v in os.environ.items() if k != "HPC_TEST_ARCH"}
    environ.update(env)
    return subprocess.run(argv, capture_output=True, text=True, env=environ)


def test_running_a_command_through_the_script_runs_it_inside_the_venv(venv, tmp_path):
    launch = write_launch(tmp_path / "launch.sh", venv)
    result = run(
        [
            str(launch),
            "python",
            "-c",
            "import sys, os; print(sys.prefix); print(os.environ['PYTHONNOUSERSITE'])",
        ]
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == [str(venv), "1"]


def test_sourcing_the_script_activates_the_current_shell(venv, tmp_path):
    launch = write_launch(tmp_path / "launch.sh", venv)
    result = run(["bash", "-c", f"source {launch} && echo $VIRTUAL_ENV $HPC_ENVS_ACTIVE"])
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == [str(venv), "science:zen4"]


def test_the_script_refuses_a_node_of_another_architecture(venv, tmp_path):
    launch = write_launch(tmp_path / "launch.sh", venv)
    result = run([str(launch), "true"], HPC_TEST_ARCH="zen2")
    assert result.returncode == scripts.EXIT_WRONG_ARCH
    assert "built for zen4" in result.stderr
    assert "zen2" in result.stderr


def test_the_script_says_so_when_the_build_is_gone(tmp_path):
    launch = write_launch(tmp_path / "launch.sh", tmp_path / "missing")
    result = run([str(launch), "true"])
    assert result.returncode == scripts.EXIT_NO_ENV
    assert "Rebuild" in result.stderr


def test_hostile_values_stay_data_in_the_script(venv, tmp_path):
    # Names are validated before they reach a script; quoting is the second line of defence.
    marker = tmp_path / "pwned"
    launch = write_launch(
        tmp_path / "launch.sh",
        venv,
        name=f"x'; touch {marker}; '",
        modules=[f"$(touch {marker})", f"`touch {marker}`"],
    )
    result = run(["bash", "-n", str(launch)])
    assert result.returncode == 0, result.stderr
    run([str(launch), "true"])
    assert not marker.exists()
