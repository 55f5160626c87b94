"""cdpcore.datagen: the same data as C++, zero-copy views, and properties
checked against independent tools (sqlite3, pandas' CSV/JSON readers,
networkx connected components, DuckDB aggregations)."""
import json
import sqlite3
import threading

import numpy as np
import pandas as pd
import pyarrow as pa
import pytest

import cdpcore
from cdpcore import datagen

# The same value is pinned in tests/cpp/datagen/test_datagen.cpp.
PINNED_DIGEST_SEED42_2000 = "7efa6850f5718f78ea6bf078422335de575824dc21e9f0c41c59bcd13089b8ea"


@pytest.fixture(scope="module")
def sample():
    return datagen.generate(persons=3000, seed=11)


def test_same_seed_same_data_different_seed_different_data():
    a = datagen.generate(persons=800, seed=5)
    b = datagen.generate(persons=800, seed=5)
    c = datagen.generate(persons=800, seed=6)
    assert a.column_digests() == b.column_digests()
    assert a.digest() == b.digest()
    assert a.digest() != c.digest()
    differing = {(t, col) for (t, col, h), (_, _, h2) in zip(a.column_digests(), c.column_digests()) if h != h2}
    assert ("links", "value") in differing and ("events", "time") in differing


def test_python_sees_the_bytes_cpp_hashed(sample):
    # Digests computed with hashlib over the NumPy views equal the C++ ones.
    assert sample.python_column_digests() == sample.column_digests()


def test_pinned_digest_matches_cpp():
    assert datagen.generate(persons=2000, seed=42).digest() == PINNED_DIGEST_SEED42_2000


def test_numeric_columns_are_read_only_views(sample):
    amount = sample.column("events", "amount")
    assert not amount.flags.writeable
    with pytest.raises(ValueError):
        amount[0] = 1.0
    ev = sample.events
    assert np.shares_memory(ev["amount"].to_numpy(), amount)
    assert np.shares_memory(ev["time"].to_numpy(), sample.column("events", "time"))
    assert np.shares_memory(sample.links["record"].to_numpy(), sample.column("links", "record"))
    # The views keep the C++ data alive after the sample object is gone.
    s = datagen.generate(persons=200, seed=3)
    view, expected = s.column("events", "amount"), s.column("events", "amount").copy()
    frame = s.links
    del s
    np.testing.assert_array_equal(view, expected)
    assert len(frame) > 0 and frame["value"].str.len().min() >= 1


def test_frames_have_the_documented_columns_and_types(sample):
    assert list(sample.links.columns) == ["record", "type", "value", "canonical", "flags"]
    assert list(sample.records.columns) == ["time", "source", "true_person"]
    assert list(sample.events.columns) == ["time", "type", "id_type", "id_value", "amount", "sku", "category", "store",
                                           "campaign", "true_person"]
    assert list(sample.consent.columns) == ["time", "subject_type", "subject_value", "purpose", "channel", "decision",
                                            "expiry", "source", "legal_basis", "policy_version", "true_person"]
    assert sample.events["time"].dtype == np.dtype("datetime64[us]")
    assert isinstance(sample.events["type"].dtype, pd.CategoricalDtype)
    assert set(sample.events["type"].cat.categories) == {"page_view", "add_to_cart", "order", "sms_sent", "sms_click",
                                                         "coupon_redeem", "signup"}
    assert len(sample.persons) == 3000 == len(sample)
    assert sample.persons.index.name == "person"
    n = datagen.names()
    assert n["identifier_type"] == ["phone", "email", "unionid", "openid_mp", "openid_oa", "device_id", "crm_id",
                                    "cookie"]
    assert n["purpose"][1] == "marketing.sms"


def test_arrow_tables_equal_the_frames(sample):
    tables = sample.to_arrow()
    assert set(tables) == set(datagen.TABLES)
    for name in datagen.TABLES:
        t, df = tables[name], sample.frame(name)
        assert t.num_rows == len(df), name
        assert t.column_names == list(df.columns), name
    ev = tables["events"]
    assert ev.schema.field("time").type == pa.timestamp("us", tz="UTC")
    assert ev.schema.field("id_value").type == pa.large_string()
    assert ev.column("id_value").to_pylist()[:50] == sample.events["id_value"].tolist()[:50]
    assert ev.column("type").to_pylist() == sample.events["type"].astype(str).tolist()
    # n/a becomes null: amounts of non-orders, open expiries, any-channel consent.
    assert ev.column("amount").null_count == int(sample.events["amount"].isna().sum())
    con = tables["consent"]
    assert con.column("expiry").null_count == int(sample.consent["expiry"].isna().sum())
    assert con.column("channel").null_count == int(sample.consent["channel"].isna().sum()) > 0


