"""Conda environments through the REST API and the CLI, on the demo site, with a real engine.

The engine is py-rattler (the conda library under pixi: no conda installer can be had here) and
the channel is a local one made by :mod:`.conda_channel` from real parts: a CPython of this machine
made relocatable as a ``python`` package, real wheels (pip, ipykernel and its dependencies, numpy)
repackaged as conda packages, and small packages of our own (an ``activate.d`` hook, a package in
two versions). Environments are made, changed and activated by the engine for real; kernels start
through jupyter_client and the provisioner.
"""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path

import pytest

from .. import proc
from .conda_channel import HOOK_VARIABLE, build_channel
from .helpers import call, run_code, task_log, wait_task
from .test_envs_rest import PYTHON, kernels_dir, our_kernels, tree

pytestmark = pytest.mark.timeout(600)

DISCOURAGED_MESSAGE = "Conda is discouraged at hpcdemo: ask hpc-support@example.org first."
CLI = [sys.executable, "-m", "jupyterlab_hpc_envs.cli"]


@pytest.fixture(scope="session")
def conda_channel(demo_site, tmp_path_factory) -> str:
    """The local channel (kept beside a reused demo site, so later runs skip building it)."""
    given = os.environ.get("HPC_ENVS_DEMO_DIR")
    folder = demo_site.dir / "conda-channel" if given else tmp_path_factory.mktemp("channel")
    return "file://" + str(build_channel(folder))


@pytest.fixture
def conda_site(request, site_env, demo_site, conda_channel, monkeypatch, tmp_path):
    """The demo site's description plus conda settings: the rattler engine, the local channel as
    the default channel, and the policy given by ``indirect`` parametrisation (default allowed)."""
    settings = getattr(request, "param", {}) or {}
    described = json.loads((demo_site.dir / "site" / "site.json").read_text())
    described.update(conda_engine="rattler", conda_channels=[conda_channel], conda_policy="allowed")
    described.update(settings)
    path = tmp_path / "site.json"
    path.write_text(json.dumps(described))
    monkeypatch.setenv("HPC_ENVS_SITE_FILE", str(path))
    return {**site_env, "channel": conda_channel}


async def cli(*args: str, timeout: float = 300) -> tuple[int, str, str]:
    """``jupyter hpc-envs ARGS`` in a child process (the test's environment and site file)."""
    return await proc.run([*CLI, *args], timeout=timeout)


async def create(jp_fetch, **body):
    code, data = await call(jp_fetch, "POST", "envs", body={"kind": "conda", **body})
    assert code == 202, data
    record = await wait_task(jp_fetch, data["task"]["id"])
    return data, record


async def conda_env(jp_fetch, name="science", **body):
    body = {"name": name, "python": "3.11", "partition": "zen4", **body}
    _, record = await create(jp_fetch, **body)
    assert record["state"] == "succeeded", await task_log(jp_fetch, record["id"])
    _, env = await call(jp_fetch, "GET", "envs", name)
    return env


async def packages(jp_fetch, name):
    _, data = await call(
        jp_fetch, "POST", "envs", name, "packages", "listing", body={"partition": "zen4"}
    )
    return data


def conda_versions(data) -> dict[str, str]:
    return {r["name"]: r["version"] for r in data["conda_packages"]}


async def change(jp_fetch, name, method, *path, body=None, params=None):
    code, data = await call(
        jp_fetch, method, "envs", name, "packages", *path, body=body, params=params
    )
    assert code == 202, data
    record = await wait_task(jp_fetch, data["task"]["id"])
    assert record["state"] == "succeeded", await task_log(jp_fetch, record["id"])
    return record


# --- creation and kernels ---------------------------------------------------------------------------


