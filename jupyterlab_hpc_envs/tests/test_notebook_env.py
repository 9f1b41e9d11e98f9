"""Notebooks that carry their environment (``envs/notebook.py``, ``envs/recreate.py``).

A notebook saved through the server's contents API with one of our kernels gets
``metadata.hpc_envs`` (the environment's name, modules, partition, arch and lock); one with
another kernel does not. Another real Unix user (``vo.bob``, see users.py) copies the notebook,
runs ``jupyter hpc-envs recreate`` and gets an environment whose kernel imports the same package
at the same version, and nbconvert executes the notebook with it. The environment removed, the
notebook keeps its metadata and ``POST recreations`` makes it again. A conda environment's notebook
carries its explicit package list and is recreated with it. Bad notebooks and requests are refused
naming the field, creating nothing.
"""

from __future__ import annotations

import json
import os
import shutil
from fnmatch import fnmatch
from pathlib import Path
from typing import Any

import pytest
from traitlets.config import Config

from jupyterlab_hpc_envs import cli
from jupyterlab_hpc_envs.envs import kernelspec
from jupyterlab_hpc_envs.envs import lock as locks

from .helpers import call, run_code, wait_task
from .test_cli import hpc
from .test_conda import conda_channel, conda_site  # noqa: F401  (fixtures)
from .test_envs_rest import PYTHON
from .test_ownership import _member_env, as_member, vo_root  # noqa: F401
from .users import vo  # noqa: F401

PACKAGE = "tabulate==0.8.10"
CODE = "import sys, tabulate\nprint('tabulate', tabulate.__version__, sys.prefix)"


def notebook(kernel: str, **metadata: Any) -> dict[str, Any]:
    """A one-cell notebook for ``kernel``."""
    cell = {"cell_type": "code", "execution_count": None, "id": "c1", "metadata": {}, "outputs": []}
    return {
        "cells": [{**cell, "source": CODE}],
        "metadata": {
            "kernelspec": {"name": kernel, "display_name": kernel, "language": "python"},
            **metadata,
        },
        "nbformat": 4,
        "nbformat_minor": 5,
    }


async def save(jp_fetch, path: str, content: dict[str, Any]) -> dict[str, Any]:
    """Save ``content`` through the contents API, then read back what the server wrote."""
    body = json.dumps({"type": "notebook", "format": "json", "content": content})
    await jp_fetch("api", "contents", path, method="PUT", body=body)
    response = await jp_fetch("api", "contents", path, method="GET")
    saved: dict[str, Any] = json.loads(response.body)["content"]
    return saved


def small_lock(name: str, modules: list[str]) -> dict[str, Any]:
    """A lock of a build with ``modules`` and :data:`PACKAGE` (as the bad-input tests need)."""
    package, version = PACKAGE.split("==")
    return {
        "lock": locks.TAG,
        "format": locks.FORMAT,
        "kind": "venv",
        "name": name,
        "partition": "zen4",
        "modules": modules,
        "distributions": [{"name": package, "version": version, "source": "venv", "module": None}],
    }


def planted(kernels: Path, tmp_path: Path, name: str) -> str:
    """A kernelspec of ours whose build folder holds a lock (no build: for the hook's wiring)."""
    prefix = tmp_path / f"{name}-build"
    prefix.mkdir()
    locks.write(str(prefix), {**small_lock(name, [PYTHON]), "created": 1.0, "stamps": {}})
    kernel = kernelspec.kernel_name(name, "zen4")
    spec = kernelspec.spec(
        env=name,
        kind="venv",
        home=str(tmp_path),
        prefix=str(prefix),
        launch="/bin/false",
        arch="zen4",
        partition="zen4",
        modules=[PYTHON],
    )
    kernelspec.write(str(kernels), kernel, spec)
    return kernel


@pytest.fixture
def jp_server_config(jp_server_config, request):
    """The server's configuration, with ``request.param`` merged in (indirect parametrization)."""
    jp_server_config.merge(Config(getattr(request, "param", {})))
    return jp_server_config


