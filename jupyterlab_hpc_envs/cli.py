"""``jupyter hpc-envs``: the command line, a thin skin over the same core as the REST API.

Reads the same configuration as the server (``c.HpcEnvs`` in ``jupyter_server_config.py|json`` on
the Jupyter config path, and the site file). Read commands take ``--json``. Exit status: 0 done,
1 a task failed, 2 bad input, 3 not found, 4 conflict, 5 the module system or Slurm did not answer.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import sys
from collections.abc import Awaitable, Callable, Sequence
from typing import Any

from jupyter_core.paths import jupyter_config_path
from traitlets.config import Config
from traitlets.config.loader import ConfigFileNotFound, JSONFileConfigLoader, PyFileConfigLoader

from . import __version__, errors, names
from .config import HpcEnvs
from .core import Core
from .envs import conda, kernelspec, manifest, recreate, scripts
from .kernels import resources as kernel_resources
from .kernels import running
from .runs import cli as runs_cli
from .runs import records as run_records
from .site import probe
from .tasks import FINAL, SUCCEEDED, TaskRecord

EXIT_TASK, EXIT_INPUT, EXIT_NOT_FOUND, EXIT_CONFLICT, EXIT_UNAVAILABLE = 1, 2, 3, 4, 5
ENV_NAME_HELP = "the environment's name (see `jupyter hpc-envs list`)"


def load_config() -> Config:
    """The server's configuration files, lowest priority first, as ``jupyter server`` reads them."""
    config = Config()
    for directory in reversed(jupyter_config_path()):
        for loader_class, filename in (
            (PyFileConfigLoader, "jupyter_server_config.py"),
            (JSONFileConfigLoader, "jupyter_server_config.json"),
        ):
            try:
                config.merge(loader_class(filename, path=directory).load_config())
            except ConfigFileNotFound:
                continue
    return config


def _print(data: Any, as_json: bool, text: str) -> None:
    if as_json:
        print(json.dumps(data, indent=1))
    else:
        print(text.rstrip("\n"))


def _home(path: str | None) -> str | None:
    """A path typed in a shell with ``~`` expanded, as a shell would have (``--path=~/venv``).

    Only ``~``: the core expands nothing, so that the REST API cannot be made to read the server's
    environment; ``$VARIABLES`` were the shell's to expand.
    """
    return os.path.expanduser(path) if path and path.startswith("~") else path


async def _follow(core: Core, task_id: str, quiet: bool = False) -> int:
    """Print a task's log as it grows, its progress lines as steps (:func:`scripts.readable_line`);
    return 0 when it succeeds, 1 otherwise."""
    offset, pending = 0, ""
    while True:
        text, offset = core.tasks.read_log(task_id, offset)
        if text and not quiet:
            *lines, pending = (pending + text).split("\n")
            sys.stdout.write("".join(scripts.readable_line(line) + "\n" for line in lines))
            sys.stdout.flush()
        record = core.tasks.load(task_id)
        if record.state in FINAL and not text:
            if pending and not quiet:
                print(scripts.readable_line(pending))
            break
        if not text:
            await asyncio.sleep(0.2)
    if record.state != SUCCEEDED:
        print(f"hpc-envs: {record.message}", file=sys.stderr)
        for line in _failure_lines(core, record):
            print(f"hpc-envs: {line}", file=sys.stderr)
        return EXIT_TASK
    return 0


def _failure_lines(core: Core, record: TaskRecord) -> list[str]:
    """What a failed task leaves to read: a build's failure (what failed, the entries to change,
    its log), else the task's log."""
    home, arch = record.params.get("home"), record.params.get("arch")
    if record.kind == "build" and isinstance(home, str) and isinstance(arch, str):
        with contextlib.suppress(errors.NotFound, errors.Conflict, errors.InvalidInput, OSError):
            build = core.envs.describe(manifest.read(home))["builds"].get(arch) or {}
            found = build.get("failure")
            if found:
                entries = ", ".join(found["entries"])
                return [
                    found["summary"],
                    *([f"Change: {entries}"] if entries else []),
                    f"The log: {found['log'] or core.tasks.log_path(record.id)}",
                ]
    return [f"The log: {core.tasks.log_path(record.id)}"]


