"""One conversion for every time that goes into cdpcore from Python.

Every entry point that takes a time is called with each accepted kind of the
same instant and must give the result it gives for the integer microseconds;
each probe also gives a different result for a different instant, so that a
probe that ignored its time could not pass. Bad input raises TypeError or
ValueError with a message that says what is accepted.
"""
import datetime as dt

import numpy as np
import pandas as pd
import pytest

import cdpcore
from cdpcore import consent as consent_frames
from cdpcore import datagen, identity

T = cdpcore.parse_time("2024-03-01T08:00:00Z")
OTHER = cdpcore.parse_time("2024-03-05T00:00:00Z")
UTC8 = dt.timezone(dt.timedelta(hours=8))

SAME_INSTANT = {
    "int": T,
    "numpy.int64": np.int64(T),
    "datetime naive (UTC)": dt.datetime(2024, 3, 1, 8),
    "datetime aware": dt.datetime(2024, 3, 1, 16, tzinfo=UTC8),
    "pandas.Timestamp naive": pd.Timestamp("2024-03-01 08:00:00"),
    "pandas.Timestamp aware": pd.Timestamp("2024-03-01 16:00:00", tz="Asia/Shanghai"),
    "numpy.datetime64[s]": np.datetime64("2024-03-01T08:00:00", "s"),
    "numpy.datetime64[ns]": np.datetime64("2024-03-01T08:00:00.000000000", "ns"),
    "numpy.datetime64[m]": np.datetime64("2024-03-01T08:00", "m"),
    "ISO 8601 Z": "2024-03-01T08:00:00Z",
    "ISO 8601 offset": "2024-03-01T16:00:00+08:00",
}


# --- the probes: fresh state, one time-taking entry point, a comparable result ----

def _graph():
    g = cdpcore.IdentityGraph()
    g.register_default_types()
    return g


def probe_to_micros(t):
    return cdpcore.to_micros(t)


def probe_link(t):
    g = _graph()
    g.link({"crm_id": "A", "phone": "13800138000"}, time=t, source="s")
    return g.record(0).time


def probe_link_frame_value(t):
    g = _graph()
    identity.link_frame(g, pd.DataFrame({"crm_id": ["A", "B"]}), time=t)
    return [g.record(i).time for i in range(2)]


def probe_link_long(t):
    g = _graph()
    identity.link_long(g, [0, 1], "crm_id", ["A", "B"], time=t)
    return [g.record(i).time for i in range(2)]


def _removal(method, t):
    """A person held together by one phone, so that removing it splits."""
    g = _graph()
    g.link({"crm_id": "A", "phone": "13800138000"}, time=1, source="s")
    g.link({"phone": "13800138000", "email": "a@example.com"}, time=2, source="s")
    ordinal = g.ordinal_of("crm_id", "A")
    if method == "block":
        g.block("phone", "13800138000", time=t)
        return [b.time for b in g.blocked()]
    if method == "remove_identifier":
        g.remove_identifier("phone", "13800138000", time=t)
    elif method == "remove_record":
        g.link({"email": "a@example.com", "device_id": "d1"}, time=3, source="s")
        g.remove_record(1, time=t)
    elif method == "erase_person":
        g.erase_person(ordinal, time=t)
    return [e.time for e in g.changes_since(0)]


def probe_block(t):
    return _removal("block", t)


def probe_remove_identifier(t):
    return _removal("remove_identifier", t)


def probe_remove_record(t):
    return _removal("remove_record", t)


def probe_erase_person(t):
    return _removal("erase_person", t)


def probe_expire(t):
    g = _graph()
    g.register_type("visitor", ttl=dt.timedelta(days=1))
    seen = cdpcore.parse_time("2024-02-27T12:00:00Z")
    g.link({"crm_id": "A", "visitor": "v1"}, time=seen)
    g.link({"crm_id": "B", "visitor": "v1"}, time=seen)
    g.expire(t)
    return [(e.kind, e.time) for e in g.changes_since(0)]


