"""Segments: bitmap algebra over person ordinals against DuckDB (the same
conditions as SQL over a table of the same tags) and pyroaring (current
CRoaring doing the same algebra), in one run.

Data: `persons` persons (10M at full scale) and 50 boolean tags whose
densities run geometrically from 0.05% to 70%, drawn with a fixed seed.

  (a) a 5-operand segment, (t49 or t46) and t44 and not t41 and t38:
      its members and count (cdpcore: SegmentEngine.preview, the definition
      compiled and run as bitmap algebra; also evaluate(), which also stores
      the members and computes who entered and exited);
  (b) the overlap matrix of 20 segments (each a 2-operand definition);
  (c) which of 1,000 segments one person is in (the reverse index), median
      over 200 persons.

cdpcore and pyroaring are timed from Python (one call per operation for
cdpcore, one per bitmap operation for pyroaring); DuckDB runs SQL on
`threads` threads. The native program benchmarks/cpp/segment.cpp repeats
(a)-(c) in C++ on the same tags (written as Roaring portable files, which
also checks that the library reads pyroaring's bytes at scale).
"""
from __future__ import annotations

import os
import random
import statistics
import tempfile
import time

import numpy as np

N_TAGS = 50
SEG_A = "(t49 or t46) and t44 and not t41 and t38"


def _tags(persons: int):
    rng = np.random.default_rng(20240501)
    dens = np.geomspace(0.0005, 0.7, N_TAGS)
    cols = {}
    for i, d in enumerate(dens):
        cols[f"t{i}"] = rng.random(persons, dtype=np.float32) < d
    return cols, dens


def _overlap_defs():
    # 20 two-operand segments over tags of varied density.
    ops = ["and", "or", "and not"]
    defs = []
    for k in range(20):
        a, b = 49 - (k % 25), 30 + (k * 7) % 20
        if a == b:
            b = (b + 1) % N_TAGS
        op = ops[k % 3]
        defs.append((f"o{k}", f"t{a} {op} t{b}", a, op, b))
    return defs


def _many_defs(n: int):
    rng = random.Random(7)
    ops = ["and", "or", "and not"]
    out = []
    for k in range(n):
        a, b = rng.sample(range(N_TAGS), 2)
        out.append((f"m{k}", f"t{a} {ops[k % 3]} t{b}", a, ops[k % 3], b))
    return out


def _py_op(bms, a, op, b):
    if op == "and":
        return bms[a] & bms[b]
    if op == "or":
        return bms[a] | bms[b]
    return bms[a] - bms[b]


def _sql_op(a, op, b):
    return {"and": f"t{a} AND t{b}", "or": f"t{a} OR t{b}", "and not": f"t{a} AND NOT t{b}"}[op]


