"""Migration to another toolchain generation.

The module mapping (:func:`migrate.map_modules`) is checked on catalogs read from module trees on
disk: copies of the demo site's zen4 tree given a newer generation (2024a Python and SciPy-bundle
modules written as files, as EasyBuild would install them). Plans and migrations run on the demo
site itself: a 2023a environment with SciPy-bundle moved to 2023b (SciPy-bundle 2023.11 with a real
numpy for Python 3.12), both kernels started through jupyter_client.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from jupyterlab_hpc_envs import cli, errors
from jupyterlab_hpc_envs.envs import migrate
from jupyterlab_hpc_envs.envs.manifest import Manifest
from jupyterlab_hpc_envs.site import PartitionInfo, modules

from .helpers import call, run_code, wait_task
from .test_cli import hpc

PY_2023A = "Python/3.11.7-GCCcore-12.3.0"
PY_2023B = "Python/3.12.1-GCCcore-13.2.0"
SCIPY_2023A = "SciPy-bundle/2023.07-gfbf-2023a"
SCIPY_2023B = "2023.11-gfbf-2023b"
TABULATE = "tabulate==0.8.10"
OLD_PIN = "PyYAML==6.0"


@pytest.fixture
def tree(demo_site, tmp_path) -> Path:
    """A copy of the demo's zen4 module tree, with a 2024a generation added (the tree is not the
    demo's own: nothing changes under other tests)."""
    copy = tmp_path / "all"
    shutil.copytree(demo_site.dir / "modules" / "zen4" / "all", copy)
    for name, version in [
        ("Python", "3.12.3-GCCcore-13.3.0"),
        ("Python", "3.12.10-GCCcore-13.3.0"),  # the newer by natural order, not by text
        ("SciPy-bundle", "2024.05-gfbf-2024a"),
        ("gfbf", "2024a"),
        ("GCCcore", "13.3.0"),
    ]:
        (copy / name).mkdir(exist_ok=True)
        (copy / name / f"{version}.lua").write_text('whatis("a newer one")\n')
    return copy


def _catalog(path: Path) -> list[modules.ModuleInfo]:
    return modules.scan_tree([str(path)])


def test_each_module_goes_to_the_newest_of_its_name_in_the_generation(tree):
    moves = migrate.map_modules([PY_2023A, SCIPY_2023A, "gfbf/2023a"], _catalog(tree), "2024a")
    assert [(m.from_, m.to) for m in moves] == [
        (PY_2023A, "Python/3.12.10-GCCcore-13.3.0"),
        (SCIPY_2023A, "SciPy-bundle/2024.05-gfbf-2024a"),
        ("gfbf/2023a", "gfbf/2024a"),
    ]
    assert moves[0].to_json() == {
        "from": PY_2023A,
        "to": "Python/3.12.10-GCCcore-13.3.0",
        "reason": "the newest Python of generation 2024a",
    }


def test_a_module_without_a_match_in_the_generation_goes_nowhere_with_the_reason(tree):
    (move,) = migrate.map_modules(["tqdm/4.66.1-GCCcore-12.3.0"], _catalog(tree), "2024a")
    assert move.to is None
    assert "no tqdm of generation 2024a" in move.reason
    assert "2023a" in move.reason, "the generations that have it are named"


def test_generations_are_those_with_a_python_module(tree):
    # (2022a too where the demo site found a Python 3.10)
    assert migrate.generations(_catalog(tree))[-3:] == ["2023a", "2023b", "2024a"]


def test_without_a_generation_present_modules_stay(tree):
    moves = migrate.map_modules([PY_2023A, SCIPY_2023A], _catalog(tree), None)
    assert [m.to for m in moves] == [PY_2023A, SCIPY_2023A]
    assert all("present here" in m.reason for m in moves)


def test_without_a_generation_a_missing_version_becomes_the_newest_of_its_generation(tree):
    # A notebook from a site with Python 3.11.3 of 2023a, recreated here where 2023a has 3.11.7.
    moves = migrate.map_modules(["Python/3.11.3-GCCcore-12.3.0", SCIPY_2023A], _catalog(tree), None)
    assert [m.to for m in moves] == [PY_2023A, SCIPY_2023A]


def test_without_a_generation_a_retired_one_moves_to_the_newest(tree):
    for retired in ["Python/3.11.7-GCCcore-12.3.0.lua", "SciPy-bundle/2023.07-gfbf-2023a.lua"]:
        (tree / retired).unlink()
    moves = migrate.map_modules([PY_2023A, SCIPY_2023A], _catalog(tree), None)
    assert [m.to for m in moves] == [
        "Python/3.12.10-GCCcore-13.3.0",
        "SciPy-bundle/2024.05-gfbf-2024a",
    ]


