"""The launch script and the build script: readable bash, generated, every value shell-quoted.

The launch script is the heart of the project: the kernel, a terminal and a batch job all enter an
environment through it, so they all get exactly the same modules and the same venv. It is
self-contained (no call back into this package), can be run (``launch.sh COMMAND ...``: activate,
then ``exec``) or sourced (``source launch.sh``: activate the current shell), and refuses to run on
a node whose microarchitecture differs from the build's.
"""

from __future__ import annotations

import shlex
import time
from dataclasses import dataclass, field

from .. import __version__
from . import uv_script

# Exit codes of the launch script, so that callers can tell a wrong node from a broken module.
EXIT_WRONG_ARCH = 64
EXIT_NO_MODULE_SYSTEM = 65
EXIT_MODULE_LOAD = 66
EXIT_NO_ENV = 67
# Prefix of the build script's progress lines, which the server reads from the log:
# "::hpc-envs::step NAME" (a step starts), "::hpc-envs::info KEY=VALUE" (a fact found),
# "::hpc-envs::fail MESSAGE" (why the build stopped). Every other line is the tools' own output.
PROGRESS_PREFIX = "::hpc-envs::"


def readable_line(line: str) -> str:
    """A line of a build log as people read it: a progress line as a step heading (``==> pip``),
    a fact (``    host: node12``) or the failure (``failed: …``); any other line as it is. The
    frontend's log view renders them the same way (``src/widgets/tasklog.ts``)."""
    if not line.startswith(PROGRESS_PREFIX):
        return line
    what, _, rest = line[len(PROGRESS_PREFIX) :].partition(" ")
    if what == "step":
        return f"==> {rest}"
    if what == "info":
        key, _, value = rest.partition("=")
        return f"    {key}: {value}"
    if what == "fail":
        return f"failed: {rest}"
    return rest


# The smoke test, run through the launch script by the build, and by the provisioner for a build
# not checked yet (see envs.encryption). Python 3.7 syntax, whatever the environment's Python: it
# imports the kernel and says which ipykernel, from where, and whether it can encrypt the kernel's
# traffic (it applies CurveZMQ keys to its sockets, and pyzmq's libzmq has CURVE).
SMOKE_TEST = f"""\
import os, platform, sys, zmq, ipykernel
from ipykernel.kernelapp import IPKernelApp
curve = hasattr(IPKernelApp, "_apply_curve_server_options") and zmq.has("curve")
found = [("python", platform.python_version()), ("prefix", sys.prefix),
         ("ipykernel", getattr(ipykernel, "__version__", "")),
         ("ipykernel_path", os.path.dirname(ipykernel.__file__)),
         ("encryption", "curve" if curve else "none")]
for key, value in found:
    print("{PROGRESS_PREFIX}info " + key + "=" + value)
"""


# Where an EESSI-like stack module says which per-arch tree it chose (x86_64/amd/zen4).
STACK_ARCH_VARIABLE = "EESSI_SOFTWARE_SUBDIR"


@dataclass
class ScriptContext:
    """What a script needs to know about the site; values come from validated input only."""

    module_kind: str  # lmod | tcl | none
    module_init: str  # file that defines `module` for a non-login bash
    arch_variable: str = "VSC_ARCH_LOCAL"
    base_modules: list[str] = field(default_factory=list)


def q(value: str) -> str:
    return shlex.quote(value)


def c(value: str) -> str:
    """``value`` for a ``#`` comment line: shell-quoted as in code, with every line break and
    control character written as an escape, so no value can end the comment and become code."""
    return "".join(
        ch if ch.isprintable() else ch.encode("unicode_escape").decode("ascii") for ch in q(value)
    )


def _array(values: list[str]) -> str:
    return "(" + " ".join(q(v) for v in values) + ")"


