"""Configuration of the extension: one ``HpcEnvs`` configurable shared by server, CLI and provisioner.

Cluster admins set it in ``jupyter_server_config.py`` (``c.HpcEnvs.storage_roots = [...]``) or in a
JSON *site description* named by ``c.HpcEnvs.site_file`` or ``$HPC_ENVS_SITE_FILE``. Traitlets
config wins over the site file, so a user can override one value without copying the site's file.
"""

from __future__ import annotations

import json
import os
import re
from typing import Any

from jupyter_core.paths import jupyter_data_dir
from traitlets import (
    Bool,
    Dict,
    Enum,
    Float,
    Int,
    List,
    TraitError,
    Unicode,
    default,
    validate,
)
from traitlets.config import Configurable

PRODUCT = "jupyterlab-hpc-envs"
ENVS_FOLDER = "hpc-envs"  # <storage root>/hpc-envs/<name>/
MANIFEST = "hpc-env.json"
PROVISIONER = "hpc-envs-provisioner"
KERNEL_PREFIX = "hpcenv-"

# Storage roots offered by default, in the site documentation's order of preference, as VSC names them.
DEFAULT_ROOT_VARIABLES = (
    "VSC_DATA",
    "VSC_SCRATCH",
    "VSC_DATA_VO_USER",
    "VSC_SCRATCH_VO_USER",
)
# The VO's shared folders: only for environments made --shared (see ownership.py), never a
# storage root of one's own (every member of the VO can write there).
SHARED_ROOT_VARIABLES = ("VSC_DATA_VO", "VSC_SCRATCH_VO")


CONDA_DISCOURAGED = (
    "Conda environments are discouraged on this cluster: conda's packages are not built for its "
    "CPUs and network (MPI, TensorFlow on CPUs), and they cannot be mixed with modules. Prefer a "
    "venv on the cluster's Python modules where you can."
)
CONDA_FORBIDDEN = (
    "Conda environments are not allowed on this cluster: use a venv on its Python modules."
)