async def test_a_conda_environment_from_a_local_channel_runs_a_kernel_with_its_python_no_modules_and_its_activate_d_hook(
    conda_site, jp_fetch
):
    env = await conda_env(jp_fetch, packages=["numpy", "hpc-envs-hook"])
    build = env["builds"]["zen4"]
    prefix = str(conda_site["VSC_DATA"] / "hpc-envs" / "science" / "conda-zen4")
    assert env["kind"] == "conda"
    assert env["modules"] == []
    assert build["path"] == prefix
    assert build["python"].startswith("3.11.")
    assert env["options"]["engine"]["kind"] == "rattler"
    assert env["kernels"] == [{"name": "hpcenv-science-zen4", "partition": "zen4", "arch": "zen4"}]
    spec = json.loads((kernels_dir() / "hpcenv-science-zen4" / "kernel.json").read_text())
    assert spec["metadata"]["hpc_envs"]["kind"] == "conda"
    assert spec["metadata"]["hpc_envs"]["modules"] == []

    out = await run_code(
        "hpcenv-science-zen4",
        "import os, sys, site, numpy\n"
        "print(sys.prefix); print(sys.executable); print(numpy.__file__)\n"
        "print(repr(os.environ.get('LOADEDMODULES', '')))\n"
        f"print(os.environ.get('{HOOK_VARIABLE}')); print(os.environ.get('CONDA_PREFIX'))\n"
        "print(site.ENABLE_USER_SITE)\n"
        "print([l.split()[-1] for l in open('/proc/self/maps') if 'libpython' in l][0])",
    )
    lines = out.splitlines()
    assert lines[0] == prefix, "sys.prefix is the conda environment"
    assert lines[1].startswith(prefix + "/bin/python")
    assert lines[2].startswith(prefix + "/lib/python3.11/site-packages/numpy/")
    assert lines[3] == "''", "no module is loaded in a conda kernel"
    assert lines[4] == f"ran for {prefix}", "the activate.d hook of hpc-envs-hook ran"
    assert lines[5] == prefix
    assert lines[6] == "False", "the stray user site is not on sys.path"
    assert lines[7].startswith(prefix + "/lib/libpython3.11"), "the env's own libpython is loaded"


async def test_the_launch_script_purges_loaded_modules_and_activates_like_the_engine(
    conda_site, demo_site, jp_fetch
):
    env = await conda_env(jp_fetch, name="shell", packages=["hpc-envs-hook"])
    prefix = env["builds"]["zen4"]["path"]
    _, data = await call(jp_fetch, "GET", "envs", "shell", "activation")
    # A user's shell with a Python module loaded (and its PYTHONPATH) sources the activation.
    out = demo_site.run(
        f'module load {PYTHON} && echo "before=$LOADEDMODULES" && {data["script"]}'
        'echo "after=${LOADEDMODULES:-}"; echo "hook=$HPC_ENVS_CONDA_HOOK"; '
        'echo "python=$(command -v python)"; echo "nousersite=$PYTHONNOUSERSITE"; '
        'echo "pythonpath=${PYTHONPATH:-}"; python -m pip --version'
    ).stdout
    facts = dict(line.split("=", 1) for line in out.splitlines() if "=" in line.split()[0])
    assert PYTHON in facts["before"]
    assert facts["after"] == ""
    assert facts["hook"] == f"ran for {prefix}"
    assert facts["python"] == f"{prefix}/bin/python"
    assert facts["nousersite"] == "1"
    assert facts["pythonpath"] == ""
    assert f"from {prefix}/lib/python3.11/site-packages/pip" in out


async def test_the_python_of_the_channel_is_relocated_into_the_environment(
    conda_site, demo_site, jp_fetch, tmp_path
):
    env = await conda_env(jp_fetch, name="reloc")
    prefix = env["builds"]["zen4"]["path"]
    launch = Path(env["home"]) / "launch-zen4.sh"
    venv = tmp_path / "inner-venv"
    out = demo_site.run(
        f"{launch} python -c 'import sys, sysconfig; print(sys.prefix); "
        'print(sysconfig.get_config_var("prefix")); print(sysconfig.get_paths()["purelib"])\''
        f" && {launch} python -m venv {venv} && {venv}/bin/python -c 'import sys; print(sys.base_prefix)'"
        f" && {venv}/bin/python -m pip --version"
    ).stdout.splitlines()
    assert out[0] == prefix
    assert out[1] == prefix, "the sysconfig data names the environment, not the original install"
    assert out[2] == f"{prefix}/lib/python3.11/site-packages"
    assert out[3] == prefix, "python -m venv works on the environment's Python"
    assert out[4].startswith("pip ")


