"""Ownership of environments, with real Unix users (see users.py): nothing another member of the VO
plants or swaps in is read or run, names match exactly, ``remove`` never leaves the environment's
folder, and an environment shared with the VO is used, not changed, by the other members.

The test runner (root) stands for the owner; ``hpcenvs-mallory`` attacks from the same VO group;
``hpcenvs-bob`` is a colleague. ``$VSC_DATA_VO`` is a folder as a site makes a VO's: owned by root,
group ``hpcenvs-vo``, mode 2770 (every member may add and rename entries in it).
"""

from __future__ import annotations

import json
import os
import stat
import subprocess
import sys
import uuid
from pathlib import Path

import pytest

from jupyterlab_hpc_envs import cli
from jupyterlab_hpc_envs.envs import storage

from .helpers import call, run_code
from .test_cli import hpc
from .test_envs_rest import PYTHON
from .users import VO, User

REPO = Path(__file__).resolve().parents[2]


@pytest.fixture
def vo_root(site_env, vo: VO, monkeypatch) -> Path:
    """``$VSC_DATA_VO``: root's, group hpcenvs-vo, 2770, in a folder the members can reach."""
    folder = vo.folder / f"vo-{uuid.uuid4().hex[:8]}"
    folder.mkdir()
    os.chown(folder, 0, vo.gid)
    folder.chmod(0o2770)
    monkeypatch.setenv("VSC_DATA_VO", str(folder))
    return folder


def plant(home: Path, body: str, arch: str = "zen4") -> None:
    """An environment made by hand: a manifest with a ready build and a launch script ``body``."""
    home.mkdir(mode=0o755)
    (home / f"venv-{arch}").mkdir()
    manifest = {
        "format": 1,
        "name": home.name,
        "kind": "venv",
        "modules": [],
        "builds": {
            arch: {"arch": arch, "path": str(home / f"venv-{arch}"), "state": "ready"},
        },
    }
    (home / "hpc-env.json").write_text(json.dumps(manifest))
    launch = home / f"launch-{arch}.sh"
    launch.write_text(f"#!/bin/bash\n{body}\n")
    launch.chmod(0o755)


def canary_script(canary: Path) -> str:
    return f'touch {canary}; exec "$@"'


# --- (a) the folder swap ------------------------------------------------------------------------


