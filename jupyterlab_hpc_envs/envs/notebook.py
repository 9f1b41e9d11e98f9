"""Notebooks that carry their environment: ``metadata.hpc_envs`` written when a notebook is saved.

A contents-manager pre-save hook (:func:`pre_save_hook`, registered by the server extension with
``register_pre_save_hook`` so that it chains with a site's own hook) gives a notebook saved with
one of our kernels (``metadata.kernelspec.name``) what is needed to make its environment again
elsewhere: the environment's name, kind, partition, arch, modules (as requested and as loaded),
Python version, kernel name and the build's lock (:mod:`.lock`) without what only describes this
machine's copy of it (``created``, ``stamps``: file times, sizes and paths). It costs two small
file reads (the kernelspec and the lock); no module system and no interpreter is run.

A notebook with another kernel is left as it is; so is one whose kernel is ours but whose build
(or its lock) is gone: it keeps the metadata it had. :func:`carried` reads the metadata back,
refusing, with the field named, what is missing or malformed.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from .. import errors
from ..config import KERNEL_PREFIX
from . import lock as locks

KEY = "hpc_envs"
VERSION = 1


def metadata(kernel: str, spec_metadata: object) -> dict[str, Any] | None:
    """``metadata.hpc_envs`` for a notebook whose kernel is ``kernel``, from the kernelspec's
    own ``metadata`` (see :mod:`.kernelspec`); ``None`` when the kernel is not ours or its build
    has no readable lock."""
    if not kernel.startswith(KERNEL_PREFIX) or not isinstance(spec_metadata, dict):
        return None
    ours = spec_metadata.get(KEY)
    if not isinstance(ours, dict) or not isinstance(ours.get("prefix"), str):
        return None
    lock = locks.read(ours["prefix"])
    if lock is None:
        return None
    python = lock["python"] if isinstance(lock.get("python"), dict) else {}
    return {
        "version": VERSION,
        "name": lock.get("name", ours.get("name")),
        "kind": lock.get("kind", ours.get("kind")),
        "partition": lock.get("partition", ours.get("partition")),
        "arch": lock.get("arch", ours.get("arch")),
        "modules": list(lock.get("modules") or []),
        "loaded_modules": list(lock.get("loaded_modules") or []),
        "python": python.get("version", ""),
        "kernel": kernel,
        "lock": locks.comparable(lock),
    }


def pre_save_hook(find_spec: Callable[[str], Any]) -> Callable[..., None]:
    """The contents manager's pre-save hook: adds ``metadata.hpc_envs`` to a notebook saved with
    one of our kernels. ``find_spec`` finds a kernelspec by kernel name (the server's kernel spec
    manager's ``get_kernel_spec``: every kernels folder it knows)."""

    def hpc_envs_metadata(model: dict[str, Any], **_: Any) -> None:
        content = model.get("content")
        if model.get("type") != "notebook" or not isinstance(content, dict):
            return
        meta = content.get("metadata")
        kernelspec = meta.get("kernelspec") if isinstance(meta, dict) else None
        name = kernelspec.get("name") if isinstance(kernelspec, dict) else None
        if not isinstance(name, str) or not name.startswith(KERNEL_PREFIX):
            return
        try:
            spec = find_spec(name)
        except Exception:  # noqa: BLE001 - a kernel gone since: the notebook keeps what it had
            return
        here = metadata(name, getattr(spec, "metadata", None))
        if here is not None:
            assert isinstance(meta, dict)
            meta[KEY] = here

    return hpc_envs_metadata


def install(server_app: Any) -> None:
    """Register the pre-save hook with the server's contents manager (after any of the site's
    own: ``register_pre_save_hook`` chains them)."""
    server_app.contents_manager.register_pre_save_hook(
        pre_save_hook(server_app.kernel_spec_manager.get_kernel_spec)
    )


# --- the metadata as input ----------------------------------------------------------------------


def carried(notebook: object) -> dict[str, Any]:
    """The ``hpc_envs`` metadata of ``notebook`` (a whole notebook, or its ``metadata``), its lock
    checked by :func:`.lock.parse`; refused naming the field when missing or malformed."""
    meta = notebook.get("metadata", notebook) if isinstance(notebook, dict) else None
    if not isinstance(meta, dict) or KEY not in meta:
        raise errors.InvalidInput(
            "metadata.hpc_envs",
            "This notebook carries no environment (no metadata.hpc_envs): it was not saved with "
            "one of the jupyterlab-hpc-envs kernels. Choose a kernel for it instead.",
        )
    data = meta[KEY]
    if not isinstance(data, dict):
        raise errors.InvalidInput("metadata.hpc_envs", "metadata.hpc_envs must be an object.")
    if data.get("version") != VERSION:
        raise errors.InvalidInput(
            "metadata.hpc_envs.version",
            f"metadata.hpc_envs version {data.get('version')!r} is unknown (this server reads "
            f"version {VERSION}).",
        )
    lock = data.get("lock")
    try:
        locks.parse(lock)
    except errors.InvalidInput as err:
        raise errors.InvalidInput(f"metadata.hpc_envs.{err.field}", err.message) from None
    assert isinstance(lock, dict)  # parse refused anything else
    return {**data, "lock": lock}
