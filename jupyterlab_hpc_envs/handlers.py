"""REST handlers under ``/hpc-envs/api/``: thin skins that parse, call the core, and serialise.

Every verb is ``@tornado.web.authenticated`` and then authorized by the server's ``Authorizer`` on
the resource ``hpc_envs`` (:data:`AUTH_RESOURCE`), as jupyter_server's own handlers are, for each
action it involves (:func:`requires`): ``read`` for what neither changes nor runs anything,
``write`` for what changes the user's environments, kernelspecs, tasks or jobs, ``execute`` for what
runs code in an environment or submits a Slurm job (a build, an install, the package listing, an
adoption's smoke test). A ``refresh`` of the site or of the conda engines stays ``read``: it asks
Slurm, the module system and the engines again (``sinfo``, ``module``, ``--version``), runs nothing
of the user's and changes nothing but a cache. Tests walk every route and verb without a token, as a
read-only user and as a user refused everything.

Errors are JSON ``{"message", "field"?, "suggestions"?}`` with 400 (bad input), 404 (unknown name),
409 (conflict, or a lock another operation holds), 413 (a body over :data:`MAX_BODY`) or 503 (the
module system or Slurm did not answer); long operations answer 202 with the task.
"""

from __future__ import annotations

import asyncio
import functools
import json
import re
from collections.abc import Awaitable, Callable
from typing import Any

import tornado
from jupyter_server.auth.decorator import authorized
from jupyter_server.base.handlers import APIHandler
from jupyter_server.utils import ensure_async, url_path_join

from . import __version__, errors, names
from .config import HpcEnvs
from .core import Core
from .envs import notebook, recreate
from .kernels import jobs as kernel_jobs
from .kernels import resources as kernel_resources
from .kernels import running as running_kernels
from .kernels import terminal
from .runs import records as run_records
from .runs import rest as run_rest
from .site import slurm
from .tasks import FINAL

ENV = r"(?P<name>[^/]+)"
TASK = r"(?P<task_id>[^/]+)"
LOG_WAIT = 10.0  # seconds a log request waits for new output before answering empty
AUTH_RESOURCE = "hpc_envs"  # what an Authorizer (JupyterHub's custom scopes) sees for every route
ACTIONS = ("read", "write", "execute")
MAX_BODY = 1 << 20  # bytes of a request body, checked before it is parsed
MAX_SPECS = 500  # packages in one request (a list, or a requirements text)
MAX_LINES = 5000  # lines of a requirements text, comments and blanks included
_OFFSET = re.compile(r"[0-9]{1,15}")  # a byte offset: ASCII digits, below any file size here

Method = Callable[..., Awaitable[None]]


def requires(*actions: str) -> Callable[[Method], Method]:
    """jupyter_server's ``@authorized(action)`` for each of ``actions`` on :data:`AUTH_RESOURCE`.

    Every action must be allowed (the first refused one answers 403). The actions are kept on the
    method as ``auth_actions`` so that tests can check that every verb of every route has them.
    """
    if not actions or any(a not in ACTIONS for a in actions):
        raise ValueError(f"actions must be among {ACTIONS}, not {actions}")

    def decorate(method: Method) -> Method:
        guarded = method
        for action in reversed(actions):
            guarded = authorized(action, resource=AUTH_RESOURCE)(guarded)
        guarded.auth_actions = actions  # type: ignore[attr-defined]
        return guarded

    return decorate


class TooLarge(errors.InvalidInput):
    """A request body over :data:`MAX_BODY`: answered 413 before it is parsed."""


def _errors(method: Callable[..., Awaitable[None]]) -> Callable[..., Awaitable[None]]:
    """Turn the core's exceptions into JSON error replies with the right status."""

    @functools.wraps(method)
    async def wrapper(self: BaseHandler, *args: Any, **kwargs: Any) -> None:
        try:
            await method(self, *args, **kwargs)
        except TooLarge as err:
            self._error(413, err.message, field=err.field)
        except errors.InvalidInput as err:
            several = err.fields if len(err.fields) > 1 else None
            self._error(400, err.message, field=err.field, fields=several)
        except errors.NotFound as err:
            self._error(404, err.message, field=err.field, suggestions=err.suggestions)
        except errors.Conflict as err:
            self._error(409, err.message, field=err.field)
        except (errors.ModuleSystemError, errors.SlurmError) as err:
            self._error(503, str(err))

    return wrapper


