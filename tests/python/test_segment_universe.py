"""`not` is relative to the universe: no answer of a negated condition leaves
it, for value tags and store attributes as for plain tags (issue 16, finding 16)."""
import numpy as np

import cdpcore


def test_not_of_a_value_tag_stays_inside_the_universe():
    ws = cdpcore.Workspace.open(":memory:")
    seg = cdpcore.SegmentEngine(ws)
    seg.set_universe([0, 1, 2])
    seg.set_value_tag("band", {"high": [0], "low": [1, 5]})
    assert seg.preview('not (band == "high")', 0).to_numpy().tolist() == [1]
    assert seg.preview('not (band != "high")', 0).to_numpy().tolist() == [0]


def test_not_of_an_attribute_condition_stays_inside_the_universe():
    ws = cdpcore.Workspace.open(":memory:")
    store = cdpcore.ProfileStore(ws)
    store.define_attribute("x", "int64")
    store.upsert({"person": np.arange(10, dtype=np.uint32), "x": np.arange(10, dtype=np.int64)})
    seg = cdpcore.SegmentEngine(ws)
    seg.attach_store(store)
    seg.set_universe([0, 1, 2, 3, 8])
    assert seg.preview("not (x > 4)", 0).to_numpy().tolist() == [0, 1, 2, 3]


def test_one_person_agrees_with_the_whole_audience_outside_the_universe():
    ws = cdpcore.Workspace.open(":memory:")
    seg = cdpcore.SegmentEngine(ws)
    seg.set_universe([0, 1, 2])
    seg.set_value_tag("band", {"high": [0], "low": [1, 5]})
    seg.define("not_high", 'not (band == "high")')
    assert seg.evaluate("not_high", 0).to_numpy().tolist() == [1]
    seg.update_person(5, ["band"], 0)
    assert 5 not in seg.evaluate("not_high", 0).to_numpy().tolist()
    assert "not_high" not in seg.segments_of(5)
