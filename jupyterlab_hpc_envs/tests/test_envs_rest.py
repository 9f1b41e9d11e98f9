"""Module-based venvs per partition through the REST API, on the demo site's real Lmod and Slurm.

Every build here is real: modules loaded by Lmod, ``python -m venv``, pip from the package index,
Slurm jobs on the one-node demo cluster, kernels started through jupyter_client and our provisioner.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest
from jupyter_core.paths import jupyter_data_dir

from .helpers import call, run_code, task_log, wait_task

PYTHON = "Python/3.11.7-GCCcore-12.3.0"
SCIPY = "SciPy-bundle/2023.07-gfbf-2023a"
SCIPY_2022 = "SciPy-bundle/2022.05-foss-2022a"
IPYTHON = "IPython/8.14.0-GCCcore-12.3.0"


def kernels_dir() -> Path:
    return Path(jupyter_data_dir()) / "kernels"


def our_kernels() -> list[str]:
    folder = kernels_dir()
    return sorted(p.name for p in folder.glob("hpcenv-*"))


def tree(root: Path) -> list[str]:
    return sorted(str(p.relative_to(root)) for p in root.rglob("*"))


async def create(jp_fetch, **body):
    code, data = await call(jp_fetch, "POST", "envs", body=body)
    assert code == 202, data
    return await wait_task(jp_fetch, data["task"]["id"])


async def test_site_describes_partitions_module_system_and_storage_roots(site_env, jp_fetch):
    _, site = await call(jp_fetch, "GET", "site")
    parts = {p["name"]: p for p in site["partitions"]}
    assert set(parts) == {"zen2", "zen4"}
    assert parts["zen4"]["arch"] == "zen4"
    assert parts["zen4"]["local"] is True
    assert parts["zen2"]["local"] is False
    assert site["module_system"]["kind"] == "lmod"
    assert site["arch"] == "zen4"
    labels = [r["label"] for r in site["storage_roots"]]
    assert labels == ["$VSC_DATA", "$VSC_SCRATCH", "$HOME"]
    assert site["storage_roots"][-1]["warning"], "the home root carries the quota warning"
    assert "user-site" in [w["code"] for w in site["warnings"]]


async def test_module_catalog_marks_other_toolchain_generations_incompatible_with_a_reason(
    site_env, jp_fetch
):
    _, data = await call(jp_fetch, "GET", "modules", params={"partition": "zen4", "python": PYTHON})
    modules = {m["full"]: m for m in data["modules"]}
    assert modules[SCIPY]["compatible"] is True
    assert modules[SCIPY_2022]["compatible"] is False
    assert "2022a" in modules[SCIPY_2022]["reason"]
    assert "tqdm/4.66.1-GCCcore-12.3.0" in modules


async def test_the_catalog_of_each_partition_is_its_own_module_tree(site_env, jp_fetch):
    _, zen2 = await call(jp_fetch, "GET", "modules", params={"partition": "zen2"})
    assert "tqdm/4.66.1-GCCcore-12.3.0" not in {m["full"] for m in zen2["modules"]}
    assert all("/zen2/" in m["path"] for m in zen2["modules"])


async def test_a_venv_on_zen4_runs_a_kernel_that_reproduces_the_environment(site_env, jp_fetch):
    record = await create(
        jp_fetch, name="science", modules=[PYTHON, SCIPY], packages=["icecream"], partition="zen4"
    )
    log = await task_log(jp_fetch, record["id"])
    assert record["state"] == "succeeded", log
    # uv (installer=auto) or pip says it installed it, each in its words
    assert " + icecream==" in log or "Successfully installed icecream" in log, log
    _, env = await call(jp_fetch, "GET", "envs", "science")
    build = env["builds"]["zen4"]
    assert build["state"] == "ready"
    assert build["path"] == str(site_env["VSC_DATA"] / "hpc-envs" / "science" / "venv-zen4")
    assert env["kernels"] == [{"name": "hpcenv-science-zen4", "partition": "zen4", "arch": "zen4"}]
    spec = json.loads((kernels_dir() / "hpcenv-science-zen4" / "kernel.json").read_text())
    assert spec["display_name"] == "science (zen4)"
    assert spec["interrupt_mode"] == "message"
    assert spec["metadata"]["kernel_provisioner"]["provisioner_name"] == "hpc-envs-provisioner"

    out = await run_code(
        "hpcenv-science-zen4",
        "import sys, os, site, numpy, icecream\n"
        "print(sys.prefix); print(numpy.__file__); print(os.environ['LOADEDMODULES'])\n"
        "print(site.ENABLE_USER_SITE); print(numpy.__version__)",
    )
    prefix, numpy_file, loaded, user_site, numpy_version = out.split()
    assert prefix == build["path"]
    assert f"/software/zen4/{SCIPY}/" in numpy_file
    assert loaded.split(":") == build["loaded_modules"]
    assert [m for m in loaded.split(":") if m in (PYTHON, SCIPY)] == [PYTHON, SCIPY]
    assert user_site == "False", "the stray user site must not be on sys.path"
    assert numpy_version != "1.0.0+stray"


async def test_rebuild_for_zen2_runs_as_a_slurm_job_on_zen2(site_env, jp_fetch):
    first = await create(jp_fetch, name="multi", modules=[PYTHON, IPYTHON], partition="zen4")
    assert first["state"] == "succeeded"
    code, data = await call(jp_fetch, "POST", "envs", "multi", "builds", body={"partition": "zen2"})
    assert code == 202
    record = await wait_task(jp_fetch, data["task"]["id"])
    log = await task_log(jp_fetch, record["id"])
    assert record["state"] == "succeeded", log
    assert "Running as a Slurm job on partition zen2: srun --partition=zen2" in log
    # VSC_ARCH_LOCAL=zen2 is set only inside zen2 jobs (the site's TaskProlog): the build ran there.
    assert "::hpc-envs::info node_arch=zen2" in log
    _, env = await call(jp_fetch, "GET", "envs", "multi")
    assert env["builds"]["zen2"]["state"] == "ready"
    assert env["builds"]["zen2"]["built_partition"] == "zen2"
    assert {k["name"] for k in env["kernels"]} == {"hpcenv-multi-zen2", "hpcenv-multi-zen4"}


async def test_a_failed_build_leaves_no_kernel_and_no_folder_but_keeps_the_log(site_env, jp_fetch):
    record = await create(
        jp_fetch,
        name="broken",
        modules=[PYTHON, IPYTHON],
        packages=["this-package-does-not-exist-hpc-envs==9.9.9"],
        partition="zen4",
    )
    assert record["state"] == "failed"
    assert "installing the requested packages failed" in record["message"]
    assert "hpcenv-broken-zen4" not in our_kernels()
    home = site_env["VSC_DATA"] / "hpc-envs" / "broken"
    assert not (home / "venv-zen4").exists()
    assert not (home / "launch-zen4.sh").exists()
    _, env = await call(jp_fetch, "GET", "envs", "broken")
    build = env["builds"]["zen4"]
    assert build["state"] == "failed"
    assert "this-package-does-not-exist-hpc-envs" in Path(build["log"]).read_text()


async def test_remove_leaves_nothing_behind(site_env, jp_fetch):
    record = await create(jp_fetch, name="gone", modules=[PYTHON, IPYTHON], partition="zen4")
    assert record["state"] == "succeeded"
    before = tree(site_env["VSC_DATA"])
    assert before
    _, plan = await call(jp_fetch, "GET", "envs", "gone", "removal")
    assert "kernel hpcenv-gone-zen4" in plan["plan"]
    code, result = await call(jp_fetch, "DELETE", "envs", "gone")
    assert code == 200
    assert "kernel hpcenv-gone-zen4" in result["removed"]
    assert "hpcenv-gone-zen4" not in our_kernels()
    assert tree(site_env["VSC_DATA"]) == ["hpc-envs"]
    code, _ = await call(jp_fetch, "GET", "envs", "gone", ok=False)
    assert code == 404


async def test_a_hand_made_venv_is_adopted_and_works_as_a_kernel(site_env, demo_site, jp_fetch):
    venv = site_env["VSC_DATA"] / "project" / "venv-zen4"
    demo_site.run(
        f"module load {PYTHON} {IPYTHON} && python3 -m venv --system-site-packages {venv}",
        env={"VSC_DATA": str(site_env["VSC_DATA"])},
    )
    code, data = await call(
        jp_fetch,
        "POST",
        "envs",
        "adopt",
        body={"path": str(venv), "name": "project", "modules": [PYTHON, IPYTHON]},
    )
    assert code == 201, data
    assert data["arch"] == "zen4"
    out = await run_code(data["kernel"], "import sys; print(sys.prefix)")
    assert out.strip() == str(venv)
    code, _ = await call(jp_fetch, "DELETE", "envs", "project")
    assert code == 200
    assert (venv / "pyvenv.cfg").exists(), "a venv made by hand is never deleted"


async def test_adopting_infers_the_python_module_from_pyvenv_cfg(site_env, demo_site, jp_fetch):
    venv = site_env["VSC_DATA"] / "inferred-zen4"
    demo_site.run(f"module load {PYTHON} && python3 -m venv --system-site-packages {venv}")
    # Without ipykernel the inferred Python alone cannot run a kernel: refused, nothing registered.
    code, data = await call(jp_fetch, "POST", "envs", "adopt", body={"path": str(venv)}, ok=False)
    assert code == 400
    assert PYTHON in data["message"]
    assert "ipykernel" in data["message"]
    assert not (site_env["VSC_DATA"] / "hpc-envs" / "inferred").exists()


@pytest.mark.parametrize(
    ("body", "status", "field_or_text"),
    [
        ({"name": "x", "modules": ["Pythn/3.11.7-GCCcore-12.3.0"]}, 404, PYTHON),
        ({"name": "x", "modules": [PYTHON, SCIPY_2022]}, 400, "2022a"),
        ({"name": "x", "modules": [PYTHON], "partition": "zen9"}, 404, "zen2"),
        ({"name": "x", "modules": [PYTHON], "root": "/etc"}, 400, "storage roots"),
        ({"name": "x", "modules": [SCIPY]}, 400, "Python module"),
        ({"name": "x", "modules": []}, 400, "Python module"),
        ({"name": "x", "modules": [PYTHON], "packages": ["--index-url=http://x"]}, 400, "option"),
        (
            {"name": "x", "modules": [PYTHON], "options": {"pip_options": ["--index-url=x"]}},
            400,
            "not accepted",
        ),
    ],
)
async def test_bad_requests_say_why_and_create_nothing(
    site_env, jp_fetch, body, status, field_or_text
):
    code, data = await call(jp_fetch, "POST", "envs", body={"partition": "zen4", **body}, ok=False)
    assert code == status, data
    assert field_or_text in data["message"]
    assert tree(site_env["VSC_DATA"]) in ([], ["hpc-envs"])
    assert our_kernels() == []


INJECTIONS = [
    "x; touch /tmp/hpc-envs-pwned",
    "$(touch /tmp/hpc-envs-pwned)",
    "`touch /tmp/hpc-envs-pwned`",
    "x\ntouch /tmp/hpc-envs-pwned",
    "x\x00y",
    "../../../tmp/hpc-envs-pwned",
    "/tmp/hpc-envs-pwned",
    "x" * 5000,
    "scіence",
    "x' || touch /tmp/hpc-envs-pwned #",
]


@pytest.mark.parametrize("value", INJECTIONS)
@pytest.mark.parametrize("field", ["name", "module", "partition", "root", "package"])
async def test_injection_through_any_field_is_refused_and_runs_nothing(
    site_env, jp_fetch, field, value
):
    body = {"name": "safe", "modules": [PYTHON, IPYTHON], "partition": "zen4"}
    if field == "name":
        body["name"] = value
    elif field == "module":
        body["modules"] = [PYTHON, value]
    elif field == "partition":
        body["partition"] = value
    elif field == "root":
        body["root"] = value
    else:
        body["packages"] = [value]
    code, data = await call(jp_fetch, "POST", "envs", body=body, ok=False)
    assert code in (400, 404), data
    assert data["message"]
    assert not os.path.exists("/tmp/hpc-envs-pwned")
    assert tree(site_env["VSC_DATA"]) in ([], ["hpc-envs"])
    assert our_kernels() == []


async def test_a_second_environment_with_the_same_name_is_a_conflict(site_env, jp_fetch):
    record = await create(jp_fetch, name="twice", modules=[PYTHON, IPYTHON], partition="zen4")
    assert record["state"] == "succeeded"
    code, data = await call(
        jp_fetch, "POST", "envs", body={"name": "TWICE", "modules": [PYTHON]}, ok=False
    )
    assert code == 409
    assert "exists already" in data["message"]


async def test_the_activation_sources_the_launch_script(site_env, demo_site, jp_fetch):
    record = await create(
        jp_fetch, name="shell", modules=[PYTHON, SCIPY, IPYTHON], partition="zen4"
    )
    assert record["state"] == "succeeded"
    _, data = await call(jp_fetch, "GET", "envs", "shell", "activation")
    out = demo_site.run(
        data["script"] + 'python -c "import sys, numpy; print(sys.prefix)"; echo $PYTHONNOUSERSITE'
    ).stdout.split()
    assert out == [str(site_env["VSC_DATA"] / "hpc-envs" / "shell" / "venv-zen4"), "1"]