class BaseHandler(APIHandler):
    """What every route shares: the core, JSON bodies checked for size and shape, flags, and error
    replies with the ``field`` a form shows the message beside. Authorization is on each verb
    (:func:`requires`), so that a route cannot be added without saying what it allows."""

    auth_resource = AUTH_RESOURCE

    @property
    def core(self) -> Core:
        core: Core = self.settings["hpc_envs"]
        return core

    def write_error(self, status_code: int, **kwargs: Any) -> None:
        if status_code == 405:  # RFC 9110: a 405 names the methods the resource does have
            self.set_header("Allow", ", ".join(self.allowed_methods()))
        super().write_error(status_code, **kwargs)

    @classmethod
    def allowed_methods(cls) -> list[str]:
        base = tornado.web.RequestHandler
        return [
            m
            for m in ("GET", "POST", "PUT", "PATCH", "DELETE")
            if getattr(cls, m.lower()) is not getattr(base, m.lower())
        ]

    async def may(self, action: str) -> bool:
        """Whether the Authorizer allows this user ``action`` too (a read that would also submit
        a Slurm job, such as a partition probe, does so only with ``execute``)."""
        allowed = await ensure_async(
            self.authorizer.is_authorized(self, self.current_user, action, AUTH_RESOURCE)
        )
        return bool(allowed)

    def flag(self, name: str, default: bool = False) -> bool:
        """A yes/no query argument: ``1`` or ``0`` (absent: ``default``); anything else is a 400."""
        value = self.get_query_argument(name, "")
        if value not in ("", "0", "1"):
            raise errors.InvalidInput(name, f"{name} must be 0 or 1, not {value!r}.")
        return default if value == "" else value == "1"

    def _error(self, status: int, message: str, **extra: Any) -> None:
        self.set_status(status)
        self.finish(json.dumps({"message": message, **{k: v for k, v in extra.items() if v}}))

    def body(self) -> dict[str, Any]:
        """The JSON object of the request, refused (413) over :data:`MAX_BODY` before parsing."""
        if len(self.request.body) > MAX_BODY:
            raise TooLarge(
                "body",
                f"The request body has {len(self.request.body)} bytes; at most {MAX_BODY} are "
                "accepted. Install a long list of packages from a requirements file in parts.",
            )
        try:
            data = json.loads(self.request.body or b"{}")
        except ValueError:
            raise errors.InvalidInput("body", "The request body is not JSON.") from None
        if not isinstance(data, dict):
            raise errors.InvalidInput("body", "The request body must be a JSON object.")
        return data

    def specs(self, body: dict[str, Any]) -> tuple[Any, Any]:
        """The ``packages`` and ``requirements`` of a body, refused when they are too many to
        validate quickly (at most :data:`MAX_SPECS` packages, :data:`MAX_LINES` lines)."""
        packages, requirements = body.get("packages", []), body.get("requirements")
        if isinstance(packages, (list, tuple)) and len(packages) > MAX_SPECS:
            raise errors.InvalidInput(
                "packages", f"{len(packages)} packages were given; at most {MAX_SPECS} at a time."
            )
        if isinstance(requirements, str):
            lines = requirements.count("\n") + 1
            if lines > MAX_LINES:
                raise errors.InvalidInput(
                    "requirements",
                    f"The requirements have {lines} lines; at most {MAX_LINES} are accepted.",
                )
            count = sum(1 for line in requirements.splitlines() if line.strip()[:1] not in "#")
            if count > MAX_SPECS:
                raise errors.InvalidInput(
                    "requirements",
                    f"The requirements list {count} packages; at most {MAX_SPECS} at a time.",
                )
        return packages, requirements

    async def running_kernels(self, name: str, partition: str | None) -> list[dict[str, Any]]:
        """The running kernels a removal of ``name`` (of its ``partition``) would leave without
        an environment: the server's own and the user's Slurm kernel jobs."""
        envs = self.core.envs
        env = envs.get(name)
        wanted = names.partition(partition) if partition else None
        return await running_kernels.running_kernels(
            self.kernel_manager,
            self.settings.get("session_manager"),
            self.core.config,
            env.name,
            envs.removal.kernels_of(env, wanted),
            wanted,
        )

    def reply(self, data: Any, status: int = 200) -> None:
        self.set_status(status)
        self.finish(json.dumps(data))

    def root(self) -> str:
        """The server's folder (``root_dir``): what paths in requests and replies are relative to."""
        return str(self.settings.get("server_root_dir") or ".")


