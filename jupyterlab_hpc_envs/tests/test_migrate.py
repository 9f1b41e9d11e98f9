"""Migration to another toolchain generation.

The module mapping (:func:`migrate.map_modules`) is checked on catalogs read from module trees on
disk: the demo site's zen4 tree, and copies of it given a newer generation (2024a Python and
SciPy-bundle modules written as files, as EasyBuild would install them).
"""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from jupyterlab_hpc_envs.envs import migrate
from jupyterlab_hpc_envs.site import modules

PY_2023A = "Python/3.11.7-GCCcore-12.3.0"
SCIPY_2023A = "SciPy-bundle/2023.07-gfbf-2023a"


@pytest.fixture
def tree(demo_site, tmp_path) -> Path:
    """A copy of the demo's zen4 module tree, with a 2024a generation added."""
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
    assert migrate.generations(_catalog(tree)) == ["2022a", "2023a", "2023b", "2024a"]


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
