"""Conda environments: the engines that make them, the site's policy, and their specs and channels.

The site documentation's second way: Miniconda in ``$VSC_DATA``, ``conda create -n science numpy scipy matplotlib``
(optionally a Python version and Intel's channel), then activate, install, update, remove. Conda is
*not* mixed with modules (its packages bring their own libraries), and some sites discourage it.

**Engines.** A conda environment is made and changed by one of:

- a ``conda``, ``mamba`` or ``micromamba`` executable: configured by path
  (``c.HpcEnvs.conda_executable``), on ``PATH`` (or named by ``$CONDA_EXE`` / ``$MAMBA_EXE``), or in a
  module such as ``Miniconda3`` or ``Miniforge3`` (found by loading it once in a throw-away shell;
  its executable is then called by absolute path, so neither builds nor kernels load the module).
  They are driven through their command line (``create``, ``install``, ``update [--all]``,
  ``remove`` with ``--prefix``, ``--override-channels`` and ``--yes``; ``env list --json``), and
  kernels activate with their own shell hook (``eval "$(conda shell.bash hook)"; conda activate
  PREFIX``, ``micromamba shell hook``), so ``activate.d`` scripts run as they do for the user;
- ``rattler``: py-rattler (the conda library under pixi) in the server's Python (the ``conda``
  extra). It needs no conda installation; see :mod:`.conda_rattler`. Its activation is made by
  ``rattler.shell`` when the environment is built or changed, into a file the launch script sources.

``auto`` (the default ``c.HpcEnvs.conda_engine``) takes the first found in that order: the configured
executable, ``PATH``, a module, py-rattler. Where none exists the user is told how to get one (the
site documentation's Miniconda steps, into ``$VSC_DATA``).
"""

from __future__ import annotations

import asyncio
import contextlib
import glob
import importlib.util
import itertools
import json
import os
import re
import shlex
import shutil
import sys
import time
import urllib.parse
from dataclasses import asdict, dataclass, field
from typing import Any

from .. import errors, names, proc
from ..config import HpcEnvs
from ..site import home_relative, user_site_advice, user_site_dirs

KINDS = ("conda", "mamba", "micromamba", "rattler")
# Modules that provide a conda engine, as EasyBuild and sites name them.
ENGINE_MODULES = ("Miniforge3", "Mambaforge", "Miniconda3", "Anaconda3", "micromamba", "Mamba")
RATTLER_RUNNER = "jupyterlab_hpc_envs.envs.conda_rattler"
PKGS_FOLDER = ".conda-pkgs"  # <storage root>/hpc-envs/.conda-pkgs: the rattler engine's cache

HOW_TO_GET = (
    "No conda engine was found: no conda, mamba or micromamba on PATH or in a module (Miniconda3, "
    "Anaconda3, Miniforge3), and no py-rattler in the server's Python. To install Miniconda as "
    "the site's documentation describes, download the Miniconda3 installer for Linux x86_64 (from the conda "
    "documentation's Miniconda page), install it into $VSC_DATA, not your small home folder: "
    "'bash Miniconda3-latest-Linux-x86_64.sh -b -p $VSC_DATA/miniconda3', then set "
    "c.HpcEnvs.conda_executable = '<your $VSC_DATA>/miniconda3/bin/conda' (or put its bin folder on "
    "PATH). Or ask for py-rattler in the server's environment: "
    "pip install 'jupyterlab-hpc-envs[conda]'."
)
NO_MODULES = (
    "Conda environments are not mixed with modules: conda brings its own libraries, and the "
    "modules' would clash with them. Leave the modules out (the kernel purges them), or make a "
    "venv on the modules instead."
)
KNOWN_CHANNELS = (
    {"name": "conda-forge", "description": "The community channel."},
    {
        "name": "intel",
        "description": "Intel's oneAPI Python distribution: MKL, Intel MPI and optimised numpy "
        "and scipy (the site's documentation recommends considering it).",
    },
)

# --- validation ------------------------------------------------------------------------------------

