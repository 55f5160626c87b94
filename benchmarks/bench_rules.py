"""Tag engine: the ten example tags for everyone, against DuckDB running the
equivalent SQL on the same data in the same process (both with 2 threads);
one person's ten tags right after an event (200-event history), compile time
per rule and memory per event (native program benchmarks/cpp/rules.cpp).

full scale: 1M persons, ~20M events (the issue's sizes); small: 100k persons.
"""
from __future__ import annotations

import numpy as np

TEN_TAGS = """
tag vip = sum(order.amount, last 365 days) >= 5000 or member_level in ["gold", "platinum"]
tag lapsed = count(order) >= 1 and count(page_view, last 60 days) = 0
tag price_band = case when avg(order.amount, last 180 days) >= 500 then "high"
                      when avg(order.amount, last 180 days) >= 150 then "mid" else "low" end
tag top_category = most_frequent(order.category, last 90 days)
tag repeat_buyer_30d = count(order, last 30 days) >= 2
tag cart_abandoner = count(add_to_cart, last 3 days) >= 1 and count(order, since last add_to_cart) = 0
tag new_member = signup_at in last 30 days
tag age_band = case when age(birthday) < 25 then "18-24" when age(birthday) < 35 then "25-34"
                    when age(birthday) < 50 then "35-49" when age(birthday) >= 50 then "50+" end
tag sms_responsive = count(sms_click, last 90 days) / count(sms_sent, last 90 days) >= 0.1
tag multi_store = count_distinct(order.store) >= 3
"""

D = 86_400_000_000


def duckdb_queries(A: int, today: str):
    """The ten tags as SQL over per-type tables; each gives the tag's members
    (boolean tags) or (person, label) rows (value tags)."""
    age = (f"(year(DATE '{today}') - year(birthday) - CASE WHEN month(DATE '{today}') < month(birthday) OR "
           f"(month(DATE '{today}') = month(birthday) AND day(DATE '{today}') < day(birthday)) THEN 1 ELSE 0 END)")
    win = lambda n: f"t > {A} - {n} * {D} AND t <= {A}"  # noqa: E731
    return {
        "vip": f"""SELECT p.person FROM persons p LEFT JOIN
                   (SELECT person, SUM(amount) s FROM orders WHERE {win(365)} GROUP BY person) o ON o.person = p.person
                   WHERE COALESCE(o.s, 0) >= 5000 OR p.member_level IN ('gold', 'platinum')""",
        "lapsed": f"""SELECT person FROM orders WHERE t <= {A} GROUP BY person
                      EXCEPT SELECT person FROM page_views WHERE {win(60)}""",
        "price_band": f"""SELECT p.person, CASE WHEN a >= 500 THEN 'high' WHEN a >= 150 THEN 'mid' ELSE 'low' END
                          FROM persons p LEFT JOIN
                          (SELECT person, AVG(amount) a FROM orders WHERE {win(180)} GROUP BY person) o
                          ON o.person = p.person""",
        "top_category": f"""SELECT person, category FROM (
                              SELECT person, category, ROW_NUMBER() OVER (PARTITION BY person ORDER BY COUNT(*) DESC,
                                     category) rn
                              FROM orders WHERE {win(90)} AND category IS NOT NULL GROUP BY person, category)
                            WHERE rn = 1""",
        "repeat_buyer_30d": f"SELECT person FROM orders WHERE {win(30)} GROUP BY person HAVING COUNT(*) >= 2",
        "cart_abandoner": f"""WITH c AS (SELECT person, MAX(t) lt, COUNT(*) FILTER (WHERE t > {A} - 3 * {D}) c3
                                         FROM carts WHERE t <= {A} GROUP BY person)
                              SELECT c.person FROM c WHERE c3 >= 1 AND NOT EXISTS
                                (SELECT 1 FROM orders o WHERE o.person = c.person AND o.t >= c.lt AND o.t <= {A})""",
        "new_member": f"SELECT person FROM persons WHERE signup_at > {A} - 30 * {D} AND signup_at <= {A}",
        "age_band": f"""SELECT person, CASE WHEN {age} < 25 THEN '18-24' WHEN {age} < 35 THEN '25-34'
                               WHEN {age} < 50 THEN '35-49' WHEN {age} >= 50 THEN '50+' END
                        FROM persons WHERE birthday IS NOT NULL""",
        "sms_responsive": f"""SELECT s.person FROM
                              (SELECT person, COUNT(*) n FROM sms_sent WHERE {win(90)} GROUP BY person) s JOIN
                              (SELECT person, COUNT(*) n FROM sms_click WHERE {win(90)} GROUP BY person) c
                              ON c.person = s.person WHERE CAST(c.n AS DOUBLE) / s.n >= 0.1""",
        "multi_store": f"SELECT person FROM orders WHERE t <= {A} GROUP BY person HAVING COUNT(DISTINCT store) >= 3",
    }


