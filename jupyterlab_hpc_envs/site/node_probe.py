"""What a node says about itself, printed as one JSON line: run on a node of a partition the site
description leaves out, by a short Slurm job (see :mod:`.probe`).

This file is *run by whatever Python the node has* (the server's interpreter where the node sees
it, else the node's ``python3``) in a login shell, as a user's job would start: standard library
only (archspec if importable), Python 3.7 and newer. Its one argument is the site's arch variable.
It prints one line starting with ``{"hpc_envs_node_probe"``: the login shell may print other lines.
"""

from __future__ import annotations  # annotations stay text on old Pythons

import json
import os
import re
import socket
import sys

MARKER = "hpc_envs_node_probe"
MAX_PYTHONS = 30  # Python modules whose interpreter is looked up (reading a modulefile each)
ROOT_LINE = re.compile(r"""^\s*local\s+root\s*=\s*["']([^"']+)["']|^\s*set\s+root\s+(\S+)""", re.M)


def arch(variable: str) -> tuple[str, str]:
    """The node's CPU microarchitecture and where it comes from: the site's variable, archspec."""
    value = os.environ.get(variable, "").strip()
    if value:
        return value, variable
    try:
        import archspec.cpu
    except ImportError:
        return "", ""
    return str(archspec.cpu.host().name), "archspec"


def module_system() -> dict[str, str]:
    """Lmod or Environment Modules, with its version, from the variables their init sets."""
    if os.environ.get("LMOD_VERSION") or os.environ.get("LMOD_CMD"):
        return {"kind": "lmod", "version": os.environ.get("LMOD_VERSION", "")}
    if os.environ.get("MODULES_CMD") or os.environ.get("MODULESHOME"):
        return {"kind": "tcl", "version": os.environ.get("MODULES_VERSION", "")}
    return {"kind": "none", "version": ""}


def pythons(modulepath: list[str]) -> dict[str, str]:
    """``Python/<version>`` module -> the interpreter its modulefile's root holds (EasyBuild's
    ``local root = …``), for the first modules found; cheap: one small file read each."""
    found: dict[str, str] = {}
    for top in modulepath:
        folder = os.path.join(top, "Python")
        try:
            names = sorted(os.listdir(folder))
        except OSError:
            continue
        for filename in names:
            if len(found) >= MAX_PYTHONS:
                return found
            full = "Python/" + (filename[:-4] if filename.endswith(".lua") else filename)
            if filename.startswith(".") or full in found:
                continue
            try:
                with open(os.path.join(folder, filename), encoding="utf-8", errors="replace") as f:
                    match = ROOT_LINE.search(f.read(20000))
            except OSError:
                continue
            if match:
                python = os.path.join(match.group(1) or match.group(2), "bin", "python")
                if os.path.exists(python):
                    found[full] = python
    return found


def main() -> None:
    variable = sys.argv[1] if len(sys.argv) > 1 else "VSC_ARCH_LOCAL"
    value, source = arch(variable)
    modulepath = [p for p in os.environ.get("MODULEPATH", "").split(":") if p]
    answer = {
        MARKER: 1,
        "node": socket.gethostname(),
        "arch": value,
        "arch_source": source,
        "modulepath": modulepath,
        "module_system": module_system(),
        "pythons": pythons(modulepath),
    }
    sys.stdout.write(json.dumps(answer) + "\n")


if __name__ == "__main__":
    main()
