"""Authorization: every verb of the REST API asks the server's ``Authorizer`` (jupyter_server's
``@authorized``) for each action it involves on the resource ``hpc_envs``.

The attack: a JupyterHub user given read-only access to someone's server (shared servers, custom
scopes, a custom ``Authorizer``) created, installed, removed and cancelled, because the handlers
only checked authentication. Here the server runs with an ``Authorizer`` that allows only ``read``,
and a real environment (built on the demo site) is the target of every route and verb, with a body
that would act if it were allowed: each changing or code-running call must answer 403 and leave the
storage roots, the kernelspecs and the task records as they were, and each read must still work.
"""

from __future__ import annotations

import asyncio
import json
import os
import re
import time
from pathlib import Path

import pytest
import tornado.web
from jupyter_server.auth import Authorizer
from jupyter_server.utils import url_path_join
from tornado.routing import PathMatches

from jupyterlab_hpc_envs import handlers
from jupyterlab_hpc_envs.envs import lock as locks
from jupyterlab_hpc_envs.kernels.jobs import KernelJobs

from .test_envs_rest import IPYTHON, PYTHON
from .test_server_extension import API_PREFIX, _implemented_verbs, _rules

# What each verb of each route may do: the actions it must be authorized for, in order. A route
# added to handlers.routes() without its line here fails test_every_route_and_verb_is_classified.
EXPECTED: dict[tuple[str, str], tuple[str, ...]] = {
    ("GET", "info"): ("read",),
    ("GET", "site"): ("read",),
    ("POST", "site/probes"): ("read", "execute"),
    ("GET", "modules"): ("read",),
    ("GET", "envs"): ("read",),
    ("POST", "envs"): ("write", "execute"),
    ("POST", "envs/adopt"): ("write", "execute"),
    ("POST", "recreations"): ("write", "execute"),
    ("GET", "envs/{name}"): ("read",),
    ("DELETE", "envs/{name}"): ("write",),
    ("GET", "envs/{name}/removal"): ("read",),
    ("GET", "envs/{name}/lock"): ("read",),
    ("GET", "envs/{name}/migration"): ("read",),
    ("POST", "envs/{name}/migration"): ("write", "execute"),
    ("POST", "envs/{name}/builds"): ("write", "execute"),
    ("POST", "envs/{name}/kernels"): ("write",),
    ("GET", "envs/{name}/activation"): ("read",),
    ("POST", "envs/{name}/packages"): ("write", "execute"),
    ("DELETE", "envs/{name}/packages"): ("write", "execute"),
    ("POST", "envs/{name}/packages/listing"): ("read", "execute"),
    ("POST", "envs/{name}/packages/update-all"): ("write", "execute"),
    ("POST", "envs/{name}/requirements"): ("read", "execute"),
    ("GET", "kernels/{kernel}/resources"): ("read",),
    ("PUT", "kernels/{kernel}/resources"): ("write",),
    ("GET", "kernel-jobs"): ("read",),
    ("DELETE", "kernel-jobs/{kernel_id}"): ("write",),
    ("GET", "runs"): ("read",),
    ("POST", "runs"): ("write", "execute"),
    ("GET", "runs/{run_id}"): ("read",),
    ("DELETE", "runs/{run_id}"): ("write",),
    ("POST", "runs/{run_id}/again"): ("write", "execute"),
    ("GET", "runs/{run_id}/script"): ("read",),
    ("GET", "runs/{run_id}/log"): ("read",),
    ("GET", "conda"): ("read",),
    ("GET", "conda/environments"): ("read",),
    ("GET", "tasks"): ("read",),
    ("GET", "tasks/{task_id}"): ("read",),
    ("DELETE", "tasks/{task_id}"): ("write",),
    ("GET", "tasks/{task_id}/log"): ("read",),
}


