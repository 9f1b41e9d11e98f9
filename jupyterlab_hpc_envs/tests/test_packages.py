"""Installed packages with provenance, and pip changes as tasks, on the demo site (real pip)."""

from __future__ import annotations

import json

import pytest

from jupyterlab_hpc_envs.envs.packages import shadow_warnings

from .helpers import call, task_log, wait_task
from .test_envs_rest import IPYTHON, PYTHON, SCIPY, create

ICECREAM = "icecream"


@pytest.fixture
async def science(site_env, jp_fetch):
    record = await create(
        jp_fetch, name="pk", modules=[PYTHON, SCIPY, IPYTHON], partition="zen4", packages=[ICECREAM]
    )
    assert record["state"] == "succeeded", await task_log(jp_fetch, record["id"])
    _, env = await call(jp_fetch, "GET", "envs", "pk")
    return env


async def packages(jp_fetch, partition="zen4"):
    _, data = await call(
        jp_fetch, "POST", "envs", "pk", "packages", "listing", body={"partition": partition}
    )
    return data


def winners(data):
    return {r["key"]: r for r in data["packages"] if not r["shadowed_by"]}


async def change(jp_fetch, method, body=None, params=None):
    code, data = await call(jp_fetch, method, "envs", "pk", "packages", body=body, params=params)
    assert code == 202, data
    return await wait_task(jp_fetch, data["task"]["id"])


async def test_the_listing_matches_pip_list_in_the_same_loaded_environment(
    science, demo_site, jp_fetch
):
    data = await packages(jp_fetch)
    launch = science["home"] + "/launch-zen4.sh"
    pip = json.loads(
        demo_site.run(f"{launch} python -m pip list -v --format json 2>/dev/null").stdout
    )
    assert len(pip) > 50
    ours = winners(data)
    for row in pip:
        mine = ours.pop(_key(row["name"]))
        assert (mine["name"], mine["version"], mine["location"]) == (
            row["name"],
            row["version"],
            row["location"],
        )
    assert ours == {}, f"listed by us but not by pip: {sorted(ours)}"


def _key(name: str) -> str:
    import re

    return re.sub(r"[-_.]+", "-", name).lower()


async def test_numpy_is_shown_as_coming_from_the_scipy_bundle_module_and_base_names_python(
    science, jp_fetch
):
    data = await packages(jp_fetch)
    numpy = winners(data)["numpy"]
    assert numpy["source"] == "module"
    assert numpy["module"] == SCIPY
    icecream = winners(data)["icecream"]
    assert icecream["source"] == "venv"
    # The interpreter's own distributions say which module's interpreter they belong to.
    base = [r for r in data["packages"] if r["source"] == "base"]
    assert base, "the Python module's own site-packages is listed"
    assert {r["module"] for r in base} == {PYTHON}


async def test_a_newer_numpy_in_the_venv_is_shadowed_by_the_module_and_the_listing_says_so(
    science, jp_fetch
):
    record = await change(
        jp_fetch, "POST", body={"partition": "zen4", "packages": ["numpy==2.2.6"]}
    )
    assert record["state"] == "succeeded", record["message"]
    data = await packages(jp_fetch)
    copies = [r for r in data["packages"] if r["key"] == "numpy"]
    assert {r["source"] for r in copies} == {"module", "venv"}
    winner = next(r for r in copies if not r["shadowed_by"])
    assert winner["source"] == "module"
    warning = next(w for w in data["warnings"] if w["name"] == "numpy")
    assert warning["level"] == "warning"
    assert SCIPY in warning["message"]
    assert "2.2.6" in warning["message"]


async def test_install_upgrade_uninstall_are_recorded_in_the_spec(science, jp_fetch):
    record = await change(
        jp_fetch, "POST", body={"partition": "zen4", "packages": ["tabulate==0.8.10"]}
    )
    assert record["state"] == "succeeded", record["message"]
    rows = [r for r in (await packages(jp_fetch))["packages"] if r["key"] == "tabulate"]
    assert ("0.8.10", "venv") in {(r["version"], r["source"]) for r in rows}
    _, env = await call(jp_fetch, "GET", "envs", "pk")
    assert "tabulate==0.8.10" in env["packages"]

    record = await change(
        jp_fetch, "POST", body={"partition": "zen4", "packages": ["tabulate>=0.9"], "upgrade": True}
    )
    assert record["state"] == "succeeded", record["message"]
    venv_tabulate = [
        r
        for r in (await packages(jp_fetch))["packages"]
        if r["key"] == "tabulate" and r["source"] == "venv"
    ]
    assert venv_tabulate[0]["version"] != "0.8.10", await task_log(jp_fetch, record["id"])
    _, env = await call(jp_fetch, "GET", "envs", "pk")
    assert "tabulate>=0.9" in env["packages"]
    assert "tabulate==0.8.10" not in env["packages"]

    record = await change(jp_fetch, "DELETE", params={"partition": "zen4", "package": "tabulate"})
    assert record["state"] == "succeeded", record["message"]
    assert not [
        r
        for r in (await packages(jp_fetch))["packages"]
        if r["key"] == "tabulate" and r["source"] == "venv"
    ]
    _, env = await call(jp_fetch, "GET", "envs", "pk")
    assert not [p for p in env["packages"] if p.startswith("tabulate")]


