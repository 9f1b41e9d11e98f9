"""Attacks on what we write and run, by another member of the VO (a real Unix user) or by hostile
values, and that they now fail to do harm: links planted where we write, a pid reused by another
process, a wheel planted in the server's working directory, credentials in channel URLs, hostile
manifests and scripts; and the per-user cap on concurrent builds."""

from __future__ import annotations

import asyncio
import itertools
import json
import os
import secrets
import socket
import stat
import subprocess
import sys
import types
import zipfile
from pathlib import Path

import pytest
from traitlets.config import Config

from jupyterlab_hpc_envs import errors, files, names, proc
from jupyterlab_hpc_envs.core import Core
from jupyterlab_hpc_envs.envs import conda, kernelspec, manifest, scripts
from jupyterlab_hpc_envs.envs.manifest import READY, Build, Manifest
from jupyterlab_hpc_envs.tasks import (
    CANCELLED,
    INTERRUPTED,
    PENDING,
    RUNNING,
    SUCCEEDED,
    TaskManager,
    TaskRecord,
)

from .helpers import call, task_log, wait_task
from .test_envs_rest import IPYTHON, PYTHON, our_kernels, tree

# --- a folder the VO shares, and what the attacker plants in it --------------------------------------


@pytest.fixture
def shared(vo) -> Path:
    """A folder where we write that the VO's members may write too (group-writable, setgid, as a
    VO folder is)."""
    folder = vo.folder / f"shared-{secrets.token_hex(4)}"
    folder.mkdir()
    os.chown(folder, 0, vo.gid)
    folder.chmod(0o2775)
    return folder


@pytest.fixture
def canary(vo) -> Path:
    """A file of root's that the attacker cannot write, but could make us write through a link."""
    path = vo.folder / f"canary-{secrets.token_hex(4)}"
    path.write_text("root's own\n")
    path.chmod(0o644)
    return path


@pytest.fixture
def loot(vo) -> Path:
    """A file of the attacker's, where she would like to find what we write."""
    path = vo.mallory.home / f"loot-{secrets.token_hex(4)}"
    vo.mallory.run(["sh", "-c", f"echo hers > {path} && chmod 666 {path}"])
    return path


def plant_link(vo, target: Path, at: Path) -> None:
    vo.mallory.run(["ln", "-s", str(target), str(at)])
    assert at.is_symlink()
    assert os.lstat(at).st_uid == vo.mallory.uid


def test_links_planted_at_the_old_temporary_names_redirect_nothing(vo, shared, canary, loot):
    target = shared / "hpc-env.json"
    # What the old code used: <path>.<pid>.tmp, predictable by anyone who sees our pid.
    plant_link(vo, canary, Path(f"{target}.{os.getpid()}.tmp"))
    plant_link(vo, loot, shared / f".hpc-env.json.{os.getpid()}.tmp")
    files.write_atomic(str(target), '{"ours": true}\n', 0o644)
    assert canary.read_text() == "root's own\n"
    assert loot.read_text() == "hers\n"
    info = os.lstat(target)
    assert stat.S_ISREG(info.st_mode)
    assert info.st_uid == 0
    assert stat.S_IMODE(info.st_mode) == 0o644
    assert json.loads(target.read_text()) == {"ours": True}
    pid = os.getpid()
    assert sorted(p.name for p in shared.iterdir()) == sorted(
        ["hpc-env.json", f"hpc-env.json.{pid}.tmp", f".hpc-env.json.{pid}.tmp"]
    ), "no temporary file of ours is left, the planted links are as they were"


def test_a_link_at_the_very_temporary_name_is_not_followed_and_the_write_says_why(
    vo, shared, canary, monkeypatch
):
    # The attacker guessed the name (here: we make it guessable) and planted a link there.
    monkeypatch.setattr(files.secrets, "token_hex", lambda n: "guessed")
    target = shared / "launch-zen4.sh"
    plant_link(vo, canary, shared / "launch-zen4.sh.guessed.tmp")
    with pytest.raises(files.UnsafePath, match="temporary names in a row were taken"):
        files.write_atomic(str(target), "echo ours\n", 0o755)
    assert canary.read_text() == "root's own\n"
    assert not target.exists()


