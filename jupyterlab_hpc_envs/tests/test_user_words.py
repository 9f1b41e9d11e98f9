"""What users read: no word from inside the project, and one piece of advice per problem."""

from __future__ import annotations

import re
from pathlib import Path

from jupyterlab_hpc_envs.config import HpcEnvs
from jupyterlab_hpc_envs.envs import conda, scripts
from jupyterlab_hpc_envs.site import Site, user_site_advice

PACKAGE = Path(__file__).resolve().parent.parent
REPO = PACKAGE.parent
# Everything a user can read comes from these: the server's and the command line's messages, the
# REST description, the frontend's strings, the settings' schema and the documentation.
USER_FACING = [
    *(p for p in PACKAGE.rglob("*.py") if "tests" not in p.parts),
    PACKAGE / "openapi.yaml",
    *(p for p in (REPO / "src").rglob("*.ts*") if "__tests__" not in p.parts),
    *(REPO / "schema").glob("*.json"),
    REPO / "README.md",
    *(REPO / "docs").glob("*.md"),
]


def test_no_user_facing_text_speaks_of_the_seed():
    assert len(USER_FACING) > 40, "the sources were found"
    found = [
        f"{path.relative_to(REPO)}:{number}: {line.strip()}"
        for path in USER_FACING
        for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1)
        if re.search(r"\bseed", line, re.IGNORECASE)
    ]
    assert found == [], "speak of the site's documentation:\n" + "\n".join(found)


def test_the_two_user_site_warnings_give_the_same_advice(tmp_path, monkeypatch):
    # Given a stray user site in the home folder
    stray = tmp_path / ".local" / "lib" / "python3.11" / "site-packages"
    (stray / "six").mkdir(parents=True)
    monkeypatch.setenv("HOME", str(tmp_path))

    # When the site (panel, doctor) and the conda form warn about it
    (site_warning,) = [w for w in Site(HpcEnvs()).warnings() if w.code == "user-site"]
    conda_warning = conda.user_lib_warning()

    # Then both name the folder as the user knows it (the home folder as ~, no path of the
    # machine) and end with the same advice
    shown = "~/.local/lib/python3.11/site-packages"
    advice = user_site_advice([str(stray)])
    assert f"'mv {shown} {shown}.disabled'" in advice
    assert site_warning.message.startswith(f"{shown} holds packages")
    assert site_warning.message.endswith(advice)
    assert conda_warning.startswith(f"{shown} holds Python packages")
    assert conda_warning.endswith(advice)
    assert str(tmp_path) not in site_warning.message + conda_warning


def test_the_build_scripts_progress_lines_read_as_steps():
    prefix = scripts.PROGRESS_PREFIX
    assert scripts.readable_line(f"{prefix}step pip") == "==> pip"
    assert scripts.readable_line(f"{prefix}info prefix=/data/a=b") == "    prefix: /data/a=b"
    assert scripts.readable_line(f"{prefix}fail no module Foo") == "failed: no module Foo"
    assert scripts.readable_line("Collecting numpy") == "Collecting numpy"