async def test_the_metadata_is_written_through_the_contents_api_and_can_be_turned_off(
    site_env, jp_fetch, jp_data_dir, tmp_path
):
    kernel = planted(jp_data_dir / "kernels", tmp_path, "nbenv-planted")
    saved = await save(jp_fetch, "planted.ipynb", notebook(kernel))
    carried = saved["metadata"]["hpc_envs"]
    assert carried["lock"] == locks.comparable(locks.read(str(tmp_path / "nbenv-planted-build")))
    assert (carried["name"], carried["modules"], carried["kernel"]) == (
        "nbenv-planted",
        [PYTHON],
        kernel,
    )


@pytest.mark.parametrize(
    "jp_server_config", [{"HpcEnvs": {"notebook_metadata": False}}], indirect=True
)
async def test_with_notebook_metadata_off_nothing_is_added(
    site_env, jp_fetch, jp_data_dir, tmp_path
):
    kernel = planted(jp_data_dir / "kernels", tmp_path, "nbenv-off")
    saved = await save(jp_fetch, "off.ipynb", notebook(kernel))
    assert "hpc_envs" not in saved["metadata"]


async def test_a_notebook_travels_to_a_colleague_and_comes_back_after_removal(
    site_env,
    jp_fetch,
    jp_root_dir,
    vo_root,  # noqa: F811
    vo,  # noqa: F811
    demo_site,
):
    code, out, err = await hpc("create", "nbenv-carried", "-m", PYTHON, "--package", PACKAGE)
    assert code == 0, out + err
    kernel = kernelspec.kernel_name("nbenv-carried", "zen4")
    code, out, err = await hpc("lock", "nbenv-carried", "-p", "zen4")
    assert code == 0, err
    lock = json.loads(out)

    saved = await save(jp_fetch, "carried.ipynb", notebook(kernel))
    carried = saved["metadata"]["hpc_envs"]
    assert carried["version"] == 1
    assert (carried["name"], carried["kind"], carried["partition"], carried["arch"]) == (
        "nbenv-carried",
        "venv",
        "zen4",
        "zen4",
    )
    assert carried["modules"] == [PYTHON]
    assert "GCCcore/12.3.0" in carried["loaded_modules"], "the modules as loaded, dependencies too"
    assert carried["python"] == lock["python"]["version"]
    assert carried["lock"] == locks.comparable(lock), "the lock without this machine's stamps"
    other = await save(jp_fetch, "other.ipynb", notebook("python3"))
    assert "hpc_envs" not in other["metadata"], "a notebook with another kernel is untouched"

    await colleague_recreates(vo, vo_root, demo_site, jp_root_dir / "carried.ipynb", lock)

    # Removed here: the notebook keeps what it carried, and POST recreations makes it again.
    code, out, err = await hpc("remove", "nbenv-carried", "--yes")
    assert code == 0, out + err
    again = await save(jp_fetch, "carried.ipynb", saved)
    assert again["metadata"]["hpc_envs"] == carried
    status, plan = await call(
        jp_fetch, "POST", "recreations", body={"path": "carried.ipynb", "dry_run": True}
    )
    assert status == 200
    assert plan["name"] == "nbenv-carried"
    assert plan["kernel"] == kernel
    assert plan["modules"] == [
        {"from": PYTHON, "to": PYTHON, "reason": "present here, generation 2023a"}
    ]
    assert PACKAGE in plan["packages"], "the venv's packages pinned to their versions"
    status, answer = await call(jp_fetch, "POST", "recreations", body={"path": "carried.ipynb"})
    assert status == 202
    record = await wait_task(jp_fetch, answer["task"]["id"])
    assert record["state"] == "succeeded", record
    assert "tabulate 0.8.10" in await run_code(kernel, CODE)
    code, out, err = await hpc("lock", "nbenv-carried", "-p", "zen4")
    assert locks.comparable(json.loads(out)) == locks.comparable(lock), "the same environment"

    status, taken = await call(
        jp_fetch, "POST", "recreations", body={"path": "carried.ipynb", "dry_run": True}, ok=False
    )
    assert (status, taken["field"]) == (409, "name")