class InfoHandler(BaseHandler):
    """``info``: GET the extension's name and version (the frontend checks it matches)."""

    @tornado.web.authenticated
    @requires("read")
    async def get(self) -> None:
        self.reply({"name": "jupyterlab-hpc-envs", "version": __version__})


class SiteHandler(BaseHandler):
    """``site``: GET partitions, module system, storage roots and warnings (``refresh=1`` reads
    sinfo and the module trees again)."""

    @tornado.web.authenticated
    @requires("read")
    @_errors
    async def get(self) -> None:
        refresh = self.flag("refresh")
        if refresh:
            await self.core.site.partitions(refresh=True)
            self.core.site.catalogs.invalidate()
        # Partitions not learned yet are probed (a Slurm job) only for a user allowed to execute.
        self.reply(await self.core.site.describe(learn=await self.may("execute")))


class ModulesHandler(BaseHandler):
    """``modules``: GET a partition's module catalog, searched and marked compatible with a Python
    module."""

    @tornado.web.authenticated
    @requires("read")
    @_errors
    async def get(self) -> None:
        site = self.core.site
        partition = self.get_query_argument("partition", "")
        part = await site.partition_or_default(partition)
        python = self.get_query_argument("python", "") or None
        if python:
            names.module_name(python)
        query = self.get_query_argument("q", "").lower()
        # A partition the site description leaves out is learned by a probe job: its state, not
        # an empty catalog, until it has answered.
        await site.learned(part, wait=False, start=await self.may("execute"))
        if part.origin.get("kind") in ("probe", "none") and not part.arch:
            self.reply(
                {
                    "partition": part.name,
                    "module_system": site.modules.kind,
                    "modules": [],
                    "origin": part.origin,
                }
            )
            return
        modules = await site.catalog_with_compatibility(part, python)
        if query:
            modules = [m for m in modules if query in m["full"].lower()]
        self.reply(
            {
                "partition": part.name,
                "module_system": site.modules.kind,
                "modules": modules,
                "origin": part.origin,
            }
        )


class ProbesHandler(BaseHandler):
    """``site/probes``: POST asks for a fresh probe (a short Slurm job) of the partitions the site
    description leaves out, or of the one named (``{"partition": …}``); answers the site as GET
    ``site`` does, the probes then "probing…"."""

    @tornado.web.authenticated
    @requires("read", "execute")
    @_errors
    async def post(self) -> None:
        body = self.body()
        only = names.partition(body["partition"]) if body.get("partition") else ""
        await self.core.site.learn_all(wait=False, fresh=True, only=only)
        self.reply(await self.core.site.describe())


class EnvsHandler(BaseHandler):
    """``envs``: GET every environment with its builds; POST creates one and starts its build
    (a task)."""

    @tornado.web.authenticated
    @requires("read")
    @_errors
    async def get(self) -> None:
        envs = self.core.envs
        self.reply({"environments": await envs.describe_all_checked()})

    @tornado.web.authenticated
    @requires("write", "execute")
    @_errors
    async def post(self) -> None:
        body = self.body()
        if "lock" in body:  # the same environment again, from a lock (see envs/lock.py)
            task = await self.core.envs.create_from_lock(
                body["lock"],
                name=body.get("name"),
                partition=body.get("partition"),
                root=body.get("root"),
                kind=body.get("kind"),
                shared=body.get("shared", False),
            )
            self.reply({"task": task.to_json()}, 202)
            return
        packages, requirements = self.specs(body)
        partition = body.get("partition")
        tasks = await self.core.envs.create_on(
            name=body.get("name"),
            modules=body.get("modules", []),
            partitions=partition if isinstance(partition, list) else [partition],
            root=body.get("root"),
            packages=packages,
            requirements=requirements,
            kind=body.get("kind", "venv"),
            options=body.get("options"),
            python=body.get("python"),
            channels=body.get("channels"),
            shared=body.get("shared", False),
        )
        self.reply({"task": tasks[0].to_json(), "tasks": [t.to_json() for t in tasks]}, 202)


