"""The ``rattler`` conda engine's commands: run as a child process, on the node of the build.

py-rattler (the conda library under pixi) solves and links conda packages without a conda
installation. This module is what the build script and the package tasks run
(``python -m jupyterlab_hpc_envs.envs.conda_rattler ACTION …``), so the work happens on the target
partition, streams its lines into the task's log, and ends with the process when a task is cancelled.

One operation does all the changes, as conda's own solver does: **sync** solves the *complete*
list of requested specs (the service keeps it in the manifest) against the channels, keeping the
installed versions where it can (``--unlock NAME`` or ``--unlock-all`` lets them move), and links
the result into the prefix: create, install, update, update all and remove are all a sync with
another list. A solve that fails changes nothing. ``activation`` writes the bash activation made by
``rattler.shell`` (it sets ``CONDA_PREFIX`` and sources the ``etc/conda/activate.d`` scripts).

Exit status: 0 done, 1 failed (solve, download or link: the message says why), 2 bad arguments,
3 a package to remove is still needed by another.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
import time
from pathlib import Path
from typing import TYPE_CHECKING

from .. import files

if TYPE_CHECKING:
    from rattler import PrefixRecord, RepoDataRecord

EXIT_FAILED, EXIT_USAGE, EXIT_STILL_NEEDED = 1, 2, 3
# Stands for the PATH of the shell that sources the activation (rattler writes the PATH it is given).
_PATH_SENTINEL = "/hpc-envs-current-path"


def _name(spec: str) -> str:
    from rattler import MatchSpec

    return MatchSpec(spec).name.normalized


def installed(prefix: Path) -> list[PrefixRecord]:
    """The prefix's ``conda-meta`` records (what any conda engine wrote)."""
    from rattler import PrefixRecord

    meta = prefix / "conda-meta"
    if not meta.is_dir():
        return []
    return [PrefixRecord.from_path(p) for p in sorted(meta.glob("*.json"))]


def _line(text: str) -> None:
    print(text, flush=True)


async def sync(
    prefix: Path,
    specs: list[str],
    channels: list[str],
    cache: Path | None,
    unlock: set[str],
    unlock_all: bool,
    gone: set[str],
) -> int:
    """Solve ``specs`` against ``channels`` and link the result into ``prefix``, in one step.

    Installed versions are kept (locked) unless named in ``unlock`` or ``unlock_all``, so that a
    change moves only what it must; ``gone`` are the packages being removed, refused (exit 3) while
    the solution still needs them. Nothing is linked unless the solve succeeded.
    """
    from rattler import Gateway, MatchSpec, VirtualPackage, install, solve

    before = installed(prefix)
    locked = [] if unlock_all else [r for r in before if r.name.normalized not in unlock | gone]
    gateway = Gateway(cache_dir=cache / "repodata" if cache else None)
    _line(f"Channels: {' '.join(channels)}")
    _line(f"Requested: {' '.join(specs)}")
    started = time.monotonic()
    try:
        records = await solve(
            sources=channels,
            specs=specs,
            gateway=gateway,
            locked_packages=locked,
            virtual_packages=VirtualPackage.detect(),
            add_pip_as_python_dependency=True,
        )
    except Exception as err:  # noqa: BLE001 - the solver's own words are the message
        _line(f"The solver found no solution: {err}")
        return EXIT_FAILED
    _line(f"Solved in {time.monotonic() - started:.1f} s: {len(records)} packages.")
    if _still_needed(records, gone):
        return EXIT_STILL_NEEDED
    _print_changes(before, records)
    try:
        await install(
            records,
            target_prefix=prefix,
            cache_dir=cache / "pkgs" if cache else None,
            installed_packages=before,
            show_progress=False,
            # py-rattler 0.28 passes these on as they are, and its core wants the inner object.
            requested_specs=[MatchSpec(s)._match_spec for s in specs],
        )
    except Exception as err:  # noqa: BLE001 - a download or link error, told as such
        _line(f"Linking the packages into {prefix} failed: {err}")
        return EXIT_FAILED
    _line(f"Environment {prefix} is up to date.")
    return 0