async def test_a_conda_environment_is_built_for_zen2_as_a_slurm_job_on_zen2(conda_site, jp_fetch):
    await conda_env(jp_fetch, name="multi", packages=["hpc-envs-hook"])
    code, data = await call(jp_fetch, "POST", "envs", "multi", "builds", body={"partition": "zen2"})
    assert code == 202, data
    record = await wait_task(jp_fetch, data["task"]["id"])
    log = await task_log(jp_fetch, record["id"])
    assert record["state"] == "succeeded", log
    assert "Running as a Slurm job on partition zen2: srun --partition=zen2" in log
    assert "::hpc-envs::info node_arch=zen2" in log
    _, env = await call(jp_fetch, "GET", "envs", "multi")
    home = conda_site["VSC_DATA"] / "hpc-envs" / "multi"
    assert env["builds"]["zen2"]["state"] == "ready"
    assert env["builds"]["zen2"]["path"] == str(home / "conda-zen2")
    assert (home / "activate-zen2.sh").read_text().count("activate.d/hpc-envs-hook.sh") == 1
    assert {k["name"] for k in env["kernels"]} == {"hpcenv-multi-zen2", "hpcenv-multi-zen4"}


async def test_conda_environments_take_no_modules(conda_site, jp_fetch):
    code, data = await call(
        jp_fetch,
        "POST",
        "envs",
        body={"kind": "conda", "name": "mixed", "modules": [PYTHON], "partition": "zen4"},
        ok=False,
    )
    assert code == 400
    assert "not mixed with modules" in data["message"]
    assert tree(conda_site["VSC_DATA"]) in ([], ["hpc-envs"])


@pytest.mark.parametrize(
    ("body", "text"),
    [
        ({"packages": ["numpy; touch /tmp/hpc-envs-pwned"]}, "not a conda package spec"),
        ({"packages": ["--override-channels"]}, "not a conda package spec"),
        ({"python": "3.11; rm -rf /"}, "not a Python version"),
        ({"channels": ["$(touch /tmp/hpc-envs-pwned)"]}, "not a channel"),
        # Neither in the channels nor a pip requirement (a conda-only version syntax).
        ({"packages": ["no-such-conda-package-hpc-envs 1.0.*"]}, "none of the channels"),
    ],
)
async def test_bad_conda_requests_say_why_and_create_nothing(conda_site, jp_fetch, body, text):
    payload = {"kind": "conda", "name": "bad", "partition": "zen4", **body}
    code, data = await call(jp_fetch, "POST", "envs", body=payload, ok=False)
    assert code == 400, data
    assert text in data["message"]
    assert not os.path.exists("/tmp/hpc-envs-pwned")
    assert tree(conda_site["VSC_DATA"]) in ([], ["hpc-envs"])
    assert our_kernels() == []


# --- packages ----------------------------------------------------------------------------------------


async def test_packages_are_listed_from_conda_meta_and_installed_updated_and_removed_by_the_engine(
    conda_site, jp_fetch
):
    await conda_env(jp_fetch, name="pk", packages=["hpc-envs-demo=1.0", "hpc-envs-pinned=1.0"])
    data = await packages(jp_fetch, "pk")
    versions = conda_versions(data)
    assert versions["hpc-envs-demo"] == "1.0"
    assert versions["hpc-envs-pinned"] == "1.0"
    assert versions["ipykernel"] == "6.29.5", "the kernel's package came from the channel"
    rows = {r["key"]: r for r in data["packages"] if not r["shadowed_by"]}
    assert rows["ipykernel"]["source"] == "conda"
    assert rows["ipykernel"]["conda"] == "ipykernel"

    # conda update hpc-envs-demo: to 2.0; the pinned dependency stays where it was asked to be.
    await change(
        jp_fetch,
        "pk",
        "POST",
        body={"partition": "zen4", "packages": ["hpc-envs-demo"], "upgrade": True},
    )
    versions = conda_versions(await packages(jp_fetch, "pk"))
    assert versions["hpc-envs-demo"] == "2.0"
    assert versions["hpc-envs-pinned"] == "1.0"
    _, env = await call(jp_fetch, "GET", "envs", "pk")
    assert env["packages"] == ["hpc-envs-demo", "hpc-envs-pinned=1.0"]

    # conda update --all: every package to the newest the channel has.
    await change(jp_fetch, "pk", "POST", "update-all", body={"partition": "zen4"})
    versions = conda_versions(await packages(jp_fetch, "pk"))
    assert versions["hpc-envs-pinned"] == "2.0"
    assert versions["python"].startswith("3.11."), "update --all keeps the Python series"

    # conda remove hpc-envs-demo
    await change(jp_fetch, "pk", "DELETE", params={"partition": "zen4", "package": "hpc-envs-demo"})
    versions = conda_versions(await packages(jp_fetch, "pk"))
    assert "hpc-envs-demo" not in versions
    _, env = await call(jp_fetch, "GET", "envs", "pk")
    assert [p for p in env["packages"] if "hpc-envs-demo" in p] == []


