"""The benchmark context handed to every benchmarks/bench_<name>.py module.

A module defines ``run(ctx)`` and calls ``ctx.record(...)`` for every
measurement (ours as impl="cdpcore", each peer under its own name), so that
run.py can print ratios measured in the same run:

    def run(ctx):
        n = 100_000 if ctx.scale == "small" else 1_000_000
        ctx.record(benchmark="thing", impl="cdpcore", seconds=ctx.time(lambda: ours(n)), rows=n)
        if ctx.ensure("pyroaring"):
            import pyroaring
            ctx.record(benchmark="thing", impl="pyroaring", seconds=ctx.time(lambda: theirs(n)), rows=n)
        ctx.native("segments", "--rows", n)   # runs bench_segments built from benchmarks/cpp/segments.cpp
"""
from __future__ import annotations

import importlib
import json
import os
import resource
import statistics
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Dict, Iterable, List, Optional

ROOT = Path(__file__).resolve().parent.parent

# pip name -> import name, where they differ.
IMPORT_NAMES = {
    "python-igraph": "igraph",
    "igraph": "igraph",
    "scikit-learn": "sklearn",
    "xgboost-cpu": "xgboost",
    "duckdb": "duckdb",
    "pyroaring": "pyroaring",
    "treelite": "treelite",
}


class BenchmarkError(RuntimeError):
    """A benchmark could not run (build failed, native program failed, …)."""


