"""cdpcore.RuleSet and the rule language from Python: compile errors,
results as NumPy / pandas, single person, incremental, JSON, versions,
expressions for other components."""
import math

import numpy as np
import pandas as pd
import pytest

import cdpcore
from cdpcore.profile import ProfileStore
from cdpcore.rules import Expression, RuleSet, expression_text, parse_expression, parse_rules, rules_text, to_pandas

AS_OF = "2024-06-15T12:00:00Z"
A = cdpcore.parse_time(AS_OF)
DAY = 86_400_000_000

RULES = """
tag vip = sum(order.amount, last 365 days) >= 5000 or member_level in ["gold", "platinum"]
tag band = case when avg(order.amount, last 180 days) >= 500 then "high" else "low" end
trait spend = sum(order.amount, last 365 days)
tag big = spend > 1000
"""


@pytest.fixture()
def store():
    s = ProfileStore()
    s.define_attribute("member_level", "string")
    s.define_event_type("order", {"amount": "double"})
    s.append_events("order", {"person": [0, 0, 1, 2], "time": [A - 10 * DAY, A - 20 * DAY, A - 400 * DAY, A - DAY],
                              "amount": [3000.0, 2500.0, 100.0, 50.0]})
    s.upsert({"person": [1], "member_level": ["gold"]})
    return s


def test_evaluate_to_numpy_and_pandas(store):
    rs = RuleSet(store, RULES)
    assert rs.names == ["vip", "band", "spend", "big"]
    assert rs.kinds == {"vip": "boolean", "band": "value", "spend": "trait", "big": "boolean"}
    res = rs.evaluate(store, AS_OF)
    assert res.members("vip").to_numpy().tolist() == [0, 1]
    assert res.column("vip").tolist() == [True, True, False]
    assert res.column("band").tolist() == ["high", "low", "low"]
    assert res.labels("band") == ["high", "low"]
    assert res.codes("band").tolist() == [0, 1, 1]
    assert {k: v.to_numpy().tolist() for k, v in res.label_members("band").items()} == {"high": [0], "low": [1, 2]}
    assert res.values("spend").tolist() == [5500.0, 0.0, 50.0]
    df = to_pandas(res)
    assert list(df.columns) == ["vip", "band", "spend", "big"]
    assert str(df["band"].dtype) == "category"
    assert df["big"].tolist() == [True, False, False]
    # as_of in several forms
    import datetime as dt
    r2 = rs.evaluate(store, dt.datetime(2024, 6, 15, 12))
    r3 = rs.evaluate(store, np.datetime64("2024-06-15T12:00:00"))
    r4 = rs.evaluate(store, A, threads=1)
    for r in (r2, r3, r4):
        assert r.as_of == A
        assert r.column("band").tolist() == ["high", "low", "low"]


def test_single_person_and_incremental(store):
    rs = RuleSet(store, RULES)
    res = rs.evaluate(store, AS_OF)
    assert rs.evaluate_person(store, 2, AS_OF) == {"vip": False, "band": "low", "spend": 50.0, "big": False}
    rep = store.append_events("order", {"person": [2, 3], "time": [A - DAY, A - DAY], "amount": [6000.0, 1.0]})
    rs.update(res, store, rep.touched, AS_OF)
    full = rs.evaluate(store, AS_OF)
    assert res.person_count == full.person_count == 4
    for n in rs.names:
        if res.kind(n) == "trait":
            assert np.allclose(res.values(n), full.values(n), equal_nan=True)
        else:
            assert res.column(n).tolist() == full.column(n).tolist()
    assert rs.evaluate_person(store, 2, AS_OF)["vip"] is True


def test_compile_errors_carry_position(store):
    with pytest.raises(cdpcore.ParseError) as e:
        RuleSet(store, "tag a = count(order) >=\n")
    assert e.value.line == 2 and e.value.column == 1
    assert "expected an expression" in str(e.value)
    with pytest.raises(cdpcore.TypeError) as e:
        RuleSet(store, "tag a = member_level > 5")
    assert "string" in str(e.value) and "int64" in str(e.value)
    with pytest.raises(cdpcore.NotFound) as e:
        RuleSet(store, "tag a = count(refund) > 0")
    assert "refund" in str(e.value)
    with pytest.raises(cdpcore.LimitError):
        RuleSet(store, "tag a = " + "(" * 100 + "true" + ")" * 100)
    with pytest.raises(cdpcore.LimitError):
        RuleSet(store, "tag a = count(order) > 1", limits={"max_cost": 10})
    with pytest.raises(ValueError):
        RuleSet(store, "tag a = true", limits={"max_bogus": 1})