async def test_a_swapped_or_planted_environment_is_never_run(vo_root, vo, monkeypatch):
    # root's environment shared in the VO folder, made as the code makes it (setgid, sticky).
    storage.make_envs_folder(str(vo_root), shared=True)
    envs = vo_root / "hpc-envs"
    assert stat.S_IMODE(envs.stat().st_mode) == 0o3775
    plant(envs / "teamenv", 'exec "$@"')
    code, out, err = await hpc("register", "teamenv", "-p", "zen4")
    assert code == 0, out + err

    # Inside the sticky hpc-envs, mallory cannot rename root's environment away...
    moved = vo.mallory.run(["mv", str(envs / "teamenv"), str(envs / "x")], check=False)
    assert moved.returncode != 0
    assert "ermitted" in moved.stderr
    # ...but the VO folder itself is group-writable: she swaps the whole hpc-envs folder and plants
    # an environment of the same name whose launch script would run as whoever starts it.
    canary = vo.folder / f"canary-{uuid.uuid4().hex[:8]}"
    attack = (
        f"set -e; cd {vo_root}; mv hpc-envs old; mkdir -m 3775 hpc-envs; "
        f"mkdir -m 755 hpc-envs/teamenv hpc-envs/teamenv/venv-zen4; "
        f"cp old/teamenv/hpc-env.json hpc-envs/teamenv/; "
        f"printf '#!/bin/bash\\ntouch {canary}; exec \"$@\"\\n' > hpc-envs/teamenv/launch-zen4.sh; "
        f"chmod 755 hpc-envs/teamenv/launch-zen4.sh; chmod 644 hpc-envs/teamenv/hpc-env.json"
    )
    vo.mallory.run(["bash", "-c", attack], env={"HOME": str(vo.mallory.home)})

    with pytest.raises(Exception, match="owned by hpcenvs-mallory") as raised:
        await run_code("hpcenv-teamenv-zen4", "print(1)", timeout=60)
    assert "was not started" in str(raised.value)
    for args in (["activate", "teamenv"], ["packages", "teamenv"]):
        code, out, err = await hpc(*args)
        assert code == cli.EXIT_CONFLICT, out + err
        assert "owned by hpcenvs-mallory" in err
        assert "source" not in out
    code, out, _ = await hpc("list", "--json")
    (listed,) = [e for e in json.loads(out) if e["name"] == "teamenv"]
    assert "owned by hpcenvs-mallory" in listed["refused"]
    code, out, _ = await hpc("list")
    assert "REFUSED" in out
    assert "owned by hpcenvs-mallory" in out
    code, out, _ = await hpc("doctor")
    assert code == 1
    assert "Kernel hpcenv-teamenv-zen4 would start a refused environment" in out
    assert not canary.exists(), "nothing of mallory's was run"

    # A storage root of one's own that others may write to is refused as a whole.
    open_root = vo.folder / f"open-{uuid.uuid4().hex[:8]}"
    open_root.mkdir()
    os.chown(open_root, 0, vo.gid)
    open_root.chmod(0o2770)
    (open_root / "hpc-envs").mkdir(mode=0o755)
    plant(open_root / "hpc-envs" / "mine", canary_script(canary))
    monkeypatch.setenv("VSC_SCRATCH", str(open_root))
    code, out, err = await hpc("activate", "mine")
    assert code == cli.EXIT_CONFLICT, out + err
    assert "group-writable" in err
    assert not canary.exists()


async def test_a_file_another_user_left_in_an_environment_is_never_run(vo_root, vo):
    # root's shared environment was group-writable for a while: mallory left the activation
    # file its launch script sources; the folder is fixed, her file stays.
    storage.make_envs_folder(str(vo_root), shared=True)
    home = vo_root / "hpc-envs" / "leaky"
    canary = vo.folder / f"canary-{uuid.uuid4().hex[:8]}"
    plant(home, 'source "$(dirname "$0")/activate-zen4.sh"; exec "$@"')
    home.chmod(0o2775)
    vo.mallory.run(["bash", "-c", f"echo 'touch {canary}' > {home}/activate-zen4.sh"])
    home.chmod(0o2755)

    code, out, err = await hpc("activate", "leaky")
    assert code == cli.EXIT_CONFLICT, out + err
    assert "activate-zen4.sh is owned by hpcenvs-mallory" in err
    code, out, err = await hpc("packages", "leaky")
    assert code == cli.EXIT_CONFLICT, out + err
    assert not canary.exists()


# --- (b) the shadowing name ---------------------------------------------------------------------


async def test_names_match_exactly_and_an_ambiguous_name_is_refused(vo_root, vo, site_env):
    data = site_env["VSC_DATA"]
    (data / "hpc-envs").mkdir()
    plant(data / "hpc-envs" / "m1", "exec true")
    storage.make_envs_folder(str(vo_root), shared=True)
    # mallory shares environments named like root's: M1 and m1 itself, in the VO folder.
    for name in ("M1", "m1"):
        home = vo_root / "hpc-envs" / name
        vo.mallory.run(
            [
                "bash",
                "-c",
                f'mkdir -m 755 {home} && printf \'%s\' \'{{"name": "{name}", "kind": "venv"}}\' '
                f"> {home}/hpc-env.json && chmod 644 {home}/hpc-env.json",
            ]
        )
    mine = str(data / "hpc-envs" / "m1")
    code, out, err = await hpc("activate", "m1")
    assert code == 0, out + err
    assert out.strip() == f"source {mine}/launch-zen4.sh", "root's own m1, not mallory's"
    code, out, _ = await hpc("list")
    assert "M1" in out
    assert "(shared by hpcenvs-mallory)" in out

    # The same name twice among root's own: refused, naming both places.
    scratch = site_env["VSC_SCRATCH"]
    (scratch / "hpc-envs").mkdir()
    plant(scratch / "hpc-envs" / "m1", "exec true")
    code, out, err = await hpc("activate", "m1")
    assert code == cli.EXIT_CONFLICT, out + err
    assert "ambiguous" in err
    assert mine in err
    assert str(scratch / "hpc-envs" / "m1") in err


