"""Shared parts of the benchmarks: the demo site's environment, interleaved timing, statistics.

Every benchmark measures ours and its baselines *in the same run*, interleaved round by round (the
order shuffled each round), and reports medians and the ratio of medians: these machines are noisy,
so absolute times from different runs are not comparable, ratios within one run are.
"""

from __future__ import annotations

import json
import os
import platform
import queue
import random
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
DEMO_SITE = REPO / "scripts" / "demo-site"
RESULTS = Path(__file__).resolve().parent / "results.json"


def demo_dir() -> Path:
    return Path(os.environ.get("HPC_ENVS_DEMO_DIR") or REPO / ".demo").resolve()


def site_environ() -> dict[str, str]:
    """The environment of ``source DEMO_DIR/env.sh`` (the site built and started if needed)."""
    directory = demo_dir()
    subprocess.run([str(DEMO_SITE), "build", str(directory)], check=True, capture_output=True)
    subprocess.run([str(DEMO_SITE), "start", str(directory)], check=True, capture_output=True)
    out = subprocess.run(
        ["bash", "-c", f'source "{directory}/env.sh" >/dev/null && env -0'],
        check=True,
        capture_output=True,
    ).stdout
    env = dict(item.decode().split("=", 1) for item in out.split(b"\0") if b"=" in item)
    for key in ("PYTHONPATH", "VIRTUAL_ENV", "_"):
        env.pop(key, None)
    return env


def enter_site(prefix: str) -> Path:
    """Make this process a user of the demo site (its environment only) with a fresh scratch
    folder of its own under $VSC_SCRATCH, which is also its Jupyter data folder's parent."""
    environ = site_environ()
    os.environ.clear()
    os.environ.update(environ)
    scratch = Path(tempfile.mkdtemp(prefix=prefix, dir=os.environ["VSC_SCRATCH"]))
    os.environ["JUPYTER_DATA_DIR"] = str(scratch / "jupyter")
    return scratch


def machine() -> str:
    cpu = ""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return f"{platform.node()}: {os.cpu_count()} cores, {cpu}, {platform.platform()}, Python {platform.python_version()}"


def interleave(
    candidates: dict[str, Callable[[], float]], rounds: int, warmup: int = 1
) -> dict[str, list[float]]:
    """Call each candidate once per round, in a new random order each round; returns seconds."""
    times: dict[str, list[float]] = {name: [] for name in candidates}
    for i in range(warmup + rounds):
        order = list(candidates)
        random.shuffle(order)
        for name in order:
            seconds = candidates[name]()
            if i >= warmup:
                times[name].append(seconds)
    return times


async def ainterleave(
    candidates: dict[str, Callable[[], Awaitable[float]]], rounds: int, warmup: int = 1
) -> dict[str, list[float]]:
    times: dict[str, list[float]] = {name: [] for name in candidates}
    for i in range(warmup + rounds):
        order = list(candidates)
        random.shuffle(order)
        for name in order:
            seconds = await candidates[name]()
            if i >= warmup:
                times[name].append(seconds)
    return times


async def shutdown_now(km: Any) -> None:
    await km.shutdown_kernel(now=True)


async def start_kernel_once(
    name: str, timeout: float = 60, shutdown: Callable[[Any], Awaitable[None]] = shutdown_now
) -> float:
    """Seconds from ``start_kernel`` (jupyter_client's AsyncKernelManager) to the first
    ``kernel_info`` reply of kernelspec ``name``; the kernel is then shut down.

    The request is sent again every second until a reply comes, as ``wait_for_ready`` does; that
    one is called after the reply, untimed: it ends by draining IOPub until 0.2 s pass without a
    message, the same 0.2 s for every kernel, which is not part of the start."""
    from jupyter_client.manager import AsyncKernelManager

    km = AsyncKernelManager(kernel_name=name)
    start = time.perf_counter()
    await km.start_kernel()
    kc = km.client()
    kc.start_channels()
    try:
        while True:
            if time.perf_counter() - start > timeout or not await km.is_alive():
                raise RuntimeError(f"{name}: no kernel_info reply within {timeout} s")
            kc.kernel_info()
            try:
                reply = await kc.get_shell_msg(timeout=1)
            except queue.Empty:
                continue
            if reply["msg_type"] == "kernel_info_reply":
                break
        elapsed = time.perf_counter() - start
        await kc.wait_for_ready(timeout=timeout)
    finally:
        kc.stop_channels()
        await shutdown(km)
    return elapsed


def timed(func: Callable[[], object]) -> float:
    start = time.perf_counter()
    func()
    return time.perf_counter() - start


def summary(times: dict[str, list[float]], ours: str) -> dict[str, dict[str, float]]:
    """Median (ms), spread, and each median's ratio to ours."""
    med = {name: statistics.median(values) for name, values in times.items()}
    return {
        name: {
            "median_ms": round(med[name] * 1000, 1),
            "min_ms": round(min(values) * 1000, 1),
            "max_ms": round(max(values) * 1000, 1),
            "runs": len(values),
            "ours_over_this": round(med[ours] / med[name], 3) if med[name] else 0.0,
        }
        for name, values in times.items()
    }


def record(name: str, result: dict) -> None:
    """Keep this benchmark's result in bench/results.json (RESULTS.md is written from it)."""
    data = json.loads(RESULTS.read_text()) if RESULTS.exists() else {}
    data[name] = {**result, "machine": machine(), "when": time.strftime("%Y-%m-%d %H:%M")}
    RESULTS.write_text(json.dumps(data, indent=1, sort_keys=True) + "\n")


def print_table(title: str, table: dict[str, dict[str, float]]) -> None:
    print(f"\n{title}")
    for name, row in table.items():
        print(
            f"  {name:<28} median {row['median_ms']:>9.1f} ms   (min {row['min_ms']:.1f}, "
            f"max {row['max_ms']:.1f}, n={row['runs']})   ours/this = {row['ours_over_this']:.3f}"
        )
    sys.stdout.flush()