async def _follow_all(core: Core, task_ids: list[str], quiet: bool = False) -> int:
    """:func:`_follow` of several tasks at once, each line of a log (read as :func:`_follow`
    prints it) after its partition's name; 0 when all succeed, 1 otherwise."""
    if len(task_ids) == 1:
        return await _follow(core, task_ids[0], quiet)
    offsets = dict.fromkeys(task_ids, 0)
    done: dict[str, str] = {}
    while len(done) < len(task_ids):
        quiet_round = True
        for task_id in [t for t in task_ids if t not in done]:
            record = core.tasks.load(task_id)
            text, offsets[task_id] = core.tasks.read_log(task_id, offsets[task_id])
            if text and not quiet:
                sys.stdout.write(
                    "".join(
                        f"[{record.partition}] {scripts.readable_line(line)}\n"
                        for line in text.splitlines()
                    )
                )
                sys.stdout.flush()
            quiet_round = quiet_round and not text
            if record.state in FINAL and not text:
                done[task_id] = record.state
                if record.state != SUCCEEDED:
                    print(f"hpc-envs: {record.partition}: {record.message}", file=sys.stderr)
                    for line in _failure_lines(core, record):
                        print(f"hpc-envs: {record.partition}: {line}", file=sys.stderr)
        if quiet_round:
            await asyncio.sleep(0.2)
    return 0 if all(state == SUCCEEDED for state in done.values()) else EXIT_TASK


async def cmd_site(core: Core, args: argparse.Namespace) -> int:
    if args.probe is not None:  # probe again: all the partitions not described, or the one named
        only = names.partition(args.probe) if args.probe else ""
        await core.site.learn_all(wait=True, fresh=True, only=only)
    site = await core.site.describe()
    lines = [
        f"Host        {site['host']} (arch {site['arch']}, from {site['arch_source']})",
        f"Partition   {site['partition']}" + (" (inside a Slurm job)" if site["in_job"] else ""),
        f"Modules     {site['module_system']['kind']}",
        f"Slurm       {'yes' if site['slurm'] else 'no'}",
        "Partitions:",
        *[
            f"  {p['name']:<12} arch {p['arch'] or '?':<10}"
            f"{' (this node)' if p['local'] else ''}{'' if p['available'] else ' [down]'}"
            f"  from {p['origin'].get('text', '?')}"
            for p in site["partitions"]
        ],
        "Storage roots:",
        *[
            f"  {r['label']:<14} {r['path']}{'' if r['exists'] else ' [missing]'}"
            f"{' [home: small quota]' if r['home'] else ''}"
            for r in site["storage_roots"]
        ],
        f"Conda       {site['conda']['policy']}"
        + (f": {site['conda']['message']}" if site["conda"]["message"] else ""),
        *[f"Warning: {w['message']}" for w in site["warnings"]],
    ]
    _print(site, args.json, "\n".join(lines))
    return 0


async def cmd_modules(core: Core, args: argparse.Namespace) -> int:
    site = core.site
    part = await site.partition_or_default(args.partition)
    if args.python:
        names.module_name(args.python)
    modules = await site.catalog_with_compatibility(part, args.python)
    if args.python and args.python not in {m["full"] for m in modules}:
        raise errors.InvalidInput(
            "python",
            f"There is no module {args.python} on partition {part.name}. The Python modules: "
            "`jupyter hpc-envs modules Python/`.",
        )
    if args.query:
        modules = [m for m in modules if args.query.lower() in m["full"].lower()]
    lines = []
    for m in modules:
        mark = ""
        if "compatible" in m:
            mark = "  ok " if m["compatible"] else "  -- "
        after = f"   [after {' + '.join(m['parents'][0])}]" if m.get("parents") else ""
        lines.append(f"{mark}{m['full']}{after}" + (f"   ({m['reason']})" if "reason" in m else ""))
    _print({"partition": part.name, "modules": modules}, args.json, "\n".join(lines))
    return 0


def _env_line(env: dict[str, Any]) -> str:
    if env.get("refused"):
        return f"{env['name']:<20} REFUSED {env['refused']}"
    builds = (
        ", ".join(f"{a}: {b['state']}" for a, b in sorted(env["builds"].items())) or "no builds"
    )
    line = f"{env['name']:<20} {env['kind']:<6} {builds:<30} {' '.join(env['modules'])}"
    if env.get("shared"):
        line += " (shared by you)" if env.get("mine") else f" (shared by {env.get('owner')})"
    return line


async def cmd_list(core: Core, args: argparse.Namespace) -> int:
    envs = await core.envs.describe_all_checked()
    _print(envs, args.json, "\n".join(_env_line(e) for e in envs) or "No environments yet.")
    return 0


async def cmd_lock(core: Core, args: argparse.Namespace) -> int:
    data = await core.envs.lock(args.name, args.partition)
    _print(data, True, "")  # a lock is JSON, with or without --json
    return 0


async def cmd_migrate(core: Core, args: argparse.Namespace) -> int:
    if args.dry_run:
        plan = await core.envs.migration_plan(args.name, args.to, args.as_, args.partition)
        _print(plan.to_json(), args.json, _migration_text(plan.to_json()))
        return 0
    plan, task = await core.envs.migrate(args.name, args.to, args.as_, args.partition)
    if not args.json:
        print(_migration_text(plan.to_json()), flush=True)
    code = await _follow(core, task.id, args.quiet or args.json)
    if args.json:
        _print({"plan": plan.to_json(), "task": core.tasks.load(task.id).to_json()}, True, "")
    return code


