"""Starts an IPython kernel on a compute node and tells the server where it listens.

The provisioner runs this file as a Slurm job step, through the environment's launch script, with
the environment's own interpreter::

    srun … launch-<arch>.sh python -c "$BOOTSTRAP"

and writes one JSON line to the step's standard input: the connection key and settings, the
kernel's CurveZMQ keys (unless the site turned encryption off), and the text of this file (so
nothing has to be installed on, or shared with, the compute node). No key ever appears in a command
line, where ``ps`` would show it to every user of the node; ipykernel reads them from a ``0600``
connection file in a ``0700`` folder of its own, removed when the kernel ends.

With CurveZMQ keys, the kernel's sockets are CURVE servers: whoever connects without the keys fails
the handshake and reads nothing. An ipykernel that cannot apply them (older than 7.3) is refused
before a port is bound when the site requires encryption (the report says ``error: encryption``),
else it runs unencrypted; either way the report says which ipykernel it is and whether the bound
sockets really are encrypted (``encrypted``), and the server believes only that.

Here, on the compute node, the kernel binds its ports itself (no guesses made on the login node, no
race for a port between choosing and binding it): ipykernel is started in this process with port 0
for every channel, and once it has bound them, one line goes to the original standard output::

    ::hpc-envs-kernel:: {"ip": …, "shell_port": …, …, "job_id": …, "step_id": …}

Then the kernel runs as ``python -m ipykernel_launcher`` would, and ends when the step's standard
input reaches its end: the server keeps it open for as long as it manages the kernel, so a kernel
never outlives its server (not even one killed with ``kill -9``). Everything before the import of
ipykernel uses the standard library only, and the file keeps to Python 3.7 syntax: it runs with
whatever Python the environment was built on, which need not be this server's.
"""

from __future__ import annotations

import atexit
import json
import os
import shutil
import signal
import socket
import sys
import tempfile
import threading
import time
from typing import Any

MARKER = "::hpc-envs-kernel::"
PORTS = ("shell_port", "iopub_port", "stdin_port", "hb_port", "control_port")

# What `python -c` runs: read the header line, then run this file's text with it.
BOOTSTRAP = (
    "import json,sys;h=json.loads(sys.stdin.readline());"
    "g={'__name__':'hpc_envs_kernel_launcher'};"
    "exec(compile(h.pop('launcher'),'hpc-envs-kernel-launcher','exec'),g);g['main'](h)"
)


def node_ip(preferred: str = "") -> str:
    """The address of this node that the server can reach.

    The interface on the route back to the node that ran ``srun`` (Slurm names it in
    ``SLURM_LAUNCH_NODE_IPADDR``) is the one the server will connect through; no packet is sent.
    """
    if preferred:
        return preferred
    target = os.environ.get("SLURM_LAUNCH_NODE_IPADDR", "")
    if target:
        try:
            with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as probe:
                probe.connect((target, 9))
                address: str = probe.getsockname()[0]
            if address and address != "0.0.0.0":
                return address
        except OSError:
            pass
    try:
        return socket.gethostbyname(socket.gethostname())
    except OSError:
        return "127.0.0.1"


def _report(fd: int, data: dict[str, Any]) -> None:
    os.write(fd, (MARKER + " " + json.dumps(data, sort_keys=True) + "\n").encode())


def _private_connection_file(info: dict[str, Any]) -> str:
    """A connection file only this user can read, in a folder of its own (removed at exit)."""
    folder = tempfile.mkdtemp(prefix="hpc-envs-kernel-")  # mode 0700
    path = os.path.join(folder, "kernel.json")
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w") as f:
        json.dump(info, f)

    def remove() -> None:
        shutil.rmtree(folder, ignore_errors=True)

    def on_term(signum: int, frame: object) -> None:
        # SIGTERM (scancel, or the end of the walltime) skips atexit: remove the key here, then
        # die of the signal as the kernel would have.
        remove()
        signal.signal(signal.SIGTERM, signal.SIG_DFL)
        os.kill(os.getpid(), signal.SIGTERM)

    atexit.register(remove)
    signal.signal(signal.SIGTERM, on_term)
    return path


def _end_with_server(fd: int, folder: str) -> None:
    """End the kernel when its server ends, as ipykernel does for a local kernel (JPY_PARENT_PID).

    The server keeps its end of the step's standard input open while it manages the kernel; srun
    passes on the end of file when that end closes, whichever way the server went (a shutdown, a
    crash, kill -9). A kernel nobody can reach any more must not hold a node until its walltime.
    """

    def watch() -> None:
        try:
            while os.read(fd, 4096):
                pass
        except OSError:
            pass
        shutil.rmtree(folder, ignore_errors=True)
        os.kill(os.getpid(), signal.SIGTERM)
        time.sleep(10)  # the main thread may be deep in C code: SIGTERM waits for it; this does not
        os.kill(os.getpid(), signal.SIGKILL)

    threading.Thread(target=watch, name="hpc-envs-server-watch", daemon=True).start()


