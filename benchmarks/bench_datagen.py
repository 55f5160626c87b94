"""Sample-data generation and its writers.

- generate: rows/s of cdpcore.datagen.generate (all tables) at 100k persons
  and, at full scale, 1M persons (~20M events); peak memory growth. No peer
  generates the same population, so this one has none.
- generate_identity: the identity benchmark's input (identity_only), at full
  scale 2.5M persons (~10M records).
- write_workspace: the sample tables into a SQLite workspace, against pandas
  DataFrame.to_sql into SQLite (same rows).
- write_csv: the sample tables as CSV, against pandas DataFrame.to_csv.
"""
import os
import shutil
import sqlite3
import tempfile


def _rows(s):
    return sum(len(s.frame(t)) for t in ("links", "records", "persons", "profiles", "events", "consent"))


def run(ctx):
    from cdpcore import datagen
    import cdpcore

    sizes = [100_000] if ctx.scale == "small" else [100_000, 1_000_000]
    for n in sizes:
        s = datagen.generate(persons=n)
        rows = _rows(s)
        events = len(s.events)
        del s
        repeat = 3 if n <= 100_000 else 1
        secs = ctx.time(lambda: datagen.generate(persons=n), repeat=repeat)
        peak = ctx.peak_mb(lambda: datagen.generate(persons=n))
        ctx.record(benchmark=f"generate {n // 1000}k persons", impl="cdpcore", seconds=secs, rows=rows,
                   peak_mb=peak, events=events, notes=f"{events:,} events; no peer")

    if ctx.scale == "full":
        n = 2_500_000
        s = datagen.generate(persons=n, identity_only=True, with_canonical=False)
        links, records = len(s.links), len(s.records)
        del s
        secs = ctx.time(lambda: datagen.generate(persons=n, identity_only=True, with_canonical=False), repeat=1)
        peak = ctx.peak_mb(lambda: datagen.generate(persons=n, identity_only=True, with_canonical=False))
        ctx.record(benchmark="generate identity 2.5M persons", impl="cdpcore", seconds=secs, rows=links,
                   peak_mb=peak, notes=f"{records:,} records, {links:,} identifier occurrences; no peer")

    # Writers: the same tables, ours against pandas.
    n = 20_000 if ctx.scale == "small" else 100_000
    s = datagen.generate(persons=n)
    rows = _rows(s)
    frames = {t: s.frame(t) for t in datagen.TABLES}
    tmp = tempfile.mkdtemp(prefix="cdpcore-bench-")
    try:
        counter = [0]

        def fresh(name):
            counter[0] += 1
            return os.path.join(tmp, f"{name}{counter[0]}")

        def ours_ws():
            path = fresh("ws") + ".cdp"
            ws = cdpcore.Workspace.open(path)
            s.write_to_workspace(ws)
            del ws

        def pandas_sql():
            con = sqlite3.connect(fresh("pd") + ".db")
            con.execute("PRAGMA journal_mode=WAL")
            for t, df in frames.items():
                df.to_sql(f"sample_{t}", con, index=False, chunksize=50_000)
            con.commit()
            con.close()

        ctx.record(benchmark=f"write_workspace {n // 1000}k persons", impl="cdpcore",
                   seconds=ctx.time(ours_ws, repeat=3), rows=rows)
        ctx.record(benchmark=f"write_workspace {n // 1000}k persons", impl="pandas.to_sql",
                   seconds=ctx.time(pandas_sql, repeat=1), rows=rows)

        def ours_csv():
            s.write_csv(fresh("csv"))

        def pandas_csv():
            d = fresh("pdcsv")
            os.makedirs(d)
            for t, df in frames.items():
                df.to_csv(os.path.join(d, f"{t}.csv"), index=False)

        ctx.record(benchmark=f"write_csv {n // 1000}k persons", impl="cdpcore", seconds=ctx.time(ours_csv, repeat=3),
                   rows=rows)
        ctx.record(benchmark=f"write_csv {n // 1000}k persons", impl="pandas.to_csv",
                   seconds=ctx.time(pandas_csv, repeat=1), rows=rows)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