async def test_pip_is_used_only_for_what_the_channels_lack(conda_site, jp_fetch):
    await conda_env(jp_fetch, name="mixpip")
    record = await change(
        jp_fetch,
        "mixpip",
        "POST",
        body={"partition": "zen4", "packages": ["hpc-envs-demo", "tabulate==0.9.0"]},
    )
    log = await task_log(jp_fetch, record["id"])
    assert "tabulate==0.9.0 is in none of the channels: installed with pip" in log
    data = await packages(jp_fetch, "mixpip")
    assert "hpc-envs-demo" in conda_versions(data)
    assert "tabulate" not in conda_versions(data)
    tabulate = next(r for r in data["packages"] if r["key"] == "tabulate")
    assert (tabulate["version"], tabulate["source"], tabulate["conda"]) == ("0.9.0", "conda", None)
    assert data["pip_packages"] == ["tabulate==0.9.0"]


async def test_python_and_ipykernel_cannot_be_removed(conda_site, jp_fetch):
    await conda_env(jp_fetch, name="keep")
    for package in ("python", "ipykernel"):
        code, data = await call(
            jp_fetch,
            "DELETE",
            "envs",
            "keep",
            "packages",
            params={"partition": "zen4", "package": package},
            ok=False,
        )
        assert code == 400
        assert "must stay" in data["message"]


# --- adoption, removal ----------------------------------------------------------------------------


async def test_an_environment_made_by_hand_is_found_and_adopted_and_never_deleted(
    conda_site, jp_fetch
):
    # As 'conda create -p $VSC_DATA/miniconda3/envs/project python=3.11 ipykernel', with the engine.
    prefix = conda_site["VSC_DATA"] / "miniconda3" / "envs" / "project"
    code, out, err = await proc.run(
        [
            sys.executable,
            "-m",
            "jupyterlab_hpc_envs.envs.conda_rattler",
            "sync",
            "--prefix",
            str(prefix),
            "--channel",
            conda_site["channel"],
            "--",
            "python=3.11",
            "ipykernel",
            "hpc-envs-hook",
        ],
        timeout=300,
    )
    assert code == 0, out + err
    _, found = await call(jp_fetch, "GET", "conda", "environments")
    listed = {e["prefix"]: e for e in found["environments"]}
    assert listed[str(prefix)]["adoptable"] is True
    assert listed[str(prefix)]["python"].startswith("3.11.")

    code, data = await call(jp_fetch, "POST", "envs", "adopt", body={"path": str(prefix)})
    assert code == 201, data
    assert data["name"] == "project"
    out = await run_code(
        data["kernel"], f"import os, sys; print(sys.prefix); print(os.environ['{HOOK_VARIABLE}'])"
    )
    assert out.split("\n")[:2] == [str(prefix), f"ran for {prefix}"]
    _, found = await call(jp_fetch, "GET", "conda", "environments")
    assert {e["prefix"]: e for e in found["environments"]}[str(prefix)]["managed_as"] == "project"

    code, _ = await call(jp_fetch, "DELETE", "envs", "project")
    assert code == 200
    assert (prefix / "conda-meta").is_dir(), "an environment made by hand is never deleted"
    assert data["kernel"] not in our_kernels()


async def test_remove_leaves_nothing_but_the_shared_package_cache(conda_site, jp_fetch):
    await conda_env(jp_fetch, name="gone", packages=["hpc-envs-hook"])
    _, plan = await call(jp_fetch, "GET", "envs", "gone", "removal")
    assert "kernel hpcenv-gone-zen4" in plan["plan"]
    code, _ = await call(jp_fetch, "DELETE", "envs", "gone")
    assert code == 200
    assert "hpcenv-gone-zen4" not in our_kernels()
    left = tree(conda_site["VSC_DATA"])
    assert "hpc-envs/gone" not in left
    assert [p for p in left if p != "hpc-envs" and not p.startswith("hpc-envs/.conda-pkgs")] == []
    code, _ = await call(jp_fetch, "GET", "envs", "gone", ok=False)
    assert code == 404