def _migration_text(plan: dict[str, Any]) -> str:
    """A migration plan for a reader: each module before and after, what is left out and why."""
    lines = [f"{plan['name']} ({plan['from']}) -> {plan['new_name']} ({plan['to']}) on "
             f"{plan['partition']}:"]  # fmt: skip
    for move in plan["modules"]:
        lines.append(f"  {move['from']} -> {move['to'] or '(none: left out)'}   {move['reason']}")
    for row in plan["provided"]:
        lines.append(f"  {row['package']}: provided by {row['module']} ({row['version']}), "
                     "not installed into the venv")  # fmt: skip
    for row in plan["unavailable"]:
        lines.append(f"  {row['package']}: {row['reason']}; installs {row['instead']}")
    lines.append(f"  packages: {' '.join(plan['packages']) or '(none)'}")
    return "\n".join(lines)


async def _create_from_lock(core: Core, args: argparse.Namespace) -> int:
    """``create --from-lock FILE``: the lock's modules and pinned packages; the name and
    partition are the lock's unless given."""
    if args.module or args.package or args.requirements or args.python or args.channel:
        raise errors.InvalidInput(
            "from_lock", "--from-lock takes the modules and packages from the lock: give no others."
        )
    try:
        with open(_home(args.from_lock) or "", encoding="utf-8") as f:
            data = json.load(f)
    except OSError as err:
        raise errors.InvalidInput(
            "from_lock", f"Cannot read the lock {args.from_lock}: {err}"
        ) from None
    except ValueError as err:
        raise errors.InvalidInput(
            "from_lock", f"The lock {args.from_lock} is no JSON: {err}"
        ) from None
    if args.partition and len(args.partition) > 1:
        raise errors.InvalidInput("partition", "--from-lock builds on one partition: give one -p.")
    task = await core.envs.create_from_lock(
        data,
        name=args.name,
        partition=args.partition[0] if args.partition else None,
        root=_home(args.root),
        kind="conda" if args.conda else "venv",
        shared=args.shared,
    )
    return await _follow(core, task.id, args.quiet)


async def cmd_recreate(core: Core, args: argparse.Namespace) -> int:
    """``recreate NOTEBOOK``: the environment the notebook carries, made here (see
    envs/recreate.py); with ``--dry-run`` only the plan."""
    try:
        with open(_home(args.notebook) or "", encoding="utf-8") as f:
            notebook = json.load(f)
    except OSError as err:
        raise errors.InvalidInput("notebook", f"Cannot read {args.notebook}: {err}") from None
    except ValueError as err:
        raise errors.InvalidInput("notebook", f"{args.notebook} is no notebook: {err}") from None
    if args.dry_run:
        planned = await recreate.plan(core.envs, notebook, name=args.name, partition=args.partition)
        _print(planned, args.json, recreate.plan_text(planned))
        return 0
    planned, task = await recreate.recreate(
        core.envs, notebook, name=args.name, partition=args.partition, root=_home(args.root)
    )
    if not args.quiet:
        print(recreate.plan_text(planned))
    return await _follow_create(core, [task], args.quiet)


async def cmd_create(core: Core, args: argparse.Namespace) -> int:
    if args.from_lock:
        return await _create_from_lock(core, args)
    requirements = _read_requirements(args.requirements)
    if args.conda:
        return await _create_conda(core, args, requirements)
    if args.python or args.channel:
        raise errors.InvalidInput("kind", "--python and --channel are for --conda environments.")
    tasks = await core.envs.create_on(
        name=args.name,
        modules=args.module or [],
        partitions=args.partition or [None],
        root=_home(args.root),
        packages=args.package or [],
        requirements=requirements,
        shared=args.shared,
    )
    return await _follow_create(core, tasks, args.quiet)


async def _follow_create(core: Core, tasks: list[TaskRecord], quiet: bool) -> int:
    """Follow a create's builds; quiet, print only the new kernels' names (for scripts) once they
    are ready."""
    code = await _follow_all(core, [t.id for t in tasks], quiet)
    if code == 0 and quiet:
        for task in tasks:
            print(kernelspec.kernel_name(task.env, task.partition))
    return code


async def _create_conda(core: Core, args: argparse.Namespace, requirements: str | None) -> int:
    """The site's policy and warnings are printed before anything is made (a forbidden policy
    stops here with the site's message)."""
    conda.require_allowed(core.config)
    for warning in core.envs.conda_warnings():
        print(f"Note: {warning}", file=sys.stderr)
    tasks = await core.envs.create_on(
        name=args.name,
        kind="conda",
        modules=args.module or [],
        partitions=args.partition or [None],
        root=_home(args.root),
        packages=args.package or [],
        requirements=requirements,
        python=args.python,
        channels=args.channel or None,
        shared=args.shared,
    )
    return await _follow_create(core, tasks, args.quiet)