async def test_export_and_import_round_trip_into_a_new_environment(science, jp_fetch):
    _, exported = await call(
        jp_fetch, "POST", "envs", "pk", "requirements", body={"partition": "zen4"}
    )
    text = exported["text"]
    assert "icecream==" in text
    assert "numpy" not in text, "the module's numpy is not the venv's to export"
    record = await create(
        jp_fetch, name="copy", modules=[PYTHON, SCIPY, IPYTHON], partition="zen4", requirements=text
    )
    assert record["state"] == "succeeded", await task_log(jp_fetch, record["id"])
    _, again = await call(
        jp_fetch, "POST", "envs", "copy", "requirements", body={"partition": "zen4"}
    )
    assert again["text"].splitlines()[1:] == text.splitlines()[1:]


async def test_a_rebuild_on_the_other_partition_carries_the_installed_packages(science, jp_fetch):
    record = await change(
        jp_fetch, "POST", body={"partition": "zen4", "packages": ["tabulate==0.8.10"]}
    )
    assert record["state"] == "succeeded"
    code, data = await call(jp_fetch, "POST", "envs", "pk", "builds", body={"partition": "zen2"})
    assert code == 202
    record = await wait_task(jp_fetch, data["task"]["id"])
    assert record["state"] == "succeeded", await task_log(jp_fetch, record["id"])
    zen2 = winners(await packages(jp_fetch, "zen2"))
    assert zen2["tabulate"]["version"] == "0.8.10"
    assert zen2["tabulate"]["source"] == "venv"
    assert zen2["icecream"]["source"] == "venv"


@pytest.mark.parametrize(
    "spec",
    ["--index-url=http://x/simple", "numpy; touch /tmp/x", "-r /etc/passwd", "x @ file:///etc"],
)
async def test_a_spec_that_is_not_a_requirement_is_refused_before_pip_runs(science, jp_fetch, spec):
    code, data = await call(
        jp_fetch,
        "POST",
        "envs",
        "pk",
        "packages",
        body={"partition": "zen4", "packages": [spec]},
        ok=False,
    )
    assert code == 400
    assert data["message"]
    _, tasks = await call(jp_fetch, "GET", "tasks")
    assert [t for t in tasks["tasks"] if t["kind"] == "packages"] == []


async def test_a_failed_install_leaves_the_environment_as_it_was(science, jp_fetch):
    before = await packages(jp_fetch)
    # tabulate installs, then the second requirement cannot be found: pip fails after changing nothing,
    # or (with resolution done) the roll-back removes what it added.
    record = await change(
        jp_fetch,
        "POST",
        body={
            "partition": "zen4",
            "packages": ["tabulate==0.8.10", "no-such-distribution-hpc-envs==1"],
        },
    )
    assert record["state"] == "failed"
    assert "put back as it was" in record["message"]
    after = await packages(jp_fetch)
    strip = lambda d: sorted((r["key"], r["version"], r["source"]) for r in d["packages"])  # noqa: E731
    assert strip(after) == strip(before)
    _, env = await call(jp_fetch, "GET", "envs", "pk")
    assert not [p for p in env["packages"] if p.startswith("tabulate")]


async def test_packages_that_come_from_modules_cannot_be_uninstalled(science, jp_fetch):
    code, data = await call(
        jp_fetch,
        "DELETE",
        "envs",
        "pk",
        "packages",
        params={"partition": "zen4", "package": "numpy"},
        ok=False,
    )
    assert code == 400
    assert "module" in data["message"]


def _row(name, version, source, order, module=None):
    """A row of the probe's listing, as :mod:`jupyterlab_hpc_envs.envs.probe` prints it."""
    return {
        "name": name,
        "key": name.lower(),
        "version": version,
        "location": f"/{source}/{order}/site-packages",
        "source": source,
        "module": module,
        "editable": None,
        "order": order,
        "shadowed_by": None,
    }


def test_a_copy_identical_to_the_one_imported_is_no_conflict():
    # Given setuptools twice at the same version (the same files reached twice, or installed
    # again as they were), and six twice at two versions
    rows = [
        _row("setuptools", "68.0.0", "base", 1, PYTHON),
        _row("setuptools", "68.0.0", "venv", 3),
        _row("six", "1.16.0", "module", 2, SCIPY),
        _row("six", "1.17.0", "venv", 3),
    ]

    warnings = shadow_warnings(rows)

    # Then only six is reported, the module's copy outranking the venv's
    assert [w["name"] for w in warnings] == ["six"]
    assert warnings[0]["level"] == "warning"


def test_a_hidden_copy_names_the_module_of_base():
    rows = [_row("pip", "24.0", "venv", 1), _row("pip", "23.1.2", "base", 3, PYTHON)]
    (warning,) = shadow_warnings(rows)
    assert warning["level"] == "info"
    assert warning["message"] == f"pip 24.0 (venv) hides 23.1.2 (base: {PYTHON})"
