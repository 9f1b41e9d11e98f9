"""``jupyter hpc-envs``: the command line against the demo site, as a user types it."""

from __future__ import annotations

import asyncio
import json
import os
import sys

import pytest

from jupyterlab_hpc_envs import cli

from .helpers import run_code
from .test_envs_rest import IPYTHON, PYTHON, SCIPY, our_kernels, tree


async def hpc(
    *args: str, stdin: bytes | None = None, umask: int | None = None
) -> tuple[int, str, str]:
    """Run ``jupyter hpc-envs ARGS`` in a process of its own (with ``umask``); exit status,
    stdout, stderr."""

    def preexec() -> None:
        if umask is not None:
            os.umask(umask)

    proc = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "jupyterlab_hpc_envs.cli",
        *args,
        stdin=asyncio.subprocess.PIPE,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
        env=dict(os.environ),
        preexec_fn=preexec,
    )
    out, err = await asyncio.wait_for(proc.communicate(stdin), 600)
    return proc.returncode or 0, out.decode(), err.decode()


async def test_create_from_the_command_line_gives_a_kernel_that_reproduces_the_environment(
    site_env, demo_site
):
    code, out, err = await hpc(
        "create", "clitool", "-m", PYTHON, "-m", SCIPY, "--package", "icecream", "-p", "zen4"
    )
    assert code == 0, out + err
    assert "==> smoke-test" in out, "the build log streams to the terminal, its steps as steps"
    assert "    python: 3.11" in out, "the facts the build found, readable"
    assert "::hpc-envs::" not in out, "no raw progress line reaches the user"
    assert "Kernel hpcenv-clitool-zen4 registered." in out

    code, out, _ = await hpc("list", "--json")
    assert code == 0
    (env,) = json.loads(out)
    assert env["name"] == "clitool"
    assert env["builds"]["zen4"]["state"] == "ready"

    kernel_out = await run_code(
        "hpcenv-clitool-zen4", "import sys, numpy, icecream; print(sys.prefix, numpy.__file__)"
    )
    prefix, numpy_file = kernel_out.split()
    assert prefix == env["builds"]["zen4"]["path"]
    assert f"/software/zen4/{SCIPY}/" in numpy_file

    code, out, _ = await hpc("activate", "clitool")
    assert code == 0
    shell = demo_site.run(out + 'python -c "import sys; print(sys.prefix)"').stdout.strip()
    assert shell == prefix

    code, out, _ = await hpc("packages", "clitool", "--json")
    rows = {r["key"]: r for r in json.loads(out)["packages"] if not r["shadowed_by"]}
    assert rows["numpy"]["module"] == SCIPY
    assert rows["icecream"]["source"] == "venv"

    code, out, _ = await hpc("remove", "clitool")
    assert code == cli.EXIT_INPUT, "without --yes it only says what it would remove"
    assert "kernel hpcenv-clitool-zen4" in out
    code, out, _ = await hpc("remove", "clitool", "--yes")
    assert code == 0
    assert our_kernels() == []
    assert tree(site_env["VSC_DATA"]) == ["hpc-envs"]


@pytest.mark.parametrize(
    ("args", "status", "text"),
    [
        (["create", "x", "-m", "Pythn/3.11", "-p", "zen4"], cli.EXIT_NOT_FOUND, "not available"),
        (["create", "x;id", "-m", PYTHON], cli.EXIT_INPUT, "not a valid environment name"),
        (["create", "x", "-m", PYTHON, "-p", "zen9"], cli.EXIT_NOT_FOUND, "no partition"),
        (["create", "x", "-m", PYTHON, "--root", "/etc"], cli.EXIT_INPUT, "storage roots"),
        (["create", "x", "-m", "$(id)"], cli.EXIT_INPUT, "not a module name"),
        (["create", "x", "-m", PYTHON, "--package=--index-url=x"], cli.EXIT_INPUT, "option"),
        (
            ["create", "x", "-m", PYTHON, "-m", "SciPy-bundle/2022.05-foss-2022a"],
            cli.EXIT_INPUT,
            "2022a",
        ),
        (["activate", "nosuch"], cli.EXIT_NOT_FOUND, "no environment"),
        (["packages", "../../etc"], cli.EXIT_INPUT, "not a valid environment name"),
        (["register", "--path", "/etc"], cli.EXIT_INPUT, "not a venv"),
        (["remove", "nosuch", "--yes"], cli.EXIT_NOT_FOUND, "no environment"),
        (
            ["modules", "SciPy", "--python", "Python/DOES-NOT-EXIST"],
            cli.EXIT_INPUT,
            "There is no module Python/DOES-NOT-EXIST on partition zen4. The Python modules: "
            "`jupyter hpc-envs modules Python/`.",
        ),
    ],
)
async def test_bad_input_on_the_command_line_says_why_with_its_exit_status_and_creates_nothing(
    site_env, args, status, text
):
    code, out, err = await hpc(*args)
    assert code == status, out + err
    assert text in err
    assert "Traceback" not in err
    assert tree(site_env["VSC_DATA"]) in ([], ["hpc-envs"])
    assert our_kernels() == []


