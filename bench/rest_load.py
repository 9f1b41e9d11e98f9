"""Benchmark 6: the REST API under load on loopback while a build runs.

A real Jupyter server with the extension on the demo site. 20 concurrent clients request the
environments list and the module catalog (alternately) for as long as an environment build runs;
every request's latency is recorded. Two loads: *saturating* (each client sends its next request as
soon as the answer comes) and *paced* (each client one request a second: twenty JupyterLab tabs
polling ten times faster than the panel does). The same build also runs with no load,
interleaved, to see whether the load slows it.

The clients stand for browsers on other machines: on a cluster their CPU is not the login node's.
Here they share the machine's 2 cores with the server and the build, so they run in a process of
their own at the lowest priority (``nice 19``), and client-side waits only lengthen the latencies
measured (the conservative side for the latency bar). The other side of that choice: saturating
clients at nice 19 send fewer requests while the build takes the CPU, so the rate they reach with
no build running is measured too, and the result says what share of it they kept during builds.
The paced load does not give way (20 requests a second either way). Builds here use only what the
modules provide (``upgrade_pip`` off, IPython module for ipykernel, no packages): no network, so
build times compare.
"""

from __future__ import annotations

import asyncio
import json
import multiprocessing
import os
import queue
import shutil
import statistics
import tempfile
import time
from pathlib import Path

from common import record, site_environ
from tornado.httpclient import AsyncHTTPClient, HTTPRequest

from jupyterlab_hpc_envs.tests.servers import ServerProcess

PYTHON = "Python/3.11.7-GCCcore-12.3.0"
IPYTHON = "IPython/8.14.0-GCCcore-12.3.0"
CLIENTS = 20
ROUNDS = int(os.environ.get("BENCH_ROUNDS", "7"))


async def _clients(base: str, token: str, pause: float, stop, ready) -> list[float]:
    """CLIENTS concurrent clients until ``stop`` is set; the latency of every request."""
    client = AsyncHTTPClient(max_clients=CLIENTS + 4)
    headers = {"Authorization": f"token {token}"}
    latencies: list[float] = []
    paths = ["envs", "modules?partition=zen4"]

    async def one(k: int) -> None:
        n = k
        if pause:  # spread the clients over the second rather than all at its start
            await asyncio.sleep(pause * k / CLIENTS)
        while not stop.is_set():
            start = time.perf_counter()
            response = await client.fetch(
                f"{base}hpc-envs/api/{paths[n % 2]}", headers=headers, raise_error=False
            )
            elapsed = time.perf_counter() - start
            assert response.code == 200, (paths[n % 2], response.code, response.body[:300])
            latencies.append(elapsed)
            n += 1
            if pause:
                await asyncio.sleep(max(0.0, pause - elapsed))

    ready.set()
    await asyncio.gather(*(one(k) for k in range(CLIENTS)))
    return latencies


def _client_process(base: str, token: str, pause: float, stop, ready, out) -> None:
    os.nice(19)  # browsers on other machines: their CPU is not the node's (module docstring)
    out.put(asyncio.run(_clients(base, token, pause, stop, ready)))


