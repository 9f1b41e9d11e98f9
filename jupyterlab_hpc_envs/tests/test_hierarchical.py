"""Module hierarchies and EESSI-like stacks, on the demo site's trees written by EasyBuild itself.

`scripts/demo-site build` has EasyBuild 5 write a hierarchical tree (``HierarchicalMNS``:
``DIR/modules-hmns/all/Core`` holds the compilers and toolchains, ``Python/3.11.3`` is under
``Compiler/GCCcore/12.3.0``, ``SciPy-bundle/2023.07`` under ``Compiler/GCC/12.3.0``) and an
EESSI-like stack module (``DIR/modules-stacks/EESSI/2023.06``) that chooses the tree of the node's
arch. Each test describes the site to the server with a site file of its own whose zen4 partition
uses one of them, and makes the server's node (zen4, where the kernels run) see that MODULEPATH.
Everything is real: Lmod's spider and loads, pip, the venv, the kernel through jupyter_client.
"""

from __future__ import annotations

import json
import shlex

import pytest

from .helpers import call, run_code, task_log
from .test_cli import hpc
from .test_envs_rest import IPYTHON, PYTHON, create

HMNS_PYTHON = "Python/3.11.3"
HMNS_SCIPY = "SciPy-bundle/2023.07"
STACK = "EESSI/2023.06"


def _use_tree(demo_site, monkeypatch, tmp_path, top: str) -> str:
    """A site file whose partitions use the tree starting at ``top``; this node sees it too."""
    folder = str(demo_site.dir / top)
    if not (demo_site.dir / top).is_dir():
        pytest.fail(f"{folder} is missing: run scripts/demo-site build-hierarchy {demo_site.dir}")
    site = {"partitions": {p: {"arch": p, "modulepath": [folder]} for p in ("zen2", "zen4")}}
    path = tmp_path / "site.json"
    path.write_text(json.dumps(site))
    monkeypatch.setenv("HPC_ENVS_SITE_FILE", str(path))
    monkeypatch.setenv("MODULEPATH", folder)
    monkeypatch.delenv("LOADEDMODULES", raising=False)
    return folder


@pytest.fixture
def hmns(site_env, demo_site, monkeypatch, tmp_path):
    return _use_tree(demo_site, monkeypatch, tmp_path, "modules-hmns/all/Core")


@pytest.fixture
def stack(site_env, demo_site, monkeypatch, tmp_path):
    return _use_tree(demo_site, monkeypatch, tmp_path, "modules-stacks")


def by_hand(demo_site, modulepath: str, modules: list[str]) -> list[str]:
    """LOADEDMODULES after loading ``modules`` by hand, in a shell of the node."""
    out = demo_site.run(
        f'module load {shlex.join(modules)} && echo "$LOADEDMODULES"',
        env={"MODULEPATH": modulepath, "LOADEDMODULES": None},
    ).stdout
    return out.strip().split(":")


async def catalog(jp_fetch, python=None):
    params = {"partition": "zen4", **({"python": python} if python else {})}
    _, data = await call(jp_fetch, "GET", "modules", params=params)
    return {m["full"]: m for m in data["modules"]}


async def test_the_catalog_finds_python_below_its_compiler_and_pairs_modules_by_the_hierarchy(
    hmns, jp_fetch
):
    modules = await catalog(jp_fetch, python=HMNS_PYTHON)
    python = modules[HMNS_PYTHON]
    assert "/Compiler/GCCcore/" in python["path"], "Python is not at the top of the tree"
    assert python["parents"], "Lmod's spider says what makes it visible"
    assert python["parents"][0][-1] in modules, "its compiler is in the catalog"
    assert python["generation"] == "2023a", "the generation comes from the compiler above it"
    assert modules[HMNS_SCIPY]["compatible"] is True, modules[HMNS_SCIPY]["reason"]
    # Core-level compilers of another generation do not go with this Python.
    other = [m for m in modules.values() if m["name"] == "GCCcore" and m["generation"] != "2023a"]
    assert other, "the tree has a compiler of another generation"
    assert all(m["compatible"] is False for m in other)


async def test_the_command_line_lists_python_with_the_modules_that_make_it_visible(hmns):
    code, out, err = await hpc("modules", "--partition", "zen4", "--python", HMNS_PYTHON)
    assert code == 0, err
    line = next(x for x in out.splitlines() if x.split()[1:2] == [HMNS_PYTHON])
    assert "[after GCCcore/" in line
    assert "ok" in line.split()[0]


