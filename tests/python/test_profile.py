"""cdpcore.ProfileStore from Python: schema, pandas / Arrow / dict batches,
reads, bad rows, persistence, files and the identity graph."""
import json
import math

import numpy as np
import pandas as pd
import pyarrow as pa
import pytest

import cdpcore
from cdpcore.profile import ProfileStore


def define(store):
    store.define_attribute("member_level", "string")
    store.define_attribute("points", "int64", "sum")
    store.define_attribute("score", "double", "max")
    store.define_attribute("signup_at", "timestamp", "first")
    store.define_attribute("vip", "bool")
    store.define_attribute("interests", "set<string>", "union")
    store.define_event_type("order", {"amount": "double", "category": "string"})
    store.define_event_type("page_view")


def test_schema():
    s = ProfileStore()
    define(s)
    assert s.schema["attributes"]["points"] == ("int64", "sum")
    assert s.schema["event_types"]["order"] == {"amount": "double", "category": "string"}
    with pytest.raises(cdpcore.Conflict):
        s.define_attribute("points", "double")
    with pytest.raises(cdpcore.InvalidArgument):
        s.define_attribute("bad name", "int64")
    with pytest.raises(cdpcore.InvalidArgument):
        s.define_attribute("x", "decimal")
    assert "ProfileStore" in repr(s)


def test_upsert_from_pandas_with_nulls_and_categoricals():
    s = ProfileStore()
    define(s)
    df = pd.DataFrame({
        "person": [0, 1, 2, 5],
        "member_level": pd.Categorical(["gold", None, "silver", "gold"]),
        "points": [1, 2, 3, 4],
        "score": [0.5, np.nan, 2.5, 1.0],
        "signup_at": pd.to_datetime(["2024-01-01", None, "2024-03-01T12:00:00", "2023-05-05"], format="ISO8601"),
        "vip": [True, False, True, False],
        "interests": [["a", "b"], [], None, ["c"]],
    })
    rep = s.upsert(df)
    assert rep.rows_applied == 4
    assert rep.rejected == []
    assert sorted(rep.touched.to_numpy().tolist()) == [0, 1, 2, 5]
    assert s.person_count == 6
    assert s.value(0, "member_level") == "gold"
    assert s.value(1, "member_level") is None
    assert s.value(1, "score") is None
    assert s.value(2, "signup_at") == cdpcore.parse_time("2024-03-01T12:00:00Z")
    assert s.value(1, "signup_at") is None
    assert s.value(0, "vip") is True
    assert s.value(0, "interests") == ["a", "b"]
    assert s.value(2, "interests") is None
    values, valid = s.column("points")
    assert values.tolist() == [1, 2, 3, 0, 0, 4]
    assert valid.tolist() == [True, True, True, False, False, True]
    levels, _ = s.column("member_level")
    assert levels.tolist() == ["gold", None, "silver", None, None, "gold"]
    assert np.isnan(s.read_doubles("score", [1, 3])).all()
    frame = s.attribute_frame(["points", "signup_at"])
    assert frame["points"].isna().tolist() == [False, False, False, True, True, False]
    assert pd.isna(frame["signup_at"][1])


def test_upsert_from_arrow_and_dict():
    s = ProfileStore()
    define(s)
    t = pa.table({
        "person": pa.array([3, 4], type=pa.uint32()),
        "member_level": pa.array(["platinum", None]).dictionary_encode(),
        "score": pa.array([1.5, None]),
        "signup_at": pa.array([1_000_000, None], type=pa.timestamp("us", tz="UTC")),
    })
    s.upsert(t)
    assert s.value(3, "member_level") == "platinum"
    assert s.value(4, "member_level") is None
    assert s.value(4, "score") is None
    assert s.value(3, "signup_at") == 1_000_000
    s.upsert({"person": np.array([3], dtype=np.uint32), "points": [7]})
    assert s.value(3, "points") == 7
    # nulls keep the value unless nulls_clear
    s.upsert({"person": [3], "score": [np.nan]})
    assert s.value(3, "score") == 1.5
    s.upsert({"person": [3], "score": [np.nan]}, nulls_clear=True)
    assert s.value(3, "score") is None
    s.write_doubles("churn_risk", [0, 3], [0.25, 0.75])
    assert s.schema["attributes"]["churn_risk"] == ("double", "latest")
    assert s.value(3, "churn_risk") == 0.75


