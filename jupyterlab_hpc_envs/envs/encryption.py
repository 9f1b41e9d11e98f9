"""Whether a build's kernels can encrypt their traffic (CurveZMQ), and what to say when not.

A kernel's ZeroMQ ports carry code and outputs in the clear unless the kernel manager gives the
kernel CurveZMQ keys (``curve_publickey``/``curve_secretkey`` in its connection information) and the
kernel applies them to its sockets: jupyter_client 8.9 and ipykernel 7.3 do; an older ipykernel
(as a module may provide) binds its ports without encryption whatever its connection file says.

The build's smoke test (:data:`.scripts.SMOKE_TEST`) records in the manifest which ipykernel the
environment imports, from where, and whether it can encrypt (``encryption``: ``curve`` or ``none``;
``""`` when not known yet, e.g. a build made before this was checked, or after a package change).
A Slurm kernel's launcher checks it again on the node at each start and the provisioner records
what it saw; a local kernel whose build is not known is checked by running the smoke test.
"""

from __future__ import annotations

import contextlib
import os
from typing import Any

from .. import errors, names, proc
from . import manifest, scripts
from .manifest import Build

MIN_IPYKERNEL = "7.3"
CURVE, NONE = "curve", "none"
POLICIES = ("required", "preferred", "off")
FIELDS = ("ipykernel", "ipykernel_path", "encryption")


def problem(build: Build, kind: str = "venv") -> str:
    """``ipykernel 6.29.5 in this environment cannot encrypt …``; '' when it can or is unknown."""
    if build.encryption != NONE:
        return ""
    into = "the venv" if kind == "venv" else "the environment"
    text = (
        f"ipykernel {build.ipykernel or '(unknown version)'} in this environment cannot encrypt "
        f"kernel traffic; install ipykernel>={MIN_IPYKERNEL} into {into}"
    )
    if (
        kind == "venv"
        and build.ipykernel_path
        and not names.within(build.ipykernel_path, build.path)
    ):
        text += (
            f" (this one comes from {os.path.dirname(build.ipykernel_path)}, a loaded module, "
            "which outranks the venv: rebuild the environment without that module, with "
            f"ipykernel>={MIN_IPYKERNEL} as a package)"
        )
    return text + "."


def consequence(policy: str) -> str:
    """What the site's ``kernel_encryption`` makes of a kernel that cannot encrypt."""
    if policy == "required":
        return (
            "Its kernels are refused: this site requires encrypted kernels "
            "(HpcEnvs.kernel_encryption = 'required')."
        )
    return (
        "Its kernels run unencrypted: other users who can reach the node a kernel runs on can "
        "read its code and outputs."
    )


def warning(build: Build, kind: str, policy: str) -> str:
    """The panel's, ``list``'s and ``doctor``'s warning for one build ('' when none)."""
    text = problem(build, kind) if policy != "off" else ""
    return f"{text} {consequence(policy)}" if text else ""


def parse(output: str) -> dict[str, str]:
    """The ``info`` lines of the smoke test (``::hpc-envs::info key=value``) as a dict."""
    found = {}
    for line in output.splitlines():
        if line.startswith(scripts.PROGRESS_PREFIX + "info "):
            key, _, value = line[len(scripts.PROGRESS_PREFIX) + 5 :].partition("=")
            found[key] = value
    return found


async def probe(launch: str, env: dict[str, str] | None = None) -> dict[str, str]:
    """Run the smoke test through a launch script on this node; its findings ({} when it failed)."""
    try:
        code, out, _ = await proc.run(
            [launch, "python", "-c", scripts.SMOKE_TEST], timeout=120, env=env
        )
    except proc.CommandError:
        return {}
    return parse(out) if code == 0 else {}


def record(home: str, arch: str, found: dict[str, Any]) -> None:
    """Keep what a check found in the build's manifest entry, when it changed (best effort: an
    environment this user cannot write, e.g. a colleague's, keeps its record)."""
    values = {k: str(found[k]) for k in FIELDS if found.get(k) is not None}
    if values.get("encryption") not in (CURVE, NONE):
        return
    with contextlib.suppress(OSError, errors.NotFound, errors.Conflict):
        current = manifest.read(home).builds.get(arch)
        if current is None or all(getattr(current, k) == v for k, v in values.items()):
            return
        with manifest.updating(home) as m:
            build = m.builds.get(arch)
            if build is not None:
                for key, value in values.items():
                    setattr(build, key, value)
