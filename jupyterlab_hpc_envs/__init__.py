"""JupyterLab HPC environments: module-based venvs and conda environments per partition, as kernels."""

from __future__ import annotations

from typing import Any

__all__ = ["__version__"]

try:
    from ._version import __version__
except ImportError:  # pragma: no cover - only when run from a source tree that was never built
    __version__ = "0.0.0.dev0"


def _jupyter_labextension_paths() -> list[dict[str, str]]:
    return [{"src": "labextension", "dest": "jupyterlab-hpc-envs"}]


def _jupyter_server_extension_points() -> list[dict[str, str]]:
    return [{"module": "jupyterlab_hpc_envs"}]


def _load_jupyter_server_extension(server_app: Any) -> None:
    """Register the REST handlers and the shared state of the extension."""
    from .handlers import setup_handlers

    setup_handlers(server_app)
    server_app.log.info("jupyterlab_hpc_envs: REST API at /hpc-envs/api/")