def _module_functions(ctx: ScriptContext) -> str:
    """bash functions that set up the module system and load the recorded list."""
    inits = [ctx.module_init] if ctx.module_init else []
    init_lines = "\n".join(f"    elif [ -r {q(path)} ]; then . {q(path)}" for path in inits)
    return f"""\
hpc_envs_module_kind={q(ctx.module_kind)}

# Make `module` available: a non-login bash has not sourced the module system's init.
_hpc_envs_init_modules() {{
  [ "$hpc_envs_module_kind" = none ] && return 0
  if ! type module >/dev/null 2>&1; then
    if [ -n "${{LMOD_PKG:-}}" ] && [ -r "$LMOD_PKG/init/bash" ]; then . "$LMOD_PKG/init/bash"
    elif [ -n "${{MODULESHOME:-}}" ] && [ -r "$MODULESHOME/init/bash" ]; then . "$MODULESHOME/init/bash"
{init_lines}
    fi
  fi
  if ! type module >/dev/null 2>&1; then
    echo "hpc-envs: no 'module' command on $(hostname): the module system is missing here." >&2
    return {EXIT_NO_MODULE_SYSTEM}
  fi
}}

# Start from a clean slate (sticky modules stay), then load exactly the recorded list.
_hpc_envs_load_modules() {{
  _hpc_envs_init_modules || return $?
  [ "$hpc_envs_module_kind" = none ] && return 0
  # Nothing loaded means nothing to purge: one module-system run saved at every kernel start.
  [ -n "${{LOADEDMODULES:-}}" ] && module purge
  # Packages that modules put on PYTHONPATH come back with the modules; anything else left on it
  # would make this environment differ from the one that was built.
  unset PYTHONPATH PYTHONHOME
  local all=("${{hpc_envs_base_modules[@]}}" "${{hpc_envs_modules[@]}}") m
  [ ${{#all[@]}} -eq 0 ] && return 0
  # One `module load` for the whole list (one run of the module system); when it fails, find
  # the module that is missing or broken so that the message names it.
  if ! module load "${{all[@]}}"; then
    for m in "${{all[@]}}"; do
      if ! module is-avail "$m" >/dev/null 2>&1; then
        echo "hpc-envs: module $m is not available on $(hostname): this partition's module" \\
          "tree lacks it. Rebuild the environment for this partition, or ask your support team." >&2
        return {EXIT_MODULE_LOAD}
      fi
    done
    echo "hpc-envs: 'module load ${{all[*]}}' failed on $(hostname): see the module system's" \\
      "message above." >&2
    return {EXIT_MODULE_LOAD}
  fi
}}"""


def _header(name: str, title: str, prefix: str, modules_line: str, launch: str) -> str:
    """The comment block every launch script starts with: what it is and how to use it. Every
    value in it goes through :func:`c` (``title`` and ``modules_line`` are made with it)."""
    stamp = time.strftime("%Y-%m-%d %H:%M:%S %Z")
    return f"""\
#!/usr/bin/env bash
# Generated by jupyterlab-hpc-envs {__version__} on {stamp}. Do not edit: it is rewritten when the
# environment is rebuilt or registered again (side panel, or 'jupyter hpc-envs register {c(name)}').
#
# {title}:
#   {c(prefix)}
# Modules: {modules_line}
#
# Run a command inside the environment:   {c(launch)} python script.py
# Activate it in the current shell:       source {c(launch)}
# In a batch script:                      eval "$(jupyter hpc-envs activate {c(name)})"
"""


# The node must have the build's microarchitecture (unless the variable is not set there).
_ARCH_CHECK = f"""\
  local node_arch="${{!hpc_envs_arch_variable:-}}"
  if [ -n "$node_arch" ] && [ "$node_arch" != "$hpc_envs_arch" ] && [ -z "${{HPC_ENVS_IGNORE_ARCH:-}}" ]; then
    echo "hpc-envs: environment '$hpc_envs_name' was built for $hpc_envs_arch, but this node" \\
      "($(hostname)) is $node_arch. Use it on a $hpc_envs_arch partition, or build it for" \\
      "$node_arch (side panel: Rebuild for partition)." >&2
    return {EXIT_WRONG_ARCH}
  fi"""