SPEC_MAX = 300
_SPEC = re.compile(
    r"^(?:[A-Za-z0-9][A-Za-z0-9_.-]*::)?"  # channel::
    r"[A-Za-z0-9_][A-Za-z0-9_.+-]*"  # name
    r"(?:(?: +|(?=[=<>!~]))[A-Za-z0-9_.*+!=<>~,|]+(?: +[A-Za-z0-9_.*+]+)?)?$"  # version [build]
)
_NAME = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9_.+-]*$")
_PYTHON = re.compile(r"^3(?:\.\d{1,2}){1,2}$")
_CHANNEL_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]*(?:/[A-Za-z0-9][A-Za-z0-9_.-]*)*$")
_CHANNEL_URL = re.compile(r"^(?:https?|file)://[A-Za-z0-9._~:/?#@!&+,;=%-]+$")


def conda_spec(value: object) -> str:
    """A conda match spec as ``conda install`` takes it: ``numpy``, ``numpy>=1.26``,
    ``numpy 1.26.*``, ``python=3.11``, ``conda-forge::numpy``. Paths, URLs and options are
    refused: where packages come from is the channels' business."""
    if not isinstance(value, str) or not value.strip():
        raise errors.InvalidInput("packages", "A conda package spec must be non-empty text.")
    spec = value.strip()
    if "\n" in spec or "\t" in spec or "\r" in spec:
        raise errors.InvalidInput(
            "packages", f"{spec!r} spans lines: give one conda package spec a line."
        )
    if len(spec) > SPEC_MAX:
        raise errors.InvalidInput("packages", f"A package spec has at most {SPEC_MAX} characters.")
    if spec.lower().endswith(names.ARCHIVE_SUFFIXES):
        # conda installs a spec named like a package file from that file, if it is there.
        raise errors.InvalidInput(
            "packages",
            f"{spec!r} names a package file, not a package: give the package's name and version "
            "(for example 'numpy=1.26'), to install it from the channels.",
        )
    if not _SPEC.match(spec):
        raise errors.InvalidInput(
            "packages",
            f"{spec!r} is not a conda package spec: write it as conda does, for example "
            "'numpy', 'numpy>=1.26', 'numpy 1.26.*' or 'python=3.11'.",
        )
    return spec


def conda_specs(values: object) -> list[str]:
    if not isinstance(values, (list, tuple)):
        raise errors.InvalidInput("packages", "Packages must be a list of conda specs.")
    return [conda_spec(v) for v in values]


def conda_requirements(text: object) -> list[str]:
    """Specs of a text file, one a line (``conda list --export`` style); comments skipped."""
    if not isinstance(text, str):
        raise errors.InvalidInput("requirements", "Requirements must be text.")
    specs = []
    for number, raw in enumerate(text.splitlines(), start=1):
        line = raw.split("#", 1)[0].strip()
        if not line:
            continue
        try:
            specs.append(conda_spec(line))
        except errors.InvalidInput as err:
            raise errors.InvalidInput("requirements", f"Line {number}: {err.message}") from None
    return specs


def spec_name(spec: str) -> str:
    """The package name of a (validated) spec, lower case as conda compares them."""
    body = spec.split("::", 1)[-1]
    return re.split(r"[\s=<>!~]", body, maxsplit=1)[0].lower()


def package_name(value: object) -> str:
    """A bare conda package name (for remove and update)."""
    if not isinstance(value, str) or not _NAME.match(value.strip()):
        raise errors.InvalidInput("packages", f"{value!r} is not a conda package name.")
    return value.strip().lower()


def python_version(value: object) -> str:
    """``3.11`` or ``3.11.7``: the Python of a new conda environment."""
    if not isinstance(value, str) or not _PYTHON.match(value.strip()):
        raise errors.InvalidInput(
            "python", f"{value!r} is not a Python version: write it as '3.11' or '3.11.7'."
        )
    return value.strip()


