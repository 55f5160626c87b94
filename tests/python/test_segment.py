"""Segments from Python, checked against independent oracles: DuckDB running
the same condition as SQL (three-valued logic included) over a table of the
same tags, Python set algebra, and statistics for holdouts."""
import math
import random

import numpy as np
import pytest

import cdpcore
from cdpcore.segment import Segment, export_to_arrow, export_to_pandas, overlap_frame

duckdb = pytest.importorskip("duckdb")

N = 50_000
TAGS = {"vip": 0.08, "repeat_buyer": 0.3, "lapsed": 0.2, "sms_ok": 0.6, "shanghai": 0.25, "rare": 0.001}
BANDS = ["high", "mid", "low"]


@pytest.fixture(scope="module")
def data():
    rng = np.random.default_rng(7)
    cols = {name: rng.random(N) < p for name, p in TAGS.items()}
    band_code = rng.integers(0, 4, N)  # 3 = no label (NULL in SQL)
    return cols, band_code


@pytest.fixture()
def engine(data):
    cols, band_code = data
    seg = cdpcore.SegmentEngine()
    for name, col in cols.items():
        seg.set_tag(name, np.flatnonzero(col).astype(np.uint32))
    seg.set_value_tag("price_band", {b: np.flatnonzero(band_code == i).astype(np.uint32) for i, b in enumerate(BANDS)})
    seg.set_universe(cdpcore.Bitmap.from_range(0, N))
    return seg


@pytest.fixture(scope="module")
def con(data):
    cols, band_code = data
    import pandas as pd

    frame = pd.DataFrame({"person": np.arange(N, dtype=np.uint32), **cols})
    frame["price_band"] = pd.Series(
        pd.Categorical.from_codes(np.where(band_code == 3, -1, band_code), categories=BANDS)
    ).astype(object)
    c = duckdb.connect()
    c.register("frame", frame)
    c.execute("CREATE TABLE tags AS SELECT * FROM frame")
    return c


# (segment definition, the same condition in SQL)
CASES = [
    ("vip or repeat_buyer", "vip OR repeat_buyer"),
    ("(vip or repeat_buyer) and shanghai and not lapsed", "(vip OR repeat_buyer) AND shanghai AND NOT lapsed"),
    ("not (vip and sms_ok) or rare", "NOT (vip AND sms_ok) OR rare"),
    ('price_band == "high" and sms_ok', "price_band = 'high' AND sms_ok"),
    ('price_band != "high"', "price_band <> 'high'"),
    ('not (price_band == "low" or lapsed)', "NOT (price_band = 'low' OR lapsed)"),
    ('price_band in ["high", "mid"] and not vip', "price_band IN ('high', 'mid') AND NOT vip"),
    ('price_band not in ["low"] or rare', "price_band NOT IN ('low') OR rare"),
    ("price_band is null and shanghai", "price_band IS NULL AND shanghai"),
    ("vip and repeat_buyer and sms_ok and shanghai and not lapsed",
     "vip AND repeat_buyer AND sms_ok AND shanghai AND NOT lapsed"),
]


@pytest.mark.parametrize("definition,sql", CASES)
def test_segment_equals_duckdb_row_by_row(engine, con, definition, sql):
    engine.define("s", definition)
    got = engine.evaluate("s", 0).to_numpy()
    want = con.execute(f"SELECT person FROM tags WHERE {sql} ORDER BY person").fetchnumpy()["person"]
    assert got.tolist() == want.tolist()
    assert engine.count("s") == con.execute(f"SELECT count(*) FROM tags WHERE {sql}").fetchone()[0]


def test_overlap_matrix_and_breakdown_equal_duckdb(engine, con):
    names = ["vip", "repeat_buyer", "lapsed", "shanghai"]
    for n in names:
        engine.define(f"s_{n}", n)
        engine.evaluate(f"s_{n}", 0)
    m = engine.overlap([f"s_{n}" for n in names])
    for i, a in enumerate(names):
        for j, b in enumerate(names):
            assert m[i, j] == con.execute(f"SELECT count(*) FROM tags WHERE {a} AND {b}").fetchone()[0]
    frame = overlap_frame(engine, ["s_vip", "s_lapsed"])
    assert frame.loc["s_vip", "s_lapsed"] == m[0, 2]
    got = engine.breakdown("s_vip", "price_band")
    rows = dict(con.execute("SELECT price_band, count(*) FROM tags WHERE vip GROUP BY price_band").fetchall())
    assert got == rows