def test_a_module_without_a_generation_stays_or_takes_the_newest_of_its_name(tree):
    (tree / "Java").mkdir()
    (tree / "Java" / "21.lua").write_text("")
    (tree / "Java" / "17.lua").write_text("")
    moves = migrate.map_modules(["Java/17", "Java/11", "Nope/1"], _catalog(tree), "2024a")
    assert [m.to for m in moves] == ["Java/17", "Java/21", None]


def test_a_generation_without_python_or_unknown_is_refused_listing_those_there_are(tree):
    (tree / "gfbf" / "2025a.lua").write_text("")
    catalog = _catalog(tree)
    with pytest.raises(errors.InvalidInput) as err:
        migrate.check_generation("2025a", catalog, "zen4")
    assert err.value.field == "to"
    assert "2025a has no Python module" in err.value.message
    assert err.value.message.endswith("2023a, 2023b, 2024a.")
    with pytest.raises(errors.InvalidInput, match="2030b does not exist"):
        migrate.check_generation("2030b", catalog, "zen4")
    with pytest.raises(errors.InvalidInput, match="such as 2023b"):
        migrate.check_generation("newest; rm -rf", catalog, "zen4")


@pytest.mark.parametrize("arch", ["zen2", "zen4"])
def test_the_demo_site_has_scipy_bundle_of_2023b_over_python_312(demo_site, arch):
    out = demo_site.run(
        f"export MODULEPATH={demo_site.modulepath(arch)}; module load SciPy-bundle/{SCIPY_2023B}"
        " && echo $LOADEDMODULES && python -c 'import numpy, sys; "
        "print(numpy.__version__, sys.version_info[:2], numpy.__file__)'"
    ).stdout.splitlines()
    assert out[0].split(":") == [
        "GCCcore/13.2.0",
        "gfbf/2023b",
        PY_2023B,
        f"SciPy-bundle/{SCIPY_2023B}",
    ]
    assert out[1].startswith("1.26.2 (3, 12) ")
    assert f"/software/{arch}/SciPy-bundle/{SCIPY_2023B}/lib/python3.12/site-packages/" in out[1]


def test_the_packages_a_module_provides_are_read_from_its_easybuild_list(demo_site):
    modulefile = demo_site.dir / "modules" / "zen4" / "all" / "SciPy-bundle" / f"{SCIPY_2023B}.lua"
    assert migrate.extensions(str(modulefile)) == {"numpy": "1.26.2"}


@pytest.mark.parametrize(
    ("kind", "modules", "message"),
    [
        ("conda", [], "is a conda environment"),
        ("venv", ["GCCcore/12.3.0"], "loads no Python module"),
    ],
)
async def test_a_conda_environment_or_one_without_python_is_refused(tree, kind, modules, message):
    env = Manifest(name="migrate-refused", kind=kind, modules=modules)
    part = PartitionInfo(name="zen4", arch="zen4", modulepath=[str(tree)])
    with pytest.raises(errors.InvalidInput, match=message) as err:
        await migrate.plan(env, part, _catalog(tree), "2024a", None)
    assert err.value.field == "name"


def test_a_pin_without_a_wheel_is_relaxed_keeping_extras_and_markers():
    assert migrate.relaxed("PyYAML==6.0") == "PyYAML"
    assert migrate.relaxed('dask[array]==2023.7.0; python_version>"3"') == (
        'dask[array]; python_version > "3"'
    )


def test_the_extension_lists_of_tcl_modulefiles_are_read_too(tmp_path):
    modulefile = tmp_path / "2023.11-gfbf-2023b"
    modulefile.write_text(
        "#%Module\nsetenv EBEXTSLISTSCIPYMINBUNDLE {numpy-1.26.2,scipy-1.11.4,mpi4py-3.1.5}\n"
    )
    assert migrate.extensions(str(modulefile)) == {
        "numpy": "1.26.2",
        "scipy": "1.11.4",
        "mpi4py": "3.1.5",
    }


# --- on the demo site: plans and migrations by the command line and REST --------------------------


