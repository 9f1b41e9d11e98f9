"""Locks and drift on the demo site: a build's lock, ``create --from-lock`` rebuilding the same
environment, and a build gone stale when its module tree or its packages change under it.

The drift tests build on a *copy* of the demo's zen4 module tree named by a site description of
the test's own, so that a modulefile can be renamed without touching the shared trees.
"""

from __future__ import annotations

import asyncio
import json
import re
import shutil
import subprocess

import pytest

from jupyterlab_hpc_envs import cli
from jupyterlab_hpc_envs.envs import lock as locks

from .helpers import call, run_code
from .test_cli import hpc
from .test_envs_rest import PYTHON

PACKAGE = "tabulate==0.8.10"


# First in the file: this module's one test with a server in the test process; run after the
# command-line tests in the same process, its server's teardown was once seen to hang.
async def test_a_bad_lock_over_rest_is_a_400_naming_the_field(site_env, jp_fetch):
    status, body = await call(
        jp_fetch,
        "POST",
        "envs",
        body={"lock": {"lock": locks.TAG, "format": 1, "kind": "venv", "modules": "x"}},
        ok=False,
    )
    assert status == 400
    assert body["field"] == "lock.modules"
    assert list(site_env["VSC_DATA"].iterdir()) == []


async def test_a_lock_rebuilds_the_same_environment(site_env, tmp_path):
    code, out, err = await hpc(
        "create", "lock-rt", "-m", PYTHON, "--package", PACKAGE, "-p", "zen4"
    )
    assert code == 0, out + err
    assert "Lock written to " in out
    code, out, err = await hpc("lock", "lock-rt", "-p", "zen4", "--json")
    assert code == 0, err
    first = json.loads(out)
    assert first["modules"] == [PYTHON]
    assert first["loaded_modules"][-1] == PYTHON
    assert "GCCcore/12.3.0" in first["loaded_modules"], "the modules' own dependencies are listed"
    assert first["python"]["version"].startswith("3.11.")
    assert first["arch"] == "zen4"
    assert first["kind"] == "venv"
    rows = {d["name"].lower(): d for d in first["distributions"]}
    assert rows["tabulate"] == {
        "name": "tabulate",
        "version": "0.8.10",
        "source": "venv",
        "module": None,
    }
    assert any(d["source"] == "base" for d in first["distributions"])

    saved = tmp_path / "lock.json"
    saved.write_text(out)
    code, out, err = await hpc("remove", "lock-rt", "--yes")
    assert code == 0, out + err
    code, out, err = await hpc("create", "--from-lock", str(saved), "--quiet")
    assert code == 0, out + err
    code, out, err = await hpc("lock", "lock-rt", "-p", "zen4", "--json")
    assert code == 0, err
    second = json.loads(out)
    # Only the time it was taken and the file times and sizes (stamps) differ.
    assert locks.comparable(second) == locks.comparable(first)
    assert second["created"] > first["created"]


@pytest.mark.parametrize(
    ("edit", "kind_args", "field"),
    [
        (lambda lock: lock.update(lock="something else"), [], "field lock:"),
        (lambda lock: lock.update(modules=["$(id)"]), [], "field lock.modules:"),
        (
            lambda lock: lock["distributions"].append(
                {"name": "x;id", "version": "1", "source": "venv"}
            ),
            [],
            "field lock.distributions[2]:",
        ),
        (lambda lock: None, ["--conda"], "not of a conda one"),
    ],
)
async def test_a_bad_lock_is_refused_naming_the_field_and_creates_nothing(
    site_env, tmp_path, edit, kind_args, field
):
    lock = {
        "lock": locks.TAG,
        "format": locks.FORMAT,
        "kind": "venv",
        "name": "lock-bad",
        "partition": "zen4",
        "modules": [PYTHON],
        "distributions": [
            {"name": "tabulate", "version": "0.8.10", "source": "venv", "module": None},
            {"name": "pip", "version": "23.0", "source": "venv", "module": None},
        ],
    }
    edit(lock)
    path = tmp_path / "bad.json"
    path.write_text(json.dumps(lock))
    code, out, err = await hpc("create", "--from-lock", str(path), *kind_args)
    assert code == cli.EXIT_INPUT, out + err
    assert field in err
    assert list(site_env["VSC_DATA"].iterdir()) == []


@pytest.fixture
def own_tree(demo_site, site_env, tmp_path, monkeypatch):
    """A copy of the demo's zen4 module tree, named for partition zen4 by a site description of
    the test's own (zen2 keeps the shared tree) and the MODULEPATH of the test's processes."""
    partitions = demo_site.partitions
    tree = tmp_path / "modules-zen4"
    shutil.copytree(partitions["zen4"]["modulepath"][0], tree)
    partitions["zen4"]["modulepath"] = [str(tree)]
    site_file = tmp_path / "site.json"
    site_file.write_text(json.dumps({"partitions": partitions}))
    monkeypatch.setenv("HPC_ENVS_SITE_FILE", str(site_file))
    monkeypatch.setenv("MODULEPATH", str(tree))  # what the builds and kernels load from
    return tree


async def stale_problems(name: str) -> tuple[str, list[dict[str, str]]]:
    code, out, err = await hpc("list", "--json")
    assert code == 0, err
    (env,) = [e for e in json.loads(out) if e["name"] == name]
    build = env["builds"]["zen4"]
    return build["state"], build["problems"]


async def test_a_pip_install_in_a_terminal_and_a_hidden_module_make_the_build_stale(own_tree):
    code, out, err = await hpc("create", "lock-drift", "-m", PYTHON, "-p", "zen4", "--quiet")
    assert code == 0, out + err
    assert await stale_problems("lock-drift") == ("ready", [])
    code, out, _ = await hpc("doctor", "--json")
    assert not [p for p in json.loads(out)["problems"] if p["code"] == "stale"]

    code, out, _ = await hpc("lock", "lock-drift", "--partition", "zen4")
    venv = json.loads(out)["stamps"]["site"][0]["path"].split("/lib/")[0]
    # The venv's own pip, run in a terminal (not through jupyter hpc-envs).
    argv = [f"{venv}/bin/python", "-m", "pip", "install", "-q", PACKAGE]
    await asyncio.to_thread(subprocess.run, argv, check=True, timeout=300)
    state, problems = await stale_problems("lock-drift")
    assert state == "stale"
    assert [(p["kind"], p["subject"]) for p in problems] == [("packages", "tabulate")]
    assert "0.8.10 was installed outside" in problems[0]["message"]

    name, version = PYTHON.split("/")
    (own_tree / name / f"{version}.lua").rename(own_tree / name / f"{version}.lua.retired")
    state, problems = await stale_problems("lock-drift")
    assert state == "stale"
    assert ("module", PYTHON) in [(p["kind"], p["subject"]) for p in problems]
    code, out, _ = await hpc("doctor")
    assert code != 0
    assert f"lock-drift (zen4) is stale: Module {PYTHON} is gone" in out
    # Its kernel is refused with that reason and the fix, not left to die on a missing module.
    with pytest.raises(
        Exception, match=f"cannot start: Module {re.escape(PYTHON)} is gone.*migrate"
    ):
        await run_code("hpcenv-lock-drift-zen4", "print(1)")
