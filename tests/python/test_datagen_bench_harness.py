"""The benchmark harness (benchmarks/harness.py, benchmarks/run.py): recording,
timing, ratios and the table, without building or running real benchmarks."""
import json
import os
import sys
import time

import pytest

BENCH = os.path.join(os.path.dirname(__file__), "..", "..", "benchmarks")
sys.path.insert(0, os.path.abspath(BENCH))

import harness  # noqa: E402


def test_record_and_ratios():
    ctx = harness.Context(scale="small")
    ctx.record(benchmark="sum", impl="cdpcore", seconds=0.5, rows=1000, peak_mb=12.0)
    ctx.record(benchmark="sum", impl="numpy", seconds=1.5, rows=1000, notes="peer")
    ctx.record(benchmark="sum", impl="slowpeer", seconds=1.0, rows=100)  # other size: compared by rows/s
    ctx.record(benchmark="other", impl="peer", seconds=1.0, rows=10)
    rows = {(r["benchmark"], r["impl"]): r for r in harness.ratios(ctx.results)}
    assert rows[("sum", "cdpcore")]["ratio"] == pytest.approx(1.0)
    assert rows[("sum", "numpy")]["ratio"] == pytest.approx(3.0)  # peer seconds / ours: we are 3x faster
    assert rows[("sum", "slowpeer")]["ratio"] == pytest.approx(20.0)
    assert rows[("other", "peer")]["ratio"] is None  # nothing of ours to compare with
    assert rows[("sum", "numpy")]["rows_per_s"] == pytest.approx(1000 / 1.5)
    table = harness.format_table(ctx.results)
    lines = table.splitlines()
    assert lines[0].split("|")[0].strip() == "benchmark"
    assert "3.00x" in table and "12" in table and "peer" in table
    with pytest.raises(ValueError):
        ctx.record(benchmark="x", impl="cdpcore", seconds=-1, rows=1)


def test_time_is_the_median():
    ctx = harness.Context()
    delays = iter([0.0, 0.05, 0.01])
    assert ctx.time(lambda: time.sleep(next(delays)), repeat=3) == pytest.approx(0.01, abs=0.01)


def test_peak_mb_sees_an_allocation():
    ctx = harness.Context()
    grew = ctx.peak_mb(lambda: bytearray(64 * 1024 * 1024))
    assert grew is None or grew > 40


def test_ensure_reports_availability():
    ctx = harness.Context()
    assert ctx.ensure("json") is True


def test_native_rejects_unknown_program(tmp_path):
    ctx = harness.Context(build_dir=tmp_path)
    with pytest.raises(harness.BenchmarkError):
        ctx.native("no_such_benchmark_program")


def test_run_py_runs_a_module_and_writes_json(tmp_path, monkeypatch):
    import run

    mod = tmp_path / "bench_standin.py"
    mod.write_text(
        "def run(ctx):\n"
        "    ctx.record(benchmark='b', impl='cdpcore', seconds=0.1, rows=10)\n"
        "    ctx.record(benchmark='b', impl='peer', seconds=0.2, rows=10)\n"
    )
    monkeypatch.setattr(run, "HERE", tmp_path)
    monkeypatch.syspath_prepend(str(tmp_path))
    out = tmp_path / "out.json"
    assert run.main(["standin", "--use-installed", "--out", str(out)]) == 0
    data = json.loads(out.read_text())
    assert data["meta"]["scale"] == "small"
    assert [(r["impl"], r["ratio"]) for r in data["results"]] == [("cdpcore", 1.0), ("peer", 2.0)]
    assert run.main(["nonexistent", "--use-installed"]) == 2