def test_a_symlinked_folder_is_not_written_through(vo, shared, loot):
    folder = vo.mallory.home / f"trap-{secrets.token_hex(4)}"
    vo.mallory.run(["mkdir", "-m", "777", str(folder)])
    plant_link(vo, folder, shared / "env")
    with pytest.raises(files.UnsafePath, match="symbolic link"):
        files.write_atomic(str(shared / "env" / "hpc-env.json"), "{}", 0o644)
    assert list(folder.iterdir()) == []


def test_a_planted_lock_link_creates_nothing(vo, shared):
    where = vo.mallory.home / f"created-by-root-{secrets.token_hex(4)}"
    plant_link(vo, where, shared / ".lock")
    with (
        pytest.raises(files.UnsafePath, match="lock file is a symbolic link"),
        files.locked(str(shared / ".lock")),
    ):
        pass
    assert not where.exists()


def a_task_log(core: Core) -> types.SimpleNamespace:
    task = types.SimpleNamespace(id=secrets.token_hex(16))
    Path(core.tasks.log_path(task.id)).write_text("==> the build's log\n")
    return task


@pytest.mark.parametrize("how", ["link", "her folder"])
def test_a_planted_logs_folder_gets_no_build_log(vo, shared, core, how):
    folder = vo.mallory.home / f"logs-{secrets.token_hex(4)}"
    vo.mallory.run(["mkdir", "-m", "777", str(folder)])
    if how == "link":
        plant_link(vo, folder, shared / "logs")
    else:
        vo.mallory.run(["mkdir", "-m", "777", str(shared / "logs")])
        folder = shared / "logs"
    core.envs._keep_log(a_task_log(core), str(shared), "zen4")
    assert list(folder.iterdir()) == [], "nothing of ours went into her folder"
    with pytest.raises(files.UnsafePath):
        files.private_dir(str(shared / "logs"))


def test_build_logs_kept_beside_the_environment_are_private_whatever_the_umask(core, tmp_path):
    home = tmp_path / "data" / "hpc-envs" / "science"
    home.mkdir(parents=True)
    old = os.umask(0)
    try:
        path = core.envs._keep_log(a_task_log(core), str(home), "zen4")
    finally:
        os.umask(old)
    assert Path(path).read_text() == "==> the build's log\n"
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o600
    assert stat.S_IMODE(os.stat(home / "logs").st_mode) == 0o700


def test_kernelspecs_in_a_shared_kernels_folder_are_not_redirected(vo, shared, loot):
    name = "hpcenv-science-zen4"
    trap = vo.mallory.home / f"spec-{secrets.token_hex(4)}"
    vo.mallory.run(["mkdir", "-m", "777", str(trap)])
    plant_link(vo, trap, shared / f".{name}.tmp-{os.getpid()}")
    plant_link(vo, loot, shared / f".{name}.old-{os.getpid()}")
    for _ in range(2):  # a first write, then a replacement (the old one moved aside)
        kernelspec.write(str(shared), name, {"argv": ["true"], "display_name": "science"})
    assert list(trap.iterdir()) == []
    assert loot.read_text() == "hers\n"
    spec = shared / name / "kernel.json"
    assert not spec.is_symlink()
    assert os.stat(spec).st_uid == 0
    assert json.loads(spec.read_text())["display_name"] == "science"


# --- task recovery kills only its own process groups ---------------------------------------------


def _dead_pid() -> int:
    child = subprocess.Popen(["true"])
    child.wait()
    return child.pid


def _stale_record(tasks: TaskManager, pid: int, started: str) -> TaskRecord:
    record = TaskRecord(
        id=secrets.token_hex(16),
        kind="build",
        title="Create science on zen4",
        state=RUNNING,
        server_pid=_dead_pid(),
        host=socket.gethostname(),
        pids=[pid],
        pid_starts={str(pid): started},
    )
    tasks.save(record)
    Path(tasks.log_path(record.id)).write_text("")
    return record


