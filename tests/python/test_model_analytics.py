"""Linear/logistic models against scikit-learn, CLV against the published
CDNOW fit and lifetimes, RFM against pandas' qcut, k-means against
scikit-learn, lookalike expansion on planted data."""
import numpy as np
import pandas as pd
import pytest

import cdpcore
import cdpcore.model  # noqa: F401  (the pure-Python adapters)

sklearn = pytest.importorskip("sklearn")
from sklearn.cluster import KMeans as SkKMeans  # noqa: E402
from sklearn.linear_model import LinearRegression, LogisticRegression  # noqa: E402
from sklearn.metrics import adjusted_rand_score  # noqa: E402
from sklearn.pipeline import make_pipeline  # noqa: E402
from sklearn.preprocessing import StandardScaler  # noqa: E402

DAY = 86_400_000_000


def classification_data(n=600, p=5, seed=0, classes=2):
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(n, p)) * rng.uniform(0.5, 20, size=p) + rng.uniform(-5, 5, size=p)
    z = (x - x.mean(0)) / x.std(0)
    logits = z @ rng.normal(size=(p, classes))
    y = np.array([rng.choice(classes, p=np.exp(l) / np.exp(l).sum()) for l in logits])
    return x, y


def test_logistic_regression_equals_sklearn_predict_proba():
    x, y = classification_data()
    est = LogisticRegression(C=0.5, max_iter=1000, tol=1e-10).fit(x, y)
    m = cdpcore.Model.from_sklearn(est)
    assert m.objective == "logistic" and m.num_features == 5
    np.testing.assert_allclose(m.predict(x), est.predict_proba(x)[:, 1], rtol=1e-12, atol=1e-15)
    np.testing.assert_allclose(m.predict(x, output="margin"), est.decision_function(x), rtol=1e-10, atol=1e-12)
    assert m.predict_row(x[3]) == pytest.approx(est.predict_proba(x[3:4])[0, 1], rel=1e-12)


def test_multinomial_and_pipeline_with_scaler():
    x, y = classification_data(classes=3, seed=1)
    pipe = make_pipeline(StandardScaler(), LogisticRegression(max_iter=2000)).fit(x, y)
    m = cdpcore.Model.from_sklearn(pipe)
    assert m.num_outputs == 3
    np.testing.assert_allclose(m.predict(x), pipe.predict_proba(x), rtol=1e-10, atol=1e-14)


def test_linear_regression_and_explicit_standardisation():
    rng = np.random.default_rng(2)
    x = rng.normal(size=(300, 4)) * 10 + 3
    y = x @ np.array([1.5, -2.0, 0.0, 0.25]) + 7 + rng.normal(size=300)
    est = LinearRegression().fit(x, y)
    np.testing.assert_allclose(cdpcore.Model.from_sklearn(est).predict(x), est.predict(x), rtol=1e-12)
    scaler = StandardScaler().fit(x)
    est2 = LinearRegression().fit(scaler.transform(x), y)
    m2 = cdpcore.Model.from_sklearn(est2, scaler)
    np.testing.assert_allclose(m2.predict(x), est2.predict(scaler.transform(x)), rtol=1e-12)
    # NaN input gives NaN, not a silent number.
    xn = x[:2].copy()
    xn[0, 1] = np.nan
    out = m2.predict(xn)
    assert np.isnan(out[0]) and np.isfinite(out[1])


def test_fit_logistic_matches_sklearn_l2_solution():
    x, y = classification_data(seed=3)
    m = cdpcore.fit_logistic(x, y, l2=2.0)
    z = (x - x.mean(0)) / x.std(0)
    est = LogisticRegression(C=0.5, tol=1e-12, max_iter=10000).fit(z, y)
    np.testing.assert_allclose(m.coefficients[0], est.coef_[0], rtol=1e-6, atol=1e-8)
    np.testing.assert_allclose(m.intercepts, est.intercept_, rtol=1e-6, atol=1e-8)
    np.testing.assert_allclose(m.predict(x), est.predict_proba(z)[:, 1], rtol=1e-6)
    with pytest.raises(cdpcore.Error, match="row 4 column 1"):
        bad = x.copy()
        bad[4, 1] = np.nan
        cdpcore.fit_logistic(bad, y)


# ---- CLV ---------------------------------------------------------------------

lifetimes = pytest.importorskip("lifetimes")


@pytest.fixture(scope="module")
def cdnow():
    from lifetimes.datasets import load_cdnow_summary_data_with_monetary_value

    return load_cdnow_summary_data_with_monetary_value()


def sig3(a, b):
    return float(f"{a:.3g}") == float(f"{b:.3g}")


