"""A failed build's entries read from the tools' REAL error output, and a failed environment
replaced through the REST API.

``envs/failure.py`` recognises a few error forms of pip, Lmod and Environment Modules (Tcl). Here
the module systems' lines are not written by hand: ``module load`` of a module that does not exist
runs under the demo site's Lmod and under Debian's Environment Modules (the ``tcl_site`` fixture of
``test_tcl_modules.py``), and what they print is what the failure is read from.
"""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest

from jupyterlab_hpc_envs.envs import failure

from .helpers import call, task_log, wait_task
from .test_envs_rest import IPYTHON, PYTHON
from .test_tcl_modules import modulecmd, tcl_site  # noqa: F401  (fixtures)

pytestmark = pytest.mark.timeout(600)

MISSING = "Nope/1.0"


def module_load_output(init: str) -> str:
    """What ``module load`` of a module that does not exist prints (stdout and stderr), in a
    bash that sourced ``init`` (the module system's own bash init)."""
    result = subprocess.run(
        ["bash", "-c", f'. "{init}" && module load {MISSING} Python/0.0-nothing'],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    return result.stdout + result.stderr


def assert_names_the_modules(output: str, tmp_path: Path) -> None:
    # Lmod lists the unknown modules in no fixed order.
    packages, modules = failure.responsible(output)
    assert (packages, sorted(modules)) == ([], [MISSING, "Python/0.0-nothing"]), output
    log = tmp_path / "build.log"
    log.write_text("==> modules\n" + output + "::hpc-envs::fail loading the modules failed\n")
    described = failure.describe("loading the modules failed", str(log))
    assert described["entries"] == modules
    assert described["summary"] == (
        f"The module system does not know {', '.join(modules)}: change the module (see "
        "`jupyter hpc-envs modules`) and create the environment again."
    )


def test_lmods_own_error_names_the_unknown_modules(site_env, tmp_path):
    init = os.path.join(os.environ["LMOD_PKG"], "init", "bash") if "LMOD_PKG" in os.environ else ""
    if not init or not os.path.isfile(init):
        init = os.path.join(os.path.dirname(os.environ["LMOD_DIR"]), "init", "bash")
    output = module_load_output(init)
    assert "Lmod has detected the following error" in output, output
    assert_names_the_modules(output, tmp_path)


def test_environment_modules_own_error_names_the_unknown_modules(tcl_site, tmp_path):  # noqa: F811
    output = module_load_output(os.path.join(os.environ["MODULESHOME"], "init", "bash"))
    assert "Unable to locate a modulefile" in output, output
    assert_names_the_modules(output, tmp_path)


async def test_a_failed_environment_is_replaced_by_posting_its_name_again(site_env, jp_fetch):
    typo = "tabulatte-diag-typo"
    body = {"name": "diag-mend", "modules": [PYTHON, IPYTHON], "partition": "zen4"}
    code, data = await call(jp_fetch, "POST", "envs", body={**body, "packages": [typo]})
    assert code == 202, data
    record = await wait_task(jp_fetch, data["task"]["id"])
    assert record["state"] == "failed"
    _, env = await call(jp_fetch, "GET", "envs", "diag-mend")
    build = env["builds"]["zen4"]
    assert build["state"] == "failed"
    assert build["failure"]["entries"] == [typo]
    assert typo in build["failure"]["summary"]

    # The same name posted again with the spelling corrected replaces the failed environment.
    code, data = await call(jp_fetch, "POST", "envs", body={**body, "packages": ["tabulate"]})
    assert code == 202, data
    record = await wait_task(jp_fetch, data["task"]["id"])
    assert record["state"] == "succeeded", await task_log(jp_fetch, record["id"])
    _, env = await call(jp_fetch, "GET", "envs", "diag-mend")
    assert env["packages"] == ["tabulate"]
    assert env["builds"]["zen4"]["state"] == "ready"
    assert "failure" not in env["builds"]["zen4"] or not env["builds"]["zen4"]["failure"]

    # A working environment's name stays taken: 409 naming the field, nothing changed.
    code, data = await call(jp_fetch, "POST", "envs", body={**body, "packages": []}, ok=False)
    assert code == 409, data
    assert data.get("field") == "name"
    _, env = await call(jp_fetch, "GET", "envs", "diag-mend")
    assert env["packages"] == ["tabulate"]