def _store():
    store = cdpcore.ProfileStore()
    store.define_attribute("joined", "timestamp")
    store.upsert({"person": [0, 1], "joined": [T - 3_600_000_000, T + 3_600_000_000]})
    return store


RULE = "tag joined_before = joined < as_of"


def probe_rules_evaluate(t):
    store = _store()
    res = cdpcore.RuleSet(store, RULE).evaluate(store, t)
    return (res.as_of, res.column("joined_before").tolist())


def probe_rules_evaluate_person(t):
    store = _store()
    return cdpcore.RuleSet(store, RULE).evaluate_person(store, 1, t)


def probe_expression(t):
    store = _store()
    e = cdpcore.Expression(store, "joined < as_of")
    return (e.evaluate(store, t).to_numpy().tolist(), e.evaluate_one(store, 0, t))


def _segments():
    store = _store()
    seg = cdpcore.SegmentEngine()
    seg.attach_store(store)
    seg.set_universe(cdpcore.Bitmap([0, 1]))
    seg.define("old", "joined < as_of")
    return seg


def probe_segment_evaluate(t):
    return _segments().evaluate("old", t).to_numpy().tolist()


def probe_segment_preview_and_count(t):
    seg = _segments()
    seg.evaluate("old", OTHER)
    return (seg.preview("joined < as_of", t).to_numpy().tolist(), seg.count_with("old", "joined < as_of", t))


def probe_segment_snapshot(t):
    seg = _segments()
    seg.evaluate("old", 0)
    seg.snapshot("old", t)
    return [s["at"] for s in seg.snapshots("old")]


def probe_segment_wrapper(t):
    seg = _segments()
    return len(cdpcore.Segment(seg, "old").evaluate(as_of=t))


def _consent():
    c = cdpcore.Consent(cdpcore.Workspace.open(":memory:"))
    return c


def probe_consent_append(t):
    c = _consent()
    c.append("phone", "+8613800138000", "marketing.sms", "sms", "granted", time=t, now=t, expiry=OTHER + 1)
    h = c.history("phone", "+8613800138000")
    return [(r["time"], r["expiry"]) for r in h]


def probe_consent_check(t):
    c = _consent()
    c.append("phone", "+8613800138000", "marketing.sms", "sms", "granted", time=T - 1, now=OTHER,
             expiry=T + 1_000_000)
    return c.check("phone", "+8613800138000", "marketing.sms", "sms", at=t).reason


def probe_consent_contacts(t):
    c = _consent()
    c.log_contact("phone", "+8613800138000", "sms", at=t)
    return c.contacts("phone", "+8613800138000", "sms", start=T, end=T + 1)


def probe_consent_import_frame(t):
    c = _consent()
    frame = pd.DataFrame({"subject_type": ["phone"], "subject_value": ["+8613800138000"],
                          "purpose": ["marketing.sms"], "channel": ["sms"], "decision": ["granted"],
                          "time": [t], "expiry": [None]})
    consent_frames.import_frame(c, frame, now=OTHER)
    return [r["time"] for r in c.history("phone", "+8613800138000")]


def probe_profile_events(t):
    store = cdpcore.ProfileStore()
    store.define_event_type("visit")
    store.append_events("visit", {"person": [0], "time": [t]})
    return [e["time"] for e in store.person_events(0, "visit")]


def probe_rfm(t):
    table = cdpcore.rfm([0, 1], [T - 86_400_000_000, T - 2 * 86_400_000_000], [1.0, 2.0], as_of=t, bins=2)
    return table.recency_days.tolist()


def probe_rfm_time_column(t):
    table = cdpcore.rfm([0], np.array([t], dtype=object), [1.0], as_of=OTHER, bins=1)
    return table.recency_days.tolist()


def probe_datagen_end(t):
    return datagen.generate(persons=20, end=t, days=2, with_events=False, with_consent=False).options["end"]


PROBES = {name[len("probe_"):]: fn for name, fn in globals().items() if name.startswith("probe_")}