class AdoptHandler(BaseHandler):
    """``envs/adopt``: POST adopts a venv or conda environment made by hand, without rebuilding it."""

    @tornado.web.authenticated
    @requires("write", "execute")
    @_errors
    async def post(self) -> None:
        body = self.body()
        result = await self.core.envs.adopt(
            body.get("path"),
            name=body.get("name"),
            modules=body.get("modules") or None,
            partition=body.get("partition"),
        )
        self.reply(result, 201)


class EnvHandler(BaseHandler):
    """``envs/<name>``: GET one environment; DELETE removes it (or its build for one partition)."""

    @tornado.web.authenticated
    @requires("read")
    @_errors
    async def get(self, name: str) -> None:
        envs = self.core.envs
        self.reply(await envs.describe_checked(envs.get(name)))

    @tornado.web.authenticated
    @requires("write")
    @_errors
    async def delete(self, name: str) -> None:
        partition = self.get_query_argument("partition", "") or None
        stopped: list[str] = []
        if self.flag("stop"):
            # Before the files go: a kernel on NFS may hold them, and no job may outlive them.
            running = await self.running_kernels(name, partition)
            stopped = await running_kernels.stop_kernels(
                self.kernel_manager, self.core.config, running
            )
        result = await asyncio.get_running_loop().run_in_executor(
            None, self.core.envs.remove, name, partition
        )
        self.reply({**result, "stopped": stopped})


class LockHandler(BaseHandler):
    """``envs/<name>/lock``: GET the lock of a build (``?partition=``; read from its folder)."""

    @tornado.web.authenticated
    @requires("read")
    @_errors
    async def get(self, name: str) -> None:
        partition = self.get_query_argument("partition", "") or None
        self.reply(await self.core.envs.lock(name, partition))


class MigrationHandler(BaseHandler):
    """``envs/<name>/migration``: GET the plan of a migration to another toolchain generation
    (``?to=2023b&as=NEW&partition=P``); POST ``{to, as, partition}`` builds it as a new
    environment (a task), leaving the old one as it is."""

    @tornado.web.authenticated
    @requires("read")
    @_errors
    async def get(self, name: str) -> None:
        query = {k: self.get_query_argument(k, "") or None for k in ("to", "as", "partition")}
        plan = await self.core.envs.migration_plan(
            name, query["to"], query["as"], query["partition"]
        )
        self.reply(plan.to_json())

    @tornado.web.authenticated
    @requires("write", "execute")
    @_errors
    async def post(self, name: str) -> None:
        body = self.body()
        plan, task = await self.core.envs.migrate(
            name, body.get("to"), body.get("as"), body.get("partition")
        )
        self.reply({"plan": plan.to_json(), "task": task.to_json()}, 202)


class RemovalPlanHandler(BaseHandler):
    """``envs/<name>/removal``: GET what a removal would delete, for the confirmation dialog."""

    @tornado.web.authenticated
    @requires("read")
    @_errors
    async def get(self, name: str) -> None:
        partition = self.get_query_argument("partition", "") or None
        plan = self.core.envs.removal_plan(name, partition)
        self.reply({"plan": plan, "running": await self.running_kernels(name, partition)})


READY_ELSEWHERE = (
    "A build for that architecture was ready: its kernel was registered for the partition."
)


