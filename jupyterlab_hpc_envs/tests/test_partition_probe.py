"""Partitions the site description leaves out are learned from one of their nodes (site/probe.py),
and Slurm installed without a cluster is "no Slurm" (site/slurm.py ``status``).

On the demo site with a site file that does not describe zen2 (or no site file at all), a CLI or a
server on zen4 runs a real probe job on zen2 (its TaskProlog gives the job zen2's arch and module
tree), builds an environment there and runs its kernel there. Probes that cannot run are made by
the probe's own job (a feature no node has; a start time an hour away with a short probe timeout):
the shared Slurm itself is never changed.
"""

from __future__ import annotations

import asyncio
import json
import stat
import subprocess
from pathlib import Path

import pytest

from .helpers import call, run_code
from .test_cli import hpc
from .test_envs_rest import IPYTHON, PYTHON


def _site_file(tmp_path: Path, demo_site, **extra) -> Path:
    """A site file describing zen4 only (and ``extra`` HpcEnvs settings)."""
    zen4 = demo_site.partitions["zen4"]
    path = tmp_path / "site-without-zen2.json"
    path.write_text(json.dumps({"partitions": {"zen4": zen4}, **extra}))
    return path


@pytest.fixture
def undescribed(site_env, demo_site, tmp_path, monkeypatch):
    """The demo site with no description of zen2, and a cache folder of this test's own."""
    monkeypatch.setenv("HPC_ENVS_SITE_FILE", str(_site_file(tmp_path, demo_site)))
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    return tmp_path / "cache" / "hpc-envs"


def _modules_under(folder: Path) -> set[str]:
    return {
        f"{p.parent.name}/{p.name.removesuffix('.lua')}" for p in folder.glob("*/*") if p.is_file()
    }


def _probe_jobs() -> list[str]:
    out = subprocess.run(
        ["squeue", "-h", "-o", "%j"], capture_output=True, text=True, check=True
    ).stdout
    return [line for line in out.splitlines() if line.startswith("hpc-envs-probe")]


async def test_the_cli_learns_an_undescribed_partition_from_a_probe_job(undescribed, demo_site):
    code, out, err = await hpc("site", "--json")
    assert code == 0, err
    assert err == "hpc-envs: Learning what partition zen2 offers (a short Slurm job)…\n"
    parts = {p["name"]: p for p in json.loads(out)["partitions"]}
    zen2 = parts["zen2"]
    assert zen2["arch"] == "zen2", zen2
    assert zen2["origin"]["kind"] == "probe"
    assert zen2["origin"]["state"] == "ok"
    assert zen2["origin"]["node"], "the node the probe ran on is named"
    assert zen2["modulepath"] == [str(demo_site.modulepath("zen2"))]
    assert zen2["local"] is False
    assert parts["zen4"]["origin"]["text"] == "site description"

    code, out, err = await hpc("site")
    assert f"from learned from node {zen2['origin']['node']} at " in out
    assert err == "", "the cached answer: no job"

    # Cached per cluster and partition, owner-only: a second run needs no job.
    (cached,) = undescribed.glob("*/zen2.json")
    assert stat.S_IMODE(cached.stat().st_mode) == 0o600
    assert stat.S_IMODE(cached.parent.stat().st_mode) == 0o700
    assert json.loads(cached.read_text())["arch"] == "zen2"

    # A site description wins over a probe, even a cached one that says otherwise.
    planted = {**json.loads(cached.read_text()), "partition": "zen4", "arch": "zen3"}
    (cached.parent / "zen4.json").write_text(json.dumps(planted))
    code, out, _ = await hpc("site", "--json")
    zen4 = next(p for p in json.loads(out)["partitions"] if p["name"] == "zen4")
    assert zen4["arch"] == "zen4"
    assert zen4["origin"]["kind"] == "site"

    code, out, err = await hpc("modules", "--partition", "zen2", "--json")
    assert code == 0, err
    listed = {m["full"] for m in json.loads(out)["modules"]}
    assert listed == _modules_under(demo_site.modulepath("zen2"))
    assert listed != _modules_under(demo_site.modulepath("zen4")), "zen2's own tree, not zen4's"
    assert _probe_jobs() == []


