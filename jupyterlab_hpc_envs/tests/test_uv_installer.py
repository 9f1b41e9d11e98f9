"""The uv installer keeps what the modules provide (real uv, real pip, the demo's SciPy-bundle with
numpy): resolution with the modules' versions pinned, only the missing installed, pip where the pins
cannot be met (said in the log), and installer=pip as before."""

from __future__ import annotations

from pathlib import Path

import pytest
from traitlets.config import Config

from .helpers import call, task_log, wait_task
from .test_envs_rest import PYTHON, SCIPY, create

# patsy depends on numpy, which the SciPy-bundle module provides; six comes with the base Python.
WITH_NUMPY = "patsy"


@pytest.fixture(params=["auto"])
def installer(request):
    return request.param


@pytest.fixture
def jp_server_config(jp_server_config, installer):
    jp_server_config["HpcEnvs"] = Config({"installer": installer})
    return jp_server_config


def venv_own(home: str) -> dict[str, str]:
    """The distributions in the zen4 build's own site-packages (name -> version)."""
    found = {}
    for meta in Path(home, "venv-zen4").glob("lib/python*/site-packages/*.dist-info"):
        name, _, version = meta.name[: -len(".dist-info")].partition("-")
        found[name.lower().replace("_", "-")] = version
    return found


def imported_from(demo_site, home: str, module: str) -> str:
    launch = f"{home}/launch-zen4.sh"
    run = demo_site.run(f"{launch} python -c 'import {module}; print({module}.__file__)'")
    assert run.returncode == 0, run.stderr
    return run.stdout.strip().splitlines()[-1]


async def test_uv_installs_a_requirement_whose_numpy_a_module_provides_without_a_second_numpy(
    site_env, demo_site, jp_fetch
):
    record = await create(
        jp_fetch, name="uv-keep", modules=[PYTHON, SCIPY], partition="zen4", packages=[WITH_NUMPY]
    )
    log = await task_log(jp_fetch, record["id"])
    assert record["state"] == "succeeded", log
    assert "::hpc-envs::info installer=uv" in log, log
    assert "falling back to pip" not in log
    _, env = await call(jp_fetch, "GET", "envs", "uv-keep")
    own = venv_own(env["home"])
    assert {"patsy", "ipykernel", "pip"} <= set(own), own
    assert "numpy" not in own, own  # nothing installed for the module's numpy
    assert "six" not in own, own  # nor for what the base Python has
    assert "/SciPy-bundle/" in imported_from(demo_site, env["home"], "numpy")
    assert "/venv-zen4/" in imported_from(demo_site, env["home"], "patsy")


async def test_a_requirement_the_modules_versions_cannot_meet_falls_back_to_pip_saying_why(
    site_env, demo_site, jp_fetch
):
    record = await create(
        jp_fetch, name="uv-fall", modules=[PYTHON, SCIPY], partition="zen4", packages=["numpy>=2"]
    )
    log = await task_log(jp_fetch, record["id"])
    assert record["state"] == "succeeded", log
    assert "falling back to pip" in log, log
    assert "numpy==1.25.1" in log, log  # uv's reason names the module's version
    assert "::hpc-envs::info installer=pip" in log, log
    _, env = await call(jp_fetch, "GET", "envs", "uv-fall")
    assert venv_own(env["home"])["numpy"].startswith("2."), venv_own(env["home"])


@pytest.mark.parametrize("installer", ["pip"], indirect=True)
async def test_installer_pip_builds_with_pip_as_before(site_env, demo_site, jp_fetch):
    record = await create(
        jp_fetch, name="uv-pip", modules=[PYTHON, SCIPY], partition="zen4", packages=[WITH_NUMPY]
    )
    log = await task_log(jp_fetch, record["id"])
    assert record["state"] == "succeeded", log
    assert "installer=uv" not in log, log
    assert "uv resolved" not in log, log
    _, env = await call(jp_fetch, "GET", "envs", "uv-pip")
    own = venv_own(env["home"])
    assert "patsy" in own, own
    assert "numpy" not in own, own
    assert "/SciPy-bundle/" in imported_from(demo_site, env["home"], "numpy")


async def test_installing_into_an_existing_venv_with_uv_keeps_the_modules_numpy(
    site_env, demo_site, jp_fetch
):
    record = await create(jp_fetch, name="uv-add", modules=[PYTHON, SCIPY], partition="zen4")
    assert record["state"] == "succeeded", await task_log(jp_fetch, record["id"])
    code, data = await call(
        jp_fetch,
        "POST",
        "envs",
        "uv-add",
        "packages",
        body={"partition": "zen4", "packages": [WITH_NUMPY]},
    )
    assert code == 202, data
    done = await wait_task(jp_fetch, data["task"]["id"])
    log = await task_log(jp_fetch, done["id"])
    assert done["state"] == "succeeded", log
    assert "installer=uv" in log, log
    _, env = await call(jp_fetch, "GET", "envs", "uv-add")
    own = venv_own(env["home"])
    assert "patsy" in own, own
    assert "numpy" not in own, own
    assert env["packages"] == [WITH_NUMPY]