class RecordingAuthorizer(Authorizer):
    """Allows the actions in ``allowed`` and records every question (method, path, action,
    resource). Subclasses set ``allowed``; the server makes one instance, reached through
    ``jp_serverapp.authorizer``."""

    allowed: frozenset[str] = frozenset()

    def __init__(self, **kwargs) -> None:
        super().__init__(**kwargs)
        self.asked: list[tuple[str, str, str, str]] = []

    def is_authorized(self, handler, user, action: str, resource: str) -> bool:
        self.asked.append((handler.request.method, handler.request.path, action, resource))
        return action in self.allowed


class ReadOnlyAuthorizer(RecordingAuthorizer):
    """A read-only guest: JupyterHub's ``custom:jupyter_server:read:*`` scope and nothing else."""

    allowed = frozenset({"read"})


class DenyAllAuthorizer(RecordingAuthorizer):
    """A user allowed nothing at all (authenticated, but no scope of the server)."""


def _template(pattern: str) -> str:
    """``envs/{name}/builds`` for the route regex ``/hpc-envs/api/envs/(?P<name>[^/]+)/builds$``."""
    path = re.sub(r"\(\?P<(\w+)>[^)]*\)", r"{\1}", pattern.rstrip("$"))
    return path.split("/" + API_PREFIX, 1)[1]


def _routes(serverapp) -> list[tuple[str, type[tornado.web.RequestHandler]]]:
    """(template, handler) of every route registered under the REST base of the running server."""
    base = url_path_join(serverapp.web_app.settings["base_url"], API_PREFIX)
    found = []
    for rule in _rules(serverapp.web_app.default_router):
        if isinstance(rule.matcher, PathMatches) and rule.matcher.regex.pattern.startswith(base):
            found.append((_template(rule.matcher.regex.pattern), rule.target))
    return found


def _walk(serverapp) -> list[tuple[str, str, type[tornado.web.RequestHandler]]]:
    return [
        (verb, template, handler)
        for template, handler in _routes(serverapp)
        for verb in _implemented_verbs(handler)
        if verb != "HEAD"  # tornado's HEAD is not implemented by any handler here
    ]


async def _call(client, serverapp, headers, verb: str, path: str, body=None, query: str = ""):
    url = url_path_join(serverapp.web_app.settings["base_url"], API_PREFIX, path) + query
    if body is None and verb in ("POST", "PUT"):
        body = {}
    response = await client.fetch(
        url,
        method=verb,
        headers=headers,
        body=json.dumps(body) if body is not None else None,
        raise_error=False,
        request_timeout=120,
    )
    return response.code, json.loads(response.body or b"null")


# --- every verb is guarded, before the server knows what it is asked --------------------------


def test_every_route_and_verb_is_classified_and_decorated():
    # Given the routes of the REST API as the extension builds them
    served = {}
    for pattern, handler in handlers.routes("/"):
        for verb in handler.allowed_methods():
            method = getattr(handler, verb.lower())
            served[verb, _template(pattern)] = getattr(method, "auth_actions", None)

    # Then each verb is in the table above, with the actions its @requires names
    assert set(served) == set(EXPECTED), (
        f"not classified here: {sorted(set(served) - set(EXPECTED))}; "
        f"classified, not served: {sorted(set(EXPECTED) - set(served))}"
    )
    wrong = {call: actions for call, actions in served.items() if actions != EXPECTED[call]}
    assert not wrong, f"verbs whose @requires differs from the table (None: not guarded): {wrong}"
    # And "read" alone is kept for GETs: a GET runs nothing and changes nothing
    assert all(actions == ("read",) for (verb, _), actions in served.items() if verb == "GET")


@pytest.fixture
def deny_all_config(jp_server_config):
    jp_server_config["ServerApp"]["authorizer_class"] = DenyAllAuthorizer
    return jp_server_config


async def _denied_walk(serverapp, client, headers) -> dict[tuple[str, str], int]:
    answers = {}
    for verb, template, _ in _walk(serverapp):
        path = re.sub(r"\{\w+\}", "sample", template)
        answers[verb, path] = (await _call(client, serverapp, headers, verb, path))[0]
    return answers


