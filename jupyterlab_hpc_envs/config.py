"""Configuration of the extension: one ``HpcEnvs`` configurable shared by server, CLI and provisioner.

Cluster admins set it in ``jupyter_server_config.py`` (``c.HpcEnvs.storage_roots = [...]``) or in a
JSON *site description* named by ``c.HpcEnvs.site_file`` or ``$HPC_ENVS_SITE_FILE``. Traitlets
config wins over the site file, so a user can override one value without copying the site's file.
"""

from __future__ import annotations

import json
import os
from typing import Any

from jupyter_core.paths import jupyter_data_dir
from traitlets import Bool, Dict, Enum, Float, List, Unicode, default
from traitlets.config import Configurable

PRODUCT = "jupyterlab-hpc-envs"
ENVS_FOLDER = "hpc-envs"  # <storage root>/hpc-envs/<name>/
MANIFEST = "hpc-env.json"
PROVISIONER = "hpc-envs-provisioner"
KERNEL_PREFIX = "hpcenv-"

# Storage roots offered by default, in the seed's order of preference, as VSC names them.
DEFAULT_ROOT_VARIABLES = (
    "VSC_DATA",
    "VSC_SCRATCH",
    "VSC_DATA_VO_USER",
    "VSC_SCRATCH_VO_USER",
    "VSC_DATA_VO",
    "VSC_SCRATCH_VO",
)


class HpcEnvs(Configurable):
    """Site and user settings of jupyterlab-hpc-envs."""

    site_file = Unicode(
        config=True,
        help="JSON file describing the site (partitions, storage roots, conda policy). Keys are "
        "the names of HpcEnvs settings; settings made in Jupyter config win over the file.",
    )

    @default("site_file")
    def _site_file_default(self) -> str:
        return os.environ.get("HPC_ENVS_SITE_FILE", "")

    storage_roots = List(
        Unicode(),
        config=True,
        help="Folders where environments may be created, best first. Default: $VSC_DATA, "
        "$VSC_SCRATCH and the VO folders that exist, then $HOME (flagged for its small quota).",
    )

    @default("storage_roots")
    def _storage_roots_default(self) -> list[str]:
        roots = [os.environ[v] for v in DEFAULT_ROOT_VARIABLES if os.environ.get(v)]
        return [r for i, r in enumerate(roots) if r not in roots[:i]]

    allow_home = Bool(
        True,
        config=True,
        help="Offer $HOME as a storage root (last, with a warning about its quota).",
    )

    partitions = Dict(
        config=True,
        help="Site description per partition: {name: {arch, os, modulepath: [...], gpu, "
        "description, kernel: {time, cpus, memory, gpus, account}, limits: {...}}}. Partitions "
        "come from sinfo; this adds what sinfo cannot tell.",
    )

    module_system = Enum(
        ["auto", "lmod", "tcl", "none"],
        "auto",
        config=True,
        help="The module system: Lmod, Environment Modules (tcl), none, or auto-detected.",
    )

    base_modules = List(
        Unicode(),
        config=True,
        help="Modules every environment loads first after 'module purge' (e.g. a cluster "
        "module). Sticky modules stay loaded anyway.",
    )

    arch_variable = Unicode(
        "VSC_ARCH_LOCAL",
        config=True,
        help="Environment variable that names the node's CPU microarchitecture; archspec is "
        "used where it is unset.",
    )

    use_slurm = Enum(
        ["auto", "yes", "no"],
        "auto",
        config=True,
        help="Use Slurm for partitions and remote builds: auto when sinfo answers.",
    )

    build_time_limit = Unicode(
        "2:00:00", config=True, help="Slurm time limit of a build job on another partition."
    )

    build_srun_options = List(
        Unicode(),
        config=True,
        help="Extra srun options for build jobs (e.g. ['--account=myproject']).",
    )

    catalog_ttl = Float(
        600.0, config=True, help="Seconds a module catalog is served from cache before refresh."
    )

    conda_policy = Enum(
        ["allowed", "discouraged", "forbidden"],
        "allowed",
        config=True,
        help="Whether users may create conda environments.",
    )

    conda_policy_message = Unicode(
        "",
        config=True,
        help="What users are told when conda is discouraged or forbidden.",
    )

    data_dir = Unicode(
        config=True,
        help="Where tasks and their logs are kept (per user). Default: <jupyter data dir>/hpc_envs.",
    )

    @default("data_dir")
    def _data_dir_default(self) -> str:
        return os.path.join(jupyter_data_dir(), "hpc_envs")

    kernels_dir = Unicode(
        config=True,
        help="Where kernelspecs are written. Default: the user's Jupyter kernels folder.",
    )

    @default("kernels_dir")
    def _kernels_dir_default(self) -> str:
        return os.path.join(jupyter_data_dir(), "kernels")

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self._apply_site_file()

    def _apply_site_file(self) -> None:
        if not self.site_file:
            return
        try:
            with open(self.site_file, encoding="utf-8") as f:
                described = json.load(f)
        except (OSError, ValueError) as err:
            raise RuntimeError(f"Cannot read the site file {self.site_file}: {err}") from err
        if not isinstance(described, dict):
            raise RuntimeError(f"The site file {self.site_file} must hold a JSON object.")
        configured = set(self.config.get("HpcEnvs", {}))
        for key, value in described.items():
            if key in configured or key == "site_file":
                continue
            if not self.has_trait(key):
                raise RuntimeError(f"The site file {self.site_file} has an unknown key {key!r}.")
            setattr(self, key, value)
