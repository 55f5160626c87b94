"""Export with identifier-scoped consent: allow_identifier(person, type,
value) may refuse one identifier, and the next one of lower priority is used
(ExportOptions::allow_identifier, also in the C ABI since
cdp_segment_export_options version 2)."""
import cdpcore


def test_a_refused_identifier_gives_way_to_the_next_type():
    g = cdpcore.IdentityGraph()
    g.register_default_types()
    g.link({"phone": "13800138000", "email": "a@example.com"}, time=1)  # both
    g.link({"phone": "13800138001"}, time=2)                            # phone only
    g.link({"email": "c@example.com"}, time=3)                          # e-mail only
    seg = cdpcore.SegmentEngine()
    seg.attach_identity(g)
    asked = []

    def no_phones(person, type, value):
        asked.append((person, type, value))
        return type != "phone"

    rows = []
    report = seg.export(g.persons(), lambda b: rows.extend(zip(b["person"].tolist(), b["identifier_type"],
                                                               b["identifier"])),
                        identifier_types=["phone", "email"], allow_identifier=no_phones)
    both, phone_only, email_only = (g.ordinal_of("phone", "+8613800138000"),
                                    g.ordinal_of("phone", "+8613800138001"),
                                    g.ordinal_of("email", "c@example.com"))
    assert sorted(rows) == sorted([(both, "email", "a@example.com"), (email_only, "email", "c@example.com")])
    assert report["exported"] == 2 and report["unreachable"] == 1
    assert (phone_only, "phone", "+8613800138001") in asked
    # Without the callback the phone wins for the person who has both.
    rows.clear()
    seg.export(g.persons(), lambda b: rows.extend(zip(b["person"].tolist(), b["identifier_type"])),
               identifier_types=["phone", "email"])
    assert (both, "phone") in rows and len(rows) == 3