def test_bad_rows_name_the_row_and_apply_nothing():
    s = ProfileStore()
    define(s)
    with pytest.raises(cdpcore.InvalidArgument) as e:
        s.upsert({"person": [0, 1, 2], "points": [1.0, 2.5, 3.0]})
    assert "row 1" in str(e.value) and "points" in str(e.value)
    assert s.value(0, "points") is None
    rep = s.upsert({"person": [0, 1, 2], "points": [1.0, 2.5, 3.0]}, best_effort=True)
    assert rep.rows_applied == 2
    assert [r[0] for r in rep.rejected] == [1]
    assert s.value(2, "points") == 3
    with pytest.raises(cdpcore.NotFound):
        s.upsert({"person": [0], "nope": [1]})
    with pytest.raises(TypeError):
        s.upsert({"person": ["a"], "points": [1]})
    with pytest.raises(cdpcore.StateError):
        s.upsert({"phone": ["13800138000"], "points": [1]}, key="phone", identifier_type="phone")
    with pytest.raises(cdpcore.InvalidArgument) as e:
        s.append_events("order", {"person": [0, 1], "time": ["2024-01-01", "not a time"], "amount": [1.0, 2.0]})
    assert "row 1" in str(e.value) and "time" in str(e.value)
    rep = s.append_events("order", {"person": [0, 1], "time": ["2024-01-01", "not a time"], "amount": [1.0, 2.0]},
                          best_effort=True)
    assert rep.rows_applied == 1 and rep.rejected[0][0] == 1


def test_events_from_pandas():
    s = ProfileStore()
    define(s)
    df = pd.DataFrame({
        "person": [1, 0, 1],
        "time": pd.to_datetime(["2024-01-03", "2024-01-01", "2024-01-02"]),
        "amount": [3.0, 1.0, None],
        "category": pd.Categorical(["b", "a", None]),
    })
    rep = s.append_events("order", df)
    assert rep.rows_applied == 3
    ev = s.person_events(1, "order")
    assert [e["time"] for e in ev] == [cdpcore.parse_time("2024-01-02"), cdpcore.parse_time("2024-01-03")]
    assert ev[0]["amount"] is None and ev[0]["category"] is None
    assert ev[1]["category"] == "b"
    s.append_events("page_view", {"person": [0, 0], "time": ["2024-01-01T00:00:00Z", 5]})
    assert s.event_count("page_view") == 2
    s.compact()
    mem = s.memory_usage()
    assert mem["events"] == 5 and mem["event_bytes"] > 0


def test_persistence_in_a_workspace(tmp_path):
    path = str(tmp_path / "p.cdp")
    ws = cdpcore.Workspace.open(path)
    s = ProfileStore(ws)
    define(s)
    s.upsert({"person": [0, 1], "member_level": ["gold", "silver"], "points": [1, 2]})
    s.append_events("order", {"person": [1], "time": [10], "amount": [9.5], "category": ["x"]})
    with pytest.raises(cdpcore.InvalidArgument):  # a failed batch leaves no trace
        s.upsert({"person": [7, 8], "points": [1.0, 1.5]})
    del s, ws
    ws = cdpcore.Workspace.open(path)
    s = ProfileStore(ws)
    assert ws.schema_version("profile") == 1
    assert s.value(1, "member_level") == "silver"
    assert s.value(7, "points") is None
    assert s.person_events(1, "order") == [{"time": 10, "amount": 9.5, "category": "x"}]


def test_csv_and_jsonl(tmp_path):
    s = ProfileStore()
    define(s)
    csv = tmp_path / "a.csv"
    csv.write_text("person,member_level,points\n0,gold,1\n1,,2\n", encoding="utf-8")
    assert s.load_csv(str(csv)).rows_applied == 2
    assert s.value(1, "member_level") is None
    jl = tmp_path / "e.jsonl"
    jl.write_text('{"person": 0, "time": "2024-01-01", "amount": 5}\n{"person": 0, "time": 7, "amount": "x"}\n')
    with pytest.raises(cdpcore.InvalidArgument) as e:
        s.load_jsonl(str(jl), event_type="order")
    assert "line 2" in str(e.value)
    rep = s.load_jsonl(str(jl), event_type="order", best_effort=True)
    assert rep.rows_applied == 1 and rep.rejected[0][0] == 1
    with pytest.raises(cdpcore.IoError):
        s.load_csv(str(tmp_path / "missing.csv"))


def test_identity_keyed_writes_follow_merges():
    g = cdpcore.IdentityGraph()
    g.register_default_types()
    s = ProfileStore()
    define(s)
    s.attach_identity(g)
    r1 = s.upsert({"phone": ["13800138000"], "points": [10]}, key="phone", identifier_type="phone")
    r2 = s.upsert({"email": ["a@x.com"], "points": [5]}, key="email", identifier_type="email")
    p_phone = r1.touched.to_numpy()[0]
    p_email = r2.touched.to_numpy()[0]
    assert p_phone != p_email
    s.append_events("order", {"email": ["A@X.com"], "time": [100], "amount": [1.0]}, key="email",
                    identifier_type="email")
    g.link([("phone", "13800138000"), ("email", "a@x.com")], time=200, source="login")
    survivor = g.ordinal_of("phone", "13800138000")
    assert s.value(survivor, "points") == 15
    assert len(s.person_events(survivor, "order")) == 1
    s.attach_identity(None)