class BuildsHandler(BaseHandler):
    """``envs/<name>/builds``: POST builds the environment for a(nother) partition (a task)."""

    @tornado.web.authenticated
    @requires("write", "execute")
    @_errors
    async def post(self, name: str) -> None:
        body = self.body()
        force = body.get("force", False)
        if not isinstance(force, bool):
            raise errors.InvalidInput("force", "force must be true or false.")
        partition, every = body.get("partition"), body.get("all_partitions", False)
        if every is not False or isinstance(partition, list):
            if every not in (False, True) or (every and partition not in (None, [])):
                raise errors.InvalidInput(
                    "all_partitions", "Give a list of partitions or all_partitions: true."
                )
            started = await self.core.envs.rebuild_on(name, None if every else partition, force)
            tasks = [t.to_json() for _, t in started if t]
            if tasks:
                self.reply({"task": tasks[0], "tasks": tasks}, 202)
            else:
                self.reply({"task": None, "tasks": [], "message": READY_ELSEWHERE})
            return
        task = await self.core.envs.rebuild(name, partition, force=force)
        if task is None:
            self.reply(
                {
                    "task": None,
                    "message": READY_ELSEWHERE,
                }
            )
        else:
            self.reply({"task": task.to_json()}, 202)


class KernelsHandler(BaseHandler):
    """``envs/<name>/kernels``: POST registers the environment's kernels again."""

    @tornado.web.authenticated
    @requires("write")
    @_errors
    async def post(self, name: str) -> None:
        body = self.body()
        kernels = await self.core.envs.register(name, body.get("partition"))
        self.reply({"kernels": kernels})


class ActivationHandler(BaseHandler):
    """``envs/<name>/activation``: GET the shell line that activates the environment in a terminal."""

    @tornado.web.authenticated
    @requires("read")
    @_errors
    async def get(self, name: str) -> None:
        partition = self.get_query_argument("partition", "") or None
        reply = {"script": await self.core.envs.activation(name, partition)}
        if self.flag("terminal"):
            reply["srun"] = self.terminal_srun(name, partition)
        self.reply(reply)

    def terminal_srun(self, name: str, partition: str | None) -> str:
        """The ``srun`` line of a terminal on ``partition``: the resources of the environment's
        kernel there, a time limit always (never an allocation as long as the partition allows)."""
        envs = self.core.envs
        env = envs.get(name)
        wanted = names.partition(partition)
        kernels = envs.removal.kernels_of(env, wanted)
        if not kernels:
            raise errors.InvalidInput(
                "partition",
                f"{env.name} has no kernel on {wanted}: build it there (or register its kernel) "
                "to open a terminal with its resources.",
            )
        return terminal.srun_line(self.core.config, kernels[0])


class PackageListingHandler(BaseHandler):
    """``envs/<name>/packages/listing``: POST lists the installed packages and where each comes
    from. A POST, not a GET: the listing runs the environment's Python (as a Slurm job for a build
    of another partition), which a read-only user may not do and a cross-site link must not."""

    @tornado.web.authenticated
    @requires("read", "execute")
    @_errors
    async def post(self, name: str) -> None:
        self.reply(await self.core.packages.list(name, self.body().get("partition")))


class PackagesHandler(BaseHandler):
    """``envs/<name>/packages``: POST installs or upgrades, DELETE uninstalls (each a task)."""

    @tornado.web.authenticated
    @requires("write", "execute")
    @_errors
    async def post(self, name: str) -> None:
        body = self.body()
        packages, requirements = self.specs(body)
        task = await self.core.packages.install(
            name,
            body.get("partition"),
            specs=packages,
            requirements=requirements,
            upgrade=body.get("upgrade", False),
        )
        self.reply({"task": task.to_json()}, 202)

    @tornado.web.authenticated
    @requires("write", "execute")
    @_errors
    async def delete(self, name: str) -> None:
        partition = self.get_query_argument("partition", "") or None
        packages = self.get_query_arguments("package")
        if len(packages) > MAX_SPECS:
            raise errors.InvalidInput(
                "package", f"{len(packages)} packages were given; at most {MAX_SPECS} at a time."
            )
        task = await self.core.packages.uninstall(name, partition, packages)
        self.reply({"task": task.to_json()}, 202)