def _curve_support(app_class: type) -> dict[str, Any]:
    """Which ipykernel this is, from where, and whether it can encrypt its traffic: it applies
    CurveZMQ keys of its connection file to its sockets (ipykernel 7.3+), and libzmq has CURVE.
    (The same test as the build's smoke test, envs/scripts.py SMOKE_TEST.)"""
    import ipykernel
    import zmq

    curve = hasattr(app_class, "_apply_curve_server_options") and zmq.has("curve")
    return {
        "ipykernel": getattr(ipykernel, "__version__", ""),
        "ipykernel_path": os.path.dirname(ipykernel.__file__),
        "encryption": "curve" if curve else "none",
    }


def _encrypted(app: object) -> bool:
    """Whether the kernel's bound sockets really are CurveZMQ servers (asked of its stdin socket,
    which no other thread of the kernel uses; ipykernel sets up all its sockets alike)."""
    import zmq

    socket = getattr(app, "stdin_socket", None)
    try:
        return socket is not None and socket.getsockopt(zmq.CURVE_SERVER) == 1
    except zmq.ZMQError:
        return False


def main(header: dict[str, Any] | None = None) -> None:
    if header is None:
        header = json.loads(sys.stdin.readline())
    report = os.dup(1)  # ipykernel captures fd 1 for the notebook: keep the original for the line
    server = os.dup(0)
    null = os.open(os.devnull, os.O_RDONLY)
    os.dup2(null, 0)
    os.close(null)
    arch_variable = header.get("arch_variable") or "VSC_ARCH_LOCAL"
    node = {
        "host": socket.gethostname(),
        "pid": os.getpid(),
        "job_id": os.environ.get("SLURM_JOB_ID", ""),
        "step_id": os.environ.get("SLURM_STEP_ID", ""),
        "arch": os.environ.get(arch_variable, ""),
        "python": sys.executable,
    }
    # The server's JPY_PARENT_PID means nothing on this node. The kernel's parent here is Slurm's
    # step daemon (the launch script exec'd Python): ipykernel ends the kernel if that one dies.
    os.environ["JPY_PARENT_PID"] = str(os.getppid())
    info = {
        "ip": node_ip(header.get("ip", "")),
        "transport": "tcp",
        "key": header["key"],
        "signature_scheme": header.get("signature_scheme", "hmac-sha256"),
        "kernel_name": header.get("kernel_name", ""),
    }
    for name in PORTS:
        info[name] = 0
    # As ipykernel_launcher does: `python -c` put the working folder first on sys.path.
    if sys.path and sys.path[0] in ("", os.getcwd()):
        del sys.path[0]
    try:
        from ipykernel.kernelapp import IPKernelApp
    except ImportError as err:
        _report(
            report, dict(node, error=f"ipykernel cannot be imported by {sys.executable}: {err}")
        )
        sys.exit(3)
    found = _curve_support(IPKernelApp)
    node.update(found)
    if header.get("curve_secretkey"):
        if found["encryption"] == "curve":
            info["curve_publickey"] = header["curve_publickey"]
            info["curve_secretkey"] = header["curve_secretkey"]
        elif header.get("encryption") == "required":
            # Refused before a port is bound: the server says why and what to install.
            _report(report, dict(node, error="encryption"))
            sys.exit(3)
    path = _private_connection_file(info)
    _end_with_server(server, os.path.dirname(path))
    argv = ["-f", path, *header.get("extra_arguments", [])]
    try:
        import importlib.util

        spec = importlib.util.find_spec("ipykernel_launcher")
        launcher = spec.origin if spec and spec.origin else "ipykernel_launcher"
    except (ImportError, ValueError):
        launcher = "ipykernel_launcher"
    sys.argv = [launcher, *argv]  # what the kernel's code sees, as under ipykernel_launcher
    app = IPKernelApp.instance()
    app.initialize(argv)  # type: ignore[no-untyped-call]
    node["encrypted"] = "curve_secretkey" in info and _encrypted(app)
    if "curve_secretkey" in info and not node["encrypted"]:
        node["encryption"] = "none"  # keys read but not applied: never claim what is not so
        if header.get("encryption") == "required":
            _report(report, dict(node, error="encryption"))
            sys.exit(3)
    ports = {name: int(getattr(app, name)) for name in PORTS}
    _report(report, dict(node, ip=app.ip, transport=app.transport, **ports))
    os.close(report)
    app.start()  # type: ignore[no-untyped-call]


if __name__ == "__main__":
    main()