def test_hypothetical_extra_condition_and_preview(engine, con):
    engine.define("buyers", "vip or repeat_buyer")
    engine.evaluate("buyers", 0)
    want = con.execute("SELECT count(*) FROM tags WHERE (vip OR repeat_buyer) AND sms_ok").fetchone()[0]
    assert engine.count_with("buyers", "sms_ok", 0) == want
    assert len(engine.preview("buyers and sms_ok", 0)) == want


def test_errors_name_the_position(engine):
    with pytest.raises(cdpcore.NotFound, match=r"line 1, column 9"):
        engine.define("x", "vip and nope")
    with pytest.raises(cdpcore.TypeError, match="price_band"):
        engine.define("x", "price_band and vip")
    with pytest.raises(cdpcore.ParseError) as info:
        engine.define("x", "vip and (")
    assert info.value.line == 1
    engine.define("a", "vip")
    engine.define("b", "a or rare")
    with pytest.raises(cdpcore.InvalidArgument, match="a -> b -> a"):
        engine.define("a", "b and sms_ok", replace=True)
    engine.evaluate("b", 0)
    engine.remove_tag("rare")
    with pytest.raises(cdpcore.NotFound, match="tag 'rare' was deleted"):
        engine.evaluate("b", 0)


def test_holdout_proportions_within_tolerance_and_stable_under_growth():
    seg = cdpcore.SegmentEngine()
    small = cdpcore.Bitmap.from_range(0, 40_000)
    props = [0.1, 0.3, 0.6]
    groups = seg.split(small, "campaign-7", props)
    sizes = [len(g) for g in groups]
    assert sum(sizes) == 40_000
    # Chi-square goodness of fit, 2 degrees of freedom: 13.8 is the 0.999 quantile.
    chi2 = sum((s - 40_000 * p) ** 2 / (40_000 * p) for s, p in zip(sizes, props))
    assert chi2 < 13.8
    grown = seg.split(cdpcore.Bitmap.from_range(0, 90_000), "campaign-7", props)
    for g, h in zip(groups, grown):
        assert g.is_subset(h)
    # Another salt assigns independently: the joint share of two control groups is ~ 0.1 * 0.1.
    other = seg.split(small, "campaign-8", props)
    joint = groups[0].and_cardinality(other[0]) / 40_000
    assert abs(joint - 0.01) < 5 * math.sqrt(0.01 * 0.99 / 40_000)


def test_sample_is_deterministic_and_from_members():
    members = cdpcore.Bitmap(np.arange(0, 200_000, 7, dtype=np.uint32))
    a = cdpcore.SegmentEngine.sample(members, 500, 42)
    assert len(a) == 500 and a.is_subset(members)
    assert a == cdpcore.SegmentEngine.sample(members, 500, 42)
    assert a != cdpcore.SegmentEngine.sample(members, 500, 43)


def test_snapshot_diff_equals_set_difference(engine, data):
    engine.define("buyers", "vip or repeat_buyer")
    before = set(engine.evaluate("buyers", 1).to_numpy().tolist())
    s1 = engine.snapshot("buyers", 1, "before")
    rng = random.Random(3)
    vip = engine.tag("vip")
    for _ in range(300):
        vip.remove(rng.randrange(N))
        vip.add(rng.randrange(N))
    engine.set_tag("vip", vip)
    changes = engine.refresh(2)
    after = set(engine.members("buyers").to_numpy().tolist())
    s2 = engine.snapshot("buyers", 2, "after")
    entered, exited = engine.diff(s1, s2)
    assert set(entered.to_numpy().tolist()) == after - before
    assert set(exited.to_numpy().tolist()) == before - after
    assert changes[0]["entered"] == entered and changes[0]["exited"] == exited
    log = engine.changes_since(0)
    assert {(e["person"], e["entered"]) for e in log} == {(p, True) for p in after - before} | {
        (p, False) for p in before - after
    }
    assert [s["label"] for s in engine.snapshots("buyers")] == ["before", "after"]


