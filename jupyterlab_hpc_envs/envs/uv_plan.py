"""The files uv needs to keep what the modules provide, run by the environment's own Python.

Like :mod:`.probe` (whose listing it uses), this file runs inside the environment (modules loaded,
venv active), on Python 3.8 or newer, standard library only. Two commands, each given a work folder:

``pins DIR``
    writes ``DIR/constraints.txt``: ``name==version`` of every distribution Python imports from
    outside the venv (the loaded modules, the base interpreter), so that uv resolves with exactly
    those versions; and ``DIR/resolved.txt``: the venv's own distributions, which ``uv pip
    compile`` reads as preferences (an installed version is kept unless it must change, as pip
    does).
``missing DIR``
    prints the lines of ``DIR/resolved.txt`` (uv's resolution) that are not installed already at
    that version: what ``uv pip install --no-deps`` must add. Direct references are kept.
"""

from __future__ import annotations

import importlib
import io
import json
import os
import sys
from contextlib import redirect_stdout

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
probe = importlib.import_module("probe")  # beside this file, run by the same interpreter
del sys.path[0]  # the probe lists sys.path: leave it as the environment has it


def _winners() -> list[dict[str, str]]:
    """The distributions Python imports (the first of each name on sys.path), with sources."""
    out = io.StringIO()
    with redirect_stdout(out):
        probe.main()
    rows = json.loads(out.getvalue())["packages"]
    return [r for r in rows if r["shadowed_by"] is None]


def pins(folder: str) -> None:
    """Write the constraints (outside the venv) and the preferences (the venv's own)."""
    outside: list[str] = []
    own: list[str] = []
    for row in _winners():
        line = row["key"] + "==" + row["version"]
        if row["source"] == "venv":
            own.append(line)
        elif not row["editable"]:
            outside.append(line)
    with open(os.path.join(folder, "constraints.txt"), "w") as f:
        f.write("".join(line + "\n" for line in sorted(outside)))
    with open(os.path.join(folder, "resolved.txt"), "w") as f:
        f.write("".join(line + "\n" for line in sorted(own)))
    with open(os.path.join(folder, "installed.json"), "w") as f:
        json.dump(sorted(outside) + sorted(own), f)


def _pin(line: str) -> tuple[str, str] | None:
    """(normalised name, version) of a ``name==version`` line, else None."""
    name, sep, version = line.partition("==")
    if not sep or " " in name or "@" in name:
        return None
    return probe._normalise(name.split("[")[0].strip()), version.split(";")[0].strip()


def missing(folder: str) -> None:
    """Print the resolved lines that are not installed at their version."""
    with open(os.path.join(folder, "installed.json")) as f:
        installed = {_pin(line) for line in json.load(f)}
    with open(os.path.join(folder, "resolved.txt")) as f:
        for raw in f:
            line = raw.strip()
            if not line or line.startswith("#"):
                continue
            pin = _pin(line)
            if pin is None or pin not in installed:
                sys.stdout.write(line + "\n")


if __name__ == "__main__":
    {"pins": pins, "missing": missing}[sys.argv[1]](sys.argv[2])
