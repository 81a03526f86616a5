"""Run every benchmark and write one table with the machine, date and commands.

    python -m bench.run_all [--quick] [--out docs/performance-latest.md]

Each benchmark runs as its own process and prints JSON; this collects the
figures. ``--quick`` uses small sizes (a smoke run, not the published figures).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
FULL = {
    "ingest": ["-m", "bench.ingest"],
    "scheduler": ["-m", "bench.scheduler", "--robots", "10000"],
    "analytics": ["-m", "bench.analytics", "--robots", "2000", "--days", "90"],
    "api": ["-m", "bench.api", "--robots", "2000", "--requests", "300"],
    # The engineers' loop of issue 19 (simulate + store + score, target <= 3 minutes).
    "evaluation": [
        "-m",
        "bench.evaluation",
        "--robots",
        "200",
        "--days",
        "90",
        "--seeds",
        "1",
        "--quick",
    ],
}
QUICK = {
    "ingest": ["-m", "bench.ingest", "--readings", "20000", "--singles", "5000", "--seconds", "2"],
    "scheduler": ["-m", "bench.scheduler", "--robots", "500"],
    "analytics": ["-m", "bench.analytics", "--robots", "200", "--days", "30"],
    "api": ["-m", "bench.api", "--robots", "200", "--requests", "50"],
    "evaluation": ["-m", "bench.evaluation", "--robots", "12", "--days", "15", "--quick"],
}


def machine() -> str:
    cpu = platform.processor() or "cpu"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
        mem_kb = int(Path("/proc/meminfo").read_text().split()[1])
    except OSError:
        mem_kb = 0
    return f"{cpu}, {os.cpu_count()} cores, {mem_kb / 1048576:.0f} GiB, Python {platform.python_version()}"


def flatten(prefix: str, obj: object) -> list[tuple[str, object]]:
    if isinstance(obj, dict):
        out: list[tuple[str, object]] = []
        for k, v in obj.items():
            out += flatten(f"{prefix}.{k}" if prefix else str(k), v)
        return out
    if isinstance(obj, list) and obj and all(isinstance(v, dict) for v in obj):
        return [kv for i, v in enumerate(obj) for kv in flatten(f"{prefix}[{i}]", v)]
    return [(prefix, obj)]


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--quick", action="store_true")
    ap.add_argument("--out", type=Path, default=REPO / "docs" / "performance-latest.md")
    ap.add_argument("--only", nargs="*", help="run only these benchmarks")
    args = ap.parse_args()
    plan = QUICK if args.quick else FULL
    lines = [
        "# Benchmarks: latest run",
        "",
        f"- date: {datetime.now(UTC):%Y-%m-%d %H:%M} UTC",
        f"- machine: {machine()}",
        f"- command: `python -m bench.run_all{' --quick' if args.quick else ''}`",
        "",
    ]
    for name, argv in plan.items():
        if args.only and name not in args.only:
            continue
        started = time.monotonic()
        proc = subprocess.run([sys.executable, *argv], cwd=REPO, capture_output=True, text=True)
        took = time.monotonic() - started
        lines += [f"## {name}", "", f"`python {' '.join(argv)}` ({took:.0f} s)", ""]
        if proc.returncode != 0:
            lines += ["failed:", "", "```", proc.stderr[-3000:], "```", ""]
            continue
        figures = json.loads(proc.stdout[proc.stdout.index("{") :])
        lines += ["| figure | value |", "|---|---|"]
        lines += [f"| {k} | {v} |" for k, v in flatten("", figures)]
        lines.append("")
        print(f"{name}: done in {took:.0f} s", flush=True)
    args.out.write_text("\n".join(lines) + "\n", encoding="utf-8")
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