# Sourced: activate this shell. Run: activate, then become the command.
_RUN_OR_SOURCE = """\
if [ "${BASH_SOURCE[0]}" != "$0" ]; then
  _hpc_envs_activate
  return $?
fi
_hpc_envs_activate || exit $?
if [ $# -eq 0 ]; then
  echo "usage: $0 COMMAND [ARG...]   (or: source $0)" >&2
  exit 2
fi
exec "$@"
"""


def launch_script(
    ctx: ScriptContext,
    *,
    name: str,
    kind: str,
    arch: str,
    prefix: str,
    launch: str,
    modules: list[str],
    stack_arch: str = "",
) -> str:
    """The launch script of one build (kind ``venv``; conda scripts below). ``stack_arch``: the
    arch an EESSI-like stack module chose on the build node, which it must choose here too."""
    header = _header(
        name,
        f"Environment {c(name)} ({c(kind)}), built for the {c(arch)} microarchitecture",
        prefix,
        " ".join(c(m) for m in modules) if modules else "(none)",
        launch,
    )
    return f"""\
{header}
hpc_envs_name={q(name)}
hpc_envs_arch={q(arch)}
hpc_envs_prefix={q(prefix)}
hpc_envs_modules={_array(modules)}
hpc_envs_base_modules={_array(ctx.base_modules)}
hpc_envs_arch_variable={q(ctx.arch_variable)}
hpc_envs_stack_arch={q(stack_arch)}

{_module_functions(ctx)}

_hpc_envs_check_node() {{
{_ARCH_CHECK}
  if [ ! -r "$hpc_envs_prefix/bin/activate" ]; then
    echo "hpc-envs: $hpc_envs_prefix/bin/activate is missing: the build was removed or is" \\
      "incomplete. Rebuild the environment." >&2
    return {EXIT_NO_ENV}
  fi
}}

_hpc_envs_activate() {{
  _hpc_envs_check_node || return $?
  _hpc_envs_load_modules || return $?
  if [ -n "$hpc_envs_stack_arch" ] && [ "${{{STACK_ARCH_VARIABLE}:-}}" != "$hpc_envs_stack_arch" ]; then
    echo "hpc-envs: the software stack chose '${{{STACK_ARCH_VARIABLE}:-}}' on $(hostname), but this" \\
      "environment was built with its '$hpc_envs_stack_arch' tree: rebuild it for this partition." >&2
    return {EXIT_MODULE_LOAD}
  fi
  export PYTHONNOUSERSITE=1  # never let ~/.local/lib/python*/site-packages leak in
  . "$hpc_envs_prefix/bin/activate" || return {EXIT_NO_ENV}
  export HPC_ENVS_ACTIVE="$hpc_envs_name:$hpc_envs_arch"
}}

{_RUN_OR_SOURCE}"""