def test_workspace_tables_read_back_with_sqlite3(sample, tmp_path):
    path = str(tmp_path / "sample.cdp")
    ws = cdpcore.Workspace.open(path)
    sample.write_to_workspace(ws)
    del ws
    db = sqlite3.connect(path)
    for name in datagen.TABLES:
        (n,) = db.execute(f"SELECT count(*) FROM sample_{name}").fetchone()
        assert n == len(sample.frame(name)), name
    (total,) = db.execute("SELECT sum(amount) FROM sample_events WHERE type = 'order'").fetchone()
    ev = sample.events
    assert total == pytest.approx(ev.loc[ev["type"] == "order", "amount"].sum())
    rows = db.execute("SELECT type, value FROM sample_links ORDER BY rowid LIMIT 20").fetchall()
    assert rows == list(zip(sample.links["type"].astype(str)[:20], sample.links["value"][:20]))
    (digest,) = db.execute("SELECT value FROM sample_info WHERE key = 'digest'").fetchone()
    assert digest == sample.digest()
    # A view in the way makes the write fail: nothing of it remains.
    db.execute("DROP TABLE sample_consent")
    db.execute("CREATE VIEW sample_consent AS SELECT 1 AS x")
    db.execute("DELETE FROM sample_links WHERE rowid > 5")
    db.commit()
    db.close()
    ws = cdpcore.Workspace.open(path)
    with pytest.raises(cdpcore.Error):
        datagen.generate(persons=100, seed=1).write_to_workspace(ws)
    del ws
    db = sqlite3.connect(path)
    assert db.execute("SELECT count(*) FROM sample_links").fetchone()[0] == 5
    assert db.execute("SELECT value FROM sample_info WHERE key = 'digest'").fetchone()[0] == sample.digest()
    db.close()


def test_csv_and_jsonl_files_read_back_with_pandas(tmp_path):
    s = datagen.generate(persons=300, seed=2)
    s.write_csv(str(tmp_path / "csv"))
    s.write_jsonl(str(tmp_path / "jsonl"))
    for name in datagen.TABLES:
        df = s.frame(name)
        c = pd.read_csv(tmp_path / "csv" / f"{name}.csv", dtype=str, keep_default_na=False)
        assert len(c) == len(df), name
        lines = (tmp_path / "jsonl" / f"{name}.jsonl").read_text(encoding="utf-8").splitlines()
        assert len(lines) == len(df), name
    links_csv = pd.read_csv(tmp_path / "csv" / "links.csv", dtype=str, keep_default_na=False)
    # Raw values keep their surrounding spaces and full-width digits.
    assert links_csv["value"].tolist() == s.links["value"].tolist()
    ev = [json.loads(x) for x in (tmp_path / "jsonl" / "events.jsonl").read_text(encoding="utf-8").splitlines()]
    assert [e["id_value"] for e in ev] == s.events["id_value"].tolist()
    orders = [e for e in ev if e["type"] == "order"]
    assert all(e["amount"] > 0 for e in orders)
    assert all(e["amount"] is None for e in ev if e["type"] == "page_view")
    assert ev[0]["time"].endswith("Z")


def test_records_rows_are_adjacent_and_tables_sorted(sample):
    links, records = sample.links, sample.records
    rec = links["record"].to_numpy()
    assert (np.diff(rec.astype(np.int64)) >= 0).all()
    assert rec.max() == len(records) - 1
    assert records["time"].is_monotonic_increasing
    assert sample.events["time"].is_monotonic_increasing
    assert sample.consent["time"].is_monotonic_increasing
    assert sample.events["true_person"].max() < len(sample.persons)
    orders = sample.events[sample.events["type"] == "order"]
    assert (orders["amount"] > 0).all() and orders["amount"].notna().all()