async def colleague_recreates(vo, vo_root, demo_site, path: Path, lock: dict[str, Any]) -> None:  # noqa: F811
    """``vo.bob`` copies the notebook, recreates its environment and runs it with nbconvert."""
    bob = vo.bob
    env = _member_env(bob, demo_site.env, vo_root)
    as_member(bob, vo, ["mkdir", "-p", env["VSC_DATA"]], env)
    copy = bob.home / "carried.ipynb"
    shutil.copy(path, copy)
    os.chown(copy, bob.uid, bob.gid)

    dry = as_member(bob, vo, ["jupyter", "hpc-envs", "recreate", str(copy), "--dry-run"], env)
    assert dry.returncode == 0, dry.stdout + dry.stderr
    assert f"  module {PYTHON}\n" in dry.stdout, dry.stdout + dry.stderr
    assert f"package {PACKAGE}" in dry.stdout
    assert not (bob.home / "data" / "hpc-envs").exists(), "a dry run creates nothing"
    made = as_member(bob, vo, ["jupyter", "hpc-envs", "recreate", str(copy), "--quiet"], env)
    assert made.returncode == 0, made.stdout + made.stderr
    assert made.stdout.split() == ["hpcenv-nbenv-carried-zen4"]
    listed = as_member(bob, vo, ["jupyter", "hpc-envs", "lock", "nbenv-carried"], env)
    assert listed.returncode == 0, listed.stderr
    theirs = json.loads(listed.stdout)
    mine = {d["name"]: d["version"] for d in lock["distributions"] if d["source"] == "venv"}
    assert {d["name"]: d["version"] for d in theirs["distributions"] if d["source"] == "venv"} == (
        mine
    ), "the same packages at the same versions"
    assert theirs["loaded_modules"] == lock["loaded_modules"]

    ran = as_member(
        bob,
        vo,
        ["jupyter", "nbconvert", "--to", "notebook", "--execute", str(copy), "--output", "ran"],
        env,
    )
    assert ran.returncode == 0, ran.stdout + ran.stderr
    cells = json.loads((bob.home / "ran.ipynb").read_text())["cells"]
    text = "".join("".join(o.get("text", [])) for o in cells[0]["outputs"])
    prefix = bob.home / "data" / "hpc-envs" / "nbenv-carried" / "venv-zen4"
    assert text.split() == ["tabulate", "0.8.10", str(prefix)], "bob's environment ran it"


async def test_a_conda_notebook_carries_its_explicit_list_and_is_recreated_under_another_name(
    conda_site,  # noqa: F811
    jp_fetch,
    jp_root_dir,
):
    code, out, err = await hpc(
        "create", "nbenv-conda", "--conda", "--python", "3.11", "--package", "hpc-envs-demo=1.0",
        "-p", "zen4", "--quiet",
    )  # fmt: skip
    assert code == 0, out + err
    saved = await save(
        jp_fetch, "conda.ipynb", notebook(kernelspec.kernel_name("nbenv-conda", "zen4"))
    )
    carried = saved["metadata"]["hpc_envs"]
    assert (carried["kind"], carried["modules"]) == ("conda", [])
    explicit = carried["lock"]["conda"]["explicit"]
    assert any("/hpc-envs-demo-1.0-" in url for url in explicit), explicit

    code, out, err = await hpc(
        "recreate", str(jp_root_dir / "conda.ipynb"), "--name", "nbenv-conda2", "--quiet"
    )
    assert code == 0, out + err
    assert out.split() == ["hpcenv-nbenv-conda2-zen4"]
    code, out, err = await hpc("lock", "nbenv-conda2", "-p", "zen4")
    assert code == 0, err
    assert json.loads(out)["conda"]["explicit"] == explicit, "the same conda packages"
    ran = await run_code("hpcenv-nbenv-conda2-zen4", "import sys; print(sys.prefix)")
    assert "/hpc-envs/nbenv-conda2/" in ran, ran