def channel(value: object) -> str:
    """A channel: a name (``conda-forge``, ``intel``, ``conda-forge/label/dev``), an http(s) or
    ``file://`` URL, or an absolute folder (turned into a ``file://`` URL)."""
    if not isinstance(value, str) or not value.strip():
        raise errors.InvalidInput("channels", "A channel must be non-empty text.")
    text = value.strip()
    if len(text) > names.PATH_MAX:
        raise errors.InvalidInput("channels", "A channel has at most 1024 characters.")
    if text.startswith("/"):
        path = names.clean_path("channels", text)
        if not os.path.isdir(path):
            raise errors.InvalidInput("channels", f"The channel folder {path} does not exist.")
        return "file://" + path
    if _CHANNEL_URL.match(text):
        _no_credentials(text)
        return text.rstrip("/")
    if _CHANNEL_NAME.match(text):
        return text.rstrip("/")
    raise errors.InvalidInput(
        "channels",
        f"{text!r} is not a channel: give a name such as 'conda-forge' or 'intel', a URL, or a "
        "folder.",
    )


CREDENTIALS = (
    "A channel URL must not carry credentials: they would be written into command lines, logs, "
    "task records and the environment's manifest, where others may read them. Give the channel's "
    "URL without them, and store the credentials where your conda engine reads them: for conda, "
    "its configuration file ~/.condarc (see conda's documentation on channel authentication); "
    "for micromamba and mamba, 'micromamba auth login'; for py-rattler, 'pixi auth login' or a "
    "credentials file named by RATTLER_AUTH_FILE."
)


def _no_credentials(url: str) -> None:
    """Refuse a channel URL with a user name or password (``https://user:pass@host/...``), an
    anaconda.org-style token (``.../t/<token>/...``), or a query (``?token=...``)."""
    parts = urllib.parse.urlsplit(url)
    segments = parts.path.split("/")
    token = any(a == "t" and b for a, b in itertools.pairwise(segments))
    if "@" in parts.netloc or token or parts.query or parts.fragment:
        what = (
            "a user name or password"
            if "@" in parts.netloc
            else "a token (/t/<token>/)"
            if token
            else "a query or fragment"
        )
        raise errors.InvalidInput("channels", f"The channel URL holds {what}. {CREDENTIALS}")


def channel_list(values: object) -> list[str]:
    if not isinstance(values, (list, tuple)):
        raise errors.InvalidInput("channels", "Channels must be a list.")
    out: list[str] = []
    for value in values:
        item = channel(value)
        if item not in out:
            out.append(item)
    return out


# --- policy -----------------------------------------------------------------------------------------


def policy(config: HpcEnvs) -> dict[str, str]:
    """The site's conda policy and the message users see with it."""
    return {"policy": config.conda_policy, "message": config.conda_message()}


def require_allowed(config: HpcEnvs) -> None:
    """Refuse anything conda on a site whose policy forbids it, with the site's own message."""
    if config.conda_policy == "forbidden":
        raise errors.InvalidInput("kind", config.conda_message())


def user_lib_warning() -> str:
    """The site's documentation warns that Python packages in ``~/.local/lib`` conflict with
    conda; the same folders and the same advice as the site's user-site warning."""
    found = user_site_dirs()
    if not found:
        return ""
    return (
        f"{', '.join(map(home_relative, found))} {'hold' if len(found) > 1 else 'holds'} Python packages, which "
        "conflict with conda environments. " + user_site_advice(found)
    )


# --- engines ------------------------------------------------------------------------------------


