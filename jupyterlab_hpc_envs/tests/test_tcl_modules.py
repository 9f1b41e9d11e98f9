"""Environment Modules (the Tcl ``module``), from Debian's own package, instead of Lmod.

Debian's ``environment-modules`` conflicts with its ``lmod`` package, so it cannot be installed
beside it: the test unpacks Debian's package (``apt-get download`` + ``dpkg -x``) into the demo
site's folder and runs its real ``modulecmd.tcl`` with the machine's ``tclsh``. Its modulefiles
(Tcl, ``#%Module``) point at the demo site's software prefixes (real interpreters, real numpy and
ipykernel), so the environment built through them is as real as the Lmod ones.
"""

from __future__ import annotations

import glob
import os
import shutil
import subprocess
from pathlib import Path

import pytest

from jupyterlab_hpc_envs.config import HpcEnvs
from jupyterlab_hpc_envs.core import Core
from jupyterlab_hpc_envs.site.modules import scan_tree

from .helpers import run_code


@pytest.fixture(scope="session")
def modulecmd(demo_site) -> Path:
    """Debian's modulecmd.tcl, unpacked once into the demo site."""
    root = demo_site.dir / "cache" / "environment-modules"
    found = glob.glob(str(root / "usr" / "lib" / "*" / "modulecmd.tcl"))
    if not found:
        download = root.parent / "environment-modules-deb"
        download.mkdir(parents=True, exist_ok=True)
        subprocess.run(
            ["apt-get", "download", "environment-modules"],
            cwd=download,
            check=True,
            capture_output=True,
        )
        (deb,) = download.glob("environment-modules_*.deb")
        subprocess.run(["dpkg", "-x", str(deb), str(root)], check=True)
        found = glob.glob(str(root / "usr" / "lib" / "*" / "modulecmd.tcl"))
    assert found, "Debian's environment-modules package has no modulecmd.tcl"
    return Path(found[0])


def tcl_module(path: Path, whatis: str, root: str, body: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(f'#%Module\nmodule-whatis "{whatis}"\nset root {root}\n{body}\n')


@pytest.fixture
def tcl_site(demo_site, modulecmd, tmp_path, monkeypatch):
    """A node whose module system is Environment Modules, with EasyBuild-style Tcl modulefiles."""
    software = demo_site.dir / "software" / "zen4"
    (python_root,) = software.glob("Python/3.11.*-GCCcore-12.3.0")
    python = f"Python/{python_root.name}"
    scipy = "SciPy-bundle/2023.07-gfbf-2023a"
    ipython = "IPython/8.14.0-GCCcore-12.3.0"
    tree = tmp_path / "tcl-modules"
    tcl_module(
        tree / python,
        "Python, the language",
        str(python_root),
        "prepend-path PATH $root/bin\nsetenv EBROOTPYTHON $root",
    )
    for name, prefix in ((scipy, software / scipy), (ipython, software / ipython)):
        eb = name.split("/")[0].upper().replace("-", "MIN")
        tcl_module(
            tree / name,
            f"{name.split('/')[0]} for Python 3.11",
            str(prefix),
            f"if {{ ![is-loaded {python}] }} {{ module load {python} }}\n"
            "prepend-path PYTHONPATH $root/lib/python3.11/site-packages\n"
            f"setenv EBROOT{eb} $root",
        )
    # MODULESHOME with the bash init a site's profile would source, calling Debian's command.
    home = tmp_path / "moduleshome"
    (home / "init").mkdir(parents=True)
    tclsh = shutil.which("tclsh") or shutil.which("tclsh8.6")
    (home / "init" / "bash").write_text(
        f'module() {{ eval "$({tclsh} {modulecmd} bash "$@")"; }}\nexport -f module\n'
    )
    for key in list(os.environ):
        if key.startswith(("LMOD_", "__LMOD", "_ModuleTable", "BASH_FUNC_")) or key in (
            "LOADEDMODULES",
            "_LMFILES_",
            "MODULEPATH_ROOT",
        ):
            monkeypatch.delenv(key)
    monkeypatch.setenv("MODULESHOME", str(home))
    monkeypatch.setenv("MODULES_CMD", str(modulecmd))
    monkeypatch.setenv("MODULEPATH", str(tree))
    monkeypatch.setenv("JUPYTER_DATA_DIR", str(tmp_path / "jupyter"))
    (tmp_path / "data").mkdir()
    config = HpcEnvs(
        module_system="tcl",
        use_slurm="no",
        storage_roots=[str(tmp_path / "data")],
        site_file="",
        partitions={},
    )
    return {"config": config, "modules": [python, scipy, ipython], "tree": tree}


async def test_the_tcl_catalog_comes_from_modulecmd_with_descriptions(tcl_site):
    core = Core(tcl_site["config"])
    assert core.site.modules.kind == "tcl"
    part = await core.site.partition("local")
    catalog = await core.site.catalogs.get(part.modulepath, complete=True)
    assert sorted(m.full for m in catalog) == sorted(tcl_site["modules"])
    assert sorted(m.full for m in scan_tree(part.modulepath)) == sorted(tcl_site["modules"])
    python = next(m for m in catalog if m.name == "Python")
    assert python.description == "Python, the language"
    assert python.generation == "2023a"


async def test_a_venv_built_through_environment_modules_runs_a_kernel_with_its_modules(tcl_site):
    core = Core(tcl_site["config"])
    task = await core.envs.create(name="tclenv", modules=tcl_site["modules"], partition="local")
    record = await core.tasks.wait(task.id, timeout=600)
    log, _ = core.tasks.read_log(task.id)
    assert record.state == "succeeded", log
    env = core.envs.get("tclenv")
    build = next(iter(env.builds.values()))
    assert build.loaded_modules == tcl_site["modules"]
    out = await run_code(
        "hpcenv-tclenv-local",
        "import os, sys, numpy\nprint(sys.prefix, numpy.__file__, os.environ['LOADEDMODULES'])",
    )
    prefix, numpy_file, loaded = out.split()
    assert prefix == build.path
    assert "/SciPy-bundle/2023.07-gfbf-2023a/" in numpy_file
    assert loaded.split(":") == tcl_site["modules"]