async def test_a_user_allowed_nothing_gets_403_on_every_route_and_verb(
    deny_all_config, jp_serverapp, http_server_client, jp_auth_header
):
    # Given a server whose Authorizer refuses every action
    authorizer = jp_serverapp.authorizer
    assert isinstance(authorizer, DenyAllAuthorizer)

    # When every verb of every route is called with a valid token
    answers = await _denied_walk(jp_serverapp, http_server_client, jp_auth_header)

    # Then every call is refused, after asking the Authorizer about the resource hpc_envs
    assert len(answers) == len(EXPECTED)
    through = {call: code for call, code in answers.items() if code != 403}
    assert not through, f"answered without authorization: {through}"
    asked = {(m, p.split("/" + API_PREFIX, 1)[1]) for m, p, _, _ in authorizer.asked}
    assert asked == set(answers)
    assert {resource for *_, resource in authorizer.asked} == {handlers.AUTH_RESOURCE}


class _AuthenticatedOnly(handlers.BaseHandler):
    """A handler that has @authenticated but forgot @requires."""

    @tornado.web.authenticated
    async def post(self) -> None:
        self.finish("{}")


async def test_the_walk_finds_a_route_without_authorization(
    deny_all_config, jp_serverapp, http_server_client, jp_auth_header
):
    # Given a route under the REST base whose POST is only authenticated
    base = url_path_join(jp_serverapp.web_app.settings["base_url"], API_PREFIX, "unguarded")
    jp_serverapp.web_app.add_handlers(".*$", [(base, _AuthenticatedOnly)])

    # When every verb of every route is called by a user allowed nothing
    answers = await _denied_walk(jp_serverapp, http_server_client, jp_auth_header)

    # Then the unguarded one is the call that got through
    assert [call for call, code in answers.items() if code != 403] == [("POST", "unguarded")]


# --- a read-only guest against a real environment ---------------------------------------------


@pytest.fixture
def read_only_config(jp_server_config):
    jp_server_config["ServerApp"]["authorizer_class"] = ReadOnlyAuthorizer
    return jp_server_config


def _snapshot(*folders: Path) -> dict[str, tuple]:
    """Every file and folder under ``folders``: type, mode, size, modification time, content."""
    seen = {}
    for folder in folders:
        for path in sorted(folder.rglob("*")):
            st = path.lstat()
            data = path.read_bytes() if path.is_file() and not path.is_symlink() else b""
            seen[str(path)] = (st.st_mode, st.st_size, st.st_mtime_ns, data)
    return seen


async def _wait(core, task_id: str, timeout: float = 600) -> None:
    deadline = time.monotonic() + timeout
    while core.tasks.load(task_id).state not in ("succeeded", "failed", "cancelled"):
        assert time.monotonic() < deadline, "the build did not end"
        await asyncio.sleep(0.5)