def _still_needed(records: list[RepoDataRecord], gone: set[str]) -> bool:
    """Whether the solution still holds a package being removed (and if so, say what needs it)."""
    still = sorted(r.name.normalized for r in records if r.name.normalized in gone)
    if not still:
        return False
    needers = sorted(
        r.name.normalized
        for r in records
        if any(_name(d) in still for d in r.depends) and r.name.normalized not in gone
    )
    _line(
        f"Cannot remove {', '.join(still)}: needed by {', '.join(needers) or 'the requested specs'}."
    )
    return True


def _print_changes(before: list[PrefixRecord], records: list[RepoDataRecord]) -> None:
    """One line per package added (+), changed (~) or removed (-) by the solution."""
    old = {r.name.normalized: r for r in before}
    new = {r.name.normalized: r for r in records}
    for name in sorted(new.keys() - old.keys()):
        r = new[name]
        _line(f"  + {name} {r.version} {r.build} ({r.channel})")
    for name in sorted(old.keys() & new.keys()):
        a, b = old[name], new[name]
        if (str(a.version), str(a.build)) != (str(b.version), str(b.build)):
            _line(f"  ~ {name} {a.version} -> {b.version}")
    for name in sorted(old.keys() - new.keys()):
        _line(f"  - {name} {old[name].version}")


async def missing(names: list[str], channels: list[str], cache: Path | None) -> int:
    """Print (JSON) which of ``names`` no channel has, for this platform or noarch."""
    import json

    from rattler import Gateway, Platform

    gateway = Gateway(cache_dir=cache / "repodata" if cache else None)
    found = await gateway.names(channels, [Platform.current(), "noarch"])
    have = {n.normalized for n in found}
    print(json.dumps([n for n in names if _name(n) not in have]), flush=True)
    return 0


def activation_script(prefix: Path) -> str:
    """bash code that activates ``prefix`` as rattler (and pixi) do: variables, then activate.d."""
    from rattler.shell import ActivationVariables, PathModificationBehavior, Shell, activate

    result = activate(
        prefix,
        ActivationVariables(None, [_PATH_SENTINEL], PathModificationBehavior.Prepend),
        Shell.bash,
    )
    # rattler writes the PATH it was given; the sentinel turns that into the PATH at activation.
    script = result.script.replace(f":{_PATH_SENTINEL}:", ":").replace(_PATH_SENTINEL, "")
    return (
        "# Activation of a conda environment, generated with py-rattler's rattler.shell when the\n"
        "# environment was built or changed. Sourced by the launch script beside it.\n" + script
    )


def write_activation(prefix: Path, output: Path) -> None:
    # Atomically, never through a link planted at a temporary name (files.write_atomic), and
    # whatever the umask never group-writable (refused, see ownership.py), readable by the VO
    # when the environment is shared.
    files.write_atomic(str(output), activation_script(prefix), 0o644)


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="conda_rattler", description=__doc__.split("\n\n")[0])
    sub = p.add_subparsers(dest="action", required=True)
    s = sub.add_parser("sync", help="solve the requested specs and link the result")
    s.add_argument("--prefix", required=True, type=Path)
    s.add_argument("--channel", action="append", default=[], required=True)
    s.add_argument("--cache", type=Path)
    s.add_argument("--unlock", action="append", default=[])
    s.add_argument("--unlock-all", action="store_true")
    s.add_argument("--gone", action="append", default=[], help="names that must not stay")
    s.add_argument("specs", nargs="+")
    a = sub.add_parser("activation", help="write the bash activation of a prefix")
    a.add_argument("--prefix", required=True, type=Path)
    a.add_argument("--output", required=True, type=Path)
    m = sub.add_parser("missing", help="print which package names no channel has (JSON)")
    m.add_argument("--channel", action="append", default=[], required=True)
    m.add_argument("--cache", type=Path)
    m.add_argument("names", nargs="+")
    args = p.parse_args(argv)
    if args.action == "missing":
        return asyncio.run(missing(args.names, args.channel, args.cache))
    if args.action == "activation":
        write_activation(args.prefix, args.output)
        return 0
    return asyncio.run(
        sync(
            args.prefix,
            args.specs,
            args.channel,
            args.cache,
            {_name(n) for n in args.unlock},
            args.unlock_all,
            {_name(n) for n in args.gone},
        )
    )


if __name__ == "__main__":
    status = main()
    sys.stdout.flush()
    sys.stderr.flush()
    # py-rattler's runtime threads sometimes crash while the interpreter tears down (seen with
    # 0.28: a segmentation fault after the work was done): leave without the teardown.
    os._exit(status)