async def cmd_conda(core: Core, args: argparse.Namespace) -> int:
    info = await core.envs.conda_info(refresh=True)
    envs = await core.envs.conda_environments()
    engine = info["engine"]
    lines = [
        f"Policy      {info['policy']}" + (f": {info['message']}" if info["message"] else ""),
        "Engine      "
        + (
            f"{engine['kind']} {engine['version']} ({engine['source']}): {engine['executable']}"
            if engine
            else "none"
        ),
        *([info["how_to_get"]] if info["how_to_get"] else []),
        f"Channels    {' '.join(info['channels'])} (default)",
        *[f"Warning: {w}" for w in info["warnings"]],
        "Environments made by hand:" if envs else "No conda environments made by hand were found.",
        *[
            f"  {e['name']:<20} {e['prefix']}"
            + (f"  (is {e['managed_as']})" if e["managed_as"] else "")
            + ("" if e["adoptable"] or e["managed_as"] else f"  ({e['reason']})")
            for e in envs
        ],
    ]
    _print({**info, "environments": envs}, args.json, "\n".join(lines))
    return 0


async def cmd_update(core: Core, args: argparse.Namespace) -> int:
    if args.all:
        if args.spec:
            raise errors.InvalidInput("packages", "Give packages or --all, not both.")
        task = await core.packages.update_all(args.name, args.partition)
    else:
        if not args.spec:
            raise errors.InvalidInput("packages", "Give the packages to update, or --all.")
        task = await core.packages.install(args.name, args.partition, args.spec, upgrade=True)
    return await _follow(core, task.id, args.quiet)


async def cmd_rebuild(core: Core, args: argparse.Namespace) -> int:
    if args.all_partitions or len(args.partition or []) > 1:
        if args.all_partitions and args.partition:
            raise errors.InvalidInput("partition", "Give partitions or --all-partitions, not both.")
        started = await core.envs.rebuild_on(
            args.name, None if args.all_partitions else args.partition, force=args.force
        )
        for partition, task in started:
            if task is None:
                print(f"{partition}: a build for its architecture was ready: kernel registered.")
        return await _follow_all(core, [t.id for _, t in started if t], args.quiet)
    if not args.partition:
        raise errors.InvalidInput("partition", "Give --partition (repeat it), or --all-partitions.")
    args.partition = args.partition[0]
    task = await core.envs.rebuild(args.name, args.partition, force=args.force)
    if task is None:
        print(f"A build for {args.partition}'s architecture was ready: its kernel is registered.")
        return 0
    return await _follow(core, task.id, args.quiet)


async def cmd_register(core: Core, args: argparse.Namespace) -> int:
    if args.path:
        result = await core.envs.adopt(
            _home(args.path),
            name=args.adopt_name or args.name,
            modules=args.module or None,
            partition=args.partition,
        )
        _print(result, args.json, f"Adopted {result['name']} as kernel {result['kernel']}.")
        return 0
    if not args.name:
        raise errors.InvalidInput(
            "name", "Give an environment name, or --path DIR to adopt a venv."
        )
    kernels = await core.envs.register(args.name, args.partition)
    _print({"kernels": kernels}, args.json, "\n".join(f"Registered {k}" for k in kernels))
    return 0


async def cmd_activate(core: Core, args: argparse.Namespace) -> int:
    sys.stdout.write(await core.envs.activation(args.name, args.partition))
    return 0


async def cmd_remove(core: Core, args: argparse.Namespace) -> int:
    plan = core.envs.removal_plan(args.name, args.partition)
    env = core.envs.get(args.name)
    partition = names.partition(args.partition) if args.partition else None
    kernels = core.envs.removal.kernels_of(env, partition)
    jobs = await running.kernel_jobs(core.config, env.name, kernels, partition)
    running_lines = [
        f"kernel job {j['job_id']} on {j['partition']} ({j['state'].lower()}, kernel "
        f"{j['kernel_id'][:8]})"
        for j in jobs
    ]
    if not args.yes:
        print("This would remove:\n  " + "\n  ".join(plan))
        if running_lines:
            print("and stop what runs on it:\n  " + "\n  ".join(running_lines))
        print("Run again with --yes" + (" --stop" if jobs else "") + " to do it.")
        return EXIT_INPUT
    if jobs and not args.stop:
        print(
            f"hpc-envs: kernels of {env.name} still run:\n  " + "\n  ".join(running_lines)
            + "\nAdd --stop to cancel their jobs and remove it, or end them first (shut the "
            "kernels down in JupyterLab, or `scancel " + " ".join(j["job_id"] for j in jobs)
            + "`).",
            file=sys.stderr,
        )  # fmt: skip
        return EXIT_CONFLICT
    # Before the files go: no job may outlive the environment it runs.
    stopped = await running.stop_kernels(None, core.config, jobs)
    result = core.envs.remove(args.name, args.partition)
    text = [f"Stopped {s}" for s in stopped] + [f"Removed {r}" for r in result["removed"]]
    _print({**result, "stopped": stopped}, args.json, "\n".join(text))
    return 0