async def test_recovery_leaves_alone_a_process_that_now_has_the_recorded_pid(tmp_path):
    tasks = TaskManager(str(tmp_path))
    # An unrelated process, leader of its own group, that got the pid a dead server recorded.
    other = await asyncio.create_subprocess_exec("sleep", "300", start_new_session=True)
    try:
        record = _stale_record(tasks, other.pid, started="12345")  # not its start time
        recovered = await tasks.recover()
        assert [r.id for r in recovered] == [record.id]
        assert tasks.load(record.id).state == INTERRUPTED
        await asyncio.sleep(0.2)
        assert other.returncode is None, "the unrelated process was killed"
        # The same record with the process's own start time: it is our orphan, and it goes.
        record = _stale_record(tasks, other.pid, started=proc.process_start(other.pid))
        await tasks.recover()
        assert await asyncio.wait_for(other.wait(), 10) == -9
    finally:
        if other.returncode is None:
            other.kill()
            await other.wait()


async def test_a_task_records_the_start_time_of_each_child_it_runs(tmp_path):
    tasks = TaskManager(str(tmp_path))
    seen: list[dict] = []

    async def runner(task):
        def on_line(line: str) -> None:
            record = json.loads(Path(tasks.record_path(task.id)).read_text())
            seen.append(record)

        await task.run(["sh", "-c", "echo started; sleep 0.2"], on_line=on_line)
        return {}

    record = tasks.start("build", "t", runner)
    await tasks.wait(record.id)
    (pid,) = seen[0]["pids"]
    assert seen[0]["pid_starts"][str(pid)].isdigit()
    assert json.loads(Path(tasks.record_path(record.id)).read_text())["pid_starts"] == {}


# --- a per-user cap on concurrent builds ------------------------------------------------------------


async def test_tasks_over_the_cap_wait_in_order_and_a_waiting_one_can_be_cancelled(tmp_path):
    tasks = TaskManager(str(tmp_path))
    release = asyncio.Event()
    ran: list[str] = []

    def runner(title: str):
        async def run(task):
            async with tasks.slot(task, "build", 1):
                ran.append(title)
                if title == "first":
                    await release.wait()
            return {}

        return run

    first, second, third = (
        tasks.start("build", t, runner(t)) for t in ("first", "second", "third")
    )
    await asyncio.sleep(0.1)
    assert tasks.load(first.id).state == RUNNING
    assert (tasks.load(second.id).state, tasks.load(second.id).message) == (
        PENDING,
        "Waiting for 1 build to finish (at most 1 at a time).",
    )
    assert tasks.load(third.id).step == "waiting for 2 builds to finish (at most 1 at a time)"
    assert "==> waiting for 2 builds to finish" in tasks.read_log(third.id)[0]

    await tasks.cancel(second.id)
    await tasks.wait(second.id, timeout=10)
    assert tasks.load(second.id).state == CANCELLED
    assert tasks.load(third.id).step == "waiting for 1 build to finish (at most 1 at a time)"

    release.set()
    await tasks.wait(third.id, timeout=10)
    assert ran == ["first", "third"]
    assert [tasks.load(t.id).state for t in (first, third)] == [SUCCEEDED, SUCCEEDED]
    assert tasks.load(third.id).started >= tasks.load(first.id).finished


@pytest.fixture
def jp_server_config(jp_server_config):
    jp_server_config["HpcEnvs"] = Config({"max_concurrent_builds": 1, "upgrade_pip": False})
    return jp_server_config