async def test_module_folders_a_node_reported_but_not_visible_here_are_said_so(undescribed):
    code, _, err = await hpc("site")
    assert code == 0, err
    (cached,) = undescribed.glob("*/zen2.json")
    answer = json.loads(cached.read_text())
    answer["modulepath"] = ["/nonexistent/probe-node-only/modules/all"]
    cached.write_text(json.dumps(answer))
    code, out, _ = await hpc("site")
    assert (
        "(its module folders /nonexistent/probe-node-only/modules/all are not visible here)" in out
    )
    code, _, err = await hpc("create", "probe-invisible", "-m", PYTHON, "-p", "zen2")
    assert code == 4, err
    assert "none holds a module visible from here" in err
    assert "is not available on partition" not in err


async def test_without_any_site_file_every_partition_is_probed(
    site_env, demo_site, tmp_path, monkeypatch
):
    monkeypatch.setenv("HPC_ENVS_SITE_FILE", "")
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    code, out, err = await hpc("site", "--json")
    assert code == 0, err
    parts = {p["name"]: p for p in json.loads(out)["partitions"]}
    assert {n: p["arch"] for n, p in parts.items()} == {"zen2": "zen2", "zen4": "zen4"}
    assert parts["zen4"]["local"] is True, "the server's arch: builds and kernels run here"
    assert {p["origin"]["kind"] for p in parts.values()} == {"probe"}


async def test_an_environment_for_an_undescribed_partition_builds_and_runs_its_kernel_there(
    undescribed,
):
    code, out, err = await hpc("create", "probe-zen2", "-m", PYTHON, "-m", IPYTHON, "-p", "zen2")
    assert code == 0, out + err
    assert "Kernel hpcenv-probe-zen2-zen2 registered." in out
    code, out, _ = await hpc("list", "--json")
    (env,) = [e for e in json.loads(out) if e["name"] == "probe-zen2"]
    assert env["builds"]["zen2"]["state"] == "ready"
    seen = await run_code(
        "hpcenv-probe-zen2-zen2",
        "import os; print(os.environ.get('SLURM_JOB_PARTITION'), os.environ.get('VSC_ARCH_LOCAL'))",
    )
    assert seen.split() == ["zen2", "zen2"]


async def test_a_probe_slurm_refuses_says_so_and_what_to_do(
    site_env, demo_site, tmp_path, monkeypatch
):
    site = _site_file(
        tmp_path, demo_site, build_srun_options=["--constraint=probe-no-such-feature"]
    )
    monkeypatch.setenv("HPC_ENVS_SITE_FILE", str(site))
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    code, out, err = await hpc("modules", "--partition", "zen2")
    assert code == 5, out + err
    assert "Cannot learn what partition zen2 offers: Slurm did not run the probe job" in err
    assert "Invalid feature specification" in err
    assert "HpcEnvs.build_srun_options" in err
    assert "is not available on partition" not in err
    code, out, err = await hpc("create", "probe-refused", "-m", PYTHON, "-p", "zen2")
    assert code == 5
    assert "Slurm did not run the probe job" in err
    assert "is not available on partition" not in err
    code, out, _ = await hpc("site")
    assert "zen2         arch ?" in out
    assert "from probe failed: Cannot learn" in out


async def test_a_probe_that_cannot_be_scheduled_in_time_is_cancelled_and_says_so(
    site_env, demo_site, tmp_path, monkeypatch
):
    site = _site_file(
        tmp_path, demo_site, build_srun_options=["--begin=now+1hour"], probe_timeout=5
    )
    monkeypatch.setenv("HPC_ENVS_SITE_FILE", str(site))
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    code, out, err = await hpc("modules", "--partition", "zen2")
    assert code == 5, out + err
    assert "the probe job could not be scheduled within 5 s" in err
    assert "pending, reason BeginTime; cancelled" in err
    assert "is not available on partition" not in err
    assert _probe_jobs() == [], "the pending probe job was cancelled"