async def cmd_packages(core: Core, args: argparse.Namespace) -> int:
    data = await core.packages.list(args.name, args.partition)
    rows = [r for r in data["packages"] if args.all or not r["shadowed_by"]]
    lines = [
        f"{r['name']:<32} {r['version']:<14} {r['source']:<7} {r['module'] or ''}"
        + (" (shadowed)" if r["shadowed_by"] else "")
        + (f" (editable: {r['editable']})" if r["editable"] else "")
        for r in sorted(rows, key=lambda r: r["name"].lower())
    ]
    lines += [f"{w['level']}: {w['message']}" for w in data["warnings"]]
    _print(data, args.json, "\n".join(lines))
    return 0


async def cmd_install(core: Core, args: argparse.Namespace) -> int:
    requirements = _read_requirements(args.requirements)
    task = await core.packages.install(
        args.name,
        args.partition,
        specs=args.spec or [],
        requirements=requirements,
        upgrade=args.upgrade,
    )
    return await _follow(core, task.id, args.quiet)


async def cmd_uninstall(core: Core, args: argparse.Namespace) -> int:
    if not args.yes:
        print(f"This would uninstall {' '.join(args.package)} from {args.name}. Add --yes.")
        return EXIT_INPUT
    task = await core.packages.uninstall(args.name, args.partition, args.package)
    return await _follow(core, task.id, args.quiet)


async def cmd_export(core: Core, args: argparse.Namespace) -> int:
    sys.stdout.write(await core.packages.requirements(args.name, args.partition))
    return 0


async def cmd_resources(core: Core, args: argparse.Namespace) -> int:
    """Show, or with options choose, what a kernel's Slurm job asks for: checked against the
    site's limits and what the partition's nodes have, every refused value said at once."""
    part = await core.site.partition_or_default(args.partition)
    kernel = kernelspec.kernel_name(names.env_name(args.name), part.name)
    capacities = await core.site.capacities()
    fields = (*kernel_resources.FIELDS, "mode")
    chosen = {k: getattr(args, k) for k in fields if getattr(args, k) is not None}
    if args.reset:
        chosen = dict.fromkeys(fields)
    if chosen:
        data = kernel_resources.choose(core.config, kernel, chosen, capacities)
    else:
        data = kernel_resources.describe(core.config, kernel, capacities)
    job = data["effective"]
    text = (
        f"{kernel}: {job['time']}, {job['cpus']} CPU(s), {job['memory'] or 'default memory'}, "
        f"{job['gpus']} GPU(s){', account ' + job['account'] if job['account'] else ''}"
        f" on {job['partition']} (mode {data['mode']})"
        if job
        else f"{kernel}: the stored choice is refused: {data['problem']['message']}"
    )
    cap = data["capacity"]
    if cap:
        text += f"\nA node of {part.name} has: " + ", ".join(
            f"{key} {cap[key]}" for key in ("cpus", "memory", "gpus", "time") if key in cap
        )
    _print(data, args.json, text)
    return 0 if job else EXIT_INPUT


async def cmd_submit(core: Core, args: argparse.Namespace) -> int:
    code, view = await runs_cli.submit(core.config, args)
    _print(view, args.json, runs_cli.line(view))
    return code


async def cmd_runs(core: Core, args: argparse.Namespace) -> int:
    if args.cancel:
        await run_records.cancel(core.config, args.cancel)
    if args.again:
        await asyncio.to_thread(run_records.again, core.config, args.again)
    views = await run_records.states(core.config)
    _print(views, args.json, "\n".join(runs_cli.line(v) for v in views) or "No runs.")
    return 0


def _read_requirements(path: str | None) -> str | None:
    if not path:
        return None
    if path == "-":
        return sys.stdin.read()
    with open(
        names.clean_path("requirements", os.path.abspath(_home(path) or path)), encoding="utf-8"
    ) as f:
        return f.read()


Problem = dict[str, str]  # level (error, warning), code, message: one line of the doctor's report


def _site_problems(site: dict[str, Any]) -> list[Problem]:
    """The site's warnings, and storage roots that do not exist."""
    problems = [
        {"level": "warning", "code": warning["code"], "message": warning["message"]}
        for warning in site["warnings"]
    ]
    for root in site["storage_roots"]:
        if not root["exists"]:
            problems.append(
                {
                    "level": "error",
                    "code": "storage-root",
                    "message": f"Storage root {root['path']} does not exist.",
                }
            )
    return problems


