"""The identity graph from Python: linking, lookups, batches from pandas and
Arrow, bad input, listeners, persistence, removal and erasure."""
import datetime as dt
import os

import numpy as np
import pandas as pd
import pyarrow as pa
import pytest

import cdpcore
from cdpcore import identity as cid

T0 = 1_700_000_000_000_000  # UTC microseconds


@pytest.fixture
def graph():
    g = cdpcore.IdentityGraph()
    g.register_default_types()
    return g


def test_link_lookup_and_stable_keys(graph):
    graph.link({"phone": "138 0013 8000", "crm_id": "M1"}, time=T0, source="crm")
    graph.link([("email", "A@x.com"), ("cookie", "c1")], time=T0 + 1, source="web")
    a = graph.ordinal_of("phone", "+86 138-0013-8000")
    b = graph.ordinal_of("email", " a@x.com ")
    assert a is not None and b is not None and a != b
    ka, kb = graph.key_of(a), graph.key_of(b)
    r = graph.link({"email": "a@x.com", "phone": "13800138000", "unionid": None}, time=T0 + 2, source="order")
    assert r.merges == 1
    p = graph.ordinal_of("crm_id", "M1")
    assert graph.ordinal_of("cookie", "C1") == p
    assert graph.key_of(p) == min(ka, kb)
    assert graph.resolve_key(max(ka, kb)) == min(ka, kb)
    assert graph.ordinal_of_key(max(ka, kb)) == p
    values = {i.value for i in graph.identifiers_of(p)}
    assert values == {"+8613800138000", "M1", "a@x.com", "c1"}
    assert [i.value for i in graph.identifiers_of(p, "phone")] == ["+8613800138000"]
    assert graph.latest_identifier(p, "email").value == "a@x.com"
    assert list(graph.persons().to_numpy()) == [p]
    assert graph.ordinal_capacity == 2
    log = graph.changes_since(0)
    assert len(log) == 1 and log[0].kind == "merged" and log[0].source == "order"
    assert graph.stats()["identifiers"] == 4
    assert graph.ordinal_of("email", "nobody@x.com") is None
    assert graph.ordinal_of("phone", "not a phone") is None
    with pytest.raises(cdpcore.NotFound):
        graph.ordinal_of("no_such_type", "x")


def test_bad_records_are_rejected_with_index_and_reason(graph):
    with pytest.raises(cdpcore.ParseError) as e:
        graph.link({"phone": "12345"}, time=T0)
    assert "record 0, identifier 0 (phone)" in str(e.value)
    with pytest.raises(cdpcore.InvalidArgument):
        graph.link({"email": "   "}, time=T0)
    df = pd.DataFrame({
        "phone": ["13800138000", "null", None, "13900139000"],
        "email": [None, "a@x.com", "b@x.com", "not-an-email"],
        "time": pd.to_datetime(["2024-01-01", "2024-01-02", "2024-01-03", "2024-01-04"]),
    })
    with pytest.raises(cdpcore.ParseError) as e:
        cid.link_frame(graph, df, source="import")
    assert "record 1" in str(e.value) and "record 3" in str(e.value)
    assert graph.stats()["identifiers"] == 0  # nothing applied
    r = cid.link_frame(graph, df, source="import", best_effort=True)
    assert r.records == 2 and r.rejected == 2
    assert [e.record for e in r.errors] == [1, 3]
    assert r.errors[0].code_name == "CDP_EPARSE" and r.errors[0].identifier == 0
    r = cid.link_frame(graph, df, source="import", best_effort=True, skip_invalid=True)
    assert r.records == 4 and r.rejected == 0 and len(r.errors) == 2
    assert graph.ordinal_of("email", "a@x.com") is not None


def test_link_frame_from_pandas_and_arrow_and_long_layout(graph):
    df = pd.DataFrame({
        "phone": ["13800138001", "13800138002", None, "138 0013 8001"],
        "crm_id": ["M1", None, "M3", None],
        "cookie": [None, "k2", "k3", "k4"],
        "time": np.array([T0, T0 + 1, T0 + 2, T0 + 3], dtype=np.int64),
        "source": ["crm", "web", "web", "order"],
    })
    r = cid.link_frame(graph, df, return_record_ids=True)
    assert r.records == 4 and len(r.record_ids) == 4
    assert graph.ordinal_of("cookie", "k4") == graph.ordinal_of("crm_id", "M1")
    # The same rows as an Arrow table into another graph: the same partition.
    g2 = cdpcore.IdentityGraph()
    g2.register_default_types()
    cid.link_frame(g2, pa.Table.from_pandas(df))
    for t, v in [("cookie", "k4"), ("crm_id", "M3"), ("cookie", "k2")]:
        assert (graph.ordinal_of(t, v) == graph.ordinal_of("crm_id", "M1")) == (
            g2.ordinal_of(t, v) == g2.ordinal_of("crm_id", "M1"))
    # Long layout: occurrences with record indexes in any order.
    g3 = cdpcore.IdentityGraph()
    g3.register_default_types()
    r = cid.link_long(g3, record=[1, 0, 1, 0], type=["email", "phone", "phone", "crm_id"],
                      value=["a@x.com", "13800138001", "13800138001", "M9"], time=[T0, T0 + 5], source=["x", "y"])
    assert r.records == 2 and r.new_persons == 1
    assert g3.ordinal_of("email", "a@x.com") == g3.ordinal_of("crm_id", "M9")
    ords = cid.ordinals_of(g3, "phone", pd.Series(["13800138001", None, "bogus"]))
    assert ords.dtype == np.uint32
    assert ords[0] == g3.ordinal_of("email", "a@x.com") and ords[1] == cdpcore.NO_PERSON and ords[2] == cdpcore.NO_PERSON
    arr = graph.ordinals_of("cookie", ["k2", "k3", "zz"])
    assert list(arr[:2]) == [graph.ordinal_of("cookie", "k2"), graph.ordinal_of("cookie", "k3")]
    assert arr[2] == cdpcore.NO_PERSON
    keys = graph.keys_of(arr[:2])
    assert keys.dtype == np.uint64 and keys[0] == graph.key_of(int(arr[0]))


