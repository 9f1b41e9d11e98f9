"""The package probe runs inside an environment's own interpreter, which may be older than the
server's: standard library only, on every Python 3.8+ this machine has, agreeing with pip."""

from __future__ import annotations

import glob
import json
import os
import re
import shutil
import subprocess
import sys

import pytest

from jupyterlab_hpc_envs.envs import probe

PROBE = probe.__file__


def interpreters() -> list[str]:
    """One interpreter per Python 3.8+ minor version found here (pyenv builds, then /usr/bin)."""
    found: dict[str, str] = {}
    candidates = sorted(glob.glob(os.path.expanduser("~/.pyenv/versions/3.*/bin/python3.*")))
    candidates += sorted(glob.glob("/usr/bin/python3.[0-9]*"))
    for path in candidates:
        match = re.search(r"python(3\.\d+)$", path)
        if match and int(match.group(1).split(".")[1]) >= 8 and os.access(path, os.X_OK):
            found.setdefault(match.group(1), path)
    return list(found.values()) or [sys.executable]


def key(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


@pytest.mark.parametrize("python", interpreters())
def test_the_probe_lists_what_pip_lists_on_every_python_here(python, tmp_path):
    venv = tmp_path / "venv"
    subprocess.run([python, "-m", "venv", "--system-site-packages", str(venv)], check=True)
    site = next(venv.glob("lib/python3*/site-packages"))
    # An editable install and an old-style .egg-info beside the regular ones.
    info = site / "mine-1.0.dist-info"
    info.mkdir()
    (info / "METADATA").write_text("Metadata-Version: 2.1\nName: Mine\nVersion: 1.0\n")
    (info / "direct_url.json").write_text(
        json.dumps({"url": "file:///src/mine", "dir_info": {"editable": True}})
    )
    (site / "old_style-0.5.egg-info").write_text(
        "Metadata-Version: 1.0\nName: old-style\nVersion: 0.5\n"
    )
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "VIRTUAL_ENV")}
    env["PYTHONNOUSERSITE"] = "1"
    ours = json.loads(
        subprocess.run(
            [str(venv / "bin" / "python"), PROBE],
            check=True,
            capture_output=True,
            text=True,
            env=env,
        ).stdout
    )
    assert ours["prefix"] == str(venv)
    rows = {r["key"]: r for r in ours["packages"] if not r["shadowed_by"]}
    assert rows["mine"]["editable"] == "/src/mine"
    assert rows["mine"]["source"] == "venv"
    assert rows["old-style"]["version"] == "0.5"
    if not shutil.which("pip", path=str(venv / "bin")):
        return  # a Python without ensurepip: nothing to compare with
    pip = json.loads(
        subprocess.run(
            [str(venv / "bin" / "python"), "-m", "pip", "list", "-v", "--format", "json"],
            check=True,
            capture_output=True,
            text=True,
            env=env,
        ).stdout
    )
    assert {(key(r["name"]), r["version"]) for r in pip} == {
        (k, r["version"]) for k, r in rows.items()
    }


def test_a_copy_in_the_venv_and_one_in_the_base_are_both_listed_and_the_first_wins(tmp_path):
    base_site = tmp_path / "base"
    venv_site = tmp_path / "venv"
    for folder, version in ((venv_site, "2.0"), (base_site, "1.0")):
        info = folder / f"dup-{version}.dist-info"
        info.mkdir(parents=True)
        (info / "METADATA").write_text(f"Metadata-Version: 2.1\nName: dup\nVersion: {version}\n")
    code = (
        f"import sys; sys.path[:0] = [{str(venv_site)!r}, {str(base_site)!r}]; "
        f"sys.argv = ['probe']; exec(open({PROBE!r}).read())"
    )
    out = json.loads(
        subprocess.run(
            [sys.executable, "-c", code], check=True, capture_output=True, text=True
        ).stdout
    )
    copies = [r for r in out["packages"] if r["key"] == "dup"]
    assert [(r["version"], r["shadowed_by"]) for r in copies] == [
        ("2.0", None),
        ("1.0", str(venv_site)),
    ]
