"""What a request can make the server do with its values: no environment variable expanded or
echoed, no event loop stalled by a huge body or by a lock another process holds, no number that
turns into a 500. Each attack is sent as a real request to a real server.
"""

from __future__ import annotations

import asyncio
import fcntl
import json
import os
import subprocess
import time
from pathlib import Path

import pytest

from jupyterlab_hpc_envs import files, handlers

from .helpers import call, wait_task
from .test_envs_rest import IPYTHON, PYTHON

SECRET_VAR = "HPC_ENVS_TEST_SECRET"
SECRET = "s3cr3t-4f1d9c0e7b"


async def _raw(jp_fetch, method: str, *path: str, body: bytes | None = None, params=None):
    """A request with a raw body; returns (status, JSON, seconds)."""
    kw = {"method": method, "raise_error": False, "request_timeout": 120}
    if body is not None:
        kw["body"] = body
    if params:
        kw["params"] = params
    start = time.monotonic()
    response = await jp_fetch("hpc-envs", "api", *path, **kw)
    return response.code, json.loads(response.body or b"null"), time.monotonic() - start


# --- item 3: nothing that came over REST is expanded, nothing expanded is echoed --------------


async def test_no_variable_of_the_server_is_expanded_or_echoed(site_env, jp_fetch, monkeypatch):
    # Given a secret in the server's environment (as $JUPYTERHUB_API_TOKEN is under JupyterHub)
    monkeypatch.setenv(SECRET_VAR, SECRET)
    home = os.environ["HOME"]
    create = {"name": "leak", "modules": [PYTHON, IPYTHON], "partition": "zen4"}
    attempts = [
        ("envs/adopt", {"path": f"$HOME/${SECRET_VAR}"}, "path"),
        ("envs/adopt", {"path": f"${{{SECRET_VAR}}}"}, "path"),
        ("envs/adopt", {"path": f"~/${SECRET_VAR}"}, "path"),
        ("envs/adopt", {"path": f"/tmp/${SECRET_VAR}/venv"}, "path"),
        ("envs", {**create, "root": f"${SECRET_VAR}"}, "root"),
        ("envs", {**create, "root": f"$HOME/${SECRET_VAR}"}, "root"),
        ("envs", {**create, "root": f"{site_env['VSC_DATA']}/${SECRET_VAR}"}, "root"),
        ("envs", {**create, "root": "~"}, "root"),
        ("envs", {"name": "leak", "kind": "conda", "channels": [f"/${SECRET_VAR}"]}, "channels"),
        ("envs", {"name": "leak", "kind": "conda", "channels": [f"${SECRET_VAR}"]}, "channels"),
    ]

    for route, body, field in attempts:
        # When a path-taking field names the variable
        code, reply = await call(jp_fetch, "POST", *route.split("/"), body=body, ok=False)

        # Then the request is refused naming the field, and the reply holds no expanded value
        assert (code, reply.get("field")) == (400, field), (body, reply)
        assert SECRET not in json.dumps(reply), (body, reply)
        if body.get("path", body.get("root", "")).startswith(("$HOME", "~")):
            assert home not in reply["message"], (body, reply)
    # And nothing was created
    assert not list(Path(site_env["VSC_DATA"]).iterdir())
    assert not list(Path(site_env["VSC_SCRATCH"]).iterdir())


# --- item 6: a huge body, too many specs, a held lock ------------------------------------------


async def test_an_oversized_body_is_refused_before_it_is_parsed(site_env, jp_fetch):
    # Given a 10 MB requirements text (what froze every request for ~10 s when it was validated)
    body = json.dumps({"name": "big", "modules": [PYTHON], "requirements": "numpy\n" * 1_750_000})
    assert len(body) > 10_000_000

    # When it is sent to create, and to install
    for path in (("envs",), ("envs", "big", "packages")):
        code, reply, seconds = await _raw(jp_fetch, "POST", *path, body=body.encode())

        # Then it is refused at once with 413, naming the body and the limit
        assert (code, reply["field"]) == (413, "body"), reply
        assert f"at most {handlers.MAX_BODY} are accepted" in reply["message"]
        assert seconds < 3, f"{seconds:.1f} s to refuse an oversized body"
    assert not list(Path(site_env["VSC_DATA"]).iterdir())