async def test_a_second_create_of_a_name_is_a_conflict(site_env):
    code, out, err = await hpc("create", "twice", "-m", PYTHON, "-m", IPYTHON, "-p", "zen4", "-q")
    assert code == 0, out + err
    code, _, err = await hpc("create", "Twice", "-m", PYTHON, "-p", "zen4")
    assert code == cli.EXIT_CONFLICT
    assert "exists already" in err


async def test_a_failed_build_exits_1_with_the_reason(site_env):
    code, out, err = await hpc(
        "create",
        "bad",
        "-m",
        PYTHON,
        "-m",
        IPYTHON,
        "-p",
        "zen4",
        "--package",
        "no-such-distribution-hpc-envs==1",
    )
    assert code == cli.EXIT_TASK
    assert "installing the requested packages failed" in err
    assert "no-such-distribution-hpc-envs" in out, "pip's own words are in the streamed log"
    assert our_kernels() == []


async def test_a_failed_environment_is_reported_then_mended_by_creating_it_again(site_env):
    # Given a create with a misspelled package
    misspelled = "tabulatte-engine-typo"
    code, out, err = await hpc(
        "create", "engine-mend", "-m", PYTHON, "-m", IPYTHON, "-p", "zen4", "--package", misspelled
    )

    # Then the failure names the package, what to do, and where the log is
    assert code == cli.EXIT_TASK, out + err
    assert f"pip found no distribution for {misspelled}" in err
    assert f"Change: {misspelled}" in err
    log = err.split("The log: ")[1].splitlines()[0]
    assert os.path.isfile(log)
    with open(log, encoding="utf-8") as f:
        assert misspelled in f.read()

    # And the doctor reports the failed build, exiting 1
    code, out, _ = await hpc("doctor", "--json")
    assert code == 1
    (failed,) = [p for p in json.loads(out)["problems"] if p["code"] == "failed-build"]
    assert misspelled in failed["message"]
    assert log in failed["message"]

    # When the same name is created again with the spelling corrected, quietly
    code, out, err = await hpc(
        "create",
        "engine-mend",
        "-m",
        PYTHON,
        "-m",
        IPYTHON,
        "-p",
        "zen4",
        "--package",
        "tabulate",
        "-q",
    )

    # Then it replaced the failed one and printed only its kernel's name
    assert code == 0, out + err
    assert out.strip() == "hpcenv-engine-mend-zen4"
    code, out, _ = await hpc("list", "--json")
    (env,) = json.loads(out)
    assert env["packages"] == ["tabulate"]
    assert env["builds"]["zen4"]["state"] == "ready"
    code, out, _ = await hpc("doctor", "--json")
    assert code == 0
    assert "failed-build" not in out
    # And a working environment's name stays taken
    code, _, err = await hpc("create", "engine-mend", "-m", PYTHON, "-p", "zen4")
    assert code == cli.EXIT_CONFLICT
    assert "exists already" in err


def test_every_positional_argument_has_help():
    subparsers = next(a for a in cli.parser()._actions if a.choices and a.dest == "command")
    missing = [
        f"{name} {action.dest}"
        for name, sub in subparsers.choices.items()
        for action in sub._actions
        if not action.option_strings and not action.help
    ]
    assert missing == []


async def test_the_doctor_reports_the_stray_user_site_and_exits_0_without_errors(site_env):
    code, out, _ = await hpc("doctor", "--json")
    assert code == 0
    problems = json.loads(out)["problems"]
    assert "user-site" in [p["code"] for p in problems]
    assert all(p["level"] != "error" for p in problems)


async def test_the_command_line_expands_a_tilde_but_no_variable(site_env, monkeypatch):
    # Given a path typed with ~ that the shell did not expand (--path=~/...), and one with a variable
    monkeypatch.setenv("HPC_ENVS_TEST_SECRET", "s3cr3t-cli")
    home = os.environ["HOME"]

    # When each is adopted
    code, _, tilde = await hpc("register", "--path=~/no-such-venv")
    var_code, _, var = await hpc("register", "--path=$HOME/$HPC_ENVS_TEST_SECRET")

    # Then ~ became the home folder (the venv is looked for there), and the variable stayed text
    assert (code, tilde.strip()) == (
        cli.EXIT_INPUT,
        f"hpc-envs: {home}/no-such-venv is not a venv (it has no pyvenv.cfg).",
    )
    assert var_code == cli.EXIT_INPUT
    assert "is not an absolute path" in var
    assert "s3cr3t-cli" not in var