def test_custom_keyed_hash_and_sha256_types():
    g = cdpcore.IdentityGraph()
    vip = g.register_type("vip", normalize=lambda s: s.strip().upper().removeprefix("VIP-"))
    assert g.normalize(vip, " vip-42 ") == "42"

    def strict(s):
        if not s.isdigit():
            raise ValueError("digits only")
        return s

    card = g.register_type("card", normalize=strict)
    with pytest.raises(cdpcore.InvalidArgument, match="digits only"):
        g.link({"card": "12a"}, time=1)
    hp = g.register_type("hphone", normalizer="phone", storage="keyed_hash", hash_key="k1")
    g.link({hp: "13800138000", card: "7"}, time=1)
    assert g.ordinal_of(hp, "+8613800138000") == g.ordinal_of("card", "7")
    assert g.identifiers_of(g.ordinal_of("card", "7"), hp)[0].value == cdpcore.hmac_sha256_hex(b"k1", b"+8613800138000")
    ph = g.register_type("phone", normalizer="phone")
    sha = g.register_type("phone_sha256", normalizer="lower", input="sha256")
    digest = g.sha256_of(ph, "138 0013 8000")
    assert digest == cdpcore.sha256_hex(b"+8613800138000")
    g.link({sha: digest.upper(), card: "7"}, time=2)
    assert g.ordinal_of(sha, digest) == g.ordinal_of("card", "7")
    with pytest.raises(cdpcore.Conflict):
        g.register_type("phone", normalizer="email")


def test_limits_conflicts_blocks_and_windows():
    g = cdpcore.IdentityGraph()
    g.register_type("crm", limit=1, priority=100)
    g.register_type("device", normalizer="lower", limit=2, limit_window=dt.timedelta(days=7), priority=10)
    g.link({"crm": "A", "device": "d1"}, time=0)
    g.link({"crm": "A", "device": "d2"}, time=1)
    r = g.link({"crm": "A", "device": "d3"}, time=2)
    assert r.conflicts == 1
    c = g.conflicts()[0]
    assert c.reason == "window_limit" and c.limited_type == g.type_id("device")
    r = g.link({"crm": "B", "device": "d1"}, time=3)
    assert r.conflicts == 1 and g.conflicts(cursor=1)[0].reason == "type_limit"
    rep = g.block("device", "D1", note="shared tablet")
    assert rep.splits == [] and g.ordinal_of("device", "d1") is None
    assert g.blocked()[0].reason == "blocklist" and g.blocked()[0].value == "d1"
    assert g.unblock("device", "d1") is True
    assert g.ordinal_of("device", "d1") is not None


class Recorder:
    def __init__(self):
        self.events = []
        self.rolled_back = 0

    def on_merged(self, e):
        self.events.append(("merged", e.key, e.absorbed_key))

    def on_split(self, e):
        self.events.append(("split", e.key, [p.values for p in e.parts]))

    def on_erased(self, e):
        self.events.append(("erased", e.key))

    def on_rolled_back(self):
        self.rolled_back += 1


def test_listeners_follow_changes_and_can_abort(graph):
    rec = Recorder()
    graph.add_listener(rec)
    graph.link({"phone": "13800138001", "crm_id": "M1"}, time=1)
    graph.link({"email": "a@x.com"}, time=2)
    graph.link({"email": "a@x.com", "crm_id": "M1"}, time=3)
    assert rec.events == [("merged", 1, 2)]

    class Refuse:
        def on_merged(self, e):
            raise RuntimeError("not now")

    refuse = Refuse()
    graph.add_listener(refuse)
    graph.link({"cookie": "k1"}, time=4)
    with pytest.raises(cdpcore.Cancelled, match="not now"):
        graph.link({"cookie": "k1", "crm_id": "M1"}, time=5)
    assert rec.rolled_back == 1
    assert graph.ordinal_of("cookie", "k1") != graph.ordinal_of("crm_id", "M1")
    assert graph.remove_listener(refuse) is True
    graph.remove_identifier("crm_id", "M1")
    assert rec.events[-1][0] == "split"
    assert sorted(v for part in rec.events[-1][2] for v in part) == [("email", "a@x.com"), ("phone", "+8613800138001")]