@dataclass
class Engine:
    """One conda engine found on this node."""

    kind: str  # conda | mamba | micromamba | rattler
    executable: str  # absolute path; for rattler the Python that has py-rattler
    version: str = ""
    source: str = ""  # configured | PATH | $CONDA_EXE | module NAME | py-rattler
    activator: str = ""  # the executable whose shell hook activates (conda beside mamba)

    def to_json(self) -> dict[str, Any]:
        return asdict(self)

    @property
    def label(self) -> str:
        return f"{self.kind} {self.version} ({self.source})".replace("  ", " ")

    # --- commands ---------------------------------------------------------------------------

    def command(
        self,
        action: str,
        prefix: str,
        *,
        specs: list[str],
        requested: list[str],
        channels: list[str],
        cache: str = "",
    ) -> list[str]:
        """The command of one change of ``prefix``.

        ``action`` is ``create``, ``install``, ``update``, ``update-all`` or ``remove``; ``specs`` are
        the user's specs (names for update and remove); ``requested`` is the whole list of
        requested specs once the change is made (what the rattler engine solves for).
        """
        if self.kind == "rattler":
            argv = [self.executable, "-m", RATTLER_RUNNER, "sync", "--prefix", prefix]
            if cache:
                argv += ["--cache", cache]
            for ch in channels:
                argv += ["--channel", ch]
            if action == "update":
                argv += [a for name in specs for a in ("--unlock", spec_name(name))]
            elif action == "update-all":
                argv.append("--unlock-all")
            elif action == "remove":
                argv += [a for name in specs for a in ("--gone", spec_name(name))]
            return [*argv, "--", *requested]
        chans = ["--override-channels", *[a for ch in channels for a in ("-c", ch)]]
        base = [self.executable]
        if action == "create":
            return [*base, "create", "--yes", "--prefix", prefix, *chans, *specs]
        if action == "install":
            return [*base, "install", "--yes", "--prefix", prefix, *chans, *specs]
        if action == "update":
            return [*base, "update", "--yes", "--prefix", prefix, *chans, *specs]
        if action == "update-all":
            return [*base, "update", "--yes", "--prefix", prefix, *chans, "--all"]
        if action == "remove":
            return [*base, "remove", "--yes", "--prefix", prefix, *specs]
        raise ValueError(action)

    def activation_command(self, prefix: str, output: str) -> list[str] | None:
        """The command that writes the activation file (rattler only; the others use hooks)."""
        if self.kind != "rattler":
            return None
        return [
            self.executable,
            "-m",
            RATTLER_RUNNER,
            "activation",
            "--prefix",
            prefix,
            "--output",
            output,
        ]

    def activation_bash(self) -> str:
        """bash lines that activate ``$hpc_envs_prefix`` the engine's own way (launch script)."""
        if self.kind == "rattler":
            return '  [ -r "$hpc_envs_activation" ] || return 1\n  . "$hpc_envs_activation"'
        activator = os.path.basename(self.activator or self.executable)
        if activator in ("conda", "conda.exe") or self.kind == "conda":
            return (
                '  eval "$("$hpc_envs_engine_exe" shell.bash hook)" || return 1\n'
                '  conda activate "$hpc_envs_prefix"'
            )
        command = "micromamba" if self.kind == "micromamba" else "mamba"
        return (
            f'  eval "$("$hpc_envs_engine_exe" shell hook --shell bash)" || return 1\n'
            f'  {command} activate "$hpc_envs_prefix"'
        )

    async def missing(self, specs: list[str], channels: list[str], cache: str = "") -> list[str]:
        """The specs whose package no channel has (they can only come from pip)."""
        if not specs:
            return []
        if self.kind == "rattler":
            argv = [self.executable, "-m", RATTLER_RUNNER, "missing"]
            argv += [a for ch in channels for a in ("--channel", ch)]
            argv += ["--cache", cache] if cache else []
            code, err, gone = 1, "", None
            try:
                code, out, err = await proc.run([*argv, *specs], timeout=600)
                lines = out.strip().splitlines()
                gone = json.loads(lines[-1]) if code == 0 and lines else None
            except proc.CommandError as error:
                err = str(error)
            except ValueError:
                err = "the channel reader printed no JSON"
            if not isinstance(gone, list):
                said = err.strip().splitlines()[-1] if err.strip() else f"exit status {code}"
                raise errors.Conflict(f"Cannot read the channels {', '.join(channels)}: {said}")
            return [s for s in specs if s in gone]
        out_specs = []
        chans = ["--override-channels", *[a for ch in channels for a in ("-c", ch)]]
        for spec in specs:
            argv = [self.executable, "search", "--json", *chans, spec_name(spec)]
            try:
                code, out, err = await proc.run(argv, timeout=600)
            except proc.CommandError as error:
                raise errors.Conflict(f"Cannot search the channels: {error}") from None
            if code == 0:
                continue
            # Only "no such package" sends a spec to pip; a network or channel error is said.
            try:
                reply = json.loads(out or "{}")
            except ValueError:
                reply = {}
            if isinstance(reply, dict) and reply.get("exception_name") == "PackagesNotFoundError":
                out_specs.append(spec)
                continue
            said = (reply.get("message") if isinstance(reply, dict) else "") or err.strip()
            raise errors.Conflict(
                f"Searching {', '.join(channels)} for {spec_name(spec)} failed: "
                f"{(said or f'exit status {code}').splitlines()[-1]}"
            )
        return out_specs

    async def split_by_channels(
        self, specs: list[str], channels: list[str], cache: str = ""
    ) -> tuple[list[str], list[str]]:
        """(conda specs, pip requirements): what no channel has goes to pip, if it is a valid
        requirement; otherwise the user is told to check the name or add the channel."""
        lacking = await self.missing(specs, channels, cache)
        pip_specs = []
        for spec in lacking:
            try:
                pip_specs.append(names.package_spec(spec))
            except errors.InvalidInput:
                raise errors.InvalidInput(
                    "packages",
                    f"{spec!r} is in none of the channels {', '.join(channels)}, and it is not "
                    "a pip requirement either: check its name, or add the channel that has it.",
                ) from None
        return [s for s in specs if s not in lacking], pip_specs

    def env_list_command(self) -> list[str] | None:
        if self.kind == "rattler":
            return None
        return [self.executable, "env", "list", "--json"]


