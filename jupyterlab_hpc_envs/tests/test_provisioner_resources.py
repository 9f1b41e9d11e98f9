"""A kernel's Slurm resources: defaults and limits of the site, the choice kept in the kernelspec, the
REST calls the UI makes before starting a kernel, and the per-user record of kernel jobs."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from jupyter_core.paths import jupyter_data_dir

from jupyterlab_hpc_envs import errors
from jupyterlab_hpc_envs.config import HpcEnvs
from jupyterlab_hpc_envs.envs import kernelspec
from jupyterlab_hpc_envs.kernels import resources
from jupyterlab_hpc_envs.kernels.jobs import KernelJobs, Owner, job_name

from .helpers import call

SITE = {
    "partitions": {
        "zen2": {"arch": "zen2", "kernel": {"time": "2:00:00", "cpus": 2}},
        "gpu": {
            "arch": "zen3",
            "kernel": {"gpus": 1, "memory": "16G"},
            "limits": {"time": "4:00:00", "gpus": 2, "memory": "64G", "accounts": ["proj-a"]},
        },
    },
    "kernel_defaults": {"time": "1:00:00", "account": ""},
    "kernel_limits": {"time": "1-00:00:00", "cpus": 16},
}


@pytest.fixture
def config(tmp_path) -> HpcEnvs:
    site_file = tmp_path / "site.json"
    site_file.write_text(json.dumps(SITE))
    return HpcEnvs(site_file=str(site_file), kernels_dir=str(tmp_path / "kernels"))


@pytest.mark.parametrize(
    ("text", "minutes"),
    [("90", 90), ("1:30", 2), ("1:30:00", 90), ("2-00:00:00", 2880), ("1-12", 2160), (45, 45)],
)
def test_slurm_time_formats_are_read_in_minutes(text, minutes):
    assert resources.parse_minutes(text) == minutes


@pytest.mark.parametrize("text", ["", "1h", "-5", "1:2:3:4", "0", True, None])
def test_a_time_slurm_would_not_take_is_refused_with_the_accepted_forms(text):
    with pytest.raises(errors.InvalidInput, match=r"time limit|at least one minute") as caught:
        resources.parse_minutes(text)
    assert caught.value.field == "time"


@pytest.mark.parametrize(
    ("text", "mb"), [("4G", 4096), ("500M", 500), ("4096", 4096), ("1T", 1 << 20)]
)
def test_memory_sizes_are_read_in_mib(text, mb):
    assert resources.parse_memory_mb(text) == mb


def test_a_partition_without_a_kernel_entry_gets_the_site_defaults(config):
    res = resources.resolve(config, "zen4")
    assert res.to_json() == {
        "partition": "zen4",
        "time": "1:00:00",
        "cpus": 1,
        "memory": "",
        "gpus": 0,
        "account": "",
    }
    assert res.srun_options() == [
        "--partition=zen4",
        "--time=1:00:00",
        "--nodes=1",
        "--ntasks=1",
        "--cpus-per-task=1",
    ]


def test_the_partitions_kernel_entry_wins_over_the_site_defaults_and_the_choice_over_both(config):
    assert resources.resolve(config, "zen2").time == "2:00:00"
    assert resources.resolve(config, "zen2").cpus == 2
    chosen = resources.resolve(config, "gpu", {"time": "30", "account": "proj-a", "gpus": None})
    assert (chosen.time, chosen.gpus, chosen.memory, chosen.account) == (
        "0:30:00",
        1,
        "16G",
        "proj-a",
    )
    assert chosen.srun_options()[-3:] == ["--mem=16G", "--gpus=1", "--account=proj-a"]


@pytest.mark.parametrize(
    ("partition", "chosen", "field", "text"),
    [
        ("gpu", {"time": "5:00:00"}, "time", "at most 4:00:00 on partition gpu"),
        ("zen2", {"time": "2-00:00:00"}, "time", "at most 1-00:00:00"),
        ("zen2", {"cpus": 17}, "cpus", "at most 16 CPUs"),
        ("gpu", {"gpus": 3}, "gpus", "at most 2 GPUs"),
        ("gpu", {"memory": "65G"}, "memory", "at most 64G"),
        ("gpu", {"account": "proj-b"}, "account", "not one of proj-a"),
        ("zen2", {"account": "x; rm -rf ~"}, "account", "not an account name"),
        ("zen2", {"cpus": 0}, "cpus", "at least 1"),
        ("zen2", {"cpus": "two"}, "cpus", "whole number"),
        ("zen2", {"memory": "lots"}, "memory", "not an amount of memory"),
    ],
)
def test_a_choice_beyond_a_limit_or_malformed_names_the_field_and_the_limit(
    config, partition, chosen, field, text
):
    with pytest.raises(errors.InvalidInput) as caught:
        resources.resolve(config, partition, chosen)
    assert caught.value.field == field
    assert text in caught.value.message


# --- the record and its owners -------------------------------------------------------------------


def test_the_record_is_private_and_survives_a_partial_update(tmp_path):
    record = KernelJobs(str(tmp_path / "hpc_envs"))
    record.update("k1", job_name=job_name("science", "0123456789"), state="PENDING")
    record.update("k1", state="RUNNING", job_id="42")
    record.update("k2", state="PENDING")
    assert (tmp_path / "hpc_envs" / "kernel-jobs.json").stat().st_mode & 0o777 == 0o600
    entries = record.read()
    assert entries["k1"]["job_name"] == "hpc-envs-kernel:science:01234567"
    assert (entries["k1"]["state"], entries["k1"]["job_id"]) == ("RUNNING", "42")
    record.remove("k1")
    assert list(record.read()) == ["k2"]
    assert not list((tmp_path / "hpc_envs").glob("*.tmp"))


def test_an_owner_is_alive_only_while_its_very_process_runs():
    me = Owner.current()
    assert Owner.decode(me.comment()) == me
    assert me.alive() is True
    child = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"],
                           capture_output=True, text=True, check=True)  # fmt: skip
    gone = Owner(me.host, int(child.stdout), "")
    assert gone.alive() is False
    reused = Owner(me.host, os.getpid(), "1")  # same pid, another start time: another process
    assert reused.alive() is False
    assert Owner("another-host", 1, "").alive() is None


# --- REST: what the UI asks before starting a kernel ------------------------------------------------


def _install_kernel(partition: str = "zen2") -> str:
    name = kernelspec.kernel_name("science", partition)
    kernelspec.write(
        os.path.join(jupyter_data_dir(), "kernels"),
        name,
        kernelspec.spec(
            env="science", kind="venv", home="/nonexistent/science", prefix="/nonexistent/venv",
            launch="/nonexistent/launch.sh", arch="zen2", partition=partition, modules=[],
            provisioner_config={"partition": partition},
        ),
    )  # fmt: skip
    return name


async def test_the_resources_of_a_kernel_show_its_partitions_defaults_and_limits(
    site_env, jp_fetch
):
    name = _install_kernel()
    _, data = await call(jp_fetch, "GET", "kernels", name, "resources")
    assert data["kernel"] == name
    assert data["partition"] == "zen2"
    assert data["defaults"] == resources.BUILTIN_DEFAULTS
    assert data["limits"] == {}
    assert data["chosen"] == {}
    assert data["effective"]["time"] == "1:00:00"
    assert data["mode"] == "auto"


async def test_a_resource_choice_is_validated_and_kept_in_the_kernelspec(site_env, jp_fetch):
    name = _install_kernel()
    _, data = await call(
        jp_fetch,
        "PUT",
        "kernels",
        name,
        "resources",
        body={"time": "90", "cpus": "2", "mode": "slurm"},
    )
    assert data["effective"]["time"] == "1:30:00"
    assert data["effective"]["cpus"] == 2
    spec = json.loads((Path(jupyter_data_dir()) / "kernels" / name / "kernel.json").read_text())
    config = spec["metadata"]["kernel_provisioner"]["config"]
    assert config == {"partition": "zen2", "time": "1:30:00", "cpus": 2, "mode": "slurm"}
    _, data = await call(jp_fetch, "PUT", "kernels", name, "resources", body={"cpus": None})
    assert data["chosen"] == {"time": "1:30:00", "mode": "slurm"}
    assert data["effective"]["cpus"] == 1


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"cpus": 0}, "cpus"),
        ({"time": "forever"}, "time"),
        ({"mode": "cloud"}, "mode"),
        ({"queue": "fast"}, "queue"),
        ({"partition": "zen4"}, "partition"),
    ],
)
async def test_a_bad_resource_choice_is_refused_and_changes_nothing(
    site_env, jp_fetch, body, field
):
    name = _install_kernel()
    path = Path(jupyter_data_dir()) / "kernels" / name / "kernel.json"
    before = path.read_text()
    code, data = await call(jp_fetch, "PUT", "kernels", name, "resources", body=body, ok=False)
    assert code == 400, data
    assert data["field"] == field
    assert path.read_text() == before


async def test_resources_of_a_kernel_that_is_not_ours_are_not_found(site_env, jp_fetch):
    code, _ = await call(jp_fetch, "GET", "kernels", "python3", "resources", ok=False)
    assert code == 404
    code, _ = await call(jp_fetch, "GET", "kernels", "hpcenv-nothing-zen2", "resources", ok=False)
    assert code == 404


async def test_the_kernel_jobs_list_is_the_users_record(site_env, jp_fetch):
    record = KernelJobs(os.path.join(jupyter_data_dir(), "hpc_envs"))
    record.update("k1", env="science", partition="zen2", state="PENDING", reason="Resources",
                  message="pending (Resources), estimated start 14:05", submitted=1.0,
                  owner=Owner.current().encode())  # fmt: skip
    _, data = await call(jp_fetch, "GET", "kernel-jobs")
    assert [(j["kernel_id"], j["state"], j["reason"]) for j in data["jobs"]] == [
        ("k1", "PENDING", "Resources")
    ]
    code, _ = await call(jp_fetch, "DELETE", "kernel-jobs", "unknown", ok=False)
    assert code == 404


# --- what the partition has (sinfo, scontrol) ------------------------------------------------------


def _sinfo_node(partition: str) -> tuple[int, int]:
    """CPUs and MiB of memory of the partition's node, as sinfo says (the demo site: one node)."""
    out = subprocess.run(
        ["sinfo", "-h", "-p", partition, "-o", "%c|%m"], capture_output=True, text=True, check=True
    ).stdout.split()[0]
    cpus, memory = out.split("|")
    return int(cpus.rstrip("+")), int(memory.rstrip("+"))


