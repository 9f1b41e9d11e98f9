"""What a kernel asks Slurm for: time, CPUs, memory, GPUs, account, with the site's defaults and limits.

A kernel's resources come, first found wins, from the kernel's own choice (its kernelspec's
``metadata.kernel_provisioner.config``, set from the UI), the partition's ``kernel`` entry of the
site description, ``HpcEnvs.kernel_defaults``, and the built-in defaults below. Limits come from the
partition's ``limits`` entry and ``HpcEnvs.kernel_limits``. Every value is validated here, before it
reaches ``srun``, so a user learns what is wrong from a sentence rather than from Slurm.

A kernel's own choice is kept in its kernelspec, where the provisioner reads it: the UI asks before
starting a kernel on a partition, shows the partition's defaults and limits (:func:`describe`) and
stores what the user chose (:func:`choose`) in the kernelspec's ``metadata.kernel_provisioner.config``
(``{partition, time, cpus, memory, gpus, account, mode}``), which jupyter_client hands to the
provisioner as traits. Every front end that starts the kernel (JupyterLab, nbconvert, papermill) then
gets the same job.
"""

from __future__ import annotations

import json
import os
import re
from dataclasses import asdict, dataclass
from typing import Any

from .. import errors, names
from ..config import KERNEL_PREFIX, HpcEnvs
from ..envs import kernelspec

FIELDS = ("time", "cpus", "memory", "gpus", "account")
MODES = ("auto", "local", "slurm")
BUILTIN_DEFAULTS: dict[str, Any] = {
    "time": "1:00:00",
    "cpus": 1,
    "memory": "",
    "gpus": 0,
    "account": "",
}

# Slurm's time formats: M, M:S, H:M:S, D-H, D-H:M, D-H:M:S; ASCII digits, a bounded number of them
# (a value of thousands of digits is a 400, not Python's integer-conversion error).
_TIME = re.compile(r"^(?:([0-9]{1,5})-)?([0-9]{1,8})(?::([0-9]{1,8}))?(?::([0-9]{1,8}))?$")
_MEMORY = re.compile(r"^([0-9]{1,12})\s*([KMGT]?)B?$", re.IGNORECASE)
_COUNT = re.compile(r"[0-9]{1,6}")
COUNT_MAX = 999_999  # CPUs or GPUs of one kernel: far above any node, far below a digit limit
_ACCOUNT = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$")
_UNITS_MB = {"K": 1 / 1024, "": 1, "M": 1, "G": 1024, "T": 1024 * 1024}