# --- (c) the symlinked removal ------------------------------------------------------------------


async def test_remove_refuses_a_symlinked_folder_and_never_deletes_outside(site_env, tmp_path):
    precious = tmp_path / "precious"
    precious.mkdir()
    (precious / "canary").write_text("keep me")
    envs = site_env["VSC_DATA"] / "hpc-envs"
    envs.mkdir()
    plant(envs / "gone", "exec true")
    plant(precious / "gone", "exec true")  # looks like an environment, but is not in a root
    os.rename(envs / "gone", tmp_path / "moved")
    (envs / "gone").symlink_to(precious / "gone")
    code, out, err = await hpc("remove", "gone", "--yes")
    assert code == cli.EXIT_CONFLICT, out + err
    assert "symbolic link" in err
    assert (precious / "canary").read_text() == "keep me"
    assert (precious / "gone" / "hpc-env.json").exists()

    # A build folder replaced by a link: the link goes, never what it points to.
    (envs / "gone").unlink()
    os.rename(tmp_path / "moved", envs / "gone")
    os.rmdir(envs / "gone" / "venv-zen4")
    (envs / "gone" / "venv-zen4").symlink_to(precious)
    code, out, err = await hpc("remove", "gone", "--yes")
    assert code == 0, out + err
    assert not (envs / "gone").exists()
    assert (precious / "canary").read_text() == "keep me"


# --- (d) a shared environment -------------------------------------------------------------------


def _member_env(user: User, demo_env: dict[str, str], vo_root: Path) -> dict[str, str]:
    """The demo site's environment for ``user``: their home and folders, the VO folder."""
    env = {k: v for k, v in demo_env.items() if not k.startswith("JUPYTER")}
    data = user.home / "data"
    env.update(
        HOME=str(user.home),
        USER=user.name,
        LOGNAME=user.name,
        VSC_DATA=str(data),
        VSC_SCRATCH=str(data),
        VSC_DATA_VO=str(vo_root),
        PATH=f"{Path(sys.executable).parent}:{demo_env['PATH']}",
    )
    return env


def as_member(
    user: User, vo: VO, cmd: list[str], env: dict[str, str]
) -> subprocess.CompletedProcess:
    """``cmd`` as ``user``. The interpreters live under root's private home folder: the command
    runs in a mount namespace of its own where ``/root`` holds only them (the machine's ``/root``
    is left as it is)."""
    # The interpreters' root (pyenv's: <root>/versions/X.Y.Z/bin/python), under root's home.
    pyenv = str(Path(os.path.realpath(sys.executable)).parents[3])
    assert os.path.dirname(pyenv) == "/root", f"expected the interpreters under /root: {pyenv}"
    hold = vo.folder / f"mnt-{uuid.uuid4().hex[:8]}"
    hold.mkdir()
    inner = " ".join(
        [
            f"mount --bind {pyenv} {hold} && mount -t tmpfs -o mode=0755 tmpfs /root &&",
            f"mkdir {pyenv} && mount --bind {hold} {pyenv} &&",
            'exec "$@"',
        ]
    )
    setpriv = user.argv("env", *(f"{k}={v}" for k, v in env.items()), *cmd)
    argv = ["unshare", "--mount", "--propagation", "private", "sh", "-c", inner, "sh", *setpriv]
    try:
        return subprocess.run(argv, capture_output=True, text=True, timeout=300, cwd=str(user.home))
    finally:
        hold.rmdir()


