"""The README's shell examples, run as written on the demo site, so that they cannot drift from it
(module names, commands, options): the newcomer who copies them gets what they say."""

from __future__ import annotations

import asyncio
import os
import re
import shlex
import sys
from pathlib import Path

import pytest

README = Path(__file__).parents[2] / "README.md"


def readme_commands() -> list[str]:
    """The commands of the README's bash blocks that use ``jupyter hpc-envs``, continuation lines
    joined (the block of ``make`` commands is the set-up, not run here)."""
    blocks = re.findall(r"```bash\n(.*?)```", README.read_text(encoding="utf-8"), re.S)
    commands: list[str] = []
    for block in blocks:
        if "jupyter hpc-envs" not in block or block.startswith("make "):
            continue
        commands += [c for c in block.replace("\\\n", " ").splitlines() if c.strip()]
    return commands


def test_the_readme_has_the_examples_this_test_runs():
    commands = readme_commands()
    assert len(commands) >= 10
    assert any(c.startswith("jupyter hpc-envs create science") for c in commands)
    assert any(c.startswith("jupyter hpc-envs remove science --yes") for c in commands)


@pytest.mark.timeout(900)  # five builds (two as Slurm jobs) and a dozen commands, on two cores
async def test_the_readme_examples_run_as_written_on_the_demo_site(site_env, tmp_path):
    # Given the shell the README sets up, `source .venv/bin/activate && source .demo/env.sh`:
    # the real `jupyter` of this checkout's venv (the commands must work with it whatever they
    # activate or load), on the demo site (the test's own storage roots)
    script = "\n".join(
        [
            "set -euo pipefail",
            f"source {shlex.quote(os.path.join(sys.prefix, 'bin', 'activate'))}",
            *[f"echo '>>> {c.split('#')[0].strip()}'\n{c}" for c in readme_commands()],
        ]
    )

    # When the README's commands run one after the other in it
    shell = await asyncio.create_subprocess_exec(
        "bash",
        "-c",
        script,
        env=dict(os.environ),
        cwd=tmp_path,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    stdout, stderr = await asyncio.wait_for(shell.communicate(), 1500)
    out, err = stdout.decode(), stderr.decode()

    # Then every one succeeded, and did what its comment says
    assert shell.returncode == 0, out[-6000:] + err[-3000:]
    assert "ok Python/3.11.7-GCCcore-12.3.0" in out or "SciPy-bundle/2023.07" in out
    assert "Kernel hpcenv-science-zen4 registered." in out
    assert "Kernel hpcenv-science-zen2 registered." in out
    packages = out.split(">>> jupyter hpc-envs packages science --partition zen2")[1]
    assert re.search(r"^tabulate\s+\S+\s+venv", packages, re.M), packages
    assert re.search(r"^Adopted byhand as kernel hpcenv-byhand-zen4", out, re.M), out[-3000:]
    assert "Removed kernel hpcenv-science-zen4" in out