async def test_a_venv_on_the_hierarchy_loads_the_path_to_each_module_as_by_hand(
    hmns, demo_site, jp_fetch
):
    record = await create(
        jp_fetch, name="hier-sci", modules=[HMNS_PYTHON, HMNS_SCIPY], partition="zen4"
    )
    assert record["state"] == "succeeded", await task_log(jp_fetch, record["id"])
    _, env = await call(jp_fetch, "GET", "envs", "hier-sci")
    build = env["builds"]["zen4"]
    path = build["module_path"]
    modules = await catalog(jp_fetch)
    # Each requested module comes after one of the lists of modules that make it visible.
    for wanted in (HMNS_PYTHON, HMNS_SCIPY):
        before = path[: path.index(wanted)]
        assert any(all(p in before for p in parents) for parents in modules[wanted]["parents"])

    out = await run_code(
        "hpcenv-hier-sci-zen4",
        "import os, numpy; print(os.environ['LOADEDMODULES']); print(numpy.__file__)",
    )
    loaded, numpy_file = out.split()
    assert loaded.split(":") == by_hand(demo_site, hmns, path)
    assert len(loaded.split(":")) >= 20, "EasyBuild's dependency modules are loaded too"
    assert f"/software/hmns/{HMNS_SCIPY}-gfbf-2023a/" in numpy_file

    _, data = await call(
        jp_fetch, "POST", "envs", "hier-sci", "packages", "listing", body={"partition": "zen4"}
    )
    winners = {r["key"]: r for r in data["packages"] if not r["shadowed_by"]}
    assert (winners["numpy"]["source"], winners["numpy"]["module"]) == ("module", HMNS_SCIPY)
    assert winners["tabulate"]["module"] == "Python-bundle-PyPI/2023.06"


async def test_modules_of_another_branch_of_the_hierarchy_are_refused_with_the_reason(
    hmns, jp_fetch
):
    modules = await catalog(jp_fetch)
    old = next(
        m["full"]
        for m in modules.values()
        if m["name"] == "GCCcore" and m["full"] != "GCCcore/12.3.0"
    )
    code, data = await call(
        jp_fetch,
        "POST",
        "envs",
        body={"name": "hier-bad", "modules": [HMNS_PYTHON, old], "partition": "zen4"},
        ok=False,
    )
    assert code == 400, data
    assert "generation" in data["message"]


async def test_an_environment_on_a_stack_loads_the_stack_first_and_is_tied_to_its_arch(
    stack, demo_site, jp_fetch
):
    modules = await catalog(jp_fetch, python=PYTHON)
    assert modules[PYTHON]["parents"] == [[STACK]]
    record = await create(jp_fetch, name="hier-stack", modules=[PYTHON, IPYTHON], partition="zen4")
    assert record["state"] == "succeeded", await task_log(jp_fetch, record["id"])
    _, env = await call(jp_fetch, "GET", "envs", "hier-stack")
    build = env["builds"]["zen4"]
    assert build["module_path"][0] == STACK
    assert build["stack_arch"] == "x86_64/amd/zen4", "the tree the stack chose for zen4"

    out = await run_code("hpcenv-hier-stack-zen4", "import os; print(os.environ['LOADEDMODULES'])")
    assert out.strip().split(":") == by_hand(demo_site, stack, build["module_path"])
    assert out.strip().split(":")[0] == STACK

    # Where the stack chooses another tree, the kernel refuses to start on a mismatched build.
    launch = env["home"] + "/launch-zen4.sh"
    res = demo_site.run(
        f"{launch} python -c pass",
        check=False,
        env={"MODULEPATH": stack, "EESSI_SOFTWARE_SUBDIR_OVERRIDE": "x86_64/amd/zen2"},
    )
    assert res.returncode != 0
    assert "the software stack chose 'x86_64/amd/zen2'" in res.stderr


async def test_a_hand_made_venv_on_the_hierarchy_is_adopted_with_the_path_to_its_python(
    hmns, site_env, demo_site, jp_fetch
):
    modules = await catalog(jp_fetch)
    parents = list(modules[HMNS_PYTHON]["parents"][0])
    venv = site_env["VSC_DATA"] / "hier-project" / "venv-zen4"
    demo_site.run(
        f"module load {shlex.join([*parents, HMNS_PYTHON])} && python3 -m venv {venv} && "
        f"{venv}/bin/python -m pip install -q ipykernel",
        env={"MODULEPATH": hmns, "LOADEDMODULES": None},
        timeout=600,
    )
    code, data = await call(
        jp_fetch,
        "POST",
        "envs",
        "adopt",
        body={"path": str(venv), "name": "hier-project", "modules": [HMNS_PYTHON]},
    )
    assert code == 201, data
    _, env = await call(jp_fetch, "GET", "envs", "hier-project")
    assert env["builds"]["zen4"]["module_path"] == [*parents, HMNS_PYTHON]
    out = await run_code(data["kernel"], "import os; print(os.environ['LOADEDMODULES'])")
    assert out.strip().split(":") == by_hand(demo_site, hmns, [*parents, HMNS_PYTHON])