def test_bgnbd_reaches_published_cdnow_parameters(cdnow):
    f, r, T = cdnow["frequency"].to_numpy(float), cdnow["recency"].to_numpy(float), cdnow["T"].to_numpy(float)
    assert len(f) == 2357
    m = cdpcore.BgNbd.fit(f, r, T)
    # Fader, Hardie & Lee (2005): r = 0.243, α = 4.414, a = 0.793, b = 2.426, LL = -9582.4.
    for ours, published in [(m.r, 0.2426), (m.alpha, 4.4136), (m.a, 0.7929), (m.b, 2.4259)]:
        assert sig3(ours, published), (ours, published)
    assert m.log_likelihood == pytest.approx(-9582.4, abs=0.05)
    ref = lifetimes.BetaGeoFitter().fit(cdnow["frequency"], cdnow["recency"], cdnow["T"])
    for ours, theirs in zip([m.r, m.alpha, m.a, m.b], ref.params_[["r", "alpha", "a", "b"]]):
        assert ours == pytest.approx(theirs, rel=2e-3)
    # Predictions with the same parameters agree to rounding.
    same = cdpcore.BgNbd.with_params(*ref.params_[["r", "alpha", "a", "b"]])
    for t in (1.0, 10.0, 39.0):
        np.testing.assert_allclose(
            same.expected_purchases(t, f, r, T),
            ref.conditional_expected_number_of_purchases_up_to_time(t, cdnow["frequency"], cdnow["recency"], cdnow["T"]),
            rtol=1e-8)
    np.testing.assert_allclose(same.probability_alive(f, r, T),
                               ref.conditional_probability_alive(cdnow["frequency"], cdnow["recency"], cdnow["T"]),
                               rtol=1e-10)
    assert same.expected_purchases_new(39.0) == pytest.approx(ref.expected_number_of_purchases_up_to_time(39.0),
                                                              rel=1e-8)
    # Our own fit predicts what lifetimes' fit predicts, to the parameters' precision.
    np.testing.assert_allclose(m.expected_purchases(10.0, f, r, T), same.expected_purchases(10.0, f, r, T), rtol=5e-3)


def test_gamma_gamma_and_clv_match_lifetimes(cdnow):
    f, r, T = cdnow["frequency"].to_numpy(float), cdnow["recency"].to_numpy(float), cdnow["T"].to_numpy(float)
    mv = cdnow["monetary_value"].to_numpy(float)
    g = cdpcore.GammaGamma.fit(f, mv)
    # Fader, Hardie & Lee (2005) "RFM and CLV": p = 6.25, q = 3.74, γ = 15.44.
    assert sig3(g.p, 6.25) and sig3(g.q, 3.74) and sig3(g.v, 15.44), g
    ref_g = lifetimes.GammaGammaFitter().fit(cdnow["frequency"][f > 0], cdnow["monetary_value"][f > 0])
    same_g = cdpcore.GammaGamma.with_params(*ref_g.params_[["p", "q", "v"]])
    np.testing.assert_allclose(same_g.expected_spend(f, mv),
                               ref_g.conditional_expected_average_profit(cdnow["frequency"], cdnow["monetary_value"]),
                               rtol=1e-10)
    ref_bg = lifetimes.BetaGeoFitter().fit(cdnow["frequency"], cdnow["recency"], cdnow["T"])
    same_bg = cdpcore.BgNbd.with_params(*ref_bg.params_[["r", "alpha", "a", "b"]])
    ours = cdpcore.clv(same_bg, same_g, f, r, T, mv, months=12, monthly_discount_rate=0.01, units_per_month=4.345)
    theirs = ref_g.customer_lifetime_value(ref_bg, cdnow["frequency"], cdnow["recency"], cdnow["T"],
                                           cdnow["monetary_value"], time=12, discount_rate=0.01, freq="W")
    np.testing.assert_allclose(ours, theirs, rtol=1e-7)


def test_clv_summary_equals_lifetimes_summary():
    rng = np.random.default_rng(4)
    n = 3000
    person = rng.integers(0, 300, n).astype(np.uint32)
    t = (rng.integers(0, 365, n) * DAY + rng.integers(0, DAY, n)).astype(np.int64)
    amount = np.round(rng.gamma(2, 30, n), 2)
    as_of = 300 * DAY
    s = cdpcore.clv_summary(person, t, amount, as_of=as_of)
    df = pd.DataFrame({"id": person, "date": pd.to_datetime(t, unit="us"), "amount": amount})
    ref = lifetimes.utils.summary_data_from_transaction_data(
        df, "id", "date", monetary_value_col="amount", observation_period_end=pd.to_datetime(as_of, unit="us"),
        freq="D")
    assert list(s["person"]) == list(ref.index)
    for col in ("frequency", "recency", "T", "monetary_value"):
        ours = s["monetary" if col == "monetary_value" else col]
        np.testing.assert_allclose(ours, ref[col].to_numpy(float), rtol=1e-12, err_msg=col)


def test_bad_clv_input_is_refused():
    with pytest.raises(cdpcore.Error, match="recency > T"):
        cdpcore.BgNbd.fit([1.0, 2.0], [5.0, 9.0], [4.0, 10.0])
    with pytest.raises(cdpcore.Error, match="must be > 0"):
        cdpcore.GammaGamma.fit([1.0, 2.0], [5.0, -1.0])


