"""cdpcore.Consent from Python: checks, pandas import, vectorised checks
(DuckDB as the oracle of the rules), person-level filtering through the
identity graph, the hash chain against a direct edit of the file, erasure,
and the privacy-signal decoders."""
import json
import sqlite3

import numpy as np
import pandas as pd
import pytest

import cdpcore
from cdpcore.consent import check_frame, dropped_frame, import_frame

T0 = cdpcore.parse_time("2024-01-01T00:00:00Z")
DAY = 86_400_000_000
NOW = T0 + 1000 * DAY


@pytest.fixture
def consent():
    ws = cdpcore.Workspace.open(":memory:")
    return cdpcore.Consent(ws)


def test_check_and_reasons(consent):
    seq = consent.append("phone", "+8613800138000", "marketing.sms", "sms", "granted", time=T0, now=NOW, source="form")
    assert seq == 1
    c = consent.check("phone", "+8613800138000", "marketing.sms", "sms", at=T0 + DAY, contact_rules=False)
    assert c.allowed and bool(c) and c.reason == "granted" and c.record == 1
    consent.append("phone", "+8613800138000", "marketing", "*", "withdrawn", time=T0 + 2 * DAY, now=NOW)
    c = consent.check("phone", "+8613800138000", "marketing.sms", "sms", at=T0 + 3 * DAY)
    assert not c and c.reason == "withdrawn" and c.reason_code == 102 and c.record == 2
    # As of a past time.
    assert consent.check("phone", "+8613800138000", "marketing.sms", "sms", at=T0 + DAY).allowed
    assert consent.check("phone", "+8613900000000", "marketing", "email", at=T0).reason == "no_consent"
    assert consent.check("phone", "+8613900000000", "marketing", "email", at=T0, jurisdiction="ccpa").reason == \
        "default_allowed"
    with pytest.raises(cdpcore.InvalidArgument, match="unknown purpose"):
        consent.check("phone", "+8613800138000", "marketing.fax", "sms", at=T0)
    assert cdpcore.consent_reason_name(110) == "suppressed"
    assert any(p["name"] == "third_party_sharing" and p["separate_consent"] for p in consent.purposes())
    assert any(c["name"] == "sms" and c["identifier_types"] == ["phone"] for c in consent.channels())


def test_import_frame_is_atomic_and_names_the_row(consent):
    df = pd.DataFrame({
        "subject_type": ["phone"] * 4,
        "subject_value": ["+8613800000001", "+8613800000002", "+8613800000003", "+8613800000004"],
        "purpose": ["marketing.sms", "marketing", "marketing.email", "marketing.fax"],
        "channel": ["sms", None, "email", "sms"],
        "decision": ["granted", "granted", "denied", "granted"],
        "time": pd.to_datetime(["2024-01-01", "2024-01-02", "2024-01-03", "2024-01-04"]),
        "expiry": pd.to_datetime([None, "2024-06-01", None, None]),
        "source": ["form", "app", "store", "import"],
    })
    with pytest.raises(cdpcore.InvalidArgument, match="record 3: unknown purpose"):
        import_frame(consent, df, now=NOW)
    assert len(consent) == 0
    df.loc[3, "purpose"] = "marketing"
    rep = import_frame(consent, df, now=NOW)
    assert rep == {"appended": 4, "suppressed": 0, "invalid": 0, "first_seq": 1, "last_seq": 4}
    h = consent.history("phone", "+8613800000002")
    assert h[0]["expiry"] == cdpcore.parse_time("2024-06-01T00:00:00Z")
    assert h[0]["channel"] == "*" and h[0]["source"] == "app"
    # A record far in the future is refused.
    with pytest.raises(cdpcore.InvalidArgument, match="future"):
        consent.append("phone", "+8613800000009", "marketing", "*", "granted", time=NOW + DAY, now=NOW)


def _random_ledger(rng, n_subjects, n_records):
    purposes = ["*", "marketing", "marketing.sms", "marketing.email"]
    channels = ["*", "sms", "email"]
    rows = []
    for i in range(n_records):
        t = int(T0 + rng.integers(0, 100) * DAY + i)  # distinct times
        rows.append({
            "subject_type": "phone",
            "subject_value": f"+86138{rng.integers(0, n_subjects):08d}",
            "purpose": purposes[rng.integers(0, 4)],
            "channel": channels[rng.integers(0, 3)],
            "decision": ["granted", "granted", "denied", "withdrawn", "objected"][rng.integers(0, 5)],
            "time": t,
            "expiry": t + int(rng.integers(1, 60)) * DAY if rng.integers(0, 4) == 0 else None,
            "legal_basis": "consent" if rng.integers(0, 5) else "legitimate_interest",
        })
    return pd.DataFrame(rows)