def _kind_of(path: str) -> str | None:
    base = os.path.basename(path).lower()
    for kind in ("micromamba", "mamba", "conda"):
        if base == kind or base.startswith(kind + "."):
            return kind
    return None


async def _version(exe: str) -> str:
    try:
        code, out, err = await proc.run([exe, "--version"], timeout=60)
    except proc.CommandError:
        return ""
    if code != 0:
        return ""
    first = (out or err).strip().splitlines()
    # "conda 24.1.2", "mamba 1.5.8", "1.5.8" (micromamba), "2.0.5" (mamba 2)
    return first[0].split()[-1] if first else ""


def _rattler_version() -> str:
    from importlib import metadata

    try:
        return metadata.version("py-rattler")
    except metadata.PackageNotFoundError:
        return ""


def rattler_available() -> bool:
    return importlib.util.find_spec("rattler") is not None


@dataclass
class Detection:
    """The conda engines found on this node and when (``time.monotonic``): detection runs
    commands and module loads, so its result is kept for ``catalog_ttl`` seconds."""

    engines: list[Engine] = field(default_factory=list)
    at: float = 0.0


class Engines:
    """The conda engines of this node, found once and cached (``catalog_ttl``)."""

    def __init__(self, config: HpcEnvs, site: Any) -> None:
        self.config = config
        self.site = site
        self._found = Detection()
        self._lock = asyncio.Lock()

    async def all(self, refresh: bool = False) -> list[Engine]:
        async with self._lock:
            fresh = time.monotonic() - self._found.at < self.config.catalog_ttl
            if refresh or not self._found.at or not fresh:
                self._found = Detection(await self._detect(), time.monotonic())
            return list(self._found.engines)

    async def choose(self, kind: str | None = None) -> Engine:
        """The engine to use (the configured kind, else the first found), or Conflict saying how
        to get one."""
        wanted = kind or self.config.conda_engine
        engines = await self.all()
        for engine in engines:
            if wanted in (None, "", "auto") or engine.kind == wanted:
                return engine
        if wanted not in (None, "", "auto"):
            found = ", ".join(e.label for e in engines) or "none"
            raise errors.Conflict(
                f"The conda engine {wanted!r} was asked for, but it is not here (found: {found}). "
                + HOW_TO_GET
            )
        raise errors.Conflict(HOW_TO_GET)

    async def for_environment(self, recorded: dict[str, Any] | None) -> Engine:
        """The engine an environment was made with if it is still here, else the current one."""
        recorded = recorded or {}
        for engine in await self.all():
            if engine.kind == recorded.get("kind") and (
                engine.executable == recorded.get("executable") or engine.kind == "rattler"
            ):
                return engine
        if recorded.get("kind") and recorded.get("executable") and recorded["kind"] != "rattler":
            exe = recorded["executable"]
            if os.access(exe, os.X_OK):
                return Engine(
                    recorded["kind"],
                    exe,
                    recorded.get("version", ""),
                    "recorded",
                    recorded.get("activator", ""),
                )
        return await self.choose()

    async def _detect(self) -> list[Engine]:
        found: list[Engine] = []
        seen: set[str] = set()

        async def add(exe: str, source: str) -> None:
            kind = _kind_of(exe)
            real = os.path.realpath(exe)
            if kind is None or real in seen or not os.access(exe, os.X_OK):
                return
            seen.add(real)
            activator = ""
            if kind == "mamba":
                sibling = os.path.join(os.path.dirname(exe), "conda")
                if os.access(sibling, os.X_OK):
                    activator = sibling
            found.append(Engine(kind, exe, await _version(exe), source, activator))

        if self.config.conda_executable:
            exe = os.path.expanduser(os.path.expandvars(self.config.conda_executable))
            if _kind_of(exe) is None:
                raise errors.InvalidInput(
                    "conda_executable",
                    f"HpcEnvs.conda_executable {exe!r} must name a conda, mamba or micromamba "
                    "executable.",
                )
            await add(exe, "configured")
        for variable in ("CONDA_EXE", "MAMBA_EXE"):
            if os.environ.get(variable):
                await add(os.environ[variable], f"${variable}")
        for kind in ("mamba", "conda", "micromamba"):
            on_path = shutil.which(kind)
            if on_path:
                await add(on_path, "PATH")
        for exe, module in await self._from_modules():
            await add(exe, f"module {module}")
        if rattler_available():
            found.append(Engine("rattler", sys.executable, _rattler_version(), "py-rattler"))
        return found

    async def _from_modules(self) -> list[tuple[str, str]]:
        """Executables of the conda modules of this node's catalog (module loaded in a child shell
        only to read where they are)."""
        modules = self.site.modules
        if modules.kind == "none":
            return []
        try:
            part = await self.site.default_partition()
            # The module system's own catalog, waited for: no refresh is left running behind.
            catalog = await self.site.catalogs.get(part.modulepath, complete=True)
        except Exception:  # noqa: BLE001 - no catalog, no module engine; the others still count
            return []
        wanted = [m for m in catalog if m.name in ENGINE_MODULES]
        out = []
        for module in wanted:
            init = (
                f". {shlex.quote(modules.init_bash)} >/dev/null 2>&1; " if modules.init_bash else ""
            )
            script = (
                f"{init}module load {shlex.quote(module.full)} >/dev/null 2>&1 || exit 1; "
                "for c in mamba conda micromamba; do command -v $c || true; done"
            )
            try:
                code, stdout, _ = await proc.run(["bash", "-c", script], timeout=60)
            except proc.CommandError:
                continue
            if code == 0:
                out += [(line, module.full) for line in stdout.split() if line.startswith("/")]
        return out