def _environment_problems(described: list[dict[str, Any]]) -> list[Problem]:
    """Environments refused (not owned, damaged) and the warnings of the others."""
    problems: list[Problem] = []
    for env in described:
        if env.get("refused"):
            problems.append(
                {"level": "error", "code": "refused-environment", "message": env["refused"]}
            )
            continue
        for warning in env["warnings"]:
            problems.append({"level": "warning", "code": "environment", "message": warning})
        problems += _build_problems(env)
    return problems


def _build_problems(env: dict[str, Any]) -> list[Problem]:
    """A failed build (what failed, its log) and a stale one (out of date, drifted), as errors."""
    problems: list[Problem] = []
    for arch, build in sorted(env["builds"].items()):
        failure = build.get("failure")
        if build["state"] == "failed" and failure:
            message = f"The {arch} build of {env['name']} failed. {failure['summary']}"
            if failure["log"]:
                message += f" The log: {failure['log']}"
            problems.append({"level": "error", "code": "failed-build", "message": message})
        for drift in build.get("problems") or []:
            message = f"{env['name']} ({arch}) is stale: {drift['message']}"
            problems.append({"level": "error", "code": "stale", "message": message})
    return problems


def _kernel_problems(kernels_dir: str, described: list[dict[str, Any]]) -> list[Problem]:
    """Our kernelspecs that would start a refused environment, or point at nothing."""
    refused = {e["home"]: e["refused"] for e in described if e.get("refused")}
    envs = {e["home"] for e in described if not e.get("refused")}
    problems: list[Problem] = []
    for kernel_name, meta in kernelspec.ours(kernels_dir).items():
        home = meta.get("path", "")
        launch = meta.get("launch", "")
        if home in refused:
            problems.append(
                {
                    "level": "error",
                    "code": "refused-environment",
                    "message": f"Kernel {kernel_name} would start a refused environment: "
                    f"{refused[home]}",
                }
            )
        elif home not in envs:
            problems.append(
                {
                    "level": "error",
                    "code": "dangling-kernel",
                    "message": f"Kernel {kernel_name} points at {home}, which holds no environment: "
                    f"'jupyter kernelspec remove {kernel_name}'.",
                }
            )
        elif not os.path.exists(launch):
            problems.append(
                {
                    "level": "error",
                    "code": "dangling-kernel",
                    "message": f"Kernel {kernel_name}'s launch script {launch} is missing: "
                    f"'jupyter hpc-envs register {meta.get('name')}'.",
                }
            )
    return problems


async def cmd_doctor(core: Core, args: argparse.Namespace) -> int:
    """Report what would break a user's environments or kernels; exit 1 if any is an error."""
    site = await core.site.describe()
    described = await core.envs.describe_all_checked()
    problems = [
        *_site_problems(site),
        *_environment_problems(described),
        *_kernel_problems(core.config.kernels_dir, described),
    ]
    text = "\n".join(f"{p['level']}: {p['message']}" for p in problems) or "No problems found."
    _print({"site": site, "problems": problems}, args.json, text)
    return 1 if any(p["level"] == "error" for p in problems) else 0


Handler = Callable[[Core, argparse.Namespace], Awaitable[int]]


class _Subcommands:
    """Adds the subcommands to the parser, each with the same ``--json`` switch and its help as
    the description, so that every group below reads as a list of its commands."""

    def __init__(self, top: argparse.ArgumentParser) -> None:
        self._sub = top.add_subparsers(dest="command", required=True, metavar="COMMAND")

    def add(
        self, name: str, func: Handler, help: str, read: bool = False
    ) -> argparse.ArgumentParser:
        """A subcommand running ``func``; a *read* command prints JSON with ``--json``."""
        c = self._sub.add_parser(name, help=help, description=help)
        c.set_defaults(func=func)
        c.add_argument(
            "--json", action="store_true", help="print JSON" if read else argparse.SUPPRESS
        )
        return c


def _add_site_commands(commands: _Subcommands) -> None:
    c = commands.add(
        "site", cmd_site, "Where this runs: partitions, module system, storage roots.", True
    )
    c.add_argument(
        "--probe",
        nargs="?",
        const="",
        metavar="PARTITION",
        help="learn again from a node what the partitions the site description leaves out "
        "offer (a short Slurm job each), or only PARTITION",
    )
    c = commands.add("modules", cmd_modules, "The module catalog of a partition.", True)
    c.add_argument("query", nargs="?", default="", help="words of a module's name or description")
    c.add_argument("--partition", "-p")
    c.add_argument("--python", help="mark modules compatible with this Python module")