# The rules (README.md, "Consent and preferences") for (marketing.sms, sms) under PIPL, as a DuckDB
# window query: an independent transcription checked against the library.
ORACLE = """
WITH app AS (
  SELECT *, (CASE purpose WHEN '*' THEN 0 WHEN 'marketing' THEN 1 ELSE 2 END) * 2 + (channel <> '*')::INT AS lvl
  FROM ledger WHERE time <= $at AND purpose IN ('*', 'marketing', 'marketing.sms') AND channel IN ('*', 'sms')
),
latest AS (SELECT subject_value, lvl, decision FROM (SELECT *, row_number() OVER
  (PARTITION BY subject_value, lvl ORDER BY time DESC, seq DESC) rn FROM app) WHERE rn = 1),
negs AS (SELECT subject_value, time nt, seq ns FROM (SELECT *, row_number() OVER
  (PARTITION BY subject_value ORDER BY time DESC, seq DESC) rn FROM app WHERE decision <> 'granted') WHERE rn = 1),
objected AS (SELECT DISTINCT subject_value FROM app WHERE decision = 'objected'),
grants AS (SELECT subject_value, lvl, time gt, seq gs FROM (SELECT *, row_number() OVER
  (PARTITION BY subject_value, lvl ORDER BY time DESC, seq DESC) rn FROM app
   WHERE decision = 'granted' AND coalesce(expiry, 9223372036854775807) > $at AND legal_basis = 'consent') WHERE rn = 1),
ok AS (SELECT DISTINCT g.subject_value FROM grants g LEFT JOIN negs n USING (subject_value)
  WHERE (n.subject_value IS NULL OR g.gt > n.nt OR (g.gt = n.nt AND g.gs > n.ns))
    AND NOT EXISTS (SELECT 1 FROM latest l WHERE l.subject_value = g.subject_value AND l.lvl > g.lvl
                    AND l.decision <> 'granted'))
SELECT subject_value FROM ok
"""


def test_vectorised_checks_agree_with_a_duckdb_oracle(consent):
    duckdb = pytest.importorskip("duckdb")
    rng = np.random.default_rng(5)
    df = _random_ledger(rng, 300, 3000)
    rep = import_frame(consent, df, now=NOW)
    assert rep["appended"] == 3000
    df["seq"] = np.arange(1, 3001)
    values = [f"+86138{i:08d}" for i in range(300)]
    con = duckdb.connect()
    con.register("ledger", df)
    for day in (10, 50, 99, 140):
        at = T0 + day * DAY
        res = consent.check_many("phone", values, "marketing.sms", "sms", at=at, contact_rules=False)
        assert res["allowed"].dtype == np.bool_ and res["reason"].dtype == np.int32
        ours = {v for v, a in zip(values, res["allowed"]) if a}
        theirs = {r[0] for r in con.execute(ORACLE, {"at": at}).fetchall()}
        assert ours == theirs, f"day {day}: {sorted(ours ^ theirs)[:5]}"
        assert 0 < len(ours) < 300
        # One by one gives the same answers.
        for i in range(0, 300, 37):
            c = consent.check("phone", values[i], "marketing.sms", "sms", at=at, contact_rules=False)
            assert c.allowed == res["allowed"][i] and c.reason_code == res["reason"][i] and c.record == res["record"][i]
    frame = check_frame(consent, "phone", values[:5], "marketing.sms", "sms", at=T0 + 50 * DAY, contact_rules=False)
    assert list(frame.columns) == ["value", "allowed", "reason", "reason_code", "record"]