def build_script(
    ctx: ScriptContext,
    *,
    name: str,
    arch: str,
    prefix: str,
    launch: str,
    modules: list[str],
    packages: list[str],
    system_site_packages: bool = True,
    pip_options: list[str] | None = None,
    upgrade_pip: bool = True,
    uv: str = "",
    uv_required: bool = False,
) -> str:
    """The build of a venv on the target node, as the site documentation's recipe does it by hand, step by step.

    Lines starting with ``::hpc-envs::`` tell the server which step runs and what was found; every
    other line is the tools' own output, streamed to the log. With ``uv`` (its executable) and no
    pip options, the pip steps are done by uv with the modules' versions pinned (see
    :mod:`.uv_script`), pip where uv cannot run on the node (a failure if ``uv_required``).
    """
    pip = "python -m pip install --no-cache-dir --no-build-isolation"
    if pip_options:
        pip += " " + " ".join(q(o) for o in pip_options)
    ssp = "--system-site-packages" if system_site_packages else ""
    package_args = " ".join(q(p) for p in packages)
    upgrade = (
        "python -m pip install --no-cache-dir --upgrade pip || fail 'upgrading pip failed'"
        if upgrade_pip
        else "echo 'pip upgrade skipped (option)'"
    )
    install_packages = (
        f"{pip} {package_args} || fail 'installing the requested packages failed: see the pip "
        "output above (a wrong name or version, or a package that needs another module)'"
        if packages
        else "echo 'no packages requested'"
    )
    install_steps = f"""\
step pip
{upgrade}

step ipykernel
if [ "${{found#* }}" = True ]; then
  echo "ipykernel is already provided by the loaded modules: not installed again"
else
  {pip} ipykernel || fail "installing ipykernel failed"
fi

step packages
{install_packages}"""
    if uv and not pip_options:
        uv_check, install_steps = _uv_steps(uv, uv_required, packages, upgrade_pip, install_steps)
    else:
        uv_check = ""
    return f"""\
#!/usr/bin/env bash
# Build of environment {c(name)} for {c(arch)}, generated by jupyterlab-hpc-envs {__version__}.
set -o pipefail
hpc_envs_name={q(name)}
hpc_envs_arch={q(arch)}
hpc_envs_prefix={q(prefix)}
hpc_envs_launch={q(launch)}
hpc_envs_modules={_array(modules)}
hpc_envs_base_modules={_array(ctx.base_modules)}
hpc_envs_arch_variable={q(ctx.arch_variable)}

step() {{ echo "{PROGRESS_PREFIX}step $1"; }}
info() {{ echo "{PROGRESS_PREFIX}info $1=$2"; }}
fail() {{
  # A full file system makes every tool fail in its own words: say it plainly.
  local free
  free=$(df -Pk "$(dirname "$hpc_envs_prefix")" 2>/dev/null | awk 'NR==2 {{print $4}}')
  if [ -n "$free" ] && [ "$free" -lt 65536 ]; then
    echo "{PROGRESS_PREFIX}fail $*: the file system of $(dirname "$hpc_envs_prefix") is full" \
      "($((free / 1024)) MiB free); free some space or choose another storage root"
  else
    echo "{PROGRESS_PREFIX}fail $*"
  fi
  exit 1
}}

{_module_functions(ctx)}

step check-node
info host "$(hostname)"
node_arch="${{!hpc_envs_arch_variable:-}}"
info node_arch "$node_arch"
if [ -n "$node_arch" ] && [ "$node_arch" != "$hpc_envs_arch" ]; then
  fail "this node is $node_arch, not $hpc_envs_arch: the build must run on a $hpc_envs_arch node"
fi

step modules
_hpc_envs_load_modules || fail "loading the modules failed: see the module system's message above"
info loaded_modules "${{LOADEDMODULES:-}}"
info stack_arch "${{{STACK_ARCH_VARIABLE}:-}}"
export PYTHONNOUSERSITE=1

{uv_check}step venv
command -v python3 >/dev/null || fail "no python3 after loading the modules: load a Python module"
python3 -m venv {ssp} ${{hpc_envs_without_pip:-}} "$hpc_envs_prefix" || fail "python3 -m venv failed"
. "$hpc_envs_prefix/bin/activate" || fail "the new venv cannot be activated"
# One Python run for its version and whether the modules bring ipykernel (only looked for here:
# importing it takes a quarter of a second, and the smoke test imports it).
found=$(python -c 'import importlib.util as u, platform; print(platform.python_version(), u.find_spec("ipykernel") is not None)') \
  || fail "the venv's python does not run"
info python "${{found% *}}"

{install_steps}

step smoke-test
bash "$hpc_envs_launch" python -c {q(SMOKE_TEST)} \\
  || fail "the launch script does not start Python with ipykernel in the new environment"
step done
"""