def parse_minutes(value: object, field: str = "time") -> int:
    """Minutes of a Slurm time limit (``90``, ``1:30:00``, ``2-00:00:00``); whole minutes, rounded up."""
    text = (
        str(value).strip() if isinstance(value, (str, int)) and not isinstance(value, bool) else ""
    )
    m = _TIME.match(text)
    if not m:
        raise errors.InvalidInput(
            field,
            f"{value!r} is not a time limit: use minutes (90), hours:minutes:seconds (1:30:00) or "
            "days-hours:minutes:seconds (2-00:00:00).",
        )
    days, a, b, c = m.groups()
    if days is not None:  # D-H, D-H:M, D-H:M:S
        seconds = int(days) * 86400 + int(a) * 3600 + int(b or 0) * 60 + int(c or 0)
    elif c is not None:  # H:M:S
        seconds = int(a) * 3600 + int(b) * 60 + int(c)
    elif b is not None:  # M:S
        seconds = int(a) * 60 + int(b)
    else:  # M
        seconds = int(a) * 60
    minutes = -(-seconds // 60)
    if minutes < 1:
        raise errors.InvalidInput(field, "The time limit must be at least one minute.")
    return minutes


def format_time(minutes: int) -> str:
    """``H:MM:SS``, or ``D-HH:MM:SS`` from a day on: what ``srun --time`` takes and people read."""
    days, rest = divmod(minutes, 1440)
    hours, mins = divmod(rest, 60)
    if days:
        return f"{days}-{hours:02d}:{mins:02d}:00"
    return f"{hours}:{mins:02d}:00"


def parse_memory_mb(value: object, field: str = "memory") -> int:
    """MiB of a Slurm memory size (``4G``, ``4096M``, ``4096``: MiB without a unit)."""
    text = (
        str(value).strip() if isinstance(value, (str, int)) and not isinstance(value, bool) else ""
    )
    m = _MEMORY.match(text)
    if not m or int(m.group(1)) == 0:
        raise errors.InvalidInput(
            field, f"{value!r} is not an amount of memory: use e.g. 4G, 500M or 4096 (MiB)."
        )
    return max(1, int(int(m.group(1)) * _UNITS_MB[m.group(2).upper()]))


def format_memory(mb: int) -> str:
    return f"{mb // 1024}G" if mb % 1024 == 0 else f"{mb}M"


def _count(value: object, field: str, what: str, minimum: int) -> int:
    if isinstance(value, bool):
        value = None
    if isinstance(value, str) and _COUNT.fullmatch(value.strip()):
        value = int(value.strip())
    if not isinstance(value, int) or not minimum <= value <= COUNT_MAX:
        raise errors.InvalidInput(
            field, f"{what} must be a whole number, at least {minimum} and at most {COUNT_MAX}."
        )
    return value


@dataclass
class KernelResources:
    """What one kernel's job asks for, validated and in ``srun``'s terms."""

    partition: str
    time: str
    cpus: int
    memory: str = ""  # empty: the partition's default (DefMemPerCPU)
    gpus: int = 0
    account: str = ""

    @property
    def minutes(self) -> int:
        return parse_minutes(self.time)

    def srun_options(self) -> list[str]:
        options = [
            f"--partition={self.partition}",
            f"--time={self.time}",
            "--nodes=1",
            "--ntasks=1",
            f"--cpus-per-task={self.cpus}",
        ]
        if self.memory:
            options.append(f"--mem={self.memory}")
        if self.gpus:
            options.append(f"--gpus={self.gpus}")
        if self.account:
            options.append(f"--account={self.account}")
        return options

    def to_json(self) -> dict[str, Any]:
        return asdict(self)


def _described(config: HpcEnvs, partition: str) -> dict[str, Any]:
    entry = config.partitions.get(partition)
    return entry if isinstance(entry, dict) else {}


def defaults(config: HpcEnvs, partition: str) -> dict[str, Any]:
    """A partition's default kernel resources: built-in < ``kernel_defaults`` < the partition's."""
    merged = dict(BUILTIN_DEFAULTS)
    for layer in (config.kernel_defaults, _described(config, partition).get("kernel") or {}):
        merged.update({k: v for k, v in dict(layer).items() if k in FIELDS})
    return merged


def limits(config: HpcEnvs, partition: str) -> dict[str, Any]:
    """A partition's limits (``time``, ``cpus``, ``memory``, ``gpus``, ``accounts``): the partition's
    own win over ``kernel_limits``. A missing key means no limit of ours (Slurm still has its own)."""
    merged: dict[str, Any] = {}
    for layer in (config.kernel_limits, _described(config, partition).get("limits") or {}):
        merged.update({k: v for k, v in dict(layer).items() if k in (*FIELDS, "accounts")})
    return merged


def resolve(
    config: HpcEnvs,
    partition: str,
    chosen: dict[str, Any] | None = None,
    capacity: dict[str, Any] | None = None,
) -> KernelResources:
    """The resources of a kernel on ``partition``: the choice, else the defaults; checked against
    the site's limits and against what the partition's nodes have (``capacity``, from Slurm; see
    :meth:`..site.Site.capacities`). Raises :class:`errors.InvalidInput` naming every refused
    field, each with the limit or the partition's numbers."""
    part = names.partition(partition)
    values = defaults(config, part)
    for key, value in (chosen or {}).items():
        if key in FIELDS and value not in (None, ""):
            values[key] = value
    check = _Checks(part, limits(config, part), capacity or {})
    found = KernelResources(
        partition=part,
        time=check.field("time", lambda: format_time(check.time(values["time"]))),
        cpus=check.field("cpus", lambda: check.cpus(values["cpus"]), 1),
        memory=check.field("memory", lambda: check.memory(values.get("memory")), ""),
        gpus=check.field("gpus", lambda: check.gpus(values.get("gpus") or 0), 0),
        account=check.field("account", lambda: check.account(values.get("account") or ""), ""),
    )
    if check.problems:
        raise errors.InvalidInput.several(check.problems)
    return found


class _Checks:
    """The checks of one kernel's values, each field's problem kept so that all are told."""

    def __init__(self, part: str, limit: dict[str, Any], capacity: dict[str, Any]) -> None:
        self.part = part
        self.limit = limit
        self.capacity = capacity
        self.where = f"on partition {part}"
        self.node = f"A node of partition {part} has"
        self.problems: dict[str, str] = {}

    def field(self, name: str, check: Any, fallback: Any = None) -> Any:
        """The checked value of a field, or ``fallback`` with the field's problem kept."""
        try:
            return check()
        except errors.InvalidInput as err:
            self.problems[name] = err.message
            return fallback

    def time(self, value: object) -> int:
        minutes = parse_minutes(value)
        if "time" in self.limit and minutes > parse_minutes(self.limit["time"]):
            raise errors.InvalidInput(
                "time",
                f"A kernel may run at most {format_time(parse_minutes(self.limit['time']))} "
                f"{self.where}; {format_time(minutes)} was asked.",
            )
        most = _minutes_or_none(self.capacity.get("time"))
        if most is not None and minutes > most:
            raise errors.InvalidInput(
                "time",
                f"Partition {self.part}'s time limit is {format_time(most)}; "
                f"{format_time(minutes)} was asked.",
            )
        return minutes

    def cpus(self, value: object) -> int:
        cpus = _count(value, "cpus", "The number of CPUs", 1)
        if "cpus" in self.limit and cpus > int(self.limit["cpus"]):
            raise errors.InvalidInput(
                "cpus",
                f"A kernel may use at most {_plural(self.limit['cpus'], 'CPU')} {self.where}.",
            )
        most = self.capacity.get("cpus")
        if isinstance(most, int) and cpus > most:
            raise errors.InvalidInput(
                "cpus", f"{self.node} {_plural(most, 'CPU')}; {cpus} were asked."
            )
        return cpus

    def memory(self, value: object) -> str:
        if value in (None, ""):
            return ""
        mb = parse_memory_mb(value)
        if "memory" in self.limit and mb > parse_memory_mb(self.limit["memory"]):
            raise errors.InvalidInput(
                "memory", f"A kernel may use at most {self.limit['memory']} of memory {self.where}."
            )
        most = self.capacity.get("memory_mb")
        if isinstance(most, int) and mb > most:
            raise errors.InvalidInput(
                "memory",
                f"{self.node} {format_memory(most)} of memory; {format_memory(mb)} was asked.",
            )
        return format_memory(mb)

    def gpus(self, value: object) -> int:
        gpus = _count(value, "gpus", "The number of GPUs", 0)
        if gpus and "gpus" in self.limit and gpus > int(self.limit["gpus"]):
            raise errors.InvalidInput(
                "gpus",
                f"A kernel may use at most {_plural(self.limit['gpus'], 'GPU')} {self.where}.",
            )
        most = self.capacity.get("gpus")
        if gpus and isinstance(most, int) and gpus > most:
            raise errors.InvalidInput(
                "gpus",
                f"Partition {self.part} has no GPUs (its nodes have no GPU in their GRES): "
                "choose a partition with GPUs."
                if most == 0
                else f"{self.node} {_plural(most, 'GPU')} ({self.capacity.get('gres')}); "
                f"{gpus} were asked.",
            )
        return gpus

    def account(self, account: object) -> str:
        if not account:
            return ""
        if not isinstance(account, str) or not _ACCOUNT.match(account):
            raise errors.InvalidInput(
                "account", f"{account!r} is not an account name (letters, digits, - _ .)."
            )
        allowed = self.limit.get("accounts") or []
        if allowed and account not in allowed:
            raise errors.InvalidInput(
                "account", f"Account {account} is not one of {', '.join(allowed)} {self.where}."
            )
        return account


def _minutes_or_none(value: object) -> int | None:
    """Minutes of a Slurm time limit, or None when there is none (or it cannot be read)."""
    if value in (None, ""):
        return None
    try:
        return parse_minutes(value)
    except errors.InvalidInput:
        return None


def describe_partition(
    config: HpcEnvs, partition: str, capacity: dict[str, Any] | None = None
) -> dict[str, Any]:
    """What a resource form needs: the partition's defaults and limits, and what its nodes have
    (``capacity``: ``time``, ``cpus``, ``memory``, ``gpus``, ``gres``; a missing key is unknown
    or unlimited) (the REST reply)."""
    part = names.partition(partition)
    cap = dict(capacity or {})
    shown: dict[str, Any] = {k: cap[k] for k in ("time", "cpus", "gpus", "gres") if k in cap}
    if isinstance(cap.get("memory_mb"), int):
        shown["memory"] = format_memory(cap["memory_mb"])
    return {
        "partition": part,
        "defaults": defaults(config, part),
        "limits": limits(config, part),
        "capacity": shown,
    }


def _plural(number: object, noun: str) -> str:
    """``1 CPU``, ``4 CPUs``."""
    return f"{number} {noun}" if str(number) == "1" else f"{number} {noun}s"


# --- a kernel's own choice, in its kernelspec ------------------------------------------------


def _read(kernels_dir: str, kernel: object) -> tuple[str, dict[str, Any]]:
    name = kernel if isinstance(kernel, str) else ""
    if not name.startswith(KERNEL_PREFIX) or "/" in name or name in (".", ".."):
        raise errors.NotFound(f"{kernel!r} is not a kernel of an HPC environment.")
    try:
        with open(os.path.join(kernels_dir, name, "kernel.json"), encoding="utf-8") as f:
            spec = json.load(f)
    except (OSError, ValueError):
        raise errors.NotFound(f"There is no kernel {name!r}.") from None
    if not isinstance(spec.get("metadata", {}).get("hpc_envs"), dict):
        raise errors.NotFound(f"{name!r} is not a kernel of an HPC environment.")
    return name, spec


def _view(
    config: HpcEnvs, name: str, spec: dict[str, Any], capacities: dict[str, dict[str, Any]]
) -> dict[str, Any]:
    meta = spec["metadata"]["hpc_envs"]
    chosen = dict(spec["metadata"].get("kernel_provisioner", {}).get("config") or {})
    partition = chosen.get("partition") or meta.get("partition", "")
    capacity = capacities.get(partition)
    view = describe_partition(config, partition, capacity)
    view.update(
        kernel=name,
        env=meta.get("name"),
        arch=meta.get("arch"),
        chosen={k: v for k, v in chosen.items() if k in (*FIELDS, "mode")},
        mode=chosen.get("mode") or config.kernel_mode,
    )
    try:
        view["effective"] = resolve(config, partition, chosen, capacity).to_json()
        view["problem"] = None
        view["problems"] = {}
    except errors.InvalidInput as err:  # a limit lowered since the choice was made
        view["effective"] = None
        view["problem"] = {"field": err.field, "message": err.message}
        view["problems"] = err.fields
    return view


def describe(
    config: HpcEnvs, kernel: object, capacities: dict[str, dict[str, Any]] | None = None
) -> dict[str, Any]:
    """The kernel's choice, its partition's defaults, limits and capacity (``capacities``: by
    partition, from :meth:`..site.Site.capacities`), and what a start would ask for."""
    name, spec = _read(config.kernels_dir, kernel)
    return _view(config, name, spec, capacities or {})


def choose(
    config: HpcEnvs,
    kernel: object,
    values: object,
    capacities: dict[str, dict[str, Any]] | None = None,
) -> dict[str, Any]:
    """Validate and store a resource choice (a value of null or "" goes back to the default):
    against the site's limits and what the partition's nodes have; every refused field is told."""
    name, spec = _read(config.kernels_dir, kernel)
    if not isinstance(values, dict):
        raise errors.InvalidInput("body", "The resources must be an object.")
    unknown = sorted(set(values) - {*FIELDS, "mode"})
    if unknown:
        raise errors.InvalidInput(
            unknown[0],
            f"Unknown resource {unknown[0]!r}: use {', '.join((*FIELDS, 'mode'))}.",
        )
    mode = values.get("mode")
    if mode not in (None, "", *MODES):
        raise errors.InvalidInput("mode", f"The mode must be one of {', '.join(MODES)}.")
    provisioner = spec["metadata"].setdefault("kernel_provisioner", {})
    current = dict(provisioner.get("config") or {})
    partition = current.get("partition") or spec["metadata"]["hpc_envs"].get("partition", "")
    for key, value in values.items():
        if value in (None, ""):
            current.pop(key, None)
        else:
            current[key] = value
    capacities = capacities or {}
    checked = resolve(config, partition, current, capacities.get(partition))  # raises InvalidInput
    for key in FIELDS:  # store the normalised form of what was chosen
        if key in current:
            current[key] = getattr(checked, key)
    provisioner["config"] = {"partition": partition, **current}
    kernelspec.write(config.kernels_dir, name, spec)
    return _view(config, name, spec, capacities)