def test_json_forms(store):
    tree = parse_expression('count(order where amount > 10, last 30 days) >= 2 and member_level = "gold"')
    assert tree["op"] == "and"
    agg = tree["args"][0]["args"][0]
    assert agg["aggregate"] == "count" and agg["window"] == {"window": "last", "count": 30, "unit": "days"}
    text = expression_text(tree)
    assert parse_expression(text) == tree
    j = parse_rules(RULES)
    assert [r["name"] for r in j["rules"]] == ["vip", "band", "spend", "big"]
    assert parse_rules(rules_text(j)) == j
    rs = RuleSet.from_json(store, j)
    assert rs.to_json() == j
    with pytest.raises(cdpcore.ParseError):
        expression_text({"op": "nope", "args": []})


def test_versions_in_workspace():
    ws = cdpcore.Workspace.open(":memory:")
    s = ProfileStore(ws)
    s.define_attribute("x", "int64")
    rs = RuleSet(s, "tag a = x > 1")
    assert rs.save(ws, "crm") == 1
    assert RuleSet(s, "tag a = x > 2").save(ws, "crm") == 2
    assert RuleSet.versions(ws, "crm") == [1, 2]
    assert RuleSet.load(s, ws, "crm").to_text() == "tag a = x > 2\n"
    assert RuleSet.load(s, ws, "crm", 1).to_text() == "tag a = x > 1\n"
    with pytest.raises(cdpcore.NotFound):
        RuleSet.load(s, ws, "other")


def test_expression_and_resolver(store):
    e = Expression(store, "sum(order.amount, last 365 days)")
    assert e.type == "double"
    assert e.evaluate_numeric(store, AS_OF).tolist() == [5500.0, 0.0, 50.0]
    b = Expression(store, "count(order) >= 1")
    assert b.evaluate(store, AS_OF).to_numpy().tolist() == [0, 1, 2]
    assert b.evaluate_one(store, 1, AS_OF) is True
    seg = Expression(store, "in_seg and count(order) >= 1",
                     resolver=lambda name: ("bool", lambda ps: (ps % 2 == 0).astype(float)) if name == "in_seg" else None)
    assert seg.evaluate(store, AS_OF).to_numpy().tolist() == [0, 2]
    tree = parse_expression("count(order) >= 2")
    assert Expression(store, tree).evaluate(store, AS_OF).to_numpy().tolist() == [0]


def test_traits_written_back_are_usable(store):
    rs = RuleSet(store, "trait churn_risk = count(order) / 10")
    res = rs.evaluate(store, AS_OF)
    rs.store_traits(res, store)
    assert store.value(0, "churn_risk") == 0.2
    assert RuleSet(store, "tag risky = churn_risk > 0.15").evaluate(store, AS_OF).column("risky").tolist() == [True, False, False]


def test_readme_examples_run_verbatim():
    """The rule examples of docs/rules.md compile and run as written."""
    import pathlib

    doc = (pathlib.Path(__file__).resolve().parents[2] / "docs" / "rules.md").read_text(encoding="utf-8")
    text = doc.split("\n```rules\n", 1)[1].split("```", 1)[0]  # the first rules block
    assert "tag vip" in text and "multi_store" in text
    s = ProfileStore()
    for name, typ in [("member_level", "string"), ("signup_at", "timestamp"), ("birthday", "timestamp"),
                      ("churn_risk", "double")]:
        s.define_attribute(name, typ)
    s.define_event_type("order", {"amount": "double", "category": "string", "store": "string"})
    for e in ["page_view", "add_to_cart", "sms_sent", "sms_click"]:
        s.define_event_type(e)
    s.append_events("order", {"person": [0, 0, 0], "time": [A - DAY, A - 2 * DAY, A - 3 * DAY],
                              "amount": [2000.0, 2000.0, 2000.0], "category": ["a", "a", "b"],
                              "store": ["s1", "s2", "s3"]})
    s.upsert({"person": [0, 1], "churn_risk": [0.1, 0.9], "birthday": ["1990-06-15", "2001-01-01"]})
    rs = RuleSet(s, text)
    assert len(rs) == 12
    res = rs.evaluate(s, AS_OF)
    assert res.column("vip").tolist() == [True, False]
    assert res.column("multi_store").tolist() == [True, False]
    assert res.column("top_category").tolist() == ["a", None]
    assert res.column("age_band").tolist() == ["25-34", "18-24"]
    assert res.column("churn_risk_high").tolist() == [False, True]