def test_gpus_are_counted_from_a_nodes_gres():
    from jupyterlab_hpc_envs.site import slurm

    assert slurm.gpu_count("gpu:a100:4(S:0-1),mps:400") == 4
    assert slurm.gpu_count("gpu:2,gpu:v100:1") == 3
    assert slurm.gpu_count("(null)") == 0
    assert slurm.gpu_count("mps:100") == 0


def test_the_partitions_own_caps_lower_what_its_biggest_node_has():
    from jupyterlab_hpc_envs.site import slurm

    part = slurm.Partition(
        "gpu", True, False, 2, "64", "256000", "gpu:a100:4", "2-00:00:00", "idle", 64, 256000, 4
    )
    assert part.capacity({"MaxCPUsPerNode": "32", "MaxMemPerNode": "UNLIMITED"}) == {
        "time": "2-00:00:00",
        "cpus": 32,
        "memory_mb": 256000,
        "gpus": 4,
        "gres": "gpu:a100:4",
    }


async def test_a_gpu_on_a_partition_without_gpus_is_refused_with_the_partitions_numbers(
    site_env, jp_fetch
):
    # Given a zen2 kernel, on the demo site whose nodes have no GPU
    name = _install_kernel()
    cpus, memory = _sinfo_node("zen2")
    path = Path(jupyter_data_dir()) / "kernels" / name / "kernel.json"
    before = path.read_text()

    # Then the dialog is told what the partition's nodes have
    _, data = await call(jp_fetch, "GET", "kernels", name, "resources")
    assert data["capacity"] == {
        "time": "1-00:00:00",
        "cpus": cpus,
        "memory": resources.format_memory(memory),
        "gpus": 0,
        "gres": "",
    }

    # When one GPU is chosen
    code, data = await call(
        jp_fetch, "PUT", "kernels", name, "resources", body={"gpus": 1}, ok=False
    )

    # Then it is refused beside the GPU field, saying the partition has none, and nothing changes
    assert code == 400, data
    assert data["field"] == "gpus"
    assert data["message"].startswith("Partition zen2 has no GPUs")
    assert path.read_text() == before