@dataclass
class Context:
    """What a benchmark module gets. Not thread-safe (one module at a time)."""

    scale: str = "small"
    threads: int = 2
    build_dir: Path = ROOT / "build" / "bench"
    build_type: str = "Release"
    verbose: bool = False
    results: List[Dict[str, Any]] = field(default_factory=list)
    module: str = ""
    _built: set = field(default_factory=set)
    _configured: bool = False

    # ---- recording -------------------------------------------------------------
    def record(self, benchmark: str, impl: str, seconds: float, rows: int, **extra: Any) -> Dict[str, Any]:
        """Record one measurement: `rows` items processed in `seconds` by `impl`
        ("cdpcore" for ours, the peer's name otherwise). Extra keys (peak_mb,
        bytes_per_item, threads, notes, …) are kept in the JSON and the table."""
        if seconds is None or not (seconds >= 0):
            raise ValueError(f"{benchmark}/{impl}: seconds must be a non-negative number, got {seconds!r}")
        row = {"benchmark": str(benchmark), "impl": str(impl), "seconds": float(seconds), "rows": int(rows),
               "module": self.module, "scale": self.scale}
        row.update(extra)
        self.results.append(row)
        if self.verbose:
            rate = rows / seconds if seconds > 0 else float("inf")
            print(f"  {benchmark:<28} {impl:<14} {seconds:10.4f}s  {rate:14,.0f} rows/s", flush=True)
        return row

    def time(self, fn: Callable[[], Any], repeat: int = 3, warmup: int = 0) -> float:
        """Median wall-clock seconds of calling fn() `repeat` times (after
        `warmup` untimed calls)."""
        for _ in range(warmup):
            fn()
        samples = []
        for _ in range(max(1, repeat)):
            t0 = time.perf_counter()
            fn()
            samples.append(time.perf_counter() - t0)
        return statistics.median(samples)

    def peak_mb(self, fn: Callable[[], Any]) -> Optional[float]:
        """Growth of the peak resident set (MB) while fn() runs, measured in a
        forked child so that earlier allocations do not hide it. None where
        fork is unavailable."""
        if not hasattr(os, "fork"):
            return None
        r, w = os.pipe()
        pid = os.fork()
        if pid == 0:  # child
            os.close(r)
            try:
                before = _rss_kb()
                fn()
                peak = _hwm_kb()
                os.write(w, str((peak - before) / 1024.0).encode())
            except BaseException as e:  # noqa: BLE001 - reported to the parent
                os.write(w, ("error:" + repr(e)).encode())
            finally:
                os._exit(0)
        os.close(w)
        with os.fdopen(r) as f:
            out = f.read()
        os.waitpid(pid, 0)
        if out.startswith("error:") or not out:
            raise BenchmarkError(f"peak_mb: child failed: {out[6:]}")
        return float(out)

    # ---- peers ---------------------------------------------------------------------
    def ensure(self, *packages: str) -> bool:
        """Make benchmark-only peers importable, pip-installing those that are
        missing. True when all of them import afterwards; False (with a
        message) when one cannot be installed — the module should then skip
        that peer."""
        missing = [p for p in packages if not _importable(IMPORT_NAMES.get(p, p))]
        if missing:
            print(f"  installing benchmark peers: {' '.join(missing)}", flush=True)
            rc = subprocess.call([sys.executable, "-m", "pip", "install", "--quiet", *missing])
            importlib.invalidate_caches()
            if rc != 0:
                print(f"  pip install {' '.join(missing)} failed (exit {rc}); skipping those peers", flush=True)
        ok = all(_importable(IMPORT_NAMES.get(p, p)) for p in packages)
        if not ok:
            print(f"  peers unavailable: {', '.join(p for p in packages if not _importable(IMPORT_NAMES.get(p, p)))}")
        return ok

    # ---- native programs ------------------------------------------------------------------
    def configure(self) -> None:
        """Configure the benchmark build directory (release, benchmarks and the
        Python module on) once per run. A new directory gets no tests or
        examples; an existing one (--build-dir) keeps its own choice, so that
        its test binaries are not left stale."""
        if self._configured:
            return
        cmd = ["cmake", "-S", str(ROOT), "-B", str(self.build_dir), "-G", "Ninja",
               f"-DCMAKE_BUILD_TYPE={self.build_type}", "-DCDPCORE_BUILD_BENCHMARKS=ON",
               "-DCDPCORE_BUILD_PYTHON=ON", f"-DPython_EXECUTABLE={sys.executable}"]
        if not (self.build_dir / "CMakeCache.txt").exists():
            cmd += ["-DCDPCORE_BUILD_TESTS=OFF", "-DCDPCORE_BUILD_EXAMPLES=OFF"]
        _run_checked(cmd, "configure")
        self._configured = True

    def build(self, target: str) -> None:
        """Build one target of the benchmark build directory (once per run)."""
        if target in self._built:
            return
        self.configure()
        print(f"  building {target} ({self.build_type}) in {self.build_dir}", flush=True)
        _run_checked(["cmake", "--build", str(self.build_dir), "--target", target, "-j", str(self.threads)],
                     f"build {target}")
        self._built.add(target)

    def native(self, name: str, *args: Any, timeout: float = 3600) -> List[Dict[str, Any]]:
        """Build (if needed) and run bench_<name> from benchmarks/cpp/<name>.cpp
        with `args`; every stdout line that is a JSON object with benchmark,
        impl, seconds and rows is recorded. Returns the recorded rows."""
        if not (ROOT / "benchmarks" / "cpp" / f"{name}.cpp").exists():
            raise BenchmarkError(f"no native benchmark benchmarks/cpp/{name}.cpp")
        target = f"bench_{name}"
        self.build(target)
        exe = self.build_dir / "benchmarks" / target
        cmd = [str(exe), *[str(a) for a in args]]
        env = dict(os.environ, CDPCORE_BENCH_SCALE=self.scale, CDPCORE_BENCH_THREADS=str(self.threads))
        proc = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout, env=env)
        if proc.returncode != 0:
            raise BenchmarkError(f"{target} exited with {proc.returncode}: {proc.stderr.strip()[-2000:]}")
        rows = []
        for line in proc.stdout.splitlines():
            line = line.strip()
            if not line.startswith("{"):
                continue
            try:
                obj = json.loads(line)
            except json.JSONDecodeError as e:
                raise BenchmarkError(f"{target}: bad JSON line {line[:200]!r}: {e}") from e
            missing = [k for k in ("benchmark", "impl", "seconds", "rows") if k not in obj]
            if missing:
                raise BenchmarkError(f"{target}: JSON line lacks {', '.join(missing)}: {line[:200]!r}")
            extra = {k: v for k, v in obj.items() if k not in ("benchmark", "impl", "seconds", "rows")}
            extra.setdefault("native", True)
            rows.append(self.record(obj["benchmark"], obj["impl"], obj["seconds"], obj["rows"], **extra))
        if not rows:
            raise BenchmarkError(f"{target} printed no result rows")
        return rows