def test_hard_cases_are_present(sample):
    links = sample.links.join(sample.records["true_person"], on="record")
    owners = links.groupby("value", observed=True)["true_person"].nunique()
    assert owners.get("13800000000", 0) >= 3
    assert "test@test.com" in owners.index
    shared = links[(links["flags"] & datagen.LINK_FLAGS["shared_device"]) != 0]
    assert (shared.groupby("value")["true_person"].nunique() >= 2).any()
    assert ((links["flags"] & datagen.LINK_FLAGS["old_phone"]) != 0).any()
    assert ((links["flags"] & datagen.LINK_FLAGS["duplicate_import"]) != 0).any()
    anon = sample.persons.index[sample.persons["is_anonymous"]]
    anon_types = set(links[links["true_person"].isin(anon)]["type"].astype(str))
    assert anon_types <= {"cookie", "device_id", "openid_mp"}


def _record_graph(nx, records, nodes):
    """Identifiers seen in the same record are connected (consecutive rows of
    a record form a path)."""
    g = nx.Graph()
    g.add_nodes_from(set(nodes))
    same = records[1:] == records[:-1]
    g.add_edges_from(zip(nodes[:-1][same], nodes[1:][same]))
    return g


def test_connected_components_recover_each_person(sample):
    nx = pytest.importorskip("networkx")
    links = sample.links.join(sample.records["true_person"], on="record")
    node = (links["type"].astype(str) + ":" + links["canonical"].astype(str)).to_numpy()
    hard = datagen.LINK_FLAGS["placeholder"] | datagen.LINK_FLAGS["shared_device"]
    clean = ((links["flags"] & hard) == 0).to_numpy()
    g = _record_graph(nx, links["record"].to_numpy()[clean], node[clean])
    owner = dict(zip(node[clean], links["true_person"].to_numpy()[clean]))
    components = list(nx.connected_components(g))
    # One component per person: no component mixes persons, no person is split.
    persons_seen = []
    for comp in components:
        persons = {owner[n] for n in comp}
        assert len(persons) == 1
        persons_seen.append(persons.pop())
    assert len(persons_seen) == len(set(persons_seen)) == len(sample.persons)
    # Placeholders and shared devices, left in, merge unrelated persons.
    g2 = _record_graph(nx, links["record"].to_numpy(), node)
    assert nx.number_connected_components(g2) < len(components)


def test_event_mix_checked_with_duckdb(sample):
    duckdb = pytest.importorskip("duckdb")
    events = sample.to_arrow()["events"]
    con = duckdb.connect()
    con.register("events", events)
    rows = con.execute("SELECT type, count(*) AS n, sum(amount) AS total FROM events GROUP BY type").fetchall()
    got = {t: (n, total) for t, n, total in rows}
    ev = sample.events
    for t, grp in ev.groupby("type", observed=True):
        assert got[t][0] == len(grp)
        if t in ("order", "coupon_redeem"):
            assert got[t][1] == pytest.approx(grp["amount"].sum())
    # Carts are mostly abandoned and SMS clicks are 4-20% of sends.
    assert got["add_to_cart"][0] > got["order"][0] * 0.3
    assert 0.04 < got["sms_click"][0] / got["sms_sent"][0] < 0.2
    # Power-law activity: the top decile of persons makes most of the events.
    per = np.sort(np.bincount(ev["true_person"].to_numpy(), minlength=len(sample.persons)))[::-1]
    assert per[: len(per) // 10].sum() > 0.3 * per.sum()


def test_identity_only_and_options():
    s = datagen.generate(persons=500, seed=4, identity_only=True, with_canonical=False)
    assert len(s.events) == 0 and len(s.consent) == 0
    assert "canonical" not in s.links.columns
    assert len(s.links) > 500
    full = datagen.generate(persons=500, seed=4, with_canonical=False)
    assert s.links["value"].tolist() == full.links["value"].tolist()
    later = datagen.generate(persons=200, seed=4, end="2026-01-01", days=30)
    t = later.events["time"]
    assert t.min() >= pd.Timestamp("2025-12-02") and t.max() < pd.Timestamp("2026-01-01")
    assert later.options["days"] == 30


def test_bad_options_raise_invalid_argument():
    with pytest.raises(cdpcore.InvalidArgument):
        datagen.generate(persons=0)
    with pytest.raises(ValueError):  # InvalidArgument is a ValueError
        datagen.generate(persons=10, anonymous_ratio=2.0)
    with pytest.raises(TypeError):
        datagen.generate(persons=10, end=[2025])


def test_generation_in_threads_gives_the_same_data():
    out = {}

    def run(i):
        out[i] = datagen.generate(persons=600, seed=21).digest()

    threads = [threading.Thread(target=run, args=(i,)) for i in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert out[0] == out[1]