async def test_every_value_the_partition_cannot_give_is_refused_at_once(site_env, jp_fetch):
    name = _install_kernel()
    cpus, memory = _sinfo_node("zen2")
    body = {"cpus": cpus + 1, "memory": f"{memory + 1024}M", "gpus": 1, "time": "3-00:00:00"}

    code, data = await call(jp_fetch, "PUT", "kernels", name, "resources", body=body, ok=False)

    assert code == 400, data
    assert set(data["fields"]) == {"cpus", "memory", "gpus", "time"}
    assert (
        data["fields"]["cpus"]
        == f"A node of partition zen2 has {cpus} CPUs; {cpus + 1} were asked."
    )
    assert f"has {resources.format_memory(memory)} of memory" in data["fields"]["memory"]
    assert data["fields"]["time"].startswith("Partition zen2's time limit is 1-00:00:00")
    assert all(message in data["message"] for message in data["fields"].values())


async def test_the_command_line_refuses_what_the_partition_cannot_give(site_env, jp_fetch):
    # (jp_fetch: the kernelspec folder of the test's Jupyter, which the command line reads too)
    from .test_cli import hpc

    _install_kernel()
    code, _, err = await hpc("resources", "science", "-p", "zen2", "--gpus", "1", "--cpus", "999")
    assert code == 2, err
    assert "Partition zen2 has no GPUs" in err
    assert "999 were asked" in err

    code, out, err = await hpc("resources", "science", "-p", "zen2", "--time", "90")
    assert code == 0, out + err
    assert "1:30:00" in out
    assert "A node of zen2 has: cpus" in out
