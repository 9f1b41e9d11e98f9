"""EasyBuild toolchain generations decide which modules may be loaded beside a Python module."""

from __future__ import annotations

import pytest

from jupyterlab_hpc_envs.site import toolchains

PYTHON_2023A = "Python/3.11.3-GCCcore-12.3.0"


@pytest.mark.parametrize(
    ("module", "generation"),
    [
        ("Python/3.11.3-GCCcore-12.3.0", "2023a"),
        ("SciPy-bundle/2023.07-gfbf-2023a", "2023a"),
        ("PyTorch/2.1.2-foss-2023a-CUDA-12.1.1", "2023a"),
        ("h5py/3.7.0-foss-2022a", "2022a"),
        ("mpi4py/3.1.4-gompi-2023b", "2023b"),
        ("TensorFlow/2.13.0-intel-compilers-2023.1.0", "2023a"),
        ("GCCcore/12.3.0", "2023a"),
        ("foss/2023a", "2023a"),
    ],
)
def test_the_generation_is_read_from_the_module_name(module, generation):
    assert toolchains.generation_of(module).generation == generation


@pytest.mark.parametrize("module", ["Java/17", "Miniconda3/23.5.2-0", "tqdm"])
def test_modules_without_a_toolchain_have_none(module):
    assert toolchains.parse(module) is None


def test_a_module_of_the_same_generation_is_compatible():
    result = toolchains.compatibility("SciPy-bundle/2023.07-gfbf-2023a", PYTHON_2023A)
    assert result.compatible
    assert "2023a" in result.reason


def test_a_module_of_another_generation_is_incompatible_with_the_reason():
    result = toolchains.compatibility("SciPy-bundle/2022.05-foss-2022a", PYTHON_2023A)
    assert not result.compatible
    assert "2022a" in result.reason
    assert "2023a" in result.reason


def test_a_module_without_toolchain_loads_beside_anything():
    assert toolchains.compatibility("Java/17", PYTHON_2023A).compatible


def test_python_versions_are_read_from_python_modules_only():
    assert toolchains.python_version(PYTHON_2023A) == "3.11.3"
    assert toolchains.python_version("SciPy-bundle/2023.07-gfbf-2023a") is None
