"""The kernel provisioner ``hpc-envs-provisioner``.

Kernels of HPC environments start through their build's launch script, which loads the recorded
modules and activates the venv. Before anything starts, the provisioner checks what the script would
otherwise find out later and less clearly: that the environment and its build exist and are ready,
and that this node has the build's CPU microarchitecture.
"""

from __future__ import annotations

import os
from typing import Any

from jupyter_client.provisioning import LocalProvisioner
from traitlets import Unicode

from . import names
from .config import HpcEnvs
from .envs import manifest
from .site import host_arch


class KernelStartError(RuntimeError):
    """The kernel cannot start here; the message says why and what to do."""


class HpcEnvsProvisioner(LocalProvisioner):  # type: ignore[misc]
    """Launches the kernel of an HPC environment through its launch script."""

    partition = Unicode(
        "",
        config=True,
        help="The partition this kernel is for (set in the kernelspec by jupyterlab-hpc-envs).",
    )

    def _environment(self) -> dict[str, Any] | None:
        meta = (self.kernel_spec.metadata or {}).get("hpc_envs")
        return meta if isinstance(meta, dict) else None

    def check_build(self) -> None:
        """Refuse clearly when the build is missing, not ready, or for another CPU."""
        meta = self._environment()
        if meta is None:
            return  # a plain kernelspec naming this provisioner: behave as the local one
        name, arch, home = meta.get("name", "?"), meta.get("arch", ""), meta.get("path", "")
        try:
            env = manifest.read(home)
        except (names.NotFound, names.Conflict) as err:
            raise KernelStartError(
                f"The environment {name} of this kernel is gone ({err}). Remove the kernel "
                f"('jupyter kernelspec remove {os.path.basename(self.kernel_spec.resource_dir)}') "
                "or create the environment again."
            ) from None
        build = env.builds.get(arch)
        if build is None or build.state != manifest.READY:
            state = build.state if build else "missing"
            raise KernelStartError(
                f"{name} has no ready build for {arch} (it is {state}): rebuild it from the "
                "HPC environments panel."
            )
        if not os.path.isdir(build.path):
            raise KernelStartError(f"The build folder {build.path} of {name} is gone: rebuild it.")
        config = HpcEnvs(parent=self)
        node_arch, source = host_arch(config)
        if node_arch != arch:
            raise KernelStartError(
                f"{name} was built for {arch}, but this node is {node_arch} (from {source}). "
                f"Start the kernel on a {arch} partition or rebuild the environment for {node_arch}."
            )

    async def pre_launch(self, **kwargs: Any) -> dict[str, Any]:
        self.check_build()
        return await super().pre_launch(**kwargs)