class RequirementsHandler(BaseHandler):
    """``envs/<name>/requirements``: POST exports the venv's own packages as a requirements file
    (it runs the package listing, hence a POST)."""

    @tornado.web.authenticated
    @requires("read", "execute")
    @_errors
    async def post(self, name: str) -> None:
        partition = self.body().get("partition")
        self.reply({"text": await self.core.packages.requirements(name, partition)})


class TasksHandler(BaseHandler):
    """``tasks``: GET every task this server knows (running and recent)."""

    @tornado.web.authenticated
    @requires("read")
    @_errors
    async def get(self) -> None:
        self.reply({"tasks": [t.to_json() for t in self.core.tasks.list()]})


class TaskHandler(BaseHandler):
    """``tasks/<id>``: GET one task's record; DELETE cancels it."""

    @tornado.web.authenticated
    @requires("read")
    @_errors
    async def get(self, task_id: str) -> None:
        self.reply(self.core.tasks.load(task_id).to_json())

    @tornado.web.authenticated
    @requires("write")
    @_errors
    async def delete(self, task_id: str) -> None:
        record = await self.core.tasks.cancel(task_id)
        self.reply(record.to_json())


class TaskLogHandler(BaseHandler):
    """``GET tasks/<id>/log?offset=N``: the log from byte N, waiting a while for new output.

    A long poll: while the task runs and nothing new was written, the request waits up to
    ``LOG_WAIT`` seconds, so a client streams the log with one request at a time and no busy loop.
    """

    @tornado.web.authenticated
    @requires("read")
    @_errors
    async def get(self, task_id: str) -> None:
        raw = self.get_query_argument("offset", "0")
        if not _OFFSET.fullmatch(raw):
            raise errors.InvalidInput(
                "offset",
                f"offset must be a whole number of bytes (0 to 15 digits), not {raw[:40]!r}.",
            )
        offset = int(raw)
        tasks = self.core.tasks
        wait = self.flag("wait", default=True)
        loop = asyncio.get_running_loop()
        deadline = loop.time() + LOG_WAIT
        while True:
            text, next_offset = tasks.read_log(task_id, offset)
            record = tasks.load(task_id)
            final = record.state in FINAL
            if text or final or not wait or loop.time() > deadline:
                break
            await asyncio.sleep(0.25)
        self.reply(
            {"text": text, "offset": next_offset, "state": record.state, "step": record.step}
        )


class KernelResourcesHandler(BaseHandler):
    """``kernels/<kernel>/resources``: a kernel's Slurm resources, its partition's defaults and
    limits (GET), and the user's choice, stored in the kernelspec (PUT; null resets a value)."""

    @tornado.web.authenticated
    @requires("read")
    @_errors
    async def get(self, kernel: str) -> None:
        capacities = await self.core.site.capacities()
        self.reply(kernel_resources.describe(self.core.config, kernel, capacities))

    @tornado.web.authenticated
    @requires("write")
    @_errors
    async def put(self, kernel: str) -> None:
        body = self.body()
        capacities = await self.core.site.capacities()
        self.reply(kernel_resources.choose(self.core.config, kernel, body, capacities))


class KernelJobsHandler(BaseHandler):
    """``kernel-jobs``: the user's kernel jobs (queue state, reason, estimated start, why one ended)."""

    @tornado.web.authenticated
    @requires("read")
    @_errors
    async def get(self) -> None:
        record = kernel_jobs.KernelJobs(self.core.config.data_dir)
        jobs = record.list()
        config = self.core.config
        # Slurm installed without a cluster is no Slurm: no terminal jobs, and no warning each time.
        if await slurm.used(config.use_slurm):
            try:
                jobs += await terminal.terminal_jobs()
            except slurm.SlurmError as err:
                self.log.warning("Cannot list the terminal jobs: %s", err)
        self.reply({"jobs": jobs})


