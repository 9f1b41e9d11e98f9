"""Recreate the environment a notebook carries (``metadata.hpc_envs``, see :mod:`.notebook`).

The plan (:func:`plan`, what a dry run shows): the name and partition the environment gets here
(the notebook's unless given; its partition when this site has one of that name, else the
default partition), each of its modules and the module it becomes on that partition
(``{from, to, reason}``: the module itself where the partition has it, else the nearest, see
:func:`.migrate.map_modules`; ``to`` null where nothing here matches), the packages pinned to the
versions the notebook's build had, and the kernel the notebook is switched to. :func:`recreate`
builds it through :meth:`.service.Environments.create_from_lock`, with the lock's modules
replaced by the ones the plan found; it refuses, creating nothing, while a module has no match.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from .. import errors, names
from ..site import PartitionInfo
from ..site.modules import ModuleInfo
from ..tasks import TaskRecord
from . import lock as locks
from .kernelspec import kernel_name
from .migrate import map_modules
from .notebook import carried

if TYPE_CHECKING:
    from .service import Environments


async def _partition(envs: Environments, wanted: object, theirs: object) -> PartitionInfo:
    """The partition asked for; else the notebook's when this site has it; else the default."""
    if wanted not in (None, ""):
        return await envs.site.partition(wanted)
    for part in await envs.site.partitions():
        if part.name == theirs:
            return part
    return await envs.site.default_partition()


async def _catalog(envs: Environments, part: PartitionInfo, modules: list[str]) -> list[ModuleInfo]:
    """The partition's catalog; the module system's own when a module is not in the first answer
    (which may be a scan of the folders, as :meth:`.site.Site.module_lookup` knows)."""
    catalog = await envs.site.catalog(part)
    present = {m.full for m in catalog}
    if all(m in present for m in modules):
        return catalog
    return await envs.site.catalogs.get(part.modulepath, complete=True)


def _free(envs: Environments, name: str) -> None:
    """Refuse a name another environment has (a Conflict naming the field)."""
    try:
        envs.get(name)
    except errors.NotFound:
        return
    except errors.Conflict:
        pass
    raise errors.Conflict(
        f"An environment named {name!r} exists already: give the new one another name.",
        field="name",
    )


async def plan(
    envs: Environments, notebook: object, *, name: object = None, partition: object = None
) -> dict[str, Any]:
    """What recreating the notebook's environment here would make (nothing is created)."""
    data = carried(notebook)
    lock = data["lock"]
    target = names.env_name(lock.get("name") if name in (None, "") else name)
    _free(envs, target)
    part = await _partition(envs, partition, lock.get("partition"))
    modules = lock["modules"]
    found = map_modules(modules, await _catalog(envs, part, modules), None) if modules else []
    return {
        "name": target,
        "partition": part.name,
        "arch": part.arch,
        "kind": lock["kind"],
        "kernel": kernel_name(target, part.name),
        "modules": [m.to_json() for m in found],
        "packages": locks.parse(lock)["packages"],
        "notebook": {k: data.get(k, lock.get(k)) for k in ("name", "partition", "arch", "python")},
    }


async def recreate(
    envs: Environments,
    notebook: object,
    *,
    name: object = None,
    partition: object = None,
    root: object = None,
) -> tuple[dict[str, Any], TaskRecord]:
    """Create the notebook's environment here as :func:`plan` says; the plan and the build's
    task. Refused (nothing created) while a module has no match on the partition."""
    planned = await plan(envs, notebook, name=name, partition=partition)
    missing = [m["from"] for m in planned["modules"] if m["to"] is None]
    if missing:
        raise errors.InvalidInput(
            "modules",
            f"Partition {planned['partition']} has no module for {', '.join(missing)}: choose "
            "another partition, or create an environment with the modules it has.",
        )
    lock = dict(carried(notebook)["lock"])
    lock["modules"] = [m["to"] for m in planned["modules"]]
    task = await envs.create_from_lock(
        lock, name=planned["name"], partition=planned["partition"], root=root
    )
    return planned, task


def plan_text(planned: dict[str, Any]) -> str:
    """The plan in words, one module move a line."""
    lines = [
        f"Recreate {planned['notebook']['name']} as {planned['name']} on partition "
        f"{planned['partition']} ({planned['arch']}), kernel {planned['kernel']}:"
    ]
    for move in planned["modules"]:
        if move["to"] == move["from"]:
            lines.append(f"  module {move['from']}")
        elif move["to"]:
            lines.append(f"  module {move['from']} -> {move['to']} ({move['reason']})")
        else:
            lines.append(f"  module {move['from']}: none here ({move['reason']})")
    lines.extend(f"  package {spec}" for spec in planned["packages"])
    return "\n".join(lines)
