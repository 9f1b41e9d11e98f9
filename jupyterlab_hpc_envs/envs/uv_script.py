"""Installing with uv while keeping what the modules provide: the bash code of the build script and
of package changes.

uv does not see the packages that modules put on ``PYTHONPATH`` (it reads only the interpreter's
site-packages folders), so left to itself it installs a second numpy next to the module's. Here uv
only *resolves*, with every distribution Python imports from outside the venv pinned to its
installed version (``--constraints``, written by :mod:`.uv_plan`); then ``uv pip install
--no-deps`` installs exactly what is missing. The meaning is the site's pip commands': no build
isolation, no cache. When uv cannot meet the pins (a requested package needs a newer numpy than
the module's), the code says so and runs the pip command instead.
"""

from __future__ import annotations

import os
import shlex
import shutil

from packaging.requirements import Requirement

from .. import errors

PLAN = os.path.join(os.path.dirname(__file__), "uv_plan.py")
UV_OPTIONS = "--no-cache --no-build-isolation"
# The fallback is announced on this line (tests and the bench look for it).
FALLBACK = "falling back to pip"


def uv_binary(installer: str) -> str:
    """The uv executable that builds use ("" for pip): the one of the ``uv`` package, which is
    installed with this one, so compute nodes that see this installation run the same binary."""
    if installer == "pip":
        return ""
    try:
        from uv import find_uv_bin

        return os.path.realpath(find_uv_bin())
    except (ImportError, FileNotFoundError):
        found = shutil.which("uv")
        if found:
            return os.path.realpath(found)
        if installer == "uv":
            raise errors.InvalidInput(
                "installer",
                "installer is 'uv' but no uv executable is installed: install the 'uv' package "
                "next to jupyterlab-hpc-envs, or set installer to 'auto' or 'pip'.",
            ) from None
        return ""


def uv_install(
    uv: str,
    specs: list[str],
    pip_command: str,
    upgrade: tuple[str, ...] = (),
    extra: str = "",
) -> str:
    """Bash code that installs ``specs`` into the active venv with ``uv`` (modules' versions
    pinned), or runs ``pip_command`` when uv cannot; it sets ``hpc_envs_installer`` to the one
    used and returns pip's or uv's exit code. ``extra`` is bash run once the ``requested`` array
    is set (to add to it)."""
    q = shlex.quote
    requested = " ".join(q(s) for s in specs)
    upgrades = " ".join(f"--upgrade-package {q(n)}" for n in upgrade)
    return f"""\
_hpc_envs_uv_install() {{
  local work
  local -a requested=({requested})
  {extra}
  # uv reads its own settings: pass on the index settings pip reads from the environment.
  [ -n "${{PIP_INDEX_URL:-}}" ] && export UV_DEFAULT_INDEX="${{UV_DEFAULT_INDEX:-$PIP_INDEX_URL}}"
  [ -n "${{PIP_EXTRA_INDEX_URL:-}}" ] && export UV_INDEX="${{UV_INDEX:-$PIP_EXTRA_INDEX_URL}}"
  [ -n "${{PIP_FIND_LINKS:-}}" ] && export UV_FIND_LINKS="${{UV_FIND_LINKS:-$PIP_FIND_LINKS}}"
  work=$(mktemp -d "${{TMPDIR:-/tmp}}/hpc-envs-uv.XXXXXX") || return 1
  hpc_envs_installer=uv
  if ! python {q(PLAN)} pins "$work"; then
    echo "reading the installed distributions failed: {FALLBACK}"
    hpc_envs_installer=pip
  else
    printf '%s\\n' "${{requested[@]}}" > "$work/requested.txt"
    if {q(uv)} pip compile {UV_OPTIONS} --quiet --no-header --no-annotate {upgrades} \\
        --python "$(command -v python)" --constraints "$work/constraints.txt" \\
        --output-file "$work/resolved.txt" "$work/requested.txt" > "$work/uv.log" 2>&1; then
      python {q(PLAN)} missing "$work" > "$work/install.txt" || hpc_envs_installer=pip
      echo "uv resolved $(grep -c . "$work/resolved.txt") distributions with the" \\
        "$(grep -c . "$work/constraints.txt") of the modules and the Python pinned;" \\
        "installing the $(grep -c . "$work/install.txt") missing: $(tr '\\n' ' ' < "$work/install.txt")"
      if [ "$hpc_envs_installer" = uv ] && [ -s "$work/install.txt" ] \\
          && ! {q(uv)} pip install {UV_OPTIONS} --no-deps --python "$(command -v python)" \\
            --requirement "$work/install.txt"; then
        echo "uv could not install them: {FALLBACK}"
        hpc_envs_installer=pip
      fi
    else
      cat "$work/uv.log"
      echo "uv cannot install ${{requested[*]}} with the versions the" \\
        "modules and the Python provide pinned (uv's reason above): {FALLBACK}, which may" \\
        "install other versions next to the modules'"
      hpc_envs_installer=pip
    fi
  fi
  rm -rf "$work"
  echo "{_INFO}installer=$hpc_envs_installer"
  if [ "$hpc_envs_installer" = pip ]; then
    {pip_command}
  fi
}}
_hpc_envs_uv_install"""


_INFO = "::hpc-envs::info "


def change_command(
    uv: str, required: bool, specs: list[str], pip_argv: list[str], upgrade: bool
) -> list[str]:
    """The command of a package change in an existing venv (run through its launch script): uv
    with the modules' versions pinned where uv is on the node, else ``pip_argv``."""
    pip = shlex.join(pip_argv)
    names = tuple(Requirement(s).name for s in specs) if upgrade else ()
    missing = (
        f"echo 'installer is uv but {uv} is not on this node'; exit 1"
        if required
        else f"echo 'uv ({uv}) is not on this node: pip installs'; {pip}"
    )
    code = f"""\
if [ -x {shlex.quote(uv)} ]; then
{uv_install(uv, specs, pip, upgrade=names)}
else
  {missing}
fi"""
    return ["bash", "-c", code]