# --- what is in a prefix ---------------------------------------------------------------------------


def is_conda_prefix(path: str) -> bool:
    return os.path.isdir(os.path.join(path, "conda-meta"))


def installed(prefix: str) -> list[dict[str, Any]]:
    """The conda packages of a prefix from its ``conda-meta`` records (every engine writes them)."""
    rows = []
    for path in sorted(glob.glob(os.path.join(prefix, "conda-meta", "*.json"))):
        try:
            with open(path, encoding="utf-8") as f:
                data = json.load(f)
        except (OSError, ValueError):
            continue
        if not isinstance(data, dict) or "name" not in data:
            continue
        requested = data.get("requested_specs") or (
            [data["requested_spec"]] if data.get("requested_spec") else []
        )
        rows.append(
            {
                "name": data["name"],
                "version": str(data.get("version", "")),
                "build": data.get("build", ""),
                "channel": str(data.get("channel", "") or ""),
                "requested": list(requested),
            }
        )
    return rows


def python_of(prefix: str) -> str:
    for row in installed(prefix):
        if row["name"] == "python":
            version: str = row["version"]
            return version
    return ""


def requested_specs(prefix: str) -> list[str]:
    """What the user asked for in an environment made elsewhere: the engines' records
    (``requested_spec(s)`` of rattler and micromamba, conda's ``history``)."""
    specs: list[str] = []
    for row in installed(prefix):
        for spec in row["requested"]:
            if spec not in specs:
                specs.append(spec)
    history = os.path.join(prefix, "conda-meta", "history")
    with contextlib.suppress(OSError), open(history, encoding="utf-8", errors="replace") as f:
        for line in f:
            match = re.match(r"^# update specs: \[(.*)\]$", line.strip())
            if match:
                for item in re.findall(r"'([^']+)'", match.group(1)):
                    if item not in specs:
                        specs.append(item)
    valid = []
    for spec in specs:
        with contextlib.suppress(errors.InvalidInput):
            valid.append(conda_spec(spec))
    return valid