@pytest.mark.parametrize("kind", list(SAME_INSTANT))
@pytest.mark.parametrize("probe", list(PROBES))
def test_every_entry_point_takes_every_kind_of_time(probe, kind):
    fn = PROBES[probe]
    assert fn(SAME_INSTANT[kind]) == fn(T)


@pytest.mark.parametrize("probe", list(PROBES))
def test_every_probe_sees_its_time(probe):
    fn = PROBES[probe]
    assert fn(T) != fn(OTHER)


def test_a_date_is_midnight_utc():
    assert cdpcore.to_micros(dt.date(2024, 3, 1)) == cdpcore.parse_time("2024-03-01")
    assert probe_link(dt.date(2024, 3, 1)) == cdpcore.parse_time("2024-03-01T00:00:00Z")


def test_finer_units_are_floored_to_the_microsecond():
    assert cdpcore.to_micros(np.datetime64(-1, "ns")) == -1
    assert cdpcore.to_micros(pd.Timestamp(1999, unit="ns")) == 1
    assert cdpcore.to_micros(dt.datetime(1969, 12, 31, 23, 59, 59, 999999)) == -1


@pytest.mark.parametrize("bad", [1.5, True, dt.timedelta(days=1), None, [T], b"2024-03-01"])
def test_other_kinds_are_a_type_error_that_lists_the_accepted_kinds(bad):
    with pytest.raises(TypeError, match=r"expected a time \(int microseconds .*ISO 8601 text\), got"):
        cdpcore.to_micros(bad)
    with pytest.raises(TypeError, match="expected a time"):
        _graph().link({"crm_id": "A"}, time=bad) if bad is not None else cdpcore.rfm([0], [0], [1.0], as_of=bad)


def test_an_int_beyond_int64_is_a_value_error():
    with pytest.raises(ValueError, match="out of range"):
        cdpcore.to_micros(2**63)


@pytest.mark.parametrize("bad", [pd.NaT, np.datetime64("NaT")])
def test_not_a_time_is_a_value_error(bad):
    with pytest.raises(ValueError, match="NaT is not a time"):
        cdpcore.to_micros(bad)


def test_text_that_does_not_parse_is_a_value_error_with_its_offset():
    with pytest.raises(ValueError) as e:
        _graph().link({"crm_id": "A"}, time="2024-13-01")
    assert isinstance(e.value, cdpcore.ParseError)
    with pytest.raises(cdpcore.ParseError):
        cdpcore.RuleSet(_store(), RULE).evaluate(_store(), "yesterday")


def test_columns_accept_the_same_element_kinds():
    from cdpcore._time import to_micros_array

    column = [v for v in SAME_INSTANT.values()]
    micros, nulls = to_micros_array(column)
    assert micros.tolist() == [T] * len(column) and nulls is None
    for col in (pd.Series(pd.to_datetime([T, None], unit="us", utc=True)),
                np.array([np.datetime64(T, "us"), np.datetime64("NaT")], dtype="datetime64[ns]"),
                [T, None], [pd.Timestamp(T, unit="us"), float("nan")]):
        micros, nulls = to_micros_array(col)
        assert micros[0] == T and nulls.tolist() == [False, True]
    import pyarrow as pa
    micros, nulls = to_micros_array(pa.array([T, None], type=pa.timestamp("us", tz="UTC")))
    assert micros[0] == T and nulls.tolist() == [False, True]
    with pytest.raises(TypeError, match="row 1: expected a time"):
        to_micros_array([T, dt.timedelta(days=1)])
    with pytest.raises(TypeError, match="fractional"):
        to_micros_array(np.array([1.5]))


def test_a_missing_time_in_a_column_names_its_row():
    with pytest.raises(ValueError, match="time of row 1 is missing"):
        cdpcore.rfm([0, 1], [T, None], [1.0, 1.0], as_of=OTHER)
    with pytest.raises(ValueError, match="time of record 1 is missing"):
        identity.link_long(_graph(), [0, 1], "crm_id", ["A", "B"], time=[T, None])
