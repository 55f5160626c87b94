"""Features bound to a ProfileStore (attributes and rule expressions) and
scores written back as a trait that rules can use."""
import numpy as np
import pytest

import cdpcore

DAY = 86_400_000_000

pytest.importorskip("cdpcore.profile")
from cdpcore.profile import ProfileStore  # noqa: E402


def make_store():
    store = ProfileStore()
    store.define_event_type("order", {"amount": "double"})
    persons = np.arange(6, dtype=np.uint32)
    store.write_doubles("visits", persons, np.array([1, 8, 3, 0, 5, np.nan]))
    rows = {"person": [], "time": [], "amount": []}
    for p in range(5):
        for k in range(p + 1):
            rows["person"].append(p)
            rows["time"].append((10 + k) * DAY)
            rows["amount"].append(10.0 * (p + 1))
    store.append_events("order", {k: np.asarray(v) for k, v in rows.items()})
    store.compact()
    return store


def test_feature_matrix_from_attributes_and_expressions():
    store = make_store()
    features = ["visits", ("spend", "expression", "sum(order.amount, last 30 days)")]
    x = cdpcore.feature_matrix(store, features, as_of=20 * DAY, persons=[0, 1, 5])
    assert x.shape == (3, 2)
    assert x[0, 0] == 1 and x[1, 0] == 8 and np.isnan(x[2, 0])
    np.testing.assert_allclose(x[:2, 1], [10.0, 40.0])
    with pytest.raises(cdpcore.Error):
        cdpcore.feature_matrix(store, ["no_such_attribute"], as_of=0)


def test_scores_become_a_trait_usable_in_rules():
    store = make_store()
    features = ["visits", ("spend", "expression", "sum(order.amount, last 30 days)")]
    x = cdpcore.feature_matrix(store, features, as_of=20 * DAY)
    y = (np.nan_to_num(x[:, 0]) > 2).astype(float)
    model = cdpcore.Model.linear([0.5, 0.01], [-1.5], link="logistic")
    scores = cdpcore.score_to_trait(model, store, "churn_risk", features=features, as_of=20 * DAY)
    everyone = np.arange(store.person_count, dtype=np.uint32)
    np.testing.assert_allclose(store.read_doubles("churn_risk", everyone), scores)
    expected = model.predict(x)
    np.testing.assert_allclose(scores, expected)
    assert y.shape == scores.shape