def _importable(name: str) -> bool:
    try:
        importlib.import_module(name)
        return True
    except Exception:  # noqa: BLE001 - any failure means "not usable"
        return False


def _run_checked(cmd: List[str], what: str) -> None:
    proc = subprocess.run(cmd, capture_output=True, text=True)
    if proc.returncode != 0:
        tail = (proc.stdout + proc.stderr).strip()[-3000:]
        raise BenchmarkError(f"{what} failed ({' '.join(cmd)}):\n{tail}")


def _status_kb(key: str) -> int:
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith(key + ":"):
                return int(line.split()[1])
    return 0


def _rss_kb() -> int:
    try:
        return _status_kb("VmRSS")
    except OSError:
        return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss


def _hwm_kb() -> int:
    try:
        return _status_kb("VmHWM")
    except OSError:
        return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss


# ---- reporting ----------------------------------------------------------------------------

def ratios(rows: Iterable[Dict[str, Any]]) -> List[Dict[str, Any]]:
    """Adds 'rows_per_s' and 'ratio' to copies of rows. ratio = cdpcore's
    rows/s over this row's rows/s for the same benchmark (= peer seconds /
    cdpcore seconds at equal rows; >1 means cdpcore is faster). The cdpcore
    measurement with the same row count is used, else the nearest one."""
    rows = [dict(r) for r in rows]
    for r in rows:
        r["rows_per_s"] = r["rows"] / r["seconds"] if r["seconds"] > 0 else None
    ours: Dict[str, List[Dict[str, Any]]] = {}
    for r in rows:
        if r["impl"] == "cdpcore" and r["rows_per_s"]:
            ours.setdefault(r["benchmark"], []).append(r)
    for r in rows:
        cands = ours.get(r["benchmark"])
        if not cands or not r["rows_per_s"]:
            r["ratio"] = None
            continue
        base = min(cands, key=lambda c: abs(c["rows"] - r["rows"]))
        r["ratio"] = base["rows_per_s"] / r["rows_per_s"]
    return rows


def format_table(rows: List[Dict[str, Any]]) -> str:
    """benchmark | impl | seconds | rows | rows/s | ratio | peak MB | notes"""
    rows = ratios(rows)
    header = ["benchmark", "impl", "seconds", "rows", "rows/s", "ratio", "peak MB", "notes"]
    body = []
    for r in rows:
        peak = r.get("peak_mb")
        body.append([
            r["benchmark"], r["impl"], f"{r['seconds']:.4f}", f"{r['rows']:,}",
            f"{r['rows_per_s']:,.0f}" if r["rows_per_s"] else "-",
            f"{r['ratio']:.2f}x" if r["ratio"] is not None else "-",
            f"{peak:,.0f}" if isinstance(peak, (int, float)) else "-",
            str(r.get("notes", "")),
        ])
    widths = [max(len(h), *(len(b[i]) for b in body)) if body else len(h) for i, h in enumerate(header)]
    right = {2, 3, 4, 5, 6}

    def fmt(cells):
        return " | ".join(c.rjust(w) if i in right else c.ljust(w) for i, (c, w) in enumerate(zip(cells, widths)))

    lines = [fmt(header), "-+-".join("-" * w for w in widths)]
    lines += [fmt(b) for b in body]
    return "\n".join(lines)