def test_persistence_and_erasure_leave_no_raw_value(tmp_path):
    path = str(tmp_path / "crm.cdp")
    ws = cdpcore.Workspace.open(path)
    g = cdpcore.IdentityGraph(ws)
    g.register_default_types()
    g.link({"phone": "13912345678", "email": "secret.person@example.com", "crm_id": "SECRET-CRM-1"}, time=T0)
    g.link({"crm_id": "KEEP-1", "email": "keep@example.com"}, time=T0)
    g.link({"cookie": "ck-1", "email": "secret.person@example.com"}, time=T0 + 1, source="web")
    part_before = g.partition()
    p = g.ordinal_of("crm_id", "SECRET-CRM-1")
    dry = g.erase_person(p, dry_run=True)
    assert dry.dry_run and len(dry.removed_identifiers) == 4
    assert all("12345678" not in i.value and "secret.person" not in i.value for i in dry.removed_identifiers)
    assert g.ordinal_of("crm_id", "SECRET-CRM-1") == p
    del g, ws
    ws = cdpcore.Workspace.open(path)
    g = cdpcore.IdentityGraph(ws)
    assert list(g.partition()) == list(part_before)
    p = g.ordinal_of("crm_id", "SECRET-CRM-1")
    rep = g.erase_person(p, suppress=True, note="erasure 1")
    assert rep.erased_persons == [1]
    assert g.is_suppressed("email", "Secret.Person@example.com")
    assert g.link({"email": "secret.person@example.com"}, time=T0 + 9).suppressed == 1
    assert g.changes_since(0)[-1].kind == "erased"
    del g, ws
    for suffix in ("", "-wal"):
        if os.path.exists(path + suffix):
            data = open(path + suffix, "rb").read()
            for raw in (b"13912345678", b"secret.person@example.com", b"SECRET-CRM-1", b"ck-1"):
                assert raw not in data, (suffix, raw)
    assert b"keep@example.com" in open(path, "rb").read()


def test_erase_person_keeps_no_hash_unless_asked(graph):
    graph.link({"phone": "13912345670", "crm_id": "ERASE-A"}, time=T0)
    graph.link({"phone": "13912345671", "crm_id": "ERASE-B"}, time=T0)
    graph.erase_person(graph.ordinal_of("crm_id", "ERASE-A"))  # the default, as in C++ and C
    assert not graph.is_suppressed("crm_id", "ERASE-A")
    assert graph.link({"crm_id": "ERASE-A"}, time=T0 + 1).suppressed == 0
    assert graph.ordinal_of("crm_id", "ERASE-A") is not None
    graph.erase_person(graph.ordinal_of("crm_id", "ERASE-B"), suppress=True)
    assert graph.is_suppressed("phone", "139 1234 5671")
    assert graph.link({"crm_id": "ERASE-B"}, time=T0 + 1).suppressed == 1


def test_explain_dot_and_records(graph):
    graph.link({"phone": "13800138001", "crm_id": "M1"}, time=T0, source="crm")
    graph.link({"crm_id": "M1", "email": "a@x.com"}, time=T0 + 1, source="order")
    r = graph.link({"email": "a@x.com", "cookie": "ck"}, time=T0 + 2, source="web")
    ex = graph.explain("phone", "13800138001", "cookie", "ck")
    assert ex and [s.source for s in ex.steps] == ["crm", "order", "web"]
    assert ex.steps[0].from_.value == "+8613800138001" and ex.steps[-1].to.value == "ck"
    dot = graph.to_dot(graph.ordinal_of("cookie", "ck"))
    assert dot.startswith("graph person_1") and "13800138001" not in dot
    recs = graph.records_of(graph.identifier_id("cookie", "ck"))
    assert recs[0].source == "web" and all(recs[0].linked)
    assert graph.record(recs[0].id).identifiers == recs[0].identifiers
    rep = graph.remove_record(recs[0].id, dry_run=True)  # "ck" was only seen there: it goes, nothing splits
    assert rep.dry_run and rep.splits == [] and len(rep.removed_identifiers) == 1
    order = [x for x in graph.records_of(graph.identifier_id("email", "a@x.com")) if x.source == "order"][0]
    rep = graph.remove_record(order.id, dry_run=True)
    assert len(rep.splits) == 1 and [len(p.identifiers) for p in rep.splits[0].parts] == [2, 2]
    assert graph.ordinal_of("cookie", "ck") == graph.ordinal_of("phone", "13800138001")
    rep = graph.remove_record(order.id)
    assert len(rep.splits) == 1
    assert graph.ordinal_of("cookie", "ck") != graph.ordinal_of("phone", "13800138001")