def run(ctx) -> None:
    import cdpcore

    ctx.ensure("pyroaring", "duckdb")
    import duckdb
    import pyarrow as pa
    import pyroaring

    persons = 10_000_000 if ctx.scale == "full" else 1_000_000
    n_many = 1000
    cols, dens = _tags(persons)
    ids = {name: np.flatnonzero(col).astype(np.uint32) for name, col in cols.items()}

    # --- load the three engines with the same tags ----------------------------------
    t = time.perf_counter()
    seg = cdpcore.SegmentEngine()
    for name, v in ids.items():
        seg.set_tag(name, v)
    seg.set_universe(cdpcore.Bitmap.from_range(0, persons))
    load_cdp = time.perf_counter() - t
    t = time.perf_counter()
    pr = {int(name[1:]): pyroaring.BitMap(v) for name, v in ids.items()}
    load_pr = time.perf_counter() - t
    con = duckdb.connect()
    con.execute(f"SET threads TO {ctx.threads}")
    table = pa.table({"person": pa.array(np.arange(persons, dtype=np.uint32)), **{k: pa.array(v) for k, v in cols.items()}})
    t = time.perf_counter()
    con.register("arrow_tags", table)
    con.execute("CREATE TABLE tags AS SELECT * FROM arrow_tags")
    con.unregister("arrow_tags")
    load_db = time.perf_counter() - t
    del table
    tag_members = sum(len(v) for v in ids.values())
    tag_bytes = sum(seg.tag(f"t{i}").memory_bytes() for i in range(N_TAGS))
    ctx.record(benchmark="segment.load_tags", impl="cdpcore", seconds=load_cdp, rows=tag_members,
               bytes_per_member=tag_bytes / tag_members, kernels=cdpcore.Bitmap.kernel_name())
    ctx.record(benchmark="segment.load_tags", impl="pyroaring", seconds=load_pr, rows=tag_members,
               bytes_per_member=sum(b.get_statistics()["n_bytes_array_containers"] +
                                    b.get_statistics()["n_bytes_bitset_containers"] +
                                    b.get_statistics()["n_bytes_run_containers"] for b in pr.values()) / tag_members)
    ctx.record(benchmark="segment.load_tags", impl="duckdb", seconds=load_db, rows=persons * N_TAGS)

    # --- (a) a 5-operand segment: members and count ----------------------------------
    result = seg.preview(SEG_A, 0)
    size = len(result)

    def cdp_a():
        r = seg.preview(SEG_A, 0)
        return len(r)

    def pr_a():
        r = ((pr[49] | pr[46]) & pr[44] & pr[38]) - pr[41]
        return len(r)

    sql_a = "(t49 OR t46) AND t44 AND NOT t41 AND t38"

    def db_a():
        got = con.execute(f"SELECT person FROM tags WHERE {sql_a}").fetchnumpy()["person"]
        return len(got)

    def db_a_count():
        return con.execute(f"SELECT count(*) FROM tags WHERE {sql_a}").fetchone()[0]

    assert cdp_a() == pr_a() == db_a() == db_a_count() == size, "the three engines disagree on (a)"
    assert np.array_equal(result.to_numpy(), np.sort(con.execute(f"SELECT person FROM tags WHERE {sql_a}").fetchnumpy()["person"]))
    ctx.record(benchmark="segment.a_members_count", impl="cdpcore", seconds=ctx.time(cdp_a, repeat=15), rows=size,
               notes="SegmentEngine.preview: compile + bitmap algebra + count")
    ctx.record(benchmark="segment.a_members_count", impl="pyroaring", seconds=ctx.time(pr_a, repeat=15), rows=size)
    ctx.record(benchmark="segment.a_members_count", impl="duckdb", seconds=ctx.time(db_a, repeat=5), rows=size,
               threads=ctx.threads, notes="SELECT person … WHERE, fetched as NumPy")
    ctx.record(benchmark="segment.a_count_only", impl="duckdb", seconds=ctx.time(db_a_count, repeat=5), rows=size,
               threads=ctx.threads)
    ctx.record(benchmark="segment.a_members_as_array", impl="cdpcore",
               seconds=ctx.time(lambda: seg.preview(SEG_A, 0).to_numpy(), repeat=15), rows=size)
    ctx.record(benchmark="segment.a_members_as_array", impl="pyroaring",
               seconds=ctx.time(lambda: np.array((((pr[49] | pr[46]) & pr[44] & pr[38]) - pr[41])), repeat=5), rows=size)
    seg.define("a", SEG_A)
    seg.evaluate("a", 0)
    ctx.record(benchmark="segment.a_evaluate_and_store", impl="cdpcore",
               seconds=ctx.time(lambda: seg.evaluate("a", 0), repeat=15), rows=size,
               notes="evaluate(): also stores members and diffs against the previous ones")

    # --- (b) overlap matrix of 20 segments -----------------------------------------------
    defs = _overlap_defs()
    pr_segs = []
    for name, d, a, op, b in defs:
        seg.define(name, d)
        seg.evaluate(name, 0)
        pr_segs.append(_py_op(pr, a, op, b))
    names = [d[0] for d in defs]
    con.execute("CREATE TABLE segs AS SELECT " + ", ".join(f"({_sql_op(a, op, b)}) AS {n}" for n, _, a, op, b in defs)
                + " FROM tags")

    def cdp_b():
        return seg.overlap(names)

    def pr_b():
        n = len(pr_segs)
        m = np.zeros((n, n), dtype=np.uint64)
        for i in range(n):
            m[i, i] = len(pr_segs[i])
            for j in range(i + 1, n):
                m[i, j] = m[j, i] = pr_segs[i].intersection_cardinality(pr_segs[j])
        return m

    pairs = [(i, j) for i in range(20) for j in range(i, 20)]
    sql_b = "SELECT " + ", ".join(f"count_if({names[i]} AND {names[j]})" for i, j in pairs) + " FROM segs"

    def db_b():
        row = con.execute(sql_b).fetchone()
        m = np.zeros((20, 20), dtype=np.uint64)
        for (i, j), v in zip(pairs, row):
            m[i, j] = m[j, i] = v
        return m

    mb = cdp_b()
    assert np.array_equal(mb, pr_b()) and np.array_equal(mb, db_b()), "the three engines disagree on (b)"
    ctx.record(benchmark="segment.b_overlap_20", impl="cdpcore", seconds=ctx.time(cdp_b, repeat=7), rows=190)
    ctx.record(benchmark="segment.b_overlap_20", impl="pyroaring", seconds=ctx.time(pr_b, repeat=7), rows=190)
    ctx.record(benchmark="segment.b_overlap_20", impl="duckdb", seconds=ctx.time(db_b, repeat=3), rows=190,
               threads=ctx.threads, notes="count_if over the 20 segments materialised as boolean columns")

    # --- (c) which of 1,000 segments one person is in ---------------------------------
    many = _many_defs(n_many)
    t = time.perf_counter()
    for name, d, *_ in many:
        seg.define(name, d)
    seg.refresh(0)
    build = time.perf_counter() - t
    many_names = {m[0] for m in many}
    seg_members = sum(seg.count(n) for n in many_names)
    seg_bytes = sum(seg.members(n).memory_bytes() for n in many_names)
    pr_many = [_py_op(pr, a, op, b) for _, _, a, op, b in many]
    ctx.record(benchmark="segment.c_build_1000", impl="cdpcore", seconds=build, rows=seg_members,
               bytes_per_member=seg_bytes / seg_members, notes="define + evaluate 1,000 segments, index them")
    rng = random.Random(11)
    probes = [rng.randrange(persons) for _ in range(200)]
    for p in probes[:20]:
        want = sorted(f"m{i}" for i, b in enumerate(pr_many) if p in b)
        assert sorted(n for n in seg.segments_of(p) if n in many_names) == want, "reverse index disagrees"

    def per_person(fn):
        ts = []
        for p in probes:
            t0 = time.perf_counter()
            fn(p)
            ts.append(time.perf_counter() - t0)
        return statistics.median(ts)

    ctx.record(benchmark="segment.c_segments_of_person", impl="cdpcore", seconds=per_person(seg.segments_of), rows=1,
               segments=n_many + len(defs) + 1, notes="median of 200 persons; Python call included")
    ctx.record(benchmark="segment.c_segments_of_person", impl="pyroaring",
               seconds=per_person(lambda p: [i for i, b in enumerate(pr_many) if p in b]), rows=1,
               notes="contains() on each of the 1,000 bitmaps")
    sql_c = "SELECT " + ", ".join(f"({_sql_op(a, op, b)})" for _, _, a, op, b in many) + " FROM tags WHERE person = ?"
    db_probes = probes[:20]

    def db_c():
        ts = []
        for p in db_probes:
            t0 = time.perf_counter()
            con.execute(sql_c, [p]).fetchone()
            ts.append(time.perf_counter() - t0)
        return statistics.median(ts)

    ctx.record(benchmark="segment.c_segments_of_person", impl="duckdb", seconds=db_c(), rows=1, threads=ctx.threads,
               notes="the 1,000 conditions on the person's row (zone maps prune the scan); median of 20")

    # --- native: the same workloads in C++ on the same tags ------------------------
    if hasattr(ctx, "native"):
        with tempfile.TemporaryDirectory() as tmp:
            for i in range(N_TAGS):
                with open(os.path.join(tmp, f"t{i}.roaring"), "wb") as f:
                    f.write(pr[i].serialize())  # pyroaring's bytes: the library reads them
            ctx.native("segment", tmp, str(persons), str(n_many))
