"""``make bench``: every benchmark in turn, then bench/RESULTS.md written from their results.

Each benchmark prints its own table; results accumulate in bench/results.json (one entry per
benchmark, with the machine and the date) from which RESULTS.md is regenerated, so a benchmark run
alone (``python bench/catalog.py``) updates its part.
"""

from __future__ import annotations

import json
import subprocess
import sys
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


def write_results() -> None:
    data = json.loads((HERE / "results.json").read_text())
    lines = [
        "# Benchmark results",
        "",
        "Written by `make bench` (bench/run.py) from bench/results.json. Ours and the baselines are",
        "measured in the same run, interleaved round by round; ratios are of medians. See each",
        "benchmark's docstring for exactly what is measured.",
        "",
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
    for name in sys.argv[1:] or BENCHMARKS:
        script = HERE / f"{name}.py"
        if not script.exists():
            print(f"(no {script.name} yet)")
            continue
        print(f"\n=== {name}", flush=True)
        if subprocess.run([sys.executable, str(script)], cwd=HERE).returncode != 0:
            failed.append(name)
    write_results()
    print(f"\nbench/RESULTS.md written{'; failed: ' + ', '.join(failed) if failed else ''}")
    return 1 if failed else 0


if __name__ == "__main__":
    raise SystemExit(main())