class KernelJobHandler(BaseHandler):
    """``kernel-jobs/<kernel id>``: DELETE cancels the job (a start waiting in the queue fails)."""

    @tornado.web.authenticated
    @requires("write")
    @_errors
    async def delete(self, kernel_id: str) -> None:
        if kernel_id.startswith(terminal.ID_PREFIX):
            self.reply(await terminal.cancel_terminal(kernel_id))
            return
        self.reply(await kernel_jobs.cancel_kernel_job(self.core.config, kernel_id))


class RunsHandler(BaseHandler):
    """``runs``: GET notebooks run as Slurm jobs with their states (from Slurm and the runs' own
    status files, so they survive a restart); POST submits one (paths relative to the server's
    folder)."""

    @tornado.web.authenticated
    @requires("read")
    @_errors
    async def get(self) -> None:
        root = self.root()
        runs = await run_records.states(self.core.config)
        self.reply({"runs": [run_rest.view(root, r) for r in runs]})

    @tornado.web.authenticated
    @requires("write", "execute")
    @_errors
    async def post(self) -> None:
        root = self.root()
        self.reply(
            run_rest.view(root, await run_rest.submit(self.core.config, root, self.body())), 201
        )


class RunHandler(BaseHandler):
    """``runs/<run id>``: GET one run's state; DELETE cancels its job (every task of a sweep)."""

    @tornado.web.authenticated
    @requires("read")
    @_errors
    async def get(self, run_id: str) -> None:
        record = run_records.find(self.core.config, run_id)
        found = await run_records.state(self.core.config, run_id)
        self.reply(run_rest.view(self.root(), found or record))

    @tornado.web.authenticated
    @requires("write")
    @_errors
    async def delete(self, run_id: str) -> None:
        self.reply(run_rest.view(self.root(), await run_records.cancel(self.core.config, run_id)))


class RunAgainHandler(BaseHandler):
    """``runs/<run id>/again``: POST submits the run again as it was asked (a new run)."""

    @tornado.web.authenticated
    @requires("write", "execute")
    @_errors
    async def post(self, run_id: str) -> None:
        again = await asyncio.to_thread(run_records.again, self.core.config, run_id)
        self.reply(run_rest.view(self.root(), again), 201)


class RunScriptHandler(BaseHandler):
    """``runs/<run id>/script``: GET the generated sbatch script, so JupyterLab can show it
    (``/log``: :class:`RunLogHandler`)."""

    which = "script"

    @tornado.web.authenticated
    @requires("read")
    @_errors
    async def get(self, run_id: str) -> None:
        task = self.get_query_argument("task", None)
        config = self.core.config
        self.reply(await asyncio.to_thread(run_rest.read_file, config, run_id, self.which, task))


class RunLogHandler(RunScriptHandler):
    """``runs/<run id>/log``: GET the job's log (``?task=N``: a sweep's task; its end when long)."""

    which = "log"


class CondaHandler(BaseHandler):
    """``conda``: the site's conda policy and message, the engine used (or how to get one), the
    default and known channels, and the warnings a user sees before creating a conda environment."""

    @tornado.web.authenticated
    @requires("read")
    @_errors
    async def get(self) -> None:
        refresh = self.flag("refresh")
        self.reply(await self.core.envs.conda_info(refresh))


class CondaEnvironmentsHandler(BaseHandler):
    """``conda/environments``: conda environments made by hand on this node, for adoption."""

    @tornado.web.authenticated
    @requires("read")
    @_errors
    async def get(self) -> None:
        self.reply({"environments": await self.core.envs.conda_environments()})


