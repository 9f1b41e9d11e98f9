"""The environments service on its own (files only, no module system or Slurm needed): kernel
names, resource choices kept across registrations, what removal deletes, damaged manifests, and
tasks left by servers on other hosts."""

from __future__ import annotations

import asyncio
import json
import os
import socket

import pytest

from jupyterlab_hpc_envs import errors
from jupyterlab_hpc_envs.core import Core
from jupyterlab_hpc_envs.envs import kernelspec, manifest
from jupyterlab_hpc_envs.envs.manifest import READY, Build, Manifest
from jupyterlab_hpc_envs.site import PartitionInfo
from jupyterlab_hpc_envs.tasks import INTERRUPTED, RUNNING, TaskManager, TaskRecord


def ready_env(core: Core, name: str, arch: str = "zen4", partitions=()) -> Manifest:
    root = core.config.storage_roots[0]
    home = os.path.join(root, "hpc-envs", name)
    os.makedirs(os.path.join(home, f"venv-{arch}", "bin"))
    env = Manifest(name=name, kind="venv", home=home)
    env.builds[arch] = Build(
        arch=arch, path=os.path.join(home, f"venv-{arch}"), state=READY, partitions=list(partitions)
    )
    manifest.write(env)
    return env


def part(name: str, arch: str = "zen4") -> PartitionInfo:
    return PartitionInfo(name=name, arch=arch, modulepath=[], local=True)


def test_two_pairs_that_meet_on_one_kernel_name_do_not_overwrite_each_other(core):
    first = ready_env(core, "x-gpu")
    second = ready_env(core, "x")
    assert core.envs.register_kernel(first, part("long")) == "hpcenv-x-gpu-long"
    with pytest.raises(errors.Conflict, match="is taken by x-gpu on long"):
        core.envs.register_kernel(second, part("gpu-long"))
    spec = kernelspec.read(core.config.kernels_dir, "hpcenv-x-gpu-long")
    assert spec["metadata"]["hpc_envs"]["name"] == "x-gpu"


def test_registering_again_keeps_the_users_resource_choices(core):
    env = ready_env(core, "science")
    name = core.envs.register_kernel(env, part("zen4"))
    path = os.path.join(core.config.kernels_dir, name, "kernel.json")
    with open(path) as f:
        spec = json.load(f)
    spec["metadata"]["kernel_provisioner"]["config"].update(time="1:30:00", cpus=2)
    with open(path, "w") as f:
        json.dump(spec, f)
    core.envs.register_kernel(manifest.read(env.home), part("zen4"))
    config = kernelspec.read(core.config.kernels_dir, name)["metadata"]["kernel_provisioner"][
        "config"
    ]
    assert config == {"time": "1:30:00", "cpus": 2, "partition": "zen4"}


def test_removing_one_of_two_partitions_keeps_the_shared_build_and_the_plan_says_so(core):
    env = ready_env(core, "shared")
    core.envs.register_kernel(env, part("batch"))
    core.envs.register_kernel(manifest.read(env.home), part("batch_long"))
    build_path = manifest.read(env.home).builds["zen4"].path
    plan = core.envs.removal_plan("shared", "batch")
    assert plan == ["kernel hpcenv-shared-batch"]
    result = core.envs.remove("shared", "batch")
    assert result["removed"] == ["kernel hpcenv-shared-batch"]
    assert os.path.isdir(build_path)
    plan = core.envs.removal_plan("shared", "batch_long")
    assert f"build {build_path}" in plan
    result = core.envs.remove("shared", "batch_long")
    assert f"build {build_path}" in result["removed"]
    assert not os.path.exists(build_path)


async def test_an_adopted_environment_is_not_rebuilt_into_an_empty_one(core):
    env = ready_env(core, "handmade")
    with manifest.updating(env.home) as m:
        m.options["adopted"] = True
        m.builds["zen4"].adopted = True
    with pytest.raises(errors.Conflict, match="made by hand and adopted"):
        await core.envs.rebuild("handmade", "local", force=True)


def test_a_damaged_manifest_does_not_take_the_list_with_it(core):
    ready_env(core, "good")
    bad = os.path.join(core.config.storage_roots[0], "hpc-envs", "bad")
    os.makedirs(bad)
    with open(os.path.join(bad, "hpc-env.json"), "w") as f:
        f.write("[1, 2, 3]")
    assert [e["name"] for e in core.envs.describe_all()] == ["good"]
    with pytest.raises(errors.Conflict, match="damaged"):
        manifest.read(bad)


async def test_recovery_leaves_tasks_of_servers_on_other_hosts_alone(tmp_path):
    tasks = TaskManager(str(tmp_path))
    dead_pid = 2**22 + 12345  # above pid_max: no such process here
    elsewhere = TaskRecord(
        id="a" * 32,
        kind="build",
        title="t",
        state=RUNNING,
        server_pid=dead_pid,
        host="another-login-node",
    )
    here = TaskRecord(
        id="b" * 32,
        kind="build",
        title="t",
        state=RUNNING,
        server_pid=dead_pid,
        host=socket.gethostname(),
    )
    for record in (elsewhere, here):
        tasks.save(record)
        open(tasks.log_path(record.id), "w").close()
    recovered = await tasks.recover()
    assert [r.id for r in recovered] == [here.id]
    assert tasks.load(here.id).state == INTERRUPTED
    assert tasks.load(elsewhere.id).state == RUNNING


async def test_a_task_whose_end_cannot_be_saved_still_ends(tmp_path, monkeypatch):
    tasks = TaskManager(str(tmp_path))

    async def run(task):
        monkeypatch.setattr(tasks, "save", _full_disk)
        return {}

    record = tasks.start("x", "t", run)
    await asyncio.wait_for(tasks._live[record.id]._future, 5)
    assert tasks.running() == [], f"{record.id} stays running when its record cannot be saved"


def _full_disk(record):
    raise OSError(28, "No space left on device")