async def test_too_many_specs_or_lines_are_refused_with_the_limit(site_env, jp_fetch):
    many = [f"pkg{i}" for i in range(handlers.MAX_SPECS + 1)]
    lines = "\n" * handlers.MAX_LINES + "six\n"  # blank lines count: they are parsed too
    specs = "".join(f"pkg{i}\n" for i in range(handlers.MAX_SPECS + 1))
    create = {"name": "many", "modules": [PYTHON], "partition": "zen4"}
    cases = [
        (("envs",), {**create, "packages": many}, "packages", f"at most {handlers.MAX_SPECS}"),
        (("envs",), {**create, "requirements": lines}, "requirements", f"{handlers.MAX_LINES}"),
        (("envs",), {**create, "requirements": specs}, "requirements", f"{handlers.MAX_SPECS}"),
        (("envs", "many", "packages"), {"packages": many}, "packages", f"{handlers.MAX_SPECS}"),
    ]
    for path, body, field, limit in cases:
        code, reply = await call(jp_fetch, "POST", *path, body=body, ok=False)
        assert (code, reply.get("field")) == (400, field), reply
        assert limit in reply["message"], reply

    # The query of an uninstall too
    code, reply = await call(
        jp_fetch,
        "DELETE",
        "envs",
        "many",
        "packages",
        params=[("package", p) for p in many],
        ok=False,
    )
    assert (code, reply.get("field")) == (400, "package"), reply
    assert not list(Path(site_env["VSC_DATA"]).iterdir())


def _hold_lock(path: str) -> subprocess.Popen:
    """Another process holding an exclusive flock on ``path`` until it is killed."""
    holder = subprocess.Popen(["flock", "--exclusive", "--no-fork", path, "sleep", "120"])
    try:
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:  # wait until it holds it
            if os.path.exists(path):
                with open(path) as f:
                    try:
                        fcntl.flock(f, fcntl.LOCK_EX | fcntl.LOCK_NB)
                    except BlockingIOError:
                        return holder
            time.sleep(0.05)
        raise AssertionError(f"flock did not take {path}")
    except BaseException:
        holder.kill()
        holder.wait()
        raise


async def _timed_get(jp_fetch, *path: str) -> float:
    start = time.monotonic()
    response = await jp_fetch(*path, method="GET", raise_error=False)
    assert response.code == 200, response.body
    return time.monotonic() - start


async def test_a_held_lock_neither_freezes_the_server_nor_hangs_a_create(
    site_env, jp_fetch, jp_serverapp
):
    # Given another process holding the user's environments lock
    core = jp_serverapp.web_app.settings["hpc_envs"]
    os.makedirs(core.config.data_dir, mode=0o700, exist_ok=True)
    lock = os.path.join(core.config.data_dir, ".envs.lock")
    holder = _hold_lock(lock)
    try:
        # When a create waits for it
        body = {"name": "locked", "modules": [PYTHON, IPYTHON], "partition": "zen4"}
        start = time.monotonic()
        create = asyncio.ensure_future(call(jp_fetch, "POST", "envs", body=body, ok=False))
        await asyncio.sleep(1.0)

        # Then other requests are answered meanwhile, promptly
        assert not create.done()
        for path in (("hpc-envs", "api", "info"), ("api", "status"), ("hpc-envs", "api", "envs")):
            seconds = await _timed_get(jp_fetch, *path)
            assert seconds < 1.0, f"GET {'/'.join(path)} took {seconds:.1f} s behind the lock"
        # And the create answers within a bound: 409, saying which lock and what to do
        code, reply = await create
        elapsed = time.monotonic() - start
        assert code == 409, reply
        assert "Another operation holds the lock of your environments" in reply["message"]
        assert "try again" in reply["message"]
        assert elapsed < files.LOCK_WAIT_ASYNC + 5, f"create answered after {elapsed:.1f} s"
        assert not (Path(site_env["VSC_DATA"]) / "hpc-envs" / "locked").exists()
    finally:
        holder.kill()
        holder.wait()

    # When the lock is free again, the same create goes through
    code, reply = await call(jp_fetch, "POST", "envs", body=body, ok=False)
    assert code == 202, reply
    assert (await wait_task(jp_fetch, reply["task"]["id"]))["state"] == "succeeded"