def _add_create_command(commands: _Subcommands) -> None:
    c = commands.add("create", cmd_create, "Create an environment and build it on a partition.")
    c.add_argument(
        "name", nargs="?", help="the new environment's name (with --from-lock: the lock's)"
    )
    c.add_argument("--module", "-m", action="append", help="module to load (Python first); repeat")
    c.add_argument("--from-lock", help="a lock file (jupyter hpc-envs lock): the same environment")
    c.add_argument(
        "--partition", "-p", action="append", help="partition to build on; repeat: all at once"
    )
    c.add_argument("--root", help="storage root (path or label such as $VSC_DATA)")
    c.add_argument("--package", action="append", help="pip requirement (conda spec); repeat")
    c.add_argument("--requirements", "-r", help="requirements file")
    c.add_argument("--conda", action="store_true", help="a conda environment (no modules)")
    c.add_argument(
        "--shared",
        action="store_true",
        help="in your VO's folder: every member may use it, only you may change it",
    )
    c.add_argument("--python", help="Python version of a conda environment (e.g. 3.11)")
    c.add_argument(
        "--channel", "-c", action="append", help="conda channel (e.g. intel); repeat, best first"
    )
    c.add_argument("--quiet", "-q", action="store_true", help="do not print the build log")


def _add_environment_commands(commands: _Subcommands) -> None:
    commands.add("list", cmd_list, "The environments and their builds.", True)
    c = commands.add("lock", cmd_lock, "What a build really is: modules, Python, packages.", True)
    c.add_argument("name", help=ENV_NAME_HELP)
    c.add_argument("--partition", "-p")
    _add_create_command(commands)
    c = commands.add(
        "recreate", cmd_recreate, "Make here the environment a notebook was saved with.", True
    )
    c.add_argument("notebook", help="a notebook saved with one of these kernels (.ipynb)")
    c.add_argument("--name", help="the environment's name (default: the notebook's)")
    c.add_argument("--partition", "-p", help="partition to build on (default: the notebook's)")
    c.add_argument("--root", help="storage root (path or label such as $VSC_DATA)")
    c.add_argument("--dry-run", action="store_true", help="only show what would be made")
    c.add_argument("--quiet", "-q", action="store_true", help="do not print the build log")
    c = commands.add(
        "migrate",
        cmd_migrate,
        "Rebuild as a new environment on a newer toolchain generation.",
        True,
    )
    c.add_argument("name", help=ENV_NAME_HELP)
    c.add_argument("--to", required=True, metavar="GENERATION", help="e.g. 2023b")
    c.add_argument("--as", dest="as_", metavar="NEWNAME", help="default: NAME-GENERATION")
    c.add_argument("--partition", "-p")
    c.add_argument("--dry-run", action="store_true", help="only print the plan")
    c.add_argument("--quiet", "-q", action="store_true", help="do not print the build log")
    c = commands.add("rebuild", cmd_rebuild, "Build an environment for (another) partition.")
    c.add_argument("name", help=ENV_NAME_HELP)
    c.add_argument(
        "--partition", "-p", action="append", help="partition to build on; repeat: all at once"
    )
    c.add_argument(
        "--all-partitions", action="store_true", help="build on every partition, all at once"
    )
    c.add_argument("--force", action="store_true", help="rebuild even if a build is ready")
    c.add_argument("--quiet", "-q", action="store_true")
    c = commands.add(
        "register",
        cmd_register,
        "Register kernels again, or adopt a venv or conda env (--path).",
        True,
    )
    c.add_argument("name", nargs="?", help="the environment whose kernels to register again")
    c.add_argument("--partition", "-p")
    c.add_argument("--path", help="adopt the venv in this folder")
    c.add_argument("--name", dest="adopt_name", help="with --path: the name to give it")
    c.add_argument("--module", "-m", action="append", help="with --path: its modules")
    c = commands.add(
        "activate", cmd_activate, 'Shell code: eval "$(jupyter hpc-envs activate NAME)".'
    )
    c.add_argument("name", help=ENV_NAME_HELP)
    c.add_argument("--partition", "-p")
    c = commands.add("remove", cmd_remove, "Remove an environment, or its kernel on one partition.")
    c.add_argument("name", help=ENV_NAME_HELP)
    c.add_argument("--partition", "-p")
    c.add_argument("--yes", action="store_true", help="really remove")
    c.add_argument(
        "--stop",
        action="store_true",
        help="cancel the Slurm jobs of its running kernels first (refused without, while any run)",
    )