def test_a_member_does_not_start_the_shared_folder_others_would_refuse(vo_root, vo, demo_site):
    env = _member_env(vo.bob, demo_site.env, vo_root)
    proc = as_member(
        vo.bob, vo, ["jupyter", "hpc-envs", "create", "x", "--shared", "-m", PYTHON], env
    )
    assert proc.returncode == cli.EXIT_INPUT, proc.stdout + proc.stderr
    assert f"mkdir -m 3775 {vo_root}/hpc-envs" in proc.stderr
    assert not (vo_root / "hpc-envs").exists()


KERNEL_CODE = """
import sys
from jupyter_client.manager import start_new_kernel
km, kc = start_new_kernel(kernel_name=sys.argv[1], startup_timeout=120)
out = []
def hook(msg):
    if msg["msg_type"] == "stream":
        out.append(msg["content"]["text"])
    elif msg["msg_type"] == "error":
        out.append("\\n".join(msg["content"]["traceback"]))
try:
    kc.execute_interactive("import os, sys, icecream; print(os.getuid(), sys.prefix)",
                           output_hook=hook, timeout=120)
finally:
    kc.stop_channels()
    km.shutdown_kernel(now=True)
print("".join(out))
"""


async def test_a_shared_environment_is_used_by_a_member_who_cannot_change_it(
    vo_root, vo, demo_site, site_env
):
    # root (the owner) shares an environment; a private umask does not keep the VO out.
    code, out, err = await hpc(
        "create",
        "teamenv",
        "--shared",
        "-m",
        PYTHON,
        "--package",
        "icecream",
        "-p",
        "zen4",
        umask=0o077,
    )
    assert code == 0, out + err
    home = vo_root / "hpc-envs" / "teamenv"
    modes = {p.name: stat.S_IMODE(p.stat().st_mode) for p in (home.parent, home)}
    assert modes == {"hpc-envs": 0o3775, "teamenv": 0o2755}
    assert home.stat().st_gid == vo.gid
    assert stat.S_IMODE((home / "hpc-env.json").stat().st_mode) == 0o644
    assert stat.S_IMODE((home / "launch-zen4.sh").stat().st_mode) == 0o755
    assert stat.S_IMODE((home / "logs").stat().st_mode) == 0o700, "the build logs stay private"
    code, out, _ = await hpc("list", "--json")
    (mine,) = json.loads(out)
    assert (mine["shared"], mine["mine"], mine["owner"]) == (True, True, "root")

    bob = vo.bob
    env = _member_env(bob, demo_site.env, vo_root)
    as_member(bob, vo, ["mkdir", "-p", env["VSC_DATA"]], env)

    def jupyter(*args: str) -> subprocess.CompletedProcess:
        return as_member(bob, vo, ["jupyter", "hpc-envs", *args], env)

    listed = jupyter("list", "--json")
    assert listed.returncode == 0, listed.stdout + listed.stderr
    (seen,) = json.loads(listed.stdout)
    assert (seen["name"], seen["shared"], seen["mine"], seen["owner"]) == (
        "teamenv",
        True,
        False,
        "root",
    )
    assert "(shared by root)" in jupyter("list").stdout

    registered = jupyter("register", "teamenv", "-p", "zen4")
    assert registered.returncode == 0, registered.stdout + registered.stderr
    assert (bob.home / ".local/share/jupyter/kernels/hpcenv-teamenv-zen4/kernel.json").exists()
    ran = as_member(bob, vo, ["python", "-c", KERNEL_CODE, "hpcenv-teamenv-zen4"], env)
    assert ran.returncode == 0, ran.stdout + ran.stderr
    uid, prefix = ran.stdout.split()[-2:]
    assert (int(uid), prefix) == (bob.uid, str(home / "venv-zen4")), "bob's kernel, root's venv"

    activated = jupyter("activate", "teamenv")
    assert activated.returncode == 0, activated.stderr
    shell = as_member(
        bob,
        vo,
        ["bash", "-c", activated.stdout + 'python -c "import icecream, sys; print(sys.prefix)"'],
        env,
    )
    assert shell.stdout.strip() == str(home / "venv-zen4"), shell.stderr
    packages = jupyter("packages", "teamenv", "--json")
    assert packages.returncode == 0, packages.stderr
    assert "icecream" in {r["key"] for r in json.loads(packages.stdout)["packages"]}

    for args in (
        ["install", "teamenv", "six"],
        ["uninstall", "teamenv", "icecream", "--yes"],
        ["rebuild", "teamenv", "-p", "zen4", "--force"],
        ["remove", "teamenv", "--yes"],
    ):
        refused = jupyter(*args)
        assert refused.returncode == cli.EXIT_CONFLICT, (args, refused.stdout, refused.stderr)
        assert "shared by root: only root can change it" in refused.stderr, args
    raw = as_member(bob, vo, ["touch", str(home / "planted"), str(home / "venv-zen4/planted")], env)
    assert raw.returncode != 0
    assert "Permission denied" in raw.stderr
    assert not (home / "planted").exists()
    assert not (home / "venv-zen4/planted").exists()
    assert (home / "hpc-env.json").exists()

    # What bob may remove is his own kernel of it, nothing of root's.
    unregistered = jupyter("remove", "teamenv", "-p", "zen4", "--yes")
    assert unregistered.returncode == 0, unregistered.stdout + unregistered.stderr
    assert not (bob.home / ".local/share/jupyter/kernels/hpcenv-teamenv-zen4").exists()
    assert (home / "launch-zen4.sh").exists()
    assert (home / "venv-zen4").is_dir()

    code, out, err = await hpc("remove", "teamenv", "--yes")
    assert code == 0, out + err