def envs_dirs(config: HpcEnvs, roots: list[str]) -> list[str]:
    """Where environments made by hand are looked for: conda's defaults, the site documentation's Miniconda in
    each storage root, and ``$CONDA_ENVS_PATH``."""
    home = os.path.expanduser("~")
    dirs = [p for p in os.environ.get("CONDA_ENVS_PATH", "").split(os.pathsep) if p]
    dirs += [os.path.join(home, ".conda", "envs"), os.path.join(home, "micromamba", "envs")]
    for root in [*roots, home]:
        for install in ("miniconda3", "anaconda3", "miniforge3", "mambaforge"):
            dirs.append(os.path.join(root, install, "envs"))
    return [d for i, d in enumerate(dirs) if d not in dirs[:i]]


def registered_prefixes() -> list[str]:
    """conda's own list of the environments it made (``~/.conda/environments.txt``)."""
    path = os.path.join(os.path.expanduser("~"), ".conda", "environments.txt")
    try:
        with open(path, encoding="utf-8") as f:
            return [line.strip() for line in f if line.strip()]
    except OSError:
        return []


async def existing_environments(
    engine: Engine | None, config: HpcEnvs, roots: list[str]
) -> list[str]:
    """Prefixes of the conda environments on this node: the engine's JSON list, conda's list, the
    envs folders (and the base install of a Miniconda in a storage root)."""
    prefixes: list[str] = []
    argv = engine.env_list_command() if engine else None
    if argv:
        with contextlib.suppress(proc.CommandError, ValueError):
            code, out, _ = await proc.run(argv, timeout=60)
            if code == 0:
                prefixes += [p for p in json.loads(out).get("envs", []) if isinstance(p, str)]
    prefixes += registered_prefixes()
    for folder in envs_dirs(config, roots):
        with contextlib.suppress(OSError):
            prefixes += [e.path for e in os.scandir(folder) if e.is_dir()]
        base = os.path.dirname(folder)
        if os.path.isdir(os.path.join(base, "conda-meta")):
            prefixes.append(base)
    unique: list[str] = []
    seen: set[str] = set()
    for prefix in prefixes:
        real = os.path.realpath(prefix)
        if real not in seen and is_conda_prefix(prefix):
            seen.add(real)
            unique.append(os.path.normpath(prefix))
    return unique