def _add_package_commands(commands: _Subcommands) -> None:
    c = commands.add(
        "packages", cmd_packages, "Installed packages and where each comes from.", True
    )
    c.add_argument("name", help=ENV_NAME_HELP)
    c.add_argument("--partition", "-p")
    c.add_argument("--all", action="store_true", help="also the shadowed copies")
    c = commands.add(
        "install", cmd_install, "Install or upgrade packages (pip) into an environment."
    )
    c.add_argument("name", help=ENV_NAME_HELP)
    c.add_argument("spec", nargs="*", help="pip requirements (conda specs) to install")
    c.add_argument("--partition", "-p")
    c.add_argument("--requirements", "-r", help="requirements file ('-': standard input)")
    c.add_argument("--upgrade", "-U", action="store_true")
    c.add_argument("--quiet", "-q", action="store_true")
    c = commands.add("update", cmd_update, "Update packages of an environment (conda: also --all).")
    c.add_argument("name", help=ENV_NAME_HELP)
    c.add_argument("spec", nargs="*", help="the packages to update")
    c.add_argument("--all", action="store_true", help="every package (conda update --all)")
    c.add_argument("--partition", "-p")
    c.add_argument("--quiet", "-q", action="store_true")
    c = commands.add("uninstall", cmd_uninstall, "Uninstall packages from an environment's venv.")
    c.add_argument("name", help=ENV_NAME_HELP)
    c.add_argument("package", nargs="+", help="names of the packages to uninstall")
    c.add_argument("--partition", "-p")
    c.add_argument("--yes", action="store_true")
    c.add_argument("--quiet", "-q", action="store_true")
    c = commands.add("export", cmd_export, "The venv's own packages as a requirements file.")
    c.add_argument("name", help=ENV_NAME_HELP)
    c.add_argument("--partition", "-p")


def _add_kernel_commands(commands: _Subcommands) -> None:
    c = commands.add(
        "resources",
        cmd_resources,
        "A kernel's Slurm resources: show them, or choose them (checked against the partition).",
        True,
    )
    c.add_argument("name", help=ENV_NAME_HELP)
    c.add_argument("--partition", "-p", help="the kernel's partition (default: this node's)")
    c.add_argument("--time", help="time limit: minutes, H:MM:SS or D-HH:MM:SS")
    c.add_argument("--cpus", help="CPUs of the kernel's job")
    c.add_argument("--memory", help="memory of the kernel's job, e.g. 4G")
    c.add_argument("--gpus", help="GPUs of the kernel's job")
    c.add_argument("--account", help="the Slurm account the job is charged to")
    c.add_argument("--mode", choices=kernel_resources.MODES, help="where the kernel runs")
    c.add_argument("--reset", action="store_true", help="back to the site's defaults")


def _add_check_commands(commands: _Subcommands) -> None:
    commands.add("doctor", cmd_doctor, "Check the site, the environments and the kernels.", True)
    commands.add(
        "conda", cmd_conda, "Conda: the site's policy, the engine, environments to adopt.", True
    )


def _add_run_commands(commands: _Subcommands) -> None:
    c = commands.add("submit", cmd_submit, "Run a notebook as a Slurm batch job.", True)
    runs_cli.add_arguments(c)
    c = commands.add("runs", cmd_runs, "Notebooks run as Slurm jobs, and their states.", True)
    c.add_argument("--cancel", metavar="RUN", help="cancel this run's job first")
    c.add_argument("--again", metavar="RUN", help="submit this run again first")


def parser() -> argparse.ArgumentParser:
    """The ``jupyter hpc-envs`` parser: its subcommands in the order of the help, by group."""
    p = argparse.ArgumentParser(
        prog="jupyter hpc-envs",
        description="Module-based Python environments per HPC partition, as Jupyter kernels.",
    )
    p.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    commands = _Subcommands(p)
    _add_site_commands(commands)
    _add_environment_commands(commands)
    _add_package_commands(commands)
    _add_kernel_commands(commands)
    _add_check_commands(commands)
    _add_run_commands(commands)
    return p


def main(argv: Sequence[str] | None = None) -> int:
    args = parser().parse_args(argv)
    try:
        core = Core(HpcEnvs(config=load_config()))
        return asyncio.run(_main(core, args))
    except errors.InvalidInput as err:
        print(f"hpc-envs: {err.message}", file=sys.stderr)
        return EXIT_INPUT
    except errors.NotFound as err:
        print(f"hpc-envs: {err.message}", file=sys.stderr)
        return EXIT_NOT_FOUND
    except errors.Conflict as err:
        print(f"hpc-envs: {err.message}", file=sys.stderr)
        return EXIT_CONFLICT
    except (errors.ModuleSystemError, errors.SlurmError) as err:
        print(f"hpc-envs: {err}", file=sys.stderr)
        return EXIT_UNAVAILABLE
    except KeyboardInterrupt:
        return 130


async def _main(core: Core, args: argparse.Namespace) -> int:
    core.site.probes.on_start = lambda partition: print(
        f"hpc-envs: {probe.learning_message(partition)}", file=sys.stderr, flush=True
    )
    await core.start()
    try:
        return int(await args.func(core, args))
    except (KeyboardInterrupt, asyncio.CancelledError):
        await core.tasks.shutdown()
        raise
    finally:
        await core.site.probes.close()
        await core.site.catalogs.close()


if __name__ == "__main__":
    raise SystemExit(main())