async def main_async(base: str, token: str) -> dict:
    client = AsyncHTTPClient(max_clients=CLIENTS + 4)
    headers = {"Authorization": f"token {token}"}

    async def call(method: str, path: str, body: dict | None = None) -> tuple[float, dict]:
        start = time.perf_counter()
        response = await client.fetch(
            HTTPRequest(
                f"{base}hpc-envs/api/{path}",
                method=method,
                headers=headers,
                body=json.dumps(body) if body is not None else None,
                request_timeout=120,
            ),
            raise_error=False,
        )
        elapsed = time.perf_counter() - start
        assert response.code < 400, (path, response.code, response.body[:300])
        return elapsed, json.loads(response.body)

    for _ in range(100):  # the server is up when it answers
        try:
            await call("GET", "site")
            break
        except Exception:  # noqa: BLE001 - not up yet
            await asyncio.sleep(0.2)
    await call("GET", "modules?partition=zen4")  # catalogs warm, as on a server that runs

    async def build(name: str) -> float:
        """Seconds from the POST to the task's success (the environment is left for remove)."""
        start = time.perf_counter()
        _, data = await call(
            "POST", "envs", {"name": name, "modules": [PYTHON, IPYTHON], "partition": "zen4"}
        )
        task = data["task"]["id"]
        while True:
            _, record_ = await call("GET", f"tasks/{task}")
            if record_["state"] not in ("pending", "running"):
                break
            await asyncio.sleep(0.1)
        assert record_["state"] == "succeeded", record_["message"]
        return time.perf_counter() - start

    out: dict[str, list[float]] = {k: [] for k in ("quiet", "paced", "saturated")}
    latencies: dict[str, list[float]] = {"paced": [], "saturated": []}
    seconds: dict[str, float] = {"paced": 0.0, "saturated": 0.0}

    async def loaded(load: str, work) -> tuple[float, list[float]]:
        """Seconds ``work()`` took while the clients of ``load`` ran, and their latencies."""
        context = multiprocessing.get_context("spawn")
        stop, ready, answers = context.Event(), context.Event(), context.Queue()
        pause = 1.0 if load == "paced" else 0.0
        clients = context.Process(
            target=_client_process, args=(base, token, pause, stop, ready, answers), daemon=True
        )
        clients.start()
        loop = asyncio.get_running_loop()
        try:
            assert await loop.run_in_executor(None, ready.wait, 60), "the clients did not start"
            start = time.perf_counter()
            await work()
            elapsed = time.perf_counter() - start
        finally:
            stop.set()

        def collect() -> list[float]:
            while True:
                try:
                    return answers.get(timeout=1)
                except queue.Empty:
                    if not clients.is_alive():
                        raise AssertionError(
                            f"the {load} clients failed (exit {clients.exitcode})"
                        ) from None

        found = await loop.run_in_executor(None, collect)
        clients.join(30)
        return elapsed, found

    async def under(load: str, name: str) -> float:
        elapsed, found = await loaded(load, lambda: build(name))
        await call("DELETE", f"envs/{name}")  # after the load: not counted in its seconds
        latencies[load].extend(found)
        seconds[load] += elapsed
        return elapsed

    # What the saturating clients reach with no build running: the rate to compare with theirs
    # during builds (they run at nice 19, so a build that needs the CPU slows them down).
    idle_seconds, idle = await loaded("saturated", lambda: asyncio.sleep(5))

    for i in range(ROUNDS):
        out["quiet"].append(await build(f"quiet{i}"))
        await call("DELETE", f"envs/quiet{i}")
        out["paced"].append(await under("paced", f"paced{i}"))
        out["saturated"].append(await under("saturated", f"saturated{i}"))
    return {
        "builds": out,
        "latencies": latencies,
        "seconds": seconds,
        "idle_requests_per_second": len(idle) / idle_seconds,
    }


def main() -> None:
    environ = site_environ()
    scratch = Path(tempfile.mkdtemp(prefix="bench-rest-"))
    config = scratch / "config"
    config.mkdir()
    (config / "jupyter_server_config.json").write_text(
        json.dumps({"HpcEnvs": {"upgrade_pip": False}})
    )
    env = {
        **environ,
        "JUPYTER_CONFIG_DIR": str(config),
        "JUPYTER_DATA_DIR": str(scratch / "data"),
        "JUPYTER_RUNTIME_DIR": str(scratch / "runtime"),
        "VSC_DATA": str(scratch),
        "VSC_SCRATCH": str(scratch),
    }
    server = ServerProcess(env, scratch)
    server.start()
    try:
        data = asyncio.run(main_async(f"{server.url}/", server.token))
    finally:
        server.stop()
    quiet = statistics.median(data["builds"]["quiet"])
    loads = {}
    for load in ("paced", "saturated"):
        lat = sorted(data["latencies"][load])
        loads[load] = {
            "requests": len(lat),
            "requests_per_second": round(len(lat) / data["seconds"][load], 1),
            "latency_ms": {
                "median": round(statistics.median(lat) * 1000, 1),
                "p99": round(lat[int(0.99 * (len(lat) - 1))] * 1000, 1),
                "max": round(lat[-1] * 1000, 1),
            },
            "build_s": [round(x, 2) for x in data["builds"][load]],
            "build_slowdown": round(statistics.median(data["builds"][load]) / quiet, 3),
        }
    idle_rps = data["idle_requests_per_second"]
    loads["saturated"]["share_of_idle_rate"] = round(
        loads["saturated"]["requests_per_second"] / idle_rps, 2
    )
    result = {
        "clients": CLIENTS,
        "build_s_quiet": [round(x, 2) for x in data["builds"]["quiet"]],
        "saturated_requests_per_second_without_build": round(idle_rps, 1),
        **loads,
        "bar": "no request slower than 500 ms; the build slowed by at most 5% (under either load)",
        "met": max(row["latency_ms"]["max"] for row in loads.values()) <= 500
        and max(row["build_slowdown"] for row in loads.values()) <= 1.05,
    }
    print(
        f"\nREST under load ({CLIENTS} clients) during builds; quiet builds {result['build_s_quiet']} s"
    )
    for load, row in loads.items():
        print(
            f"  {load:<10} {row['requests_per_second']:>7} req/s  latency median "
            f"{row['latency_ms']['median']} ms, p99 {row['latency_ms']['p99']} ms, max "
            f"{row['latency_ms']['max']} ms; builds {row['build_s']} s, slowdown {row['build_slowdown']}"
        )
    print(
        f"  saturating clients without a build: {result['saturated_requests_per_second_without_build']}"
        f" req/s; during builds {loads['saturated']['share_of_idle_rate']} of that"
    )
    print(f"  bar met: {result['met']}")
    record("rest_under_load", result)
    shutil.rmtree(scratch, ignore_errors=True)


if __name__ == "__main__":
    main()
