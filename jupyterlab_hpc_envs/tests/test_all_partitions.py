"""Building an environment for every partition at once, on both demo partitions (real Slurm for
zen2, this node for zen4): each build streams its own log, each is usable when done, and a build
that fails (here: cancelled) on one partition undoes nothing on the other."""

from __future__ import annotations

import asyncio

from .helpers import call, task_log, wait_task
from .test_envs_rest import IPYTHON, PYTHON


async def test_create_on_both_partitions_builds_both_at_once(site_env, jp_fetch):
    code, data = await call(
        jp_fetch,
        "POST",
        "envs",
        body={"name": "uvparts-both", "modules": [PYTHON, IPYTHON], "partition": ["zen4", "zen2"]},
    )
    assert code == 202, data
    assert [t["partition"] for t in data["tasks"]] == ["zen4", "zen2"]
    assert data["task"]["id"] == data["tasks"][0]["id"]
    records = await asyncio.gather(*(wait_task(jp_fetch, t["id"]) for t in data["tasks"]))
    logs = [await task_log(jp_fetch, r["id"]) for r in records]
    for record, log in zip(records, logs, strict=True):
        assert record["state"] == "succeeded", log
    assert "::hpc-envs::info node_arch=zen4" in logs[0]
    assert "Running as a Slurm job on partition zen2" in logs[1]
    assert "::hpc-envs::info node_arch=zen2" in logs[1]
    # Both ran at once: each started before the other finished.
    zen4, zen2 = records
    assert zen4["started"] < zen2["finished"]
    assert zen2["started"] < zen4["finished"]
    _, env = await call(jp_fetch, "GET", "envs", "uvparts-both")
    assert {a: b["state"] for a, b in env["builds"].items()} == {"zen4": "ready", "zen2": "ready"}
    assert {k["name"] for k in env["kernels"]} == {
        "hpcenv-uvparts-both-zen2",
        "hpcenv-uvparts-both-zen4",
    }


async def test_a_cancelled_build_on_one_partition_leaves_the_other_usable(site_env, jp_fetch):
    code, data = await call(
        jp_fetch,
        "POST",
        "envs",
        body={"name": "uvparts-one", "modules": [PYTHON, IPYTHON], "partition": ["zen4", "zen2"]},
    )
    assert code == 202, data
    zen4_id, zen2_id = (t["id"] for t in data["tasks"])
    await call(jp_fetch, "DELETE", "tasks", zen2_id)
    zen4 = await wait_task(jp_fetch, zen4_id)
    zen2 = await wait_task(jp_fetch, zen2_id)
    assert zen4["state"] == "succeeded", await task_log(jp_fetch, zen4_id)
    assert zen2["state"] == "cancelled"
    _, env = await call(jp_fetch, "GET", "envs", "uvparts-one")
    assert env["builds"]["zen4"]["state"] == "ready"
    assert env["builds"]["zen2"]["state"] == "failed"
    assert {k["name"] for k in env["kernels"]} == {"hpcenv-uvparts-one-zen4"}


async def test_rebuild_on_every_partition_and_bad_partition_lists(site_env, jp_fetch):
    first = await create_one(jp_fetch)
    assert first["state"] == "succeeded"
    code, data = await call(
        jp_fetch, "POST", "envs", "uvparts-re", "builds", body={"all_partitions": True}
    )
    assert code == 202, data
    assert [t["partition"] for t in data["tasks"]] == ["zen2"]  # zen4's build was ready
    record = await wait_task(jp_fetch, data["tasks"][0]["id"])
    assert record["state"] == "succeeded", await task_log(jp_fetch, record["id"])
    code, data = await call(
        jp_fetch,
        "POST",
        "envs",
        body={"name": "uvparts-bad", "modules": [PYTHON], "partition": ["zen4", "nowhere"]},
        ok=False,
    )
    assert code in (400, 404), data
    assert data.get("field") == "partition", data
    _, envs = await call(jp_fetch, "GET", "envs")
    assert "uvparts-bad" not in {e["name"] for e in envs["environments"]}


async def create_one(jp_fetch):
    code, data = await call(
        jp_fetch,
        "POST",
        "envs",
        body={"name": "uvparts-re", "modules": [PYTHON, IPYTHON], "partition": "zen4"},
    )
    assert code == 202, data
    return await wait_task(jp_fetch, data["task"]["id"])


async def test_the_command_line_creates_on_two_partitions_and_rebuilds_on_all(site_env):
    from .test_cli import hpc

    code, out, err = await hpc(
        "create", "uvparts-cli", "-m", PYTHON, "-m", IPYTHON, "-p", "zen4", "-p", "zen2"
    )
    assert code == 0, out + err
    # Both logs stream at once, each line after its partition's name, the steps read as steps
    assert "[zen4] ==> smoke-test" in out
    assert "[zen2]     node_arch: zen2" in out
    assert "::hpc-envs::" not in out
    code, out, err = await hpc("rebuild", "uvparts-cli", "--all-partitions")
    assert code == 0, out + err
    assert "zen4: a build for its architecture was ready: kernel registered." in out
    assert "zen2: a build for its architecture was ready: kernel registered." in out
    code, out, err = await hpc("rebuild", "uvparts-cli", "--all-partitions", "-p", "zen2")
    assert code == 2, out + err