# --- the same over REST -------------------------------------------------------------------------


async def test_rest_shows_owners_and_refusals_and_refuses_changes_of_anothers_environment(
    vo_root, vo, site_env, jp_fetch
):
    storage.make_envs_folder(str(vo_root), shared=True)
    envs = vo_root / "hpc-envs"
    home = envs / "hers"
    manifest = json.dumps({"name": "hers", "kind": "venv"})
    vo.mallory.run(
        [
            "bash",
            "-c",
            f"mkdir -m 755 {home} && printf '%s' '{manifest}' > {home}/hpc-env.json && "
            f"chmod 644 {home}/hpc-env.json",
        ]
    )
    data = site_env["VSC_DATA"] / "hpc-envs"
    data.mkdir()
    plant(data / "open", "exec true")
    (data / "open").chmod(0o777)

    _, listed = await call(jp_fetch, "GET", "envs")
    by_name = {e["name"]: e for e in listed["environments"]}
    assert by_name["hers"]["owner"] == "hpcenvs-mallory"
    assert (by_name["hers"]["shared"], by_name["hers"]["mine"]) == (True, False)
    assert "world-writable" in by_name["open"]["refused"]
    assert by_name["open"]["builds"] == {}

    for method, path, body in (
        ("DELETE", ("envs", "hers"), None),
        ("GET", ("envs", "hers", "removal"), None),
        ("POST", ("envs", "hers", "packages"), {"packages": ["six"]}),
        ("POST", ("envs", "hers", "builds"), {"partition": "zen4", "force": True}),
    ):
        code, reply = await call(jp_fetch, method, *path, body=body, ok=False)
        assert code == 409, (method, path, reply)
        assert "shared by hpcenvs-mallory: only hpcenvs-mallory can change it" in reply["message"]
    assert (home / "hpc-env.json").exists()

    for body, field in (
        ({"name": "x", "modules": [PYTHON], "shared": "yes"}, "shared"),
        ({"name": "x", "modules": [PYTHON], "shared": True, "root": "$VSC_DATA"}, "root"),
    ):
        code, reply = await call(jp_fetch, "POST", "envs", body=body, ok=False)
        assert (code, reply["field"]) == (400, field), reply
    assert not (envs / "x").exists()
    assert not (data / "x").exists()
