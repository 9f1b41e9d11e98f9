"""Why a kernel cannot start, in a form JupyterLab tells apart, and the conda lock round trip.

A refused start's message (what jupyter_server hands to JupyterLab) is the sentence for people,
then a last line ``hpc-envs-diagnosis: {...}`` (:mod:`jupyterlab_hpc_envs.kernels.diagnosis`)
naming the kind of failure and the fixes the frontend's dialog offers. Here: a module gone from a
copy of the module tree (through jupyter_client, and through a jupyter server's REST API as
JupyterLab starts kernels) and a conda environment's interpreter gone. The Slurm kinds (queue
timeout, cancelled, arch) are asserted in ``test_provisioner_slurm.py``.

The conda environment comes from the local channel of ``conda_channel.py``: its lock lists the
engine's explicit packages, and ``create --from-lock`` of it gives the same ones.
"""

from __future__ import annotations

import json
import os
import re

import pytest
from jupyter_client.manager import AsyncKernelManager

from jupyterlab_hpc_envs.kernels import diagnosis
from jupyterlab_hpc_envs.kernels.provisioner import KernelStartError

from .test_cli import hpc
from .test_conda import conda_channel, conda_site  # noqa: F401  (fixtures)
from .test_envs_rest import PYTHON
from .test_lock import own_tree  # noqa: F401  (a fixture)

pytestmark = pytest.mark.timeout(600)


async def refused(kernel_name: str) -> KernelStartError:
    """Start the kernel through jupyter_client; the error its provisioner raised."""
    with pytest.raises(KernelStartError) as caught:
        await AsyncKernelManager(kernel_name=kernel_name).start_kernel()
    return caught.value


def test_the_diagnosis_line_comes_after_the_text_and_parses_back():
    found = diagnosis.of("module", "science", "zen2", ["Python/3.11.7"], ("rebuild", "choose"))
    text = diagnosis.with_line("Module Python/3.11.7 is gone.\nLast output:\nx", found)
    assert text.splitlines()[0] == "Module Python/3.11.7 is gone."
    assert text.splitlines()[-1].startswith(diagnosis.MARKER)
    assert diagnosis.parse(text) == ("Module Python/3.11.7 is gone.\nLast output:\nx", found)
    assert diagnosis.parse("no marker") == ("no marker", None)
    with pytest.raises(ValueError, match="unknown diagnosis kind"):
        diagnosis.of("weather", "science", "zen2")


async def test_a_kernel_whose_module_is_gone_is_refused_with_the_module_named_and_its_fixes(
    own_tree,  # noqa: F811
    jp_fetch,
):
    code, out, err = await hpc("create", "diag-mod", "-m", PYTHON, "-p", "zen4", "--quiet")
    assert code == 0, out + err
    name, version = PYTHON.split("/")
    (own_tree / name / f"{version}.lua").rename(own_tree / name / f"{version}.lua.retired")

    # Through jupyter_client: the sentence first, the diagnosis as the last line.
    error = await refused("hpcenv-diag-mod-zen4")
    text, found = diagnosis.parse(str(error))
    assert re.match(
        f"The kernel of diag-mod cannot start: Module {re.escape(PYTHON)} is gone", text
    )
    assert found == {
        "kind": "module",
        "env": "diag-mod",
        "partition": "zen4",
        "subjects": [PYTHON],
        "fixes": ["rebuild", "migrate", "choose"],
    }
    assert error.message == text

    # Through the server, as JupyterLab starts a notebook's kernel: the message it shows.
    response = await jp_fetch(
        "api",
        "sessions",
        method="POST",
        raise_error=False,
        body=json.dumps(
            {"path": "diag.ipynb", "type": "notebook", "kernel": {"name": "hpcenv-diag-mod-zen4"}}
        ),
    )
    assert response.code == 500
    message = json.loads(response.body)["message"]
    assert message.splitlines()[0].startswith("The kernel of diag-mod cannot start")
    assert diagnosis.parse(message)[1] == found


async def test_a_conda_lock_lists_the_engines_packages_and_rebuilds_them_and_a_lost_interpreter_is_diagnosed(
    conda_site,  # noqa: F811
    tmp_path,
):
    code, out, err = await hpc(
        "create", "diag-conda", "--conda", "--python", "3.11", "--package", "hpc-envs-demo=1.0",
        "--partition", "zen4", "--quiet",
    )  # fmt: skip
    assert code == 0, out + err
    code, out, err = await hpc("lock", "diag-conda", "-p", "zen4", "--json")
    assert code == 0, err
    first = json.loads(out)
    assert first["kind"] == "conda"
    explicit = first["conda"]["explicit"]
    assert explicit[0] == "@EXPLICIT"
    assert any(re.search(r"/hpc-envs-demo-1\.0-[^/]*\.(conda|tar\.bz2)$", u) for u in explicit)
    assert any(re.search(r"/python-3\.11\.[^/]*$", u) for u in explicit)
    assert all(u.startswith(conda_site["channel"]) for u in explicit[1:]), explicit
    rows = {d["name"]: d for d in first["distributions"]}
    assert rows["hpc-envs-demo"]["version"] == "1.0"
    assert rows["hpc-envs-demo"]["source"] == "conda"

    saved = tmp_path / "lock.json"
    saved.write_text(out)
    code, out, err = await hpc("remove", "diag-conda", "--yes")
    assert code == 0, out + err
    # A conda lock is rebuilt as a conda environment (--conda: the kind is checked, not guessed).
    code, out, err = await hpc("create", "--from-lock", str(saved), "--conda", "--quiet")
    assert code == 0, out + err
    code, out, err = await hpc("lock", "diag-conda", "-p", "zen4", "--json")
    assert code == 0, err
    second = json.loads(out)
    # The same packages, to the build; the Python version is now given by the python package's
    # pin (so `conda.python`, the version asked for at creation, is empty).
    assert second["conda"]["explicit"] == explicit
    assert second["distributions"] == first["distributions"]
    assert second["python"]["version"] == first["python"]["version"]

    # The environment's own interpreter gone (an upgrade gone wrong): refused, saying so.
    interpreter = second["python"]["path"]
    assert interpreter.startswith(str(conda_site["VSC_DATA"])), interpreter
    os.rename(interpreter, interpreter + ".gone")
    text, found = diagnosis.parse(str(await refused("hpcenv-diag-conda-zen4")))
    assert f"The interpreter {interpreter} is missing" in text
    assert found is not None
    assert (found["kind"], found["subjects"]) == ("interpreter", [interpreter])
    assert "rebuild" in found["fixes"]