async def test_a_read_only_guest_can_read_but_not_change_or_run_anything(
    read_only_config, site_env, jp_serverapp, http_server_client, jp_auth_header
):
    # Given an environment built for the owner (through the core: the guest cannot create one)
    core = jp_serverapp.web_app.settings["hpc_envs"]
    record = await core.envs.create(name="guarded", modules=[PYTHON, IPYTHON], partition="zen4")
    await _wait(core, record.id)
    assert core.tasks.load(record.id).state == "succeeded", core.tasks.read_log(record.id)[0]
    kernels_dir = Path(core.config.kernels_dir)
    kernel = "hpcenv-guarded-zen4"
    assert (kernels_dir / kernel / "kernel.json").exists()
    build = core.envs.get("guarded").builds["zen4"].path
    # a kernel job the owner could clear from the list
    KernelJobs(core.config.data_dir).update("k-1", job_name="hpc-envs-kernel", ended=time.time())
    # a run's record (its job long gone) the guest may read but not cancel or submit again
    run_id, run_dir = (
        "20990101-000000-abcd",
        Path(core.config.data_dir) / "runs" / "20990101-000000-abcd",
    )
    run_dir.mkdir(parents=True)
    run = {"id": run_id, "job_id": "999999999", "notebook": "/n.ipynb", "output": "/o.ipynb",
              "kernel": kernel, "script": str(run_dir / "job.sbatch"), "log": str(run_dir / "job.log"),
              "parameters": {}, "resources": {"partition": "zen4"}}  # fmt: skip
    (run_dir / "run.json").write_text(json.dumps(run))
    data_dir = Path(core.config.data_dir)
    before = _snapshot(site_env["VSC_DATA"], site_env["VSC_SCRATCH"], kernels_dir, data_dir)
    values = {"name": "guarded", "task_id": record.id, "kernel": kernel, "kernel_id": "k-1"}
    values["run_id"] = run_id
    # What each call would do if it were allowed
    bodies = {
        ("POST", "envs"): {"name": "intruder", "modules": [PYTHON, IPYTHON], "partition": "zen4"},
        ("POST", "envs/adopt"): {"path": build, "name": "adopted"},
        ("POST", "recreations"): {
            "metadata": {"hpc_envs": {"version": 1, "lock": {**locks.read(build), "name": "again"}}}
        },
        ("POST", "envs/{name}/builds"): {"partition": "zen2"},
        ("POST", "envs/{name}/kernels"): {"partition": "zen4"},
        ("POST", "envs/{name}/packages"): {"partition": "zen4", "packages": ["six"]},
        ("POST", "envs/{name}/packages/listing"): {"partition": "zen2"},
        ("POST", "envs/{name}/packages/update-all"): {"partition": "zen4"},
        ("POST", "envs/{name}/requirements"): {"partition": "zen2"},
        ("PUT", "kernels/{kernel}/resources"): {"cpus": 2, "mode": "slurm"},
    }
    queries = {
        ("GET", "modules"): "?partition=zen4",
        ("GET", "envs/{name}/activation"): "?partition=zen4",
        ("GET", "tasks/{task_id}/log"): "?offset=0&wait=0",
        ("DELETE", "envs/{name}/packages"): "?partition=zen4&package=pip",
    }
    tasks_before = [t.id for t in core.tasks.list()]
    authorizer = jp_serverapp.authorizer
    assert isinstance(authorizer, ReadOnlyAuthorizer)

    # When the read-only guest calls every verb of every route
    answers = {}
    for verb, template, _ in _walk(jp_serverapp):
        path = re.sub(r"\{(\w+)\}", lambda m: values[m.group(1)], template)
        answers[verb, template] = await _call(
            http_server_client,
            jp_serverapp,
            jp_auth_header,
            verb,
            path,
            bodies.get((verb, template)),
            queries.get((verb, template), ""),
        )

    # Then everything that writes or executes is refused, naming the action it needed
    assert set(answers) == set(EXPECTED)
    for call, (code, reply) in answers.items():
        if EXPECTED[call] == ("read",):
            assert code < 300, f"{call}: a read answered {code}: {reply}"
        else:
            refused = next(a for a in EXPECTED[call] if a != "read")
            assert code == 403, f"{call}: answered {code} to a read-only guest: {reply}"
            assert f"not authorized to {refused} on resource: hpc_envs" in reply["message"]
    # And nothing was created, changed, registered, removed or started
    after = _snapshot(site_env["VSC_DATA"], site_env["VSC_SCRATCH"], kernels_dir, data_dir)
    changed = sorted(p for p in set(before) | set(after) if before.get(p) != after.get(p))
    assert not changed, f"changed by a read-only guest: {changed}"
    assert [t.id for t in core.tasks.list()] == tasks_before
    assert os.path.isdir(build)
    # And every question was about the resource hpc_envs
    assert {resource for *_, resource in authorizer.asked} == {handlers.AUTH_RESOURCE}
