"""What made a build fail, read from its log: the requested entries responsible and a sentence.

A failed build is mended by changing its spec (``create`` again with the same name replaces an
environment whose builds all failed), so the user is told *which* entry to change: the package pip
found no distribution for, the module the module system does not know. The log's lines are the
tools' own; only the few error forms below are recognised, the rest is left to the log itself.
"""

from __future__ import annotations

import re
from typing import Any

# pip: "ERROR: Could not find a version that satisfies the requirement nosuch (from versions: none)"
#      "ERROR: No matching distribution found for nosuch"
_PIP = (
    re.compile(r"ERROR: Could not find a version that satisfies the requirement (\S+)"),
    re.compile(r"ERROR: No matching distribution found for (\S+)"),
)
# Lmod: 'The following module(s) are unknown: "Foo/1.0"' (several quoted names on the line, or
# on the next one where Lmod wrapped its message);
# Environment Modules (Tcl): "ERROR: Unable to locate a modulefile for 'Foo/1.0'".
_LMOD_UNKNOWN = re.compile(r"module\(s\) are unknown:\s*(.*)")
_TCL_UNKNOWN = re.compile(r"Unable to locate a modulefile for '([^']+)'")
_QUOTED = re.compile(r"\"([^\"]+)\"|'([^']+)'")
_LOG_READ_MAX = 256 * 1024  # the end of a very long log is enough


def responsible(log_text: str) -> tuple[list[str], list[str]]:
    """The package specs and the modules the log's error lines name, each once, in order."""
    packages: list[str] = []
    modules: list[str] = []
    lines = log_text.splitlines()
    for i, line in enumerate(lines):
        for pattern in _PIP:
            match = pattern.search(line)
            if match and match.group(1) not in packages:
                packages.append(match.group(1))
        match = _LMOD_UNKNOWN.search(line)
        # Lmod 8 wraps its message: the quoted names are then on the next line.
        listed = (match.group(1).strip() or _next_line(lines, i)) if match else ""
        named = [a or b for a, b in _QUOTED.findall(listed)]
        match = _TCL_UNKNOWN.search(line)
        named += [match.group(1)] if match else []
        modules += [m for m in named if m not in modules]
    return packages, modules


def _next_line(lines: list[str], i: int) -> str:
    return lines[i + 1] if i + 1 < len(lines) else ""


def read_log(path: str) -> str:
    """The end of a log file (``""`` if it cannot be read)."""
    try:
        with open(path, "rb") as f:
            f.seek(0, 2)
            f.seek(max(0, f.tell() - _LOG_READ_MAX))
            return f.read().decode("utf-8", "replace")
    except OSError:
        return ""


def summary(reason: str, packages: list[str], modules: list[str]) -> str:
    """A sentence naming what failed: the entries when known, else the build's own reason."""
    if modules:
        return (
            f"The module system does not know {', '.join(modules)}: change the module "
            "(see `jupyter hpc-envs modules`) and create the environment again."
        )
    if packages:
        return (
            f"pip found no distribution for {', '.join(packages)}: check the spelling and the "
            "version, then create the environment again with the corrected package."
        )
    return f"The build failed: {reason}." if reason else "The build failed."


def describe(reason: str, log: str, readable: bool = True) -> dict[str, Any]:
    """The build JSON's ``failure``: ``summary``, ``entries`` (packages, then modules), ``log``
    (read only when ``readable``: a log kept in the environment's folder)."""
    packages, modules = responsible(read_log(log)) if log and readable else ([], [])
    return {
        "summary": summary(reason, packages, modules),
        "entries": packages + modules,
        "log": log,
    }