async def test_a_server_probes_in_the_background_and_the_catalog_waits_for_it(
    undescribed, demo_site, jp_fetch
):
    _, site = await call(jp_fetch, "GET", "site")
    zen2 = next(p for p in site["partitions"] if p["name"] == "zen2")
    # Either still running or already answered: a seconds-long job on an idle demo cluster.
    assert zen2["origin"]["kind"] == "probe"
    assert zen2["origin"]["state"] in ("running", "ok")
    if zen2["origin"]["state"] == "running":
        assert zen2["origin"]["text"] == "probing…"
        assert zen2["origin"]["message"] == (
            "Learning what partition zen2 offers (a short Slurm job)…"
        )
    for _ in range(120):
        _, data = await call(jp_fetch, "GET", "modules", params={"partition": "zen2"})
        if data["origin"]["state"] == "ok":
            break
        assert data["origin"]["state"] == "running", data
        assert data["modules"] == [], "while probing, the state says so"
        await asyncio.sleep(0.5)
    assert {m["full"] for m in data["modules"]} == _modules_under(demo_site.modulepath("zen2"))
    assert data["origin"]["text"].startswith(f"learned from node {data['origin']['node']} at ")

    first = data["origin"]["at"]
    await asyncio.sleep(1.1)
    code, site = await call(jp_fetch, "POST", "site/probes", body={"partition": "zen2"})
    assert code == 200
    zen2 = next(p for p in site["partitions"] if p["name"] == "zen2")
    assert zen2["origin"]["state"] in ("running", "ok")
    for _ in range(120):
        _, site = await call(jp_fetch, "GET", "site")
        zen2 = next(p for p in site["partitions"] if p["name"] == "zen2")
        if zen2["origin"]["state"] == "ok" and zen2["origin"]["at"] != first:
            break
        await asyncio.sleep(0.5)
    assert zen2["origin"]["at"] != first, "probed again"
    code, data = await call(jp_fetch, "POST", "site/probes", body={"partition": "zen4"}, ok=False)
    assert code == 409
    assert "site description" in data["message"]


@pytest.fixture
def read_only_config(jp_server_config):
    from .test_authorization import ReadOnlyAuthorizer

    jp_server_config["ServerApp"]["authorizer_class"] = ReadOnlyAuthorizer
    return jp_server_config


async def test_a_reader_not_allowed_to_execute_starts_no_probe_job(
    read_only_config, undescribed, jp_fetch
):
    _, site = await call(jp_fetch, "GET", "site")
    zen2 = next(p for p in site["partitions"] if p["name"] == "zen2")
    assert zen2["origin"]["kind"] == "none"
    assert zen2["origin"]["text"] == "not probed yet"
    _, data = await call(jp_fetch, "GET", "modules", params={"partition": "zen2"})
    assert data["modules"] == []
    assert data["origin"]["text"] == "not probed yet"
    code, _ = await call(jp_fetch, "POST", "site/probes", body={}, ok=False)
    assert code == 403
    await asyncio.sleep(1)
    assert not list(undescribed.glob("*/*.json")), "no probe ran"


# --- Slurm installed but not configured ------------------------------------------------------


@pytest.mark.parametrize("conf", ["unset", "missing", "unreachable"])
async def test_slurm_without_a_cluster_is_no_slurm_said_once(
    site_env, demo_site, tmp_path, monkeypatch, conf
):
    if conf == "unset":
        monkeypatch.delenv("SLURM_CONF")  # no configuration file, no DNS record: no cluster
    elif conf == "missing":
        monkeypatch.setenv("SLURM_CONF", str(tmp_path / "no-such-slurm.conf"))
    else:  # a configuration whose controller is at a port where nothing listens
        text = Path(demo_site.env["SLURM_CONF"]).read_text()
        port = next(line for line in text.splitlines() if line.startswith("SlurmctldPort="))
        (tmp_path / "slurm.conf").write_text(text.replace(port, "SlurmctldPort=1"))
        monkeypatch.setenv("SLURM_CONF", str(tmp_path / "slurm.conf"))
    code, out, err = await hpc("list")
    assert code == 0, err
    assert "squeue" not in err, err
    assert err == ""
    code, out, err = await hpc("site")
    assert code == 0, err
    assert "Slurm       no" in out
    assert out.lower().count("no slurm") == 1, out
    assert "Partitions:\n  local " in out
    code, out, err = await hpc("doctor")
    assert out.lower().count("no slurm") == 1, out
    assert err == ""


async def test_a_server_refreshes_a_stale_answer_in_the_background_and_serves_the_old_meanwhile(
    undescribed,
):
    from jupyterlab_hpc_envs.config import HpcEnvs
    from jupyterlab_hpc_envs.site import Site

    site = Site(HpcEnvs(probe_max_age=0.0))
    site.probes.background = True
    first = await site.probes.learn("zen2")
    assert first.arch == "zen2"
    again = await site.probes.learn("zen2")  # stale at once: served, and probed again
    assert again.at == first.at
    assert (await site.probes.state("zen2")).state == "running"
    part = await site.partition("zen2")
    assert part.arch == "zen2", "the old answer's facts while the new probe runs"
    assert part.origin["text"] == "probing…"
    for _ in range(240):
        if (await site.probes.state("zen2")).state == "ok":
            break
        await asyncio.sleep(0.25)
    assert (await site.probes.cached("zen2")).at > first.at
    await site.probes.close()