async def test_with_a_cap_of_one_three_creations_build_one_at_a_time_and_a_fourth_cancelled_waiting(
    site_env, jp_fetch
):
    ids = []
    for name in ("one", "two", "three"):
        code, data = await call(
            jp_fetch,
            "POST",
            "envs",
            body={"name": name, "modules": [PYTHON, IPYTHON], "partition": "zen4"},
        )
        assert code == 202, data
        ids.append(data["task"]["id"])
    # A fourth, cancelled while it waits: it ends at once, its build failed, nothing registered.
    body = {"name": "four", "modules": [PYTHON, IPYTHON], "partition": "zen4"}
    code, data = await call(jp_fetch, "POST", "envs", body=body)
    assert code == 202, data
    fourth = data["task"]["id"]
    _, record = await call(jp_fetch, "GET", "tasks", fourth)
    assert record["state"] == "pending", record
    assert record["message"] == "Waiting for 3 builds to finish (at most 1 at a time).", record
    await call(jp_fetch, "DELETE", "tasks", fourth)
    record = await wait_task(jp_fetch, fourth, timeout=30)
    assert record["state"] == "cancelled", record
    _, env = await call(jp_fetch, "GET", "envs", "four")
    assert env["builds"]["zen4"]["state"] == "failed"
    waiting_seen: set[str] = set()
    while True:
        records = [(await call(jp_fetch, "GET", "tasks", i))[1] for i in ids]
        assert sum(r["state"] == "running" for r in records) <= 1, records
        for r in records:
            if r["state"] == "pending" and r["message"].startswith("Waiting for"):
                waiting_seen.add(r["id"])
        if all(r["state"] not in ("pending", "running") for r in records):
            break
        await asyncio.sleep(0.2)
    assert waiting_seen == set(ids[1:]), "the second and third said they were waiting"
    records = [await wait_task(jp_fetch, i) for i in ids]
    assert [r["state"] for r in records] == ["succeeded"] * 3, records
    spans = sorted((r["started"], r["finished"]) for r in records)
    assert all(a[1] <= b[0] for a, b in itertools.pairwise(spans)), spans
    assert "==> waiting for 2 builds to finish" in await task_log(jp_fetch, ids[2])
    assert set(our_kernels()) == {f"hpcenv-{n}-zen4" for n in ("one", "two", "three")}


# --- pip specs that name files, and where pip runs ------------------------------------------------


def make_wheel(folder: Path) -> Path:
    path = folder / "evilpkg-1.0-py3-none-any.whl"
    with zipfile.ZipFile(path, "w") as whl:
        whl.writestr("evilpkg/__init__.py", "PWNED = True\n")
        info = "evilpkg-1.0.dist-info"
        whl.writestr(f"{info}/METADATA", "Metadata-Version: 2.1\nName: evilpkg\nVersion: 1.0\n")
        whl.writestr(
            f"{info}/WHEEL",
            "Wheel-Version: 1.0\nGenerator: test\nRoot-Is-Purelib: true\nTag: py3-none-any\n",
        )
        whl.writestr(f"{info}/RECORD", "")
    return path


@pytest.mark.parametrize(
    "spec",
    ["evilpkg-1.0-py3-none-any.whl", "x.tar.gz", "./x.zip", "x.ZIP", "../pkg", "dir/x.whl", "~/x"],
)
def test_archive_and_path_specs_are_refused_saying_what_to_give(spec):
    with pytest.raises(errors.InvalidInput, match=r"archive file|file path") as err:
        names.package_spec(spec)
    assert err.value.field == "packages"
    assert "package's name and version" in err.value.message


@pytest.mark.parametrize("spec", ["numpy-1.26.4-py311h0.tar.bz2", "numpy-1.26.4-0.conda"])
def test_conda_specs_naming_package_files_are_refused(spec):
    with pytest.raises(errors.InvalidInput, match="package file") as err:
        conda.conda_spec(spec)
    assert err.value.field == "packages"


async def test_a_wheel_planted_in_the_server_working_directory_is_not_installed(
    site_env, jp_fetch, tmp_path, monkeypatch
):
    cwd = tmp_path / "server-cwd"
    cwd.mkdir()
    wheel = make_wheel(cwd)
    monkeypatch.chdir(cwd)  # the server's (this process's) working directory
    code, data = await call(
        jp_fetch,
        "POST",
        "envs",
        body={
            "name": "safe",
            "modules": [PYTHON, IPYTHON],
            "partition": "zen4",
            "packages": [wheel.name],
        },
        ok=False,
    )
    assert (code, data.get("field")) == (400, "packages"), data
    assert tree(site_env["VSC_DATA"]) in ([], ["hpc-envs"])

    # And pip, given that name anyway, does not find the file: it runs in a private folder.
    tasks = TaskManager(str(tmp_path / "state"))
    target = tmp_path / "target"
    argv = [
        sys.executable,
        "-m",
        "pip",
        "install",
        "--no-index",
        "--no-deps",
        "--target",
        str(target),
        wheel.name,
    ]

    async def runner(task):
        return {"code": await task.run(argv)}

    record = tasks.start("install", "install", runner)
    await tasks.wait(record.id)
    assert tasks.load(record.id).result["code"] != 0
    assert not (target / "evilpkg").exists()
    # The same command in the planted folder installs it: the test above can fail.
    code, out, err = await proc.run(argv, timeout=120, cwd=str(cwd))
    assert code == 0, out + err
    assert (target / "evilpkg" / "__init__.py").exists()


