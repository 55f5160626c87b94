#!/usr/bin/env python3
"""Runs cdpcore's benchmarks against their peers and prints one table each.

    benchmarks/run.py                        every benchmarks/bench_*.py, small scale
    benchmarks/run.py datagen segments       only these
    benchmarks/run.py --scale full           the sizes the issues name (slow)
    benchmarks/run.py --list                 list the benchmark modules

Each module defines run(ctx) (see benchmarks/harness.py). Before the first
module runs, the Python extension is built in release in the benchmark build
directory (default build/bench) and imported from there, so that timings are
of optimised code; native programs (benchmarks/cpp/<name>.cpp) are built there
too when a module asks for ctx.native. Results: a table per benchmark on
stdout (benchmark | impl | seconds | rows | rows/s | ratio | peak MB | notes,
ratio = peer seconds / cdpcore seconds, >1 means cdpcore is faster) and a JSON
file in benchmarks/results/.
"""
from __future__ import annotations

import argparse
import datetime as dt
import importlib
import json
import os
import platform
import subprocess
import sys
import time
import traceback
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

import harness  # noqa: E402


def available() -> list:
    return sorted(p.stem[len("bench_"):] for p in HERE.glob("bench_*.py"))


def cpu_model() -> str:
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


def git_commit() -> str:
    try:
        out = subprocess.run(["git", "-C", str(HERE.parent), "rev-parse", "--short", "HEAD"], capture_output=True,
                             text=True, timeout=10)
        dirty = subprocess.run(["git", "-C", str(HERE.parent), "status", "--porcelain", "--untracked-files=no"],
                               capture_output=True, text=True, timeout=10)
        return out.stdout.strip() + ("+dirty" if dirty.stdout.strip() else "")
    except (OSError, subprocess.SubprocessError):
        return "unknown"


def prepare_module(ctx: harness.Context, use_installed: bool) -> str:
    """Makes `import cdpcore` load a release build; returns where it came from."""
    if not use_installed:
        ctx.build("_cdpcore")
        sys.path.insert(0, str(ctx.build_dir / "python"))
    import cdpcore  # noqa: F401

    return os.path.dirname(cdpcore.__file__)


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("names", nargs="*", help="benchmark modules to run (bench_<name>.py); default: all")
    ap.add_argument("--scale", choices=("small", "full"), default="small",
                    help="small: quick sizes; full: the sizes the issues name")
    ap.add_argument("--build-dir", default=str(HERE.parent / "build" / "bench"),
                    help="build directory for the release module and native programs (default build/bench)")
    ap.add_argument("--threads", type=int, default=2, help="threads for builds and multi-threaded benchmarks")
    ap.add_argument("--use-installed", action="store_true",
                    help="benchmark the cdpcore module already importable instead of building one")
    ap.add_argument("--out", help="JSON output file (default benchmarks/results/<time>-<scale>.json)")
    ap.add_argument("--list", action="store_true", help="list benchmark modules and exit")
    ap.add_argument("-v", "--verbose", action="store_true", help="print each measurement as it is recorded")
    args = ap.parse_args(argv)

    names = available()
    if args.list:
        print("\n".join(names))
        return 0
    chosen = args.names or names
    unknown = [n for n in chosen if n not in names]
    if unknown:
        print(f"run.py: unknown benchmark(s) {', '.join(unknown)}; available: {', '.join(names)}", file=sys.stderr)
        return 2

    ctx = harness.Context(scale=args.scale, threads=args.threads, build_dir=Path(args.build_dir).resolve(),
                          verbose=args.verbose)
    started = dt.datetime.now(dt.timezone.utc)
    try:
        origin = prepare_module(ctx, args.use_installed)
    except Exception as e:  # noqa: BLE001 - report and stop: nothing can run without the module
        print(f"run.py: cannot prepare the cdpcore module: {e}", file=sys.stderr)
        return 1
    print(f"cdpcore benchmarks, scale={ctx.scale}, threads={ctx.threads}, module from {origin}")

    failures = []
    for name in chosen:
        ctx.module = name
        print(f"\n== {name}", flush=True)
        first = len(ctx.results)
        t0 = time.perf_counter()
        try:
            mod = importlib.import_module(f"bench_{name}")
            mod.run(ctx)
        except Exception:  # noqa: BLE001 - one failing module must not stop the others
            failures.append(name)
            traceback.print_exc()
        rows = ctx.results[first:]
        if rows:
            by_bench = {}
            for r in rows:
                by_bench.setdefault(r["benchmark"], []).append(r)
            print(harness.format_table([r for b in by_bench.values() for r in b]))
        print(f"({time.perf_counter() - t0:.1f} s)")

    out = Path(args.out) if args.out else HERE / "results" / f"{started:%Y%m%d-%H%M%S}-{ctx.scale}.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    meta = {
        "started": started.isoformat(),
        "scale": ctx.scale,
        "threads": ctx.threads,
        "commit": git_commit(),
        "cpu": cpu_model(),
        "cores": os.cpu_count(),
        "python": platform.python_version(),
        "platform": platform.platform(),
        "module": origin,
        "failed": failures,
    }
    out.write_text(json.dumps({"meta": meta, "results": harness.ratios(ctx.results)}, indent=1) + "\n")
    print(f"\nresults: {out}")
    if failures:
        print(f"FAILED: {', '.join(failures)}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