# ---- RFM -----------------------------------------------------------------------

def test_rfm_equals_pandas_qcut():
    rng = np.random.default_rng(6)
    n = 5000
    person = rng.integers(0, 700, n).astype(np.uint32)
    t = (rng.integers(0, 400, n) * DAY + rng.integers(0, DAY, n)).astype(np.int64)
    amount = np.round(rng.lognormal(3, 1, n), 2)
    as_of = 380 * DAY
    table = cdpcore.rfm(person, t, amount, as_of=as_of)

    df = pd.DataFrame({"person": person, "t": t, "amount": amount})
    df = df[df.t <= as_of]
    g = df.groupby("person").agg(last=("t", "max"), frequency=("t", "size"), monetary=("amount", "sum"))
    g["recency"] = (as_of - g["last"]) / DAY
    r = 5 - pd.qcut(g["recency"].rank(method="first"), 5, labels=False)
    f = pd.qcut(g["frequency"].rank(method="first"), 5, labels=False) + 1
    m = pd.qcut(g["monetary"].rank(method="first"), 5, labels=False) + 1

    assert list(table.person) == list(g.index)
    np.testing.assert_allclose(table.recency_days, g["recency"].to_numpy())
    np.testing.assert_array_equal(table.frequency, g["frequency"].to_numpy())
    np.testing.assert_allclose(table.monetary, g["monetary"].to_numpy(), rtol=1e-12)
    np.testing.assert_array_equal(table.r_score, r.to_numpy())
    np.testing.assert_array_equal(table.f_score, f.to_numpy())
    np.testing.assert_array_equal(table.m_score, m.to_numpy())
    np.testing.assert_array_equal(table.code, r.to_numpy() * 100 + f.to_numpy() * 10 + m.to_numpy())
    # Named groups: champions are R 5 and F 4-5; every person gets a group.
    groups = np.array(table.group, dtype=object)
    assert all(gr is not None for gr in groups)
    champ = (table.r_score == 5) & (table.f_score >= 4)
    assert set(groups[champ]) == {"champions"}
    frame = cdpcore.model.rfm_frame(table)
    assert frame.loc[frame.index[0], "code"] == table.code[0]


def test_rfm_group_table_is_the_users():
    person = np.array([1, 2, 3], dtype=np.uint32)
    t = np.array([1, 2, 3], dtype=np.int64) * DAY
    table = cdpcore.rfm(person, t, np.array([5.0, 6.0, 7.0]), as_of=10 * DAY,
                        groups=[("recent", 5, 5, 1, 5, 1, 5), ("rest", 1, 4, 1, 5, 1, 5)])
    assert list(table.group) == ["rest", "rest", "recent"]


# ---- k-means and lookalike --------------------------------------------------------

def test_kmeans_finds_planted_clusters_like_sklearn():
    rng = np.random.default_rng(8)
    centers = np.array([[0, 0, 0], [8, 8, 0], [0, 8, 8], [8, 0, 8]], float)
    x = np.vstack([c + rng.normal(size=(150, 3)) for c in centers])
    km = cdpcore.KMeans.fit(x, 4, seed=1)
    z = (x - x.mean(0)) / x.std(0)
    sk = SkKMeans(4, n_init=3, random_state=0).fit(z)
    assert adjusted_rand_score(km.labels, sk.labels_) == 1.0
    assert km.inertia == pytest.approx(sk.inertia_, rel=1e-9)
    assert list(km.assign(x)) == list(km.labels)
    # Deterministic for a seed.
    assert list(cdpcore.KMeans.fit(x, 4, seed=1).labels) == list(km.labels)
    new = np.array([[7.5, 8.2, 0.1], [np.nan, 0, 0]])
    labels = km.assign(new)
    assert labels[0] == km.labels[150] and labels[1] == -1


def test_lookalike_expands_a_seed_toward_similar_persons():
    rng = np.random.default_rng(9)
    n = 2000
    persons = np.arange(100, 100 + n, dtype=np.uint32)
    like = rng.random(n) < 0.2  # the kind of person the seed is drawn from
    x = rng.normal(size=(n, 4)) + np.where(like[:, None], [2.0, -1.5, 0.0, 1.0], 0.0)
    seed = persons[like & (rng.random(n) < 0.5)]
    chosen, scores, model = cdpcore.lookalike(seed, persons, x, top_n=150)
    assert len(chosen) == 150
    assert not set(chosen) & set(seed)
    hit = np.isin(chosen, persons[like]).mean()
    base_rate = np.isin(np.setdiff1d(persons, seed), persons[like]).mean()
    assert base_rate < 0.15 and hit > 0.6, (hit, base_rate)
    assert list(chosen) == sorted(chosen)
    # The returned scores are the model's.
    np.testing.assert_allclose(scores, model.predict(x))
    by_score, _, _ = cdpcore.lookalike(seed, persons, x, min_score=0.9)
    assert np.all(scores[np.isin(persons, by_score)] >= 0.9)