def _folders_of(variables: tuple[str, ...]) -> list[str]:
    """The folders that ``variables`` name where set, each once, in their order."""
    roots = [os.environ[v] for v in variables if os.environ.get(v)]
    return [r for i, r in enumerate(roots) if r not in roots[:i]]


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
        "$VSC_SCRATCH and the per-user VO folders that exist, then $HOME (flagged for its small "
        "quota). Each must be yours and not writable by others (see shared_roots for a group).",
    )

    @default("storage_roots")
    def _storage_roots_default(self) -> list[str]:
        return _folders_of(DEFAULT_ROOT_VARIABLES)

    shared_roots = List(
        Unicode(),
        config=True,
        help="Folders of a group (a VO) where 'create --shared' puts environments that every "
        "member may use and only their creator may change. Default: $VSC_DATA_VO and "
        "$VSC_SCRATCH_VO where set. The group is the folder's group.",
    )

    @default("shared_roots")
    def _shared_roots_default(self) -> list[str]:
        return _folders_of(SHARED_ROOT_VARIABLES)

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

    kernel_mode = Enum(
        ["auto", "local", "slurm"],
        "auto",
        config=True,
        help="Where kernels run: 'auto' (on this node when it has the build's CPU arch, else as a "
        "Slurm job step on the kernel's partition), 'local' or 'slurm' (always). A kernel's own "
        "'mode' (its kernelspec's provisioner config) wins.",
    )

    kernel_defaults = Dict(
        config=True,
        help="Default resources of kernels started through Slurm, for every partition: {time, "
        "cpus, memory, gpus, account}. A partition's 'kernel' entry in 'partitions' wins.",
    )

    kernel_limits = Dict(
        config=True,
        help="Upper limits of the resources a kernel may ask for: {time, cpus, memory, gpus, "
        "accounts: [...]}. A partition's 'limits' entry in 'partitions' wins.",
    )

    kernel_srun_options = List(
        Unicode(),
        config=True,
        help="Extra srun options for kernel jobs (e.g. ['--qos=interactive']).",
    )

    run_array_limit = Int(
        1000,
        config=True,
        help="The most parameter sets one sweep (one Slurm job array) may have: keep it at or "
        "below Slurm's MaxArraySize.",
    )

    run_array_throttle = Int(
        0,
        config=True,
        help="How many tasks of a sweep's job array may run at once (sbatch --array=...%%N); "
        "0: no throttle of ours.",
    )

    kernel_queue_timeout = Float(
        300.0,
        config=True,
        help="Seconds a kernel's job may wait in the queue before its start is given up (the "
        "job is cancelled and the user told why).",
    )

    kernel_connect_timeout = Float(
        120.0,
        config=True,
        help="Seconds a kernel's job may take, once running, to load its modules and report "
        "the kernel's ports before the start is given up (the job is cancelled).",
    )

    kernel_poll_interval = Float(
        10.0,
        config=True,
        help="Seconds between two squeue queries of the running kernel jobs (one query for all "
        "of them); a kernel whose job step ends is noticed at once anyway.",
    )

    kernel_ip = Unicode(
        "",
        config=True,
        help="Address kernels on compute nodes listen on. Default: the node's address on the "
        "route to the node that runs this server.",
    )

    kernel_encryption = Enum(
        ["required", "preferred", "off"],
        "preferred",
        config=True,
        help="CurveZMQ encryption of kernel traffic (keys made per kernel by the server, sent "
        "to the kernel over its standard input or in its private connection file): 'preferred' "
        "encrypts every kernel whose ipykernel can (7.3 or newer) and starts the others "
        "unencrypted with a warning; 'required' refuses to start those; 'off' never encrypts.",
    )

    upgrade_pip = Bool(
        True,
        config=True,
        help="Upgrade pip in each new venv, as the site's documentation recommends. Turn off where compute nodes "
        "cannot reach a package index (then only what the modules provide is installed).",
    )

    installer = Enum(
        ["auto", "pip", "uv"],
        "auto",
        config=True,
        help="What installs a venv's packages: 'uv' resolves with every distribution the modules "
        "and the Python provide pinned to its installed version, then installs only what is "
        "missing (pip's result, several times faster); pip where uv cannot meet those versions "
        "(said in the log). 'auto': uv where its executable (the uv package installed with this "
        "one) is on the node, else pip; 'uv': a build fails where it is not; 'pip': always pip.",
    )

    max_concurrent_builds = Int(
        2,
        config=True,
        help="Builds of a user that run at once in one server (or command-line) process; more "
        "wait in order, shown as 'waiting for N builds to finish', and can be cancelled while "
        "they wait. Builds a user starts from two processes are not counted together.",
    )

    @validate("max_concurrent_builds")
    def _check_max_builds(self, proposal: Any) -> int:
        if proposal["value"] < 1:
            raise TraitError("max_concurrent_builds must be at least 1")
        value: int = proposal["value"]
        return value

    catalog_ttl = Float(
        600.0, config=True, help="Seconds a module catalog is served from cache before refresh."
    )

    probe_max_age = Float(
        7 * 24 * 3600.0,
        config=True,
        help="Seconds what a partition's node said (a probe of a partition the site description "
        "leaves out) is trusted; an older answer is served while a server probes again.",
    )

    probe_timeout = Float(
        120.0,
        config=True,
        help="Seconds a partition probe (a short Slurm job) may wait in the queue and run before "
        "it is cancelled and reported as not scheduled.",
    )

    probe_cache_dir = Unicode(
        config=True,
        help="Where probes of partitions are cached (per user). Default: "
        "$XDG_CACHE_HOME/hpc-envs, else ~/.cache/hpc-envs.",
    )

    @default("probe_cache_dir")
    def _probe_cache_dir_default(self) -> str:
        cache = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
        return os.path.join(cache, "hpc-envs")

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

    notebook_metadata = Bool(
        True,
        config=True,
        help="Give each notebook saved through the server with one of these kernels its "
        "environment (metadata.hpc_envs: name, modules, partition, arch and the build's lock), "
        "so that it can be recreated elsewhere ('jupyter hpc-envs recreate').",
    )

    kernels_dir = Unicode(
        config=True,
        help="Where kernelspecs are written. Default: the user's Jupyter kernels folder.",
    )

    @default("kernels_dir")
    def _kernels_dir_default(self) -> str:
        return os.path.join(jupyter_data_dir(), "kernels")

    def conda_message(self) -> str:
        """What users are told about conda: the site's own words, else a default per policy."""
        default = {"allowed": "", "discouraged": CONDA_DISCOURAGED, "forbidden": CONDA_FORBIDDEN}
        return self.conda_policy_message or default[self.conda_policy]

    @validate("kernels_dir", "data_dir", "site_file", "probe_cache_dir")
    def _expand_path(self, proposal: Any) -> str:
        """``$VSC_DATA/jupyter/kernels`` and ``~/...`` work in config and in the site file."""
        return (
            os.path.expanduser(os.path.expandvars(proposal["value"])) if proposal["value"] else ""
        )

    @validate("arch_variable")
    def _check_arch_variable(self, proposal: Any) -> str:
        """It is expanded in bash scripts: a variable name and nothing else."""
        value: str = proposal["value"]
        if not re.match(r"^[A-Za-z_][A-Za-z0-9_]*$", value):
            raise TraitError(f"arch_variable must be an environment variable's name, not {value!r}")
        return value

    @validate("storage_roots", "shared_roots")
    def _expand_roots(self, proposal: Any) -> list[str]:
        return [os.path.expanduser(os.path.expandvars(p)) for p in proposal["value"]]

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

    # --- conda environments (envs/conda.py) ---------------------------------------------------

    conda_engine = Enum(
        ["auto", "conda", "mamba", "micromamba", "rattler"],
        "auto",
        config=True,
        help="The engine that makes conda environments: 'auto' takes the first found of the "
        "configured executable, conda/mamba/micromamba on PATH, one in a module (Miniconda3, "
        "Miniforge3, …), and py-rattler in the server's Python.",
    )

    conda_executable = Unicode(
        "",
        config=True,
        help="Path of a conda, mamba or micromamba executable to use (e.g. "
        "'$VSC_DATA/miniconda3/bin/conda').",
    )

    conda_channels = List(
        Unicode(),
        ["conda-forge"],
        config=True,
        help="Channels of a new conda environment when the user names none (e.g. ['intel', "
        "'conda-forge'] for Intel's Python first, as the site's documentation advises).",
    )

    conda_pkgs_dir = Unicode(
        "",
        config=True,
        help="Package cache of the py-rattler engine. Default: <storage root>/hpc-envs/.conda-pkgs "
        "of the environment (never the small home folder).",
    )