async def test_a_science_environment_migrates_to_2023b_and_both_kernels_run(site_env):
    code, out, err = await hpc(
        "create", "migrate-sci", "-m", PY_2023A, "-m", SCIPY_2023A, "--package", "numpy",
        "--package", TABULATE, "--package", OLD_PIN, "-p", "zen4", "--quiet",
    )  # fmt: skip
    assert code == 0, out + err
    code, out, err = await hpc("migrate", "migrate-sci", "--to", "2023b", "--dry-run", "--json")
    assert code == 0, out + err
    plan = json.loads(out)
    assert plan["new_name"] == "migrate-sci-2023b"
    assert (plan["from"], plan["to"]) == ("2023a", "2023b")
    assert [(m["from"], m["to"]) for m in plan["modules"]] == [
        (PY_2023A, PY_2023B),
        (SCIPY_2023A, f"SciPy-bundle/{SCIPY_2023B}"),
    ]
    assert plan["unmatched"] == []
    assert plan["provided"] == [
        {"package": "numpy", "module": f"SciPy-bundle/{SCIPY_2023B}", "version": "1.26.2"}
    ]
    # PyYAML 6.0 has no wheel for Python 3.12 (6.0.1 was the first): installed unpinned.
    (missing,) = plan["unavailable"]
    assert missing["package"] == OLD_PIN
    assert missing["instead"] == "PyYAML"
    assert "6.0" in missing["reason"]
    assert plan["packages"] == [TABULATE, "PyYAML"]
    assert list((site_env["VSC_DATA"]).glob("*/migrate-sci-2023b")) == [], "a dry run makes nothing"

    code, out, err = await hpc("migrate", "migrate-sci", "--to", "2023b", "--quiet")
    assert code == 0, out + err
    assert f"{SCIPY_2023A} -> SciPy-bundle/{SCIPY_2023B}" in out
    probe = (
        "import numpy, sys, tabulate, yaml; "
        "print(numpy.__version__, numpy.__file__, sys.version_info[:2], tabulate.__version__)"
    )
    new = await run_code("hpcenv-migrate-sci-2023b-zen4", probe)
    assert new.split()[0] == "1.26.2"
    assert f"/SciPy-bundle/{SCIPY_2023B}/" in new, "numpy from the module, not the venv"
    assert "(3, 12)" in new
    assert "0.8.10" in new
    old = await run_code("hpcenv-migrate-sci-zen4", probe)
    assert old.split()[0] == "1.25.1", "the old environment is untouched"
    assert "(3, 11)" in old

    # Again: the default name is taken now; an unknown generation lists those there are.
    code, out, err = await hpc("migrate", "migrate-sci", "--to", "2023b", "--dry-run")
    assert code == cli.EXIT_CONFLICT, out + err
    assert "'migrate-sci-2023b' exists already" in err
    code, out, err = await hpc("migrate", "migrate-sci", "--to", "2031a", "--as", "migrate-x")
    assert code == cli.EXIT_INPUT, out + err
    assert "2031a does not exist" in err
    assert "2023a, 2023b" in err
    assert not list(site_env["VSC_DATA"].glob("*/migrate-x"))


async def test_migration_over_rest_plans_builds_and_refuses_bad_input(site_env, jp_fetch):
    status, created = await call(
        jp_fetch, "POST", "envs", body={"name": "migrate-rest", "modules": [PY_2023A]}
    )
    assert (await wait_task(jp_fetch, created["task"]["id"]))["state"] == "succeeded"
    _, plan = await call(jp_fetch, "GET", "envs", "migrate-rest", "migration")
    assert plan["to"] == "2023b", "the newest generation with a Python module"
    assert plan["generations"][-2:] == ["2023a", "2023b"]
    assert plan["modules"] == [
        {"from": PY_2023A, "to": PY_2023B, "reason": "the newest Python of generation 2023b"}
    ]
    for params, field in [
        ({"to": "2031a"}, "to"),
        ({"to": "latest"}, "to"),
        ({"to": "2023b", "as": "../x"}, "name"),
    ]:
        status, body = await call(
            jp_fetch, "GET", "envs", "migrate-rest", "migration", params=params, ok=False
        )
        assert (status, body["field"]) == (400, field), body
    status, body = await call(
        jp_fetch, "POST", "envs", "migrate-rest", "migration",
        body={"to": "2023b", "as": "migrate-rest"}, ok=False,
    )  # fmt: skip
    assert (status, body["field"]) == (409, "as"), body
    status, started = await call(
        jp_fetch, "POST", "envs", "migrate-rest", "migration", body={"to": "2023b"}
    )
    assert status == 202
    assert started["plan"]["new_name"] == "migrate-rest-2023b"
    assert (await wait_task(jp_fetch, started["task"]["id"]))["state"] == "succeeded"
    _, listed = await call(jp_fetch, "GET", "envs")
    modules = {e["name"]: e["modules"] for e in listed["environments"]}
    assert modules == {"migrate-rest": [PY_2023A], "migrate-rest-2023b": [PY_2023B]}