async def test_children_run_in_a_private_empty_folder_not_the_server_cwd():
    code, out, _ = await proc.run(["pwd"])
    folder = out.strip()
    assert code == 0
    assert folder != os.getcwd()
    info = os.stat(folder)
    assert info.st_uid == os.geteuid()
    assert stat.S_IMODE(info.st_mode) == 0o700
    assert os.listdir(folder) == []


# --- channel URLs with credentials --------------------------------------------------------------------


@pytest.mark.parametrize(
    ("url", "what"),
    [
        ("https://user:secret@conda.example.org/private", "user name or password"),
        ("https://secret@conda.example.org/private", "user name or password"),
        ("https://conda.anaconda.org/t/ab-12c34/private", "token"),
        ("https://conda.example.org/private?token=secret", "query"),
    ],
)
def test_channel_urls_with_credentials_are_refused_saying_how_to_authenticate(url, what):
    with pytest.raises(errors.InvalidInput) as err:
        conda.channel(url)
    assert err.value.field == "channels"
    assert what in err.value.message
    assert ".condarc" in err.value.message
    assert "auth login" in err.value.message
    assert "secret" not in err.value.message
    assert "ab-12c34" not in err.value.message


@pytest.mark.parametrize(
    "url", ["https://conda.anaconda.org/conda-forge", "conda-forge/label/dev", "https://h/t/"]
)
def test_channel_urls_without_credentials_are_kept(url):
    assert conda.channel(url) == url.rstrip("/")


async def test_a_channel_with_credentials_answers_400_on_channels(site_env, jp_fetch):
    code, data = await call(
        jp_fetch,
        "POST",
        "envs",
        body={"name": "private", "kind": "conda", "channels": ["https://u:secret@h.example/c"]},
        ok=False,
    )
    assert (code, data.get("field")) == (400, "channels"), data
    assert "secret" not in json.dumps(data)
    assert tree(site_env["VSC_DATA"]) in ([], ["hpc-envs"])


# --- manifests are input: validated when read ---------------------------------------------------------

INJECTED = "x\ntouch /tmp/hpc-envs-pwned-by-manifest"


def _valid(home: Path) -> dict:
    env = Manifest(
        name="science", kind="venv", modules=[PYTHON], packages=["numpy"], home=str(home)
    )
    env.builds["zen4"] = Build(
        arch="zen4", path=str(home / "venv-zen4"), state=READY, partitions=["zen4"], python="3.11.7"
    )
    return env.to_json()


def _set(data: dict, where: str, value) -> None:
    if where == "builds":  # the arch as the key of the build
        data["builds"] = {value: {**data["builds"]["zen4"], "arch": value}}
        return
    *path, last = where.split(".")
    for key in path:
        data = data[key]
    data[last] = value


@pytest.mark.parametrize(
    ("where", "value", "field"),
    [
        ("name", INJECTED, "name"),
        ("modules", [PYTHON, INJECTED], "modules"),
        ("packages", [INJECTED], "packages"),
        ("packages", ["evilpkg-1.0-py3-none-any.whl"], "packages"),
        ("kind", "bash", "kind"),
        ("builds", INJECTED, "builds.x\ntouch"),
        ("builds.zen4.arch", INJECTED, "builds.zen4"),
        ("builds.zen4.path", f"/venv{INJECTED}", "builds.zen4.path"),
        ("builds.zen4.path", "relative/venv", "builds.zen4.path"),
        ("builds.zen4.python", INJECTED, "builds.zen4.python"),
        ("builds.zen4.partitions", ["zen4; id"], "builds.zen4.partitions"),
        ("builds.zen4.adopted", "yes", "builds.zen4.adopted"),
        ("options.pip_options", ["--index-url=https://evil"], "options.pip_options"),
        ("options.system_site_packages", "true", "options.system_site_packages"),
    ],
)
def test_a_manifest_with_a_hostile_value_is_refused_on_read_naming_the_field(
    tmp_path, where, value, field
):
    data = _valid(tmp_path)
    _set(data, where, value)
    (tmp_path / "hpc-env.json").write_text(json.dumps(data))
    with pytest.raises(errors.Conflict, match="is refused, field") as err:
        manifest.read(str(tmp_path))
    assert err.value.field.startswith(field)


