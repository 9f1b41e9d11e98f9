"""``make bench``: every benchmark in turn, then bench/RESULTS.md written from their results.

Each benchmark prints its own table; results accumulate in bench/results.json (one entry per
benchmark, with the machine and the date) from which RESULTS.md is regenerated, so a benchmark run
alone (``python bench/catalog.py``) updates its part.
"""

from __future__ import annotations

import json
import os
import statistics
import subprocess
import sys
import threading
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
BENCHMARKS = [
    "kernel_start",
    "catalog",
    "packages",
    "create",
    "rest_load",
    "ui",
    "create_uv",
    "partitions",
    "slurm_kernel_start",
]
TITLES = {
    "kernel_start": "1. Kernel start (start_kernel to the first kernel_info reply)",
    "module_catalog": "2. Module catalog, 5,000 modulefiles",
    "package_listing": "3. Package listing, 300+ distributions",
    "environment_creation": "4. Environment creation",
    "ui": "5. UI in Chromium",
    "rest_under_load": "6. REST under load while a build runs",
    "creation_with_uv": "7. Creation with a realistic package set, installer=auto against pip",
    "two_partitions": "8. Building for two partitions at once against one",
    "slurm_kernel_start": "9. Kernel start on another partition through Slurm, against the peers",
}


# Issue 18's bars: the benchmark, its ratio's key and what the ratio is of.
ISSUE_18 = {
    "creation_with_uv": ("ours_over_pip_by_hand", "creation, installer=auto / pip by hand", 0.3),
    "two_partitions": ("two_over_one", "two partitions at once / one", 1.3),
    "slurm_kernel_start": ("ours_over_floor", "Slurm kernel start, ours / the srun floor", 1.2),
}


class LoadSampler(threading.Thread):
    """The machine's 1-minute load average every 10 s while the benchmarks run."""

    def __init__(self) -> None:
        super().__init__(daemon=True)
        self.samples: list[float] = []
        self.done = threading.Event()

    def run(self) -> None:
        while not self.done.wait(10):
            self.samples.append(os.getloadavg()[0])

    def stop(self) -> dict[str, object]:
        self.done.set()
        values = self.samples or [os.getloadavg()[0]]
        return {
            "when": time.strftime("%Y-%m-%d %H:%M"),
            "cores": os.cpu_count(),
            "load_1min_median": round(statistics.median(values), 2),
            "load_1min_max": round(max(values), 2),
            "samples": len(values),
        }


def issue_18(data: dict) -> list[str]:
    """The three bars of issue 18, each met or not with its number, and the run's load."""
    lines = ["## Issue 18's bars", "", "| bar | ratio | met | run |", "| --- | ---: | --- | --- |"]
    for key, (ratio, label, limit) in ISSUE_18.items():
        entry = data.get(key)
        if entry is None:
            lines.append(f"| {label} | not run | — | — |")
            continue
        met = "met"
        if not entry.get("met"):
            value = entry.get(ratio)
            over = f": {(value / limit - 1) * 100:.0f}% over {limit}" if value else ""
            met = f"**not met**{over if value and value > limit else ''}"
        lines.append(
            f"| {entry.get('bar', label)} | {entry.get(ratio, '?')} | {met} | {entry['when']} |"
        )
    run = data.get("run")
    if run:
        lines += [
            "",
            f"Last full run ({run['when']}): {run['cores']} cores, 1-minute load average median "
            f"{run['load_1min_median']} and at most {run['load_1min_max']} over "
            f"{run['samples']} samples: other sessions' tests and builds ran on the same cores "
            "and the same one-node Slurm.",
        ]
    return [*lines, ""]


def write_results() -> None:
    data = json.loads((HERE / "results.json").read_text())
    lines = [
        "# Benchmark results",
        "",
        "Written by `make bench` (bench/run.py) from bench/results.json. Ours and the baselines are",
        "measured in the same run, interleaved round by round; ratios are of medians. See each",
        "benchmark's docstring for exactly what is measured.",
        "",
        *issue_18(data),
    ]
    for key, title in TITLES.items():
        if key not in data:
            continue
        entry = data[key]
        lines += [f"## {title}", "", f"Machine: {entry['machine']}; run {entry['when']}.", ""]
        lines += [
            f"Bar: {entry.get('bar', '')} — **{'met' if entry.get('met') else 'not met'}**.",
            "",
        ]
        table = entry.get("table")
        if table:
            # The candidate the ratios are to: the one named "ours", else the one at 1.0 (the
            # table's keys come back sorted from results.json, so it is not always the first).
            first = entry.get("ours") or next(
                (name for name, row in table.items() if row.get("ours_over_this") == 1.0),
                next(iter(table)),
            )
            lines += [
                f"| candidate | median ms | min ms | max ms | runs | {first} / this |",
                "| --- | ---: | ---: | ---: | ---: | ---: |",
            ]
            for name, row in table.items():
                lines.append(
                    f"| {name} | {row['median_ms']} | {row['min_ms']} | {row['max_ms']} | "
                    f"{row['runs']} | {row['ours_over_this']} |"
                )
            lines.append("")
        extra = {
            k: v
            for k, v in entry.items()
            if k not in ("table", "machine", "when", "bar", "met", "ours")
        }
        if extra:
            lines += ["```json", json.dumps(extra, indent=1), "```", ""]
    (HERE / "RESULTS.md").write_text("\n".join(lines))


def main() -> int:
    failed = []
    sampler = LoadSampler()
    sampler.start()
    for name in sys.argv[1:] or BENCHMARKS:
        script = HERE / f"{name}.py"
        if not script.exists():
            print(f"(no {script.name} yet)")
            continue
        print(f"\n=== {name}", flush=True)
        if subprocess.run([sys.executable, str(script)], cwd=HERE).returncode != 0:
            failed.append(name)
    if not sys.argv[1:]:
        data = json.loads((HERE / "results.json").read_text())
        data["run"] = sampler.stop()
        (HERE / "results.json").write_text(json.dumps(data, indent=1, sort_keys=True) + "\n")
    write_results()
    print(f"\nbench/RESULTS.md written{'; failed: ' + ', '.join(failed) if failed else ''}")
    return 1 if failed else 0


if __name__ == "__main__":
    raise SystemExit(main())