def _uv_steps(
    uv: str, required: bool, packages: list[str], upgrade_pip: bool, pip_steps: str
) -> tuple[str, str]:
    """The pip steps done with uv where its executable is on the node: ensurepip's own wheels,
    then pip (upgraded as the pip steps would), ipykernel (unless a module has it) and the packages
    in one resolution with the modules' versions pinned; ``pip_steps`` where uv cannot."""
    missing = (
        'fail "installer is uv but {hpc_envs_uv} is not on this node: install the uv package '
        'where the nodes see it, or set installer to auto"'
        if required
        else 'echo "uv ($hpc_envs_uv) is not on this node: pip installs the packages"'
    )
    install = uv_script.uv_install(
        uv,
        [*(["pip"] if upgrade_pip else []), *packages],
        pip_steps,
        upgrade=("pip",) if upgrade_pip else (),
        extra='[ "${found#* }" = True ] || requested+=(ipykernel)',
    )
    prelude = f"""\
hpc_envs_uv={q(uv)}
hpc_envs_without_pip=
if [ -x "$hpc_envs_uv" ]; then
  hpc_envs_without_pip=--without-pip  # uv installs ensurepip's own wheels, faster
else
  {missing}
fi
"""
    return (
        prelude,
        f"""\
if [ -n "$hpc_envs_without_pip" ]; then
step pip
bundled=$(python -c 'import ensurepip, os; print(os.path.dirname(ensurepip.__file__))')/_bundled
if ls "$bundled"/*.whl >/dev/null 2>&1; then
  {q(uv)} pip install {uv_script.UV_OPTIONS} --no-deps --python "$(command -v python)" \\
    "$bundled"/*.whl || fail "installing ensurepip's pip into the venv failed"
else
  python -m ensurepip --default-pip || fail "python -m ensurepip failed"
fi

step packages
{install} || fail 'installing the requested packages failed: see the output above'
else
{pip_steps}
fi""",
    )


# --- conda environments -------------------------------------------------------------------------

_CONDA_RESET = """\
  # conda is not mixed with modules: purge them (sticky ones stay) and load none.
  _hpc_envs_load_modules || return $?
  unset PYTHONPATH PYTHONHOME VIRTUAL_ENV
  # Leave any conda environment that is active already, so this one is not stacked on it.
  if [ -n "${CONDA_PREFIX:-}" ]; then
    PATH=":$PATH:"; PATH="${PATH//:$CONDA_PREFIX\\/bin:/:}"; PATH="${PATH#:}"; PATH="${PATH%:}"
  fi
  unset CONDA_PREFIX CONDA_DEFAULT_ENV CONDA_SHLVL CONDA_PROMPT_MODIFIER
  export PYTHONNOUSERSITE=1  # never let ~/.local/lib/python*/site-packages leak in"""