def test_person_filter_through_identity_and_a_merge():
    ws = cdpcore.Workspace.open(":memory:")
    graph = cdpcore.IdentityGraph(ws)
    graph.register_default_types()
    consent = cdpcore.Consent(ws)
    consent.attach_identity(graph)
    for i in range(20):
        graph.link({"phone": f"1380013{8000 + i}", "crm_id": f"M{i:03d}"}, time=T0, source="crm")
        if i % 2 == 0:
            consent.append("phone", f"1380013{8000 + i}", "marketing.sms", "sms", "granted", time=T0, now=NOW)
        if i % 5 == 0:
            consent.append("crm_id", f"M{i:03d}", "marketing", "*", "withdrawn", time=T0 + DAY, now=NOW)
    ordinals = [graph.ordinal_of("crm_id", f"M{i:03d}") for i in range(20)]
    seg = cdpcore.Bitmap(ordinals)
    res = consent.filter(seg, "marketing.sms", "sms", at=T0 + 2 * DAY, contact_rules=False, with_identifiers=True)
    # Even i allowed, except multiples of 5 (strict: the CRM id's withdrawal).
    expect = {ordinals[i] for i in range(20) if i % 2 == 0 and i % 5 != 0}
    assert set(res["allowed"].to_numpy().tolist()) == expect
    assert res["input"] == 20
    assert res["dropped"] == {"no_consent": 8, "withdrawn": 4}
    assert sorted(res["contact_value"]) == sorted(f"+86138001380{i:02d}" for i in range(20) if i in
                                                  {2, 4, 6, 8, 12, 14, 16, 18})
    frame = dropped_frame(res)
    assert frame.iloc[0].to_dict() == {"reason": "no_consent", "dropped": 8}
    # A merge with a person whose e-mail withdrew: the merged person is denied.
    graph.link({"email": "z@example.com"}, time=T0, source="web")
    consent.append("email", "z@example.com", "marketing", "*", "withdrawn", time=T0 + DAY, now=NOW)
    p = graph.ordinal_of("crm_id", "M002")
    assert consent.check_person(p, "marketing.sms", "sms", at=T0 + 4 * DAY, contact_rules=False)["allowed"]
    graph.link({"crm_id": "M002", "email": "z@example.com"}, time=T0 + 3 * DAY, source="order")
    p = graph.ordinal_of("crm_id", "M002")
    assert graph.ordinal_of("email", "z@example.com") == p
    r = consent.check_person(p, "marketing.sms", "sms", at=T0 + 4 * DAY, contact_rules=False)
    assert not r["allowed"] and r["reason"] == "withdrawn"



def test_chain_detects_a_row_edited_in_the_file(tmp_path):
    path = str(tmp_path / "chain.cdp")
    ws = cdpcore.Workspace.open(path)
    consent = cdpcore.Consent(ws)
    for i in range(10):
        consent.append("email", f"user{i}@example.com", "marketing.email", "email",
                       "granted" if i % 2 else "denied", time=T0 + i, now=NOW)
    assert consent.verify_chain() == {"ok": True, "records": 10, "first_bad": 0, "problem": ""}
    del consent, ws
    con = sqlite3.connect(path)
    con.execute("UPDATE consent_ledger SET decision = 1 WHERE seq = 5")  # denied -> granted
    con.commit()
    con.close()
    ws = cdpcore.Workspace.open(path)
    v = cdpcore.Consent(ws).verify_chain()
    assert not v["ok"] and v["first_bad"] == 5 and "record 5" in v["problem"]


def test_erasure_leaves_no_raw_pii_and_suppresses_reimport(tmp_path):
    path = tmp_path / "erase.cdp"
    ws = cdpcore.Workspace.open(str(path))
    consent = cdpcore.Consent(ws)
    consent.append("phone", "+8613800138000", "marketing.sms", "sms", "granted", time=T0, now=NOW,
                   proof_location="store SH-001", proof_reference="signed form of +8613800138000")
    consent.append("phone", "+8613900139000", "marketing.sms", "sms", "granted", time=T0, now=NOW)
    consent.set_preferences("phone", "+8613800138000", {"topics": ["sale"], "quiet_hours": (1320, 480),
                                                         "time_zone": "Asia/Shanghai"}, at=T0)
    exported = json.loads(consent.export_subject("phone", "+8613800138000"))
    assert exported["subjects"][0]["preferences"]["topics"] == ["sale"]
    rep = consent.erase("phone", "+8613800138000", at=T0 + DAY)
    assert rep["records"] == 1
    assert consent.check("phone", "+8613800138000", "marketing.sms", "sms", at=T0 + 2 * DAY).reason == "suppressed"
    rep = import_frame(consent, pd.DataFrame({
        "subject_type": ["phone"], "subject_value": ["+8613800138000"], "purpose": ["marketing"],
        "decision": ["granted"], "time": [T0 + 3 * DAY]}), now=NOW)
    assert rep["suppressed"] == 1 and rep["appended"] == 0
    assert consent.verify_chain()["ok"]
    del consent, ws
    data = b"".join(p.read_bytes() for p in tmp_path.iterdir() if p.name.startswith("erase.cdp"))
    assert b"13800138000" not in data
    assert b"13900139000" in data