# --- bad input ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("metadata", "field", "said"),
    [
        ({}, "metadata.hpc_envs", "not saved with one of the jupyterlab-hpc-envs kernels"),
        ({"hpc_envs": "x"}, "metadata.hpc_envs", "must be an object"),
        ({"hpc_envs": {"version": 2}}, "metadata.hpc_envs.version", "version 2 is unknown"),
        (
            {"hpc_envs": {"version": 1, "lock": small_lock("nbenv-bad", ["$(id)"])}},
            "metadata.hpc_envs.lock.modules",
            "field lock.modules",
        ),
    ],
)
async def test_a_bad_notebook_is_refused_naming_the_field_and_creates_nothing(
    site_env, jp_fetch, jp_root_dir, tmp_path, metadata, field, said
):
    path = tmp_path / "bad.ipynb"
    path.write_text(json.dumps(notebook("hpcenv-nbenv-bad-zen4", **metadata)))
    code, out, err = await hpc("recreate", str(path))
    assert code == cli.EXIT_INPUT, out + err
    assert said in err
    shutil.copy(path, jp_root_dir / "bad.ipynb")
    status, body = await call(jp_fetch, "POST", "recreations", body={"path": "bad.ipynb"}, ok=False)
    assert (status, body["field"]) == (400, field)
    assert said in body["message"]
    assert list(site_env["VSC_DATA"].iterdir()) == []


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"path": "../outside.ipynb"}, "path"),
        ({"path": "/etc/passwd"}, "path"),
        ({"path": "missing.ipynb"}, "path"),
        ({"path": "x.ipynb", "dry_run": "yes"}, "dry_run"),
        ({"metadata": {"hpc_envs": {}}}, "metadata.hpc_envs.version"),
    ],
)
async def test_a_bad_recreation_request_is_a_400_naming_the_field(
    site_env, jp_fetch, jp_root_dir, body, field
):
    (jp_root_dir.parent / "outside.ipynb").write_text(json.dumps(notebook("hpcenv-x-zen4")))
    status, answer = await call(jp_fetch, "POST", "recreations", body=body, ok=False)
    assert (status, answer["field"]) == (400, field)
    assert list(site_env["VSC_DATA"].iterdir()) == []


@pytest.mark.parametrize(
    ("module", "to", "reason"),
    [
        ("Python/3.11.3-GCCcore-12.3.0", PYTHON, "the newest Python of generation 2023a"),
        # 2021a is not here: the newest generation with a Python module (2023b or newer)
        ("Python/3.9.6-GCCcore-10.3.0", "Python/3.1[2-9].*", "the newest Python of generation"),
        ("Nowhere/1.0-GCCcore-12.3.0", None, "no Nowhere of generation 2023a here"),
    ],
)
async def test_a_module_missing_here_becomes_the_nearest_or_refuses_the_recreation(
    site_env, tmp_path, module, to, reason
):
    carried = {"version": 1, "lock": small_lock("nbenv-gone", [module])}
    path = tmp_path / "gone.ipynb"
    path.write_text(json.dumps(notebook("hpcenv-nbenv-gone-zen4", hpc_envs=carried)))
    code, out, err = await hpc("recreate", str(path), "--dry-run", "--json")
    assert code == 0, err
    (move,) = json.loads(out)["modules"]
    assert move["from"] == module
    assert fnmatch(str(move["to"]), str(to)), move
    assert reason in move["reason"]
    if to is None:
        code, out, err = await hpc("recreate", str(path))
        assert code == cli.EXIT_INPUT, out + err
        assert f"Partition zen4 has no module for {module}" in err
        assert list(site_env["VSC_DATA"].iterdir()) == []