# --- engines and policy -------------------------------------------------------------------------


async def test_the_engine_in_use_is_reported_with_the_channels(conda_site, jp_fetch):
    _, info = await call(jp_fetch, "GET", "conda")
    assert info["policy"] == "allowed"
    assert info["engine"]["kind"] == "rattler"
    assert info["engine"]["source"] == "py-rattler"
    assert info["engine"]["version"]
    assert info["how_to_get"] == ""
    assert info["channels"] == [conda_site["channel"]]
    assert "intel" in [c["name"] for c in info["known_channels"]]
    # The stray ~/.local/lib of the demo site is flagged, as the site documentation's note on it asks.
    assert any(".local/lib" in w for w in info["warnings"])


@pytest.mark.parametrize("conda_site", [{"conda_engine": "micromamba"}], indirect=True)
async def test_without_the_engine_asked_for_the_user_is_told_how_to_get_one(conda_site, jp_fetch):
    _, info = await call(jp_fetch, "GET", "conda")
    assert info["engine"] is None
    assert "$VSC_DATA/miniconda3" in info["how_to_get"]
    code, data = await call(
        jp_fetch, "POST", "envs", body={"kind": "conda", "name": "x", "partition": "zen4"}, ok=False
    )
    assert code == 409
    assert "Miniconda" in data["message"]
    assert tree(conda_site["VSC_DATA"]) in ([], ["hpc-envs"])


@pytest.mark.parametrize(
    "conda_site",
    [{"conda_policy": "discouraged", "conda_policy_message": DISCOURAGED_MESSAGE}],
    indirect=True,
)
async def test_a_discouraged_policy_is_shown_before_and_when_creating(conda_site, jp_fetch):
    _, site = await call(jp_fetch, "GET", "site")
    assert site["conda"] == {"policy": "discouraged", "message": DISCOURAGED_MESSAGE}
    _, info = await call(jp_fetch, "GET", "conda")
    assert DISCOURAGED_MESSAGE in info["warnings"]
    data, record = await create(jp_fetch, name="frowned", python="3.11", partition="zen4")
    assert DISCOURAGED_MESSAGE in data["task"]["params"]["warnings"]
    assert record["state"] == "succeeded"
    assert f"Note: {DISCOURAGED_MESSAGE}" in await task_log(jp_fetch, record["id"])
    code, out, err = await cli("conda")
    assert code == 0, err
    assert f"Policy      discouraged: {DISCOURAGED_MESSAGE}" in out


@pytest.mark.parametrize(
    "conda_site",
    [{"conda_policy": "forbidden", "conda_policy_message": "No conda on hpcdemo."}],
    indirect=True,
)
async def test_a_forbidden_policy_refuses_with_the_sites_message(conda_site, jp_fetch):
    code, data = await call(
        jp_fetch,
        "POST",
        "envs",
        body={"kind": "conda", "name": "nope", "partition": "zen4"},
        ok=False,
    )
    assert code == 400
    assert data["message"] == "No conda on hpcdemo."
    code, _, err = await cli("create", "nope", "--conda", "--python", "3.11")
    assert code == 2
    assert "No conda on hpcdemo." in err
    assert tree(conda_site["VSC_DATA"]) in ([], ["hpc-envs"])


async def test_the_cli_creates_a_conda_environment_and_lists_its_conda_packages(
    conda_site, jp_fetch
):
    code, out, err = await cli(
        "create",
        "cli",
        "--conda",
        "--python",
        "3.11",
        "--package",
        "hpc-envs-demo=1.0",
        "--partition",
        "zen4",
        "--quiet",
    )
    assert code == 0, out + err
    assert "Note:" in err, "the ~/.local/lib warning is shown before creating"
    code, out, err = await cli("packages", "cli", "--partition", "zen4", "--json")
    assert code == 0, err
    assert conda_versions(json.loads(out))["hpc-envs-demo"] == "1.0"
    code, out, err = await cli("update", "cli", "--all", "--partition", "zen4", "--quiet")
    assert code == 0, out + err
    _, env = await call(jp_fetch, "GET", "envs", "cli")
    assert env["packages"] == ["hpc-envs-demo"]
