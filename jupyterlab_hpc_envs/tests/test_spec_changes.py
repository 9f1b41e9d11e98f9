"""A package change is a change of the environment's spec: it reaches every build, each on its own
partition (zen2's as a Slurm job); a build it cannot reach is marked out of date, and a rebuild
from the spec catches it up. Real pip, real Slurm, the demo site."""

from __future__ import annotations

from pathlib import Path

import pytest
from traitlets.config import Config

from .helpers import call, task_log, wait_task
from .test_envs_rest import IPYTHON, PYTHON, create

NAME = "engine-everywhere"


@pytest.fixture
def jp_server_config(jp_server_config):
    """pip as the installer: the failure below is made with the venv's own pip.conf."""
    jp_server_config["HpcEnvs"] = Config({"installer": "pip"})
    return jp_server_config


@pytest.fixture
async def on_both(site_env, jp_fetch):
    """An environment built for zen4 (here) and zen2 (a Slurm job)."""
    record = await create(jp_fetch, name=NAME, modules=[PYTHON, IPYTHON], partition="zen4")
    assert record["state"] == "succeeded", await task_log(jp_fetch, record["id"])
    await build(jp_fetch, "zen2")
    _, env = await call(jp_fetch, "GET", "envs", NAME)
    assert {a: b["state"] for a, b in env["builds"].items()} == {"zen4": "ready", "zen2": "ready"}
    return env


async def build(jp_fetch, partition):
    code, data = await call(jp_fetch, "POST", "envs", NAME, "builds", body={"partition": partition})
    assert code == 202, data
    record = await wait_task(jp_fetch, data["task"]["id"])
    assert record["state"] == "succeeded", await task_log(jp_fetch, record["id"])


async def change(jp_fetch, method, body=None, params=None):
    code, data = await call(jp_fetch, method, "envs", NAME, "packages", body=body, params=params)
    assert code == 202, data
    return await wait_task(jp_fetch, data["task"]["id"])


async def venv_packages(jp_fetch, partition):
    """The venv's own distributions, as Python sees them inside the build on ``partition``."""
    _, data = await call(
        jp_fetch, "POST", "envs", NAME, "packages", "listing", body={"partition": partition}
    )
    return {r["key"]: r["version"] for r in data["packages"] if r["source"] == "venv"}


def imported_on_zen2(demo_site, env, module):
    """``import module`` in the zen2 venv, through its launch script, in a job on zen2."""
    launch = f"{env['home']}/launch-zen2.sh"
    return demo_site.run(
        f"srun --partition=zen2 --time=5 {launch} python -c "
        f"'import {module}; print({module}.__file__)'",
        check=False,
        timeout=300,
    )


async def test_install_and_uninstall_reach_the_build_on_every_partition(
    on_both, demo_site, jp_fetch
):
    # When tabulate is installed from zen4
    record = await change(
        jp_fetch, "POST", body={"partition": "zen4", "packages": ["tabulate==0.8.10"]}
    )

    # Then both builds have it, zen2's installed by a job on zen2, and the spec records it
    assert record["state"] == "succeeded", await task_log(jp_fetch, record["id"])
    assert sorted(record["result"]["builds"]) == ["zen2", "zen4"]
    log = await task_log(jp_fetch, record["id"])
    assert "The same change in the zen2 build (partition zen2)" in log
    for partition in ("zen4", "zen2"):
        assert (await venv_packages(jp_fetch, partition))["tabulate"] == "0.8.10"
    zen2 = imported_on_zen2(demo_site, on_both, "tabulate")
    assert zen2.returncode == 0, zen2.stdout + zen2.stderr
    assert f"{on_both['home']}/venv-zen2/" in zen2.stdout
    _, env = await call(jp_fetch, "GET", "envs", NAME)
    assert env["packages"] == ["tabulate==0.8.10"]

    # When it is uninstalled from zen2
    record = await change(jp_fetch, "DELETE", params={"partition": "zen2", "package": "tabulate"})

    # Then it is gone from both builds and from the spec
    assert record["state"] == "succeeded", await task_log(jp_fetch, record["id"])
    for partition in ("zen4", "zen2"):
        assert "tabulate" not in await venv_packages(jp_fetch, partition)
    _, env = await call(jp_fetch, "GET", "envs", NAME)
    assert env["packages"] == []
    assert all(b["state"] == "ready" and b["problems"] == [] for b in env["builds"].values())


async def test_a_change_that_fails_on_one_build_marks_it_out_of_date_and_a_rebuild_catches_up(
    on_both, jp_fetch
):
    # Given a zen2 build whose pip may use no package index (the venv's own pip.conf)
    pip_conf = Path(on_both["builds"]["zen2"]["path"]) / "pip.conf"
    pip_conf.write_text("[global]\nno-index = true\n")

    # When tabulate is installed from zen4
    record = await change(
        jp_fetch, "POST", body={"partition": "zen4", "packages": ["tabulate==0.8.10"]}
    )

    # Then the task fails saying where it was done and where not
    assert record["state"] == "failed", await task_log(jp_fetch, record["id"])
    assert "done in zen4, but not in zen2 (zen2), now marked out of date" in record["message"]
    # And the spec and zen4 have it; the zen2 build is stale, saying why and how to catch up
    _, env = await call(jp_fetch, "GET", "envs", NAME)
    assert env["packages"] == ["tabulate==0.8.10"]
    assert (await venv_packages(jp_fetch, "zen4"))["tabulate"] == "0.8.10"
    zen2 = env["builds"]["zen2"]
    assert zen2["state"] == "stale"
    (problem,) = zen2["problems"]
    assert problem["kind"] == "out-of-date"
    assert problem["subject"].startswith("Install tabulate==0.8.10")
    assert "rebuild" in problem["message"]
    assert env["builds"]["zen4"] == {**env["builds"]["zen4"], "state": "ready", "problems": []}

    # When the zen2 build is rebuilt from the spec
    await build(jp_fetch, "zen2")

    # Then it is ready, has the change, and has no problem left
    _, env = await call(jp_fetch, "GET", "envs", NAME)
    assert env["builds"]["zen2"]["state"] == "ready"
    assert env["builds"]["zen2"]["problems"] == []
    assert (await venv_packages(jp_fetch, "zen2"))["tabulate"] == "0.8.10"
