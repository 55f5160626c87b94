"""Segments on the generated sample population, end to end: attributes and
orders in a ProfileStore (keyed by the ground-truth person), tags from a
RuleSet, segments mixing tags and attributes — each compared with DuckDB
evaluating the same condition in SQL over a table of the tags and
attributes (three-valued logic included: unknown cities and genders)."""
import numpy as np
import pandas as pd
import pytest

import cdpcore
from cdpcore import datagen
from cdpcore.profile import ProfileStore

duckdb = pytest.importorskip("duckdb")

AS_OF = "2025-01-01"
RULES = """
tag big_spender = sum(order.amount, last 365 days) >= 2000
tag repeat_buyer = count(order, last 180 days) >= 2
tag lapsed = count(order, last 90 days) == 0
tag price_band = case when avg(order.amount, last 365 days) >= 500 then "high"
                      when avg(order.amount, last 365 days) >= 200 then "mid"
                      else "low" end
"""

# (segment definition, the same condition in SQL)
CASES = [
    ('(big_spender or repeat_buyer) and city == "上海" and not lapsed',
     "(big_spender OR repeat_buyer) AND city = '上海' AND NOT lapsed"),
    ('not (city == "北京") and repeat_buyer', "NOT (city = '北京') AND repeat_buyer"),
    ('price_band == "high" and gender == "female"', "price_band = 'high' AND gender = 'female'"),
    ('member_level in ["gold", "platinum"] or big_spender', "member_level IN ('gold', 'platinum') OR big_spender"),
    ('not (lapsed or member_level == "none")', "NOT (lapsed OR member_level = 'none')"),
    ('price_band != "low" and not (gender == "male" and repeat_buyer)',
     "price_band <> 'low' AND NOT (gender = 'male' AND repeat_buyer)"),
]


@pytest.fixture(scope="module")
def world():
    s = datagen.generate(persons=6000, seed=11)
    persons = s.persons.reset_index()
    n = len(persons)
    store = ProfileStore()
    for name in ("member_level", "city", "gender"):
        store.define_attribute(name, "string")
    store.define_event_type("order", {"amount": "double"})
    attrs = pd.DataFrame({
        "person": persons["person"].to_numpy(dtype=np.uint32),
        "member_level": persons["member_level"].astype(object),
        "city": persons["city"].astype(object),
        "gender": persons["gender"].astype(object).where(persons["gender"] != "unknown", None),
    })
    for name in ("member_level", "city", "gender"):
        attrs[name] = attrs[name].astype(object).where(attrs[name].notna(), None)
    store.upsert(attrs)
    ev = s.events
    orders = ev[ev["type"] == "order"]
    store.append_events("order", {"person": orders["true_person"].to_numpy(dtype=np.uint32),
                                  "time": orders["time"], "amount": orders["amount"].to_numpy()})
    store.compact()
    tags = cdpcore.RuleSet(store, RULES).evaluate(store, AS_OF)
    seg = cdpcore.SegmentEngine()
    seg.attach_store(store)
    seg.set_tags(tags)
    seg.set_universe(cdpcore.Bitmap.from_range(0, n))
    # The oracle's table: tags as booleans / labels, attributes as strings with NULLs.
    table = attrs.copy()
    for name in ("big_spender", "repeat_buyer", "lapsed"):
        col = np.zeros(n, dtype=bool)
        col[tags.members(name).to_numpy()] = True
        table[name] = col
    band = np.full(n, None, dtype=object)
    for label, members in tags.label_members("price_band").items():
        band[members.to_numpy()] = label
    table["price_band"] = band
    con = duckdb.connect()
    con.register("t", table)
    con.execute("CREATE TABLE world AS SELECT * FROM t")
    return seg, store, con


@pytest.mark.parametrize("definition,sql", CASES)
def test_segments_on_generated_data_equal_duckdb(world, definition, sql):
    seg, _, con = world
    seg.define("s", definition, replace=True)
    got = seg.evaluate("s", cdpcore.parse_time(AS_OF)).to_numpy().tolist()
    want = [r[0] for r in con.execute(f"SELECT person FROM world WHERE {sql} ORDER BY person").fetchall()]
    assert len(want) > 0
    assert got == want


def test_overlaps_on_generated_data_equal_duckdb(world):
    seg, _, con = world
    t = cdpcore.parse_time(AS_OF)
    for i, (d, _) in enumerate(CASES[:3]):
        seg.define(f"o{i}", d, replace=True)
        seg.evaluate(f"o{i}", t)
    m = seg.overlap(["o0", "o1", "o2"])
    for i in range(3):
        for j in range(3):
            want = con.execute(f"SELECT count(*) FROM world WHERE ({CASES[i][1]}) AND ({CASES[j][1]})").fetchone()[0]
            assert m[i, j] == want