def test_a_conda_manifest_with_a_hostile_engine_or_channel_is_refused(tmp_path):
    for where, value in (
        ("options.engine", {"kind": "conda", "executable": f"/opt/conda{INJECTED}"}),
        ("options.engine", {"kind": "sh", "executable": "/bin/sh"}),
        ("options.channels", ["https://u:p@h/c"]),
        ("packages", ["numpy\nrm"]),
    ):
        data = _valid(tmp_path)
        data.update(kind="conda", modules=[], packages=["numpy"])
        data["options"] = {"engine": {"kind": "rattler", "executable": sys.executable}}
        _set(data, where, value)
        (tmp_path / "hpc-env.json").write_text(json.dumps(data))
        with pytest.raises(errors.Conflict, match="is refused"):
            manifest.read(str(tmp_path))


def test_a_valid_manifest_reads_back_unchanged(tmp_path):
    data = _valid(tmp_path)
    (tmp_path / "hpc-env.json").write_text(json.dumps(data))
    assert manifest.read(str(tmp_path)).to_json() == data


# --- no value reaches a script unquoted, comments included --------------------------------------------

CTX = scripts.ScriptContext(module_kind="none", module_init="", arch_variable="HPC_TEST_ARCH")


def hostile(canary: Path) -> list[str]:
    return [
        f"x\ntouch {canary}\n#",
        f"x\rtouch {canary}",
        f"$(touch {canary})",
        f"`touch {canary}`",
        f"x'; touch {canary}; '",
    ]


def _run(path: Path, *args: str, env: dict | None = None) -> subprocess.CompletedProcess:
    environ = {k: v for k, v in os.environ.items() if k != "HPC_TEST_ARCH"}
    return subprocess.run(
        ["bash", str(path), *args],
        capture_output=True,
        text=True,
        env={**environ, **(env or {})},
        timeout=60,
    )


def test_hostile_values_in_every_slot_of_the_scripts_are_quoted_comments_included(tmp_path):
    canary = tmp_path / "pwned"
    for i, value in enumerate(hostile(canary)):
        texts = {
            "launch": scripts.launch_script(
                CTX,
                name=value,
                kind=value,
                arch=value,
                prefix=f"/nowhere/{value}",
                launch=f"/nowhere/{value}/launch.sh",
                modules=[value, value + "2"],
            ),
            "conda-launch": scripts.conda_launch_script(
                CTX,
                name=value,
                arch=value,
                prefix=f"/nowhere/{value}",
                launch=value,
                engine=f"conda {value}",
                engine_exe=value,
                activation_file=value,
                activation="  return 1",
            ),
            "build": scripts.build_script(
                CTX,
                name=value,
                arch=value,
                prefix=f"/nowhere/{value}",
                launch=value,
                modules=[value],
                packages=[value],
            ),
            "conda-build": scripts.conda_build_script(
                CTX,
                name=value,
                arch=value,
                prefix=f"/nowhere/{value}",
                launch=value,
                engine=value,
                create=["echo", value],
                activation=None,
                pip_packages=[value],
            ),
        }
        for what, text in texts.items():
            path = tmp_path / f"{what}-{i}.sh"
            path.write_text(text)
            assert subprocess.run(["bash", "-n", str(path)]).returncode == 0, what
            for line in text.split("\n"):  # bash's lines: \r does not end one
                if line.startswith("#"):
                    assert "\r" not in line, (what, line)
            if what.endswith("launch"):
                result = _run(path, "true")
                assert result.returncode != 0  # the prefix does not exist
                sourced = subprocess.run(
                    ["bash", "-c", f"source {path}; true"], capture_output=True
                )
                assert sourced.returncode == 0
            else:
                # Stopped at its first step (a node of another arch): the header ran through.
                result = _run(path, env={"HPC_TEST_ARCH": "elsewhere"})
                assert "::hpc-envs::fail this node is elsewhere" in result.stdout, result
            assert not canary.exists(), (what, value)