class RecreationsHandler(BaseHandler):
    """``recreations``: POST makes here the environment a notebook carries (``metadata.hpc_envs``)
    from ``path`` (a notebook in the server's folder, read through the contents manager) or
    ``metadata`` (the notebook's metadata); ``dry_run`` answers only the plan (envs/recreate.py)."""

    async def notebook_of(self, body: dict[str, Any]) -> object:
        """The notebook the body names: its ``metadata``, else the one at ``path``."""
        if "metadata" in body:
            return {"metadata": body["metadata"]}
        path = body.get("path")
        if not isinstance(path, str) or not path.endswith(".ipynb"):
            raise errors.InvalidInput("path", "Give the path of a notebook (.ipynb).")
        try:
            get = self.contents_manager.get
            model = await ensure_async(get(path, content=True, type="notebook"))  # type: ignore[no-untyped-call]
        except tornado.web.HTTPError as err:
            raise errors.InvalidInput("path", f"Cannot open {path}: {err.log_message}") from None
        return model["content"]

    @tornado.web.authenticated
    @requires("write", "execute")
    @_errors
    async def post(self) -> None:
        body = self.body()
        dry_run = body.get("dry_run", False)
        if not isinstance(dry_run, bool):
            raise errors.InvalidInput("dry_run", "dry_run must be true or false.")
        notebook = await self.notebook_of(body)
        name, partition = body.get("name"), body.get("partition")
        if dry_run:
            self.reply(
                await recreate.plan(self.core.envs, notebook, name=name, partition=partition)
            )
            return
        planned, task = await recreate.recreate(
            self.core.envs, notebook, name=name, partition=partition, root=body.get("root")
        )
        self.reply({"plan": planned, "task": task.to_json()}, 202)


class UpdateAllHandler(BaseHandler):
    """``envs/<name>/packages/update-all``: POST updates every package of a conda environment."""

    @tornado.web.authenticated
    @requires("write", "execute")
    @_errors
    async def post(self, name: str) -> None:
        task = await self.core.packages.update_all(name, self.body().get("partition"))
        self.reply({"task": task.to_json()}, 202)


def routes(base_url: str) -> list[tuple[str, type[BaseHandler]]]:
    base = url_path_join(base_url, "hpc-envs", "api")
    table: list[tuple[str, type[BaseHandler]]] = [
        ("info", InfoHandler),
        ("site", SiteHandler),
        ("site/probes", ProbesHandler),
        ("modules", ModulesHandler),
        ("envs", EnvsHandler),
        ("envs/adopt", AdoptHandler),
        ("recreations", RecreationsHandler),
        (f"envs/{ENV}", EnvHandler),
        (f"envs/{ENV}/removal", RemovalPlanHandler),
        (f"envs/{ENV}/lock", LockHandler),
        (f"envs/{ENV}/migration", MigrationHandler),
        (f"envs/{ENV}/builds", BuildsHandler),
        (f"envs/{ENV}/kernels", KernelsHandler),
        (f"envs/{ENV}/activation", ActivationHandler),
        (f"envs/{ENV}/packages", PackagesHandler),
        (f"envs/{ENV}/packages/listing", PackageListingHandler),
        (f"envs/{ENV}/packages/update-all", UpdateAllHandler),
        (f"envs/{ENV}/requirements", RequirementsHandler),
        (r"kernels/(?P<kernel>[^/]+)/resources", KernelResourcesHandler),
        ("kernel-jobs", KernelJobsHandler),
        (r"kernel-jobs/(?P<kernel_id>[^/]+)", KernelJobHandler),
        ("runs", RunsHandler),
        (r"runs/(?P<run_id>[^/]+)", RunHandler),
        (r"runs/(?P<run_id>[^/]+)/again", RunAgainHandler),
        (r"runs/(?P<run_id>[^/]+)/script", RunScriptHandler),
        (r"runs/(?P<run_id>[^/]+)/log", RunLogHandler),
        ("conda", CondaHandler),
        ("conda/environments", CondaEnvironmentsHandler),
        ("tasks", TasksHandler),
        (f"tasks/{TASK}", TaskHandler),
        (f"tasks/{TASK}/log", TaskLogHandler),
    ]
    return [(url_path_join(base, path), handler) for path, handler in table]


def setup_handlers(server_app: Any) -> None:
    """Build the core from the server's config and register the routes."""
    web_app = server_app.web_app
    config = HpcEnvs(config=server_app.config)
    core = Core(config)
    core.site.probes.background = True  # stale partition probes are refreshed while served
    web_app.settings["hpc_envs"] = core
    web_app.add_handlers(".*$", routes(web_app.settings["base_url"]))
    if config.notebook_metadata:
        notebook.install(server_app)
    tornado.ioloop.IOLoop.current().add_callback(core.start)