def conda_launch_script(
    ctx: ScriptContext,
    *,
    name: str,
    arch: str,
    prefix: str,
    launch: str,
    engine: str,
    engine_exe: str,
    activation_file: str,
    activation: str,
) -> str:
    """The launch script of a conda build: purge modules and load none, turn the user site off,
    activate the environment the engine's own way (``activation``: bash lines from the engine, so
    ``etc/conda/activate.d`` hooks run), then ``exec``."""
    header = _header(
        name,
        f"Conda environment {c(name)}, built for the {c(arch)} microarchitecture with {c(engine)}",
        prefix,
        "none (conda environments are not mixed with modules: they are purged)",
        launch,
    )
    return f"""\
{header}
hpc_envs_name={q(name)}
hpc_envs_arch={q(arch)}
hpc_envs_prefix={q(prefix)}
hpc_envs_engine={q(engine)}
hpc_envs_engine_exe={q(engine_exe)}
hpc_envs_activation={q(activation_file)}
hpc_envs_modules=()
hpc_envs_base_modules=()
hpc_envs_arch_variable={q(ctx.arch_variable)}

{_module_functions(ctx)}

_hpc_envs_check_node() {{
{_ARCH_CHECK}
  if [ ! -d "$hpc_envs_prefix/conda-meta" ]; then
    echo "hpc-envs: $hpc_envs_prefix is not a conda environment (any more): the build was" \\
      "removed or is incomplete. Rebuild the environment." >&2
    return {EXIT_NO_ENV}
  fi
}}

# The engine's own activation ({c(engine)}): environment variables, then etc/conda/activate.d.
_hpc_envs_conda_activate() {{
{activation}
}}

_hpc_envs_activate() {{
  _hpc_envs_check_node || return $?
{_CONDA_RESET}
  if ! _hpc_envs_conda_activate; then
    echo "hpc-envs: activating $hpc_envs_prefix with $hpc_envs_engine failed on $(hostname)." >&2
    return {EXIT_NO_ENV}
  fi
  export HPC_ENVS_ACTIVE="$hpc_envs_name:$hpc_envs_arch"
}}

{_RUN_OR_SOURCE}"""


def conda_build_script(
    ctx: ScriptContext,
    *,
    name: str,
    arch: str,
    prefix: str,
    launch: str,
    engine: str,
    create: list[str],
    activation: list[str] | None,
    pip_packages: list[str] | None = None,
) -> str:
    """The build of a conda environment on the target node: no modules, the engine's ``create``,
    the activation file (rattler), pip only for what the channels lack, and the smoke test."""
    write_activation = (
        f"{shlex.join(activation)} || fail 'writing the activation of the environment failed'"
        if activation
        else 'echo "activated by the engine\'s shell hook: nothing to write"'
    )
    pip = (
        f'bash "$hpc_envs_launch" python -m pip install --no-cache-dir '
        f"{' '.join(q(p) for p in pip_packages)} || fail 'pip could not install the packages "
        "that the channels lack: see its output above'"
        if pip_packages
        else "echo 'nothing to install with pip'"
    )
    return f"""\
#!/usr/bin/env bash
# Build of conda environment {c(name)} for {c(arch)}, generated by jupyterlab-hpc-envs {__version__}.
set -o pipefail
hpc_envs_name={q(name)}
hpc_envs_arch={q(arch)}
hpc_envs_prefix={q(prefix)}
hpc_envs_launch={q(launch)}
hpc_envs_modules=()
hpc_envs_base_modules=()
hpc_envs_arch_variable={q(ctx.arch_variable)}

step() {{ echo "{PROGRESS_PREFIX}step $1"; }}
info() {{ echo "{PROGRESS_PREFIX}info $1=$2"; }}
fail() {{ echo "{PROGRESS_PREFIX}fail $*"; exit 1; }}

{_module_functions(ctx)}

_hpc_envs_reset() {{
{_CONDA_RESET}
}}

step check-node
info host "$(hostname)"
node_arch="${{!hpc_envs_arch_variable:-}}"
info node_arch "$node_arch"
if [ -n "$node_arch" ] && [ "$node_arch" != "$hpc_envs_arch" ]; then
  fail "this node is $node_arch, not $hpc_envs_arch: the build must run on a $hpc_envs_arch node"
fi

step modules
_hpc_envs_reset || fail "purging the modules failed: see the module system's message above"
info loaded_modules "${{LOADEDMODULES:-}}"

step create
echo Engine: {q(engine)}
{shlex.join(create)} || fail "the conda engine could not create the environment: see its output above (a package or version missing from the channels, or a channel that cannot be reached)"

step activation
{write_activation}

step pip
{pip}

step smoke-test
bash "$hpc_envs_launch" python -c {q(SMOKE_TEST)} \\
  || fail "the launch script does not start Python with ipykernel in the new environment"
step done
"""