def test_update_person_emits_enter_and_exit(engine):
    engine.define("vips", "vip and sms_ok")
    engine.define("vip_sh", "vips and shanghai")
    engine.evaluate("vip_sh", 0)
    cand = (engine.tag("sms_ok") & engine.tag("shanghai")) - engine.tag("vip")
    p = cand.select(0)
    engine.set_person_tag(p, "vip", True)
    events = engine.update_person(p, ["vip"], 5)
    assert [(e["segment"], e["entered"]) for e in events] == [("vips", True), ("vip_sh", True)]
    assert "vip_sh" in engine.segments_of(p)


def test_segment_wrapper_members_and_export_to_pandas_and_arrow(engine, tmp_path):
    engine.define("reachable", "sms_ok and not lapsed")
    s = Segment(engine, "reachable").evaluate(0)
    members = s.members()
    assert members.dtype == np.uint32
    assert len(s) == len(members)
    allowed = cdpcore.Bitmap.from_range(0, N // 2)
    frame = export_to_pandas(engine, s.bitmap, allowed=allowed)
    assert frame["person"].tolist() == [int(p) for p in members if p < N // 2]
    table = export_to_arrow(engine, s.bitmap)
    assert table.column("person").to_pylist() == members.tolist()
    path = tmp_path / "out.csv"
    report = s.to_csv(str(path))
    assert report.exported == len(members)
    lines = path.read_text().splitlines()
    assert lines[0] == "person_ordinal" and len(lines) == len(members) + 1
    assert engine.segment("reachable").count() == len(members)
    with pytest.raises(cdpcore.NotFound):
        Segment(engine, "nope")


def test_persisted_segments_reopen_with_the_same_members(tmp_path, data):
    cols, _ = data
    path = str(tmp_path / "seg.cdp")
    ws = cdpcore.Workspace.open(path)
    seg = cdpcore.SegmentEngine(ws)
    for name, col in cols.items():
        seg.set_tag(name, np.flatnonzero(col).astype(np.uint32))
    seg.define("target", "vip and not lapsed", description="demo")
    members = seg.evaluate("target", 123)
    seg.define_fixed("list", [4, 8, 15, 16, 23, 42])
    del seg, ws
    again = cdpcore.SegmentEngine(cdpcore.Workspace.open(path))
    assert again.names() == ["list", "target"]
    assert again.members("target") == members
    assert again.info("target")["description"] == "demo"
    assert again.members("list").to_numpy().tolist() == [4, 8, 15, 16, 23, 42]


def test_lists_and_export_through_the_identity_graph():
    g = cdpcore.IdentityGraph()
    g.register_default_types()
    rng = random.Random(5)
    phones, emails = {}, {}
    for i in range(400):
        ids = {}
        if rng.random() < 0.6:
            phones[i] = f"1380013{i:04d}"
            ids["phone"] = phones[i]
        if rng.random() < 0.5 or not ids:
            emails[i] = f"user{i}@example.com"
            ids["email"] = emails[i]
        g.link(ids, time=1000 + i)
    seg = cdpcore.SegmentEngine()
    seg.attach_identity(g)
    upload = [phones[i] for i in list(phones)[:50]] + ["13900000000", "not a phone"]
    report = seg.define_list("uploaded", "phone", upload)
    assert (report["matched"], report["unmatched"], report["invalid"]) == (50, 1, 1)
    assert report["rejected_rows"] == [50, 51]
    want = {g.ordinal_of("phone", p) for p in upload[:50]}
    assert set(seg.members("uploaded").to_numpy().tolist()) == want

    everyone = g.persons()
    frame = export_to_pandas(seg, everyone, identifier_types=["phone", "email"])
    assert len(frame) == len(everyone)  # every person has a phone or an e-mail
    for person, key, kind, value in frame[["person", "person_key", "identifier_type", "identifier"]].itertuples(index=False):
        assert g.ordinal_of(kind, value) == person  # the identifier belongs to the member
        assert g.key_of(person) == key
        if kind == "email":
            assert not g.identifiers_of(person, "phone")  # phone has priority when the person has one
    table = export_to_arrow(seg, seg.members("uploaded"), identifier_types=["email"])
    with_email = [p for p in seg.members("uploaded").to_numpy().tolist() if g.identifiers_of(p, "email")]
    assert table.column("person").to_pylist() == with_email
    # Consent plugs in as a bitmap of allowed persons.
    allowed = cdpcore.Bitmap(frame["person"].to_numpy()[::2])
    part = export_to_pandas(seg, everyone, identifier_types=["phone", "email"], allowed=allowed)
    assert set(part["person"]) == set(allowed.to_numpy().tolist())