async def test_an_environment_lock_held_elsewhere_is_a_bounded_409(site_env, jp_fetch):
    # Given an environment whose manifest lock another process holds
    code, reply = await call(
        jp_fetch, "POST", "envs", body={"name": "held", "modules": [PYTHON, IPYTHON]}
    )
    assert (await wait_task(jp_fetch, reply["task"]["id"]))["state"] == "succeeded"
    _, env = await call(jp_fetch, "GET", "envs", "held")
    holder = _hold_lock(os.path.join(env["home"], ".lock"))
    try:
        # When its kernels are registered again (a read-modify-write of the manifest)
        start = time.monotonic()
        code, reply = await call(
            jp_fetch, "POST", "envs", "held", "kernels", body={"partition": "zen4"}, ok=False
        )

        # Then the answer is a 409 after a short bounded wait, not a hang
        assert code == 409, reply
        assert "Another operation holds the lock of the environment held" in reply["message"]
        assert time.monotonic() - start < files.LOCK_WAIT + 2
    finally:
        holder.kill()
        holder.wait()


# --- item 10: malformed numbers are a 400 naming the field -------------------------------------


@pytest.fixture
def kernel(jp_serverapp) -> str:
    """A kernelspec of an HPC environment (what the resources dialog edits), written by hand."""
    core = jp_serverapp.web_app.settings["hpc_envs"]
    folder = Path(core.config.kernels_dir) / "hpcenv-numbers-zen4"
    folder.mkdir(parents=True)
    spec = {
        "argv": ["python", "-m", "ipykernel_launcher", "-f", "{connection_file}"],
        "display_name": "numbers (zen4)",
        "language": "python",
        "metadata": {"hpc_envs": {"name": "numbers", "partition": "zen4", "arch": "zen4"}},
    }
    (folder / "kernel.json").write_text(json.dumps(spec))
    return folder.name


HUGE = "9" * 5000  # over Python's 4300-digit limit of int(str)


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("cpus", HUGE),
        ("cpus", "²"),
        ("cpus", "-1"),
        ("cpus", 10**7),
        ("cpus", 2.5),
        ("gpus", HUGE),
        ("gpus", -1),
        ("time", HUGE),
        ("time", f"1-{HUGE}"),
        ("time", "²:00:00"),
        ("memory", HUGE + "G"),
        ("memory", "-4G"),
    ],
)
async def test_a_malformed_kernel_resource_number_is_a_400_naming_it(
    jp_fetch, kernel, field, value
):
    code, reply = await call(
        jp_fetch, "PUT", "kernels", kernel, "resources", body={field: value}, ok=False
    )
    assert (code, reply.get("field")) == (400, field), reply


async def test_a_number_json_cannot_hold_is_a_400_naming_the_body(jp_fetch, kernel):
    body = b'{"cpus": ' + HUGE.encode() + b"}"
    code, reply, _ = await _raw(jp_fetch, "PUT", "kernels", kernel, "resources", body=body)
    assert (code, reply.get("field")) == (400, "body"), reply


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({"offset": "-1"}, "offset"),
        ({"offset": HUGE}, "offset"),
        ({"offset": "9" * 30}, "offset"),
        ({"offset": "²"}, "offset"),
        ({"offset": "١٢"}, "offset"),
        ({"offset": "1e3"}, "offset"),
        ({"offset": "0", "wait": "2"}, "wait"),
        ({"offset": "0", "wait": HUGE}, "wait"),
    ],
)
async def test_a_malformed_log_offset_or_wait_is_a_400_naming_it(jp_fetch, params, field):
    code, reply, _ = await _raw(jp_fetch, "GET", "tasks", "0" * 32, "log", params=params)
    assert (code, reply.get("field")) == (400, field), reply