def run(ctx):
    ctx.ensure("duckdb")
    import datetime as dt

    import duckdb
    import pandas as pd

    import cdpcore
    from cdpcore import datagen
    from cdpcore.profile import ProfileStore
    from cdpcore.rules import RuleSet

    persons = 1_000_000 if ctx.scale == "full" else 100_000
    sample = datagen.generate(persons=persons, seed=42, with_consent=False, with_canonical=False)
    ev = sample.events
    ppl = sample.persons
    n_events = len(ev)
    end = sample.options["end"]
    A = int(end) - D  # as_of: the last day of the data
    today = dt.datetime.fromtimestamp(A / 1e6, tz=dt.timezone.utc).date().isoformat()

    # ---- cdpcore: an in-memory store (the workspace's SQLite writes are not what is measured)
    store = ProfileStore()
    for name, typ in [("member_level", "string"), ("signup_at", "timestamp"), ("birthday", "timestamp"),
                      ("city", "string"), ("gender", "string")]:
        store.define_attribute(name, typ)
    props = {"order": {"amount": "double", "sku": "string", "category": "string", "store": "string"},
             "add_to_cart": {"sku": "string"}}
    for e in ["order", "page_view", "add_to_cart", "sms_sent", "sms_click", "coupon_redeem", "signup"]:
        store.define_event_type(e, props.get(e, {}))
    level = ppl["member_level"].astype(str)
    attrs = {
        "person": np.arange(len(ppl), dtype=np.uint32),
        "member_level": pd.Categorical(level.where(level != "none", None)),
        "signup_at": ppl["signup_at"],
        "birthday": ppl["birthday"],
        "city": ppl["city"],
        "gender": ppl["gender"],
    }
    import time

    t0 = time.perf_counter()
    store.upsert(attrs)
    types = ev["type"].astype(str).to_numpy()
    frames = {}
    for e in ["order", "page_view", "add_to_cart", "sms_sent", "sms_click", "coupon_redeem", "signup"]:
        sel = ev[types == e]
        cols = {"person": sel["true_person"].to_numpy(), "time": sel["time"]}
        for p in props.get(e, {}):
            cols[p] = sel[p]
        store.append_events(e, cols)
        frames[e] = sel
    store.compact()
    load_s = time.perf_counter() - t0
    ctx.record("rules.load_events", "cdpcore", load_s, n_events, notes="from pandas (categorical codes), in memory")
    rs = RuleSet(store, TEN_TAGS)
    result = {}

    def cdp():
        result["r"] = rs.evaluate(store, A, threads=2)

    cdp_s = ctx.time(cdp, repeat=3, warmup=1)
    mem = store.memory_usage()
    ctx.record("rules.batch_ten_tags", "cdpcore", cdp_s, persons, threads=2, events=n_events,
               bytes_per_item=round(mem["event_bytes"] / max(mem["events"], 1), 2),
               notes="1M persons / 20M events at full scale; bytes_per_item = memory per stored event")

    # ---- DuckDB: the same data as per-type tables sorted by (person, time), 2 threads
    con = duckdb.connect()
    con.execute("SET threads = 2")
    to_us = lambda s: s.values.astype("datetime64[us]").astype(np.int64)  # noqa: E731
    bday = ppl["birthday"]
    con.register("p_src", pd.DataFrame({
        "person": np.arange(len(ppl), dtype=np.int64),
        "member_level": level.where(level != "none", None),
        "signup_at": pd.array(np.where(ppl["signup_at"].isna(), None, to_us(ppl["signup_at"])), dtype="Int64"),
        "birthday": bday.dt.date,
    }))
    con.execute("CREATE TABLE persons AS SELECT * FROM p_src")
    specs = {"orders": ("order", ["amount", "sku", "category", "store"]), "page_views": ("page_view", []),
             "carts": ("add_to_cart", ["sku"]), "sms_sent": ("sms_sent", []), "sms_click": ("sms_click", [])}
    for table, (e, cols) in specs.items():
        sel = frames[e]
        df = pd.DataFrame({"person": sel["true_person"].to_numpy().astype(np.int64), "t": to_us(sel["time"])})
        for c in cols:
            df[c] = (sel[c].astype(object).where(sel[c].notna(), None) if c != "amount" else sel[c]).to_numpy()
        con.register("src", df)
        con.execute(f"CREATE TABLE {table} AS SELECT * FROM src ORDER BY person, t")
        con.unregister("src")
    queries = duckdb_queries(A, today)
    out = {}

    def duck():
        for name, q in queries.items():
            out[name] = con.sql(q).to_arrow_table()

    duck_s = ctx.time(duck, repeat=3, warmup=1)
    ctx.record("rules.batch_ten_tags", "duckdb", duck_s, persons, threads=2, events=n_events,
               notes="ten SQL queries over per-type tables, results fetched as Arrow")

    # the two agree on every tag's size (a check that the SQL is the same rule)
    r = result["r"]
    for name in queries:
        got = len(r.members(name).to_numpy())
        want = out[name].num_rows
        if name == "price_band":
            want = persons  # every person gets a band
        if got != want:
            raise AssertionError(f"{name}: cdpcore {got} members, DuckDB {want}")

    # ---- native: one person after an event, compile time, memory per event
    native_persons = persons if ctx.scale == "full" else 100_000
    ctx.native("rules", native_persons)