def test_privacy_signal_decoders():
    tc = cdpcore.decode_tc_string("COtybn4PA_zT4KjACBENAPCIAEBAAECAAIAAAAAAAAAA")
    assert tc["cmp_id"] == 675 and tc["purposes_consent"] == [2, 10] and tc["special_feature_opt_ins"] == [1]
    assert tc["created"] == cdpcore.parse_time("2020-01-26T17:01:00Z")
    with pytest.raises(cdpcore.ParseError) as e:
        cdpcore.decode_tc_string("COtybn4PA_zT4Kj!CBENAPCIAEBAAECAAIAAAAAAAAAA")
    assert e.value.offset == 15
    lenient = cdpcore.decode_tc_string(
        "COrEAV4OrXx94ACABBENAHCIAD-AAAAAAACAAxAAAAgAIAwgAgAAAAEAgQAAAAAEAYQAQAAAACAAAABAAA.IBAgAAAgAIAwgAgAAAAEAAAACA"
        ".QAagAQAgAIAwgA.cAAAAAAAITg=", lenient=True)
    assert lenient["publisher_tc"]["purposes_consent"] == [1] and lenient["warnings"]
    assert cdpcore.decode_us_privacy("1YYN")["opted_out"] is True
    g = cdpcore.decode_gpp("DBACNY~CPXxRfAPXxRfAAfKABENB-CgAAAAAAAAAAYgAAAAAAAA~1YNN")
    assert g["section_ids"] == [2, 6] and [s["name"] for s in g["sections"]] == ["tcfeuv2", "uspv1"]
    assert cdpcore.parse_gpc_header("1") and not cdpcore.parse_gpc_header("0")


def test_gpc_and_contact_rules():
    ws = cdpcore.Workspace.open(":memory:")
    consent = cdpcore.Consent(ws, jurisdiction="ccpa")
    consent.record_gpc("email", "a@example.com", at=T0, now=NOW)
    assert consent.check("email", "a@example.com", "third_party_sharing", "*", at=T0 + 1).reason == "withdrawn"
    assert consent.check("email", "a@example.com", "marketing.email", "email", at=T0 + 1).allowed
    consent.set_preferences("email", "a@example.com",
                            {"caps": [{"channel": "email", "max_contacts": 1, "period": 7 * DAY}]}, at=T0)
    consent.log_contact("email", "a@example.com", "email", at=T0 + 1)
    assert consent.check("email", "a@example.com", "marketing.email", "email", at=T0 + 2).reason == "frequency_cap"
    assert consent.check("email", "a@example.com", "marketing.email", "email", at=T0 + 8 * DAY).allowed
    assert consent.preferences("email", "a@example.com")["caps"][0]["max_contacts"] == 1


def test_sample_data_end_to_end():
    """datagen's population: link identities, import its consent ledger, filter
    the known persons for SMS marketing and count who was dropped and why."""
    from cdpcore import datagen
    from cdpcore.identity import link_long

    d = datagen.generate(persons=3000, seed=7)
    ws = cdpcore.Workspace.open(":memory:")
    graph = cdpcore.IdentityGraph(ws)
    graph.register_default_types()
    links, recs = d.links, d.records
    link_long(graph, links["record"].to_numpy(), links["type"].astype(str).to_numpy(), links["value"].tolist(),
              time=d.column("records", "time"), source=recs["source"].astype(str).tolist(), best_effort=True, skip_invalid=True)
    consent = cdpcore.Consent(ws)
    consent.attach_identity(graph)
    import pandas as pd

    # one row whose phone cannot be normalised, placed mid-ledger
    bad = d.consent.iloc[[0]].copy()
    bad["subject_type"], bad["subject_value"] = "phone", "not a phone"
    half = len(d.consent) // 2
    ledger = pd.concat([d.consent.iloc[:half], bad, d.consent.iloc[half:]], ignore_index=True)
    with pytest.raises(cdpcore.InvalidArgument, match="record"):
        import_frame(consent, ledger, now=d.options["end"])
    assert len(consent) == 0  # nothing of the batch was applied
    rep = import_frame(consent, ledger, now=d.options["end"], skip_invalid=True)
    assert rep["invalid"] >= 1
    assert rep["appended"] + rep["invalid"] == len(ledger) and rep["appended"] > 0.9 * len(ledger)
    assert consent.verify_chain()["ok"]
    res = consent.filter(graph.persons(), "marketing.sms", "sms", at=d.options["end"])
    kept = len(res["allowed"])
    assert 0 < kept < res["input"]
    assert kept + sum(res["dropped"].values()) == res["input"]
    assert {"no_consent", "withdrawn"} <= set(res["dropped"])
