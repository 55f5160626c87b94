"""Tree ensembles scored by cdpcore equal XGBoost's and LightGBM's own
predictions, on models trained here on generated data, for held-out rows with
NaN, values exactly on split thresholds and unseen categories."""
import json
import re

import numpy as np
import pytest

import cdpcore
import cdpcore.model  # noqa: F401  (the pure-Python adapters)

xgb = pytest.importorskip("xgboost")
lgb = pytest.importorskip("lightgbm")

N_FEATURES = 6
CAT = 3  # categorical column (codes 0..9 in training)


def make_data(n, seed, nan_rate=0.1):
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(n, N_FEATURES))
    x[:, 1] = np.round(x[:, 1], 1)  # repeated values: splits land between them
    x[:, CAT] = rng.integers(0, 10, n)
    x[:, 5] = np.where(rng.random(n) < 0.3, 0.0, x[:, 5])  # many exact zeros
    mask = rng.random((n, N_FEATURES)) < nan_rate
    x[mask] = np.nan
    signal = np.nan_to_num(x[:, 0]) + np.sin(np.nan_to_num(x[:, 1]) * 2) + np.isin(x[:, CAT], [1, 4, 7]) \
        - 0.5 * np.isnan(x[:, 2]) + 0.3 * np.nan_to_num(x[:, 5])
    return x, signal, rng


def probe_rows(x, thresholds, rng):
    """Held-out rows: random rows, each split threshold planted exactly in its
    feature, NaN everywhere, unseen / invalid categories, ±0."""
    rows = [x[rng.integers(0, len(x), 300)]]
    base = x[rng.integers(0, len(x), len(thresholds) or 1)].copy()
    for i, (f, t) in enumerate(thresholds):
        base[i, f] = t
    rows.append(base)
    nan_row = np.full((1, N_FEATURES), np.nan)
    cats = x[rng.integers(0, len(x), 6)].copy()
    cats[:, CAT] = [10, 11, 25, 100, 3.0, 9.0]
    zeros = x[rng.integers(0, len(x), 3)].copy()
    zeros[:, 5] = [0.0, -0.0, 1e-40]
    return np.vstack(rows + [nan_row, cats, zeros])


def xgb_thresholds(booster):
    doc = json.loads(booster.save_raw("json"))
    out = set()
    for tree in doc["learner"]["gradient_booster"]["model"]["trees"]:
        for i, left in enumerate(tree["left_children"]):
            if left != -1 and tree["split_type"][i] == 0:
                t = np.float32(tree["split_conditions"][i])
                out.add((tree["split_indices"][i], float(t)))
                out.add((tree["split_indices"][i], float(np.nextafter(t, np.float32(-np.inf)))))
    return sorted(out)[:400]


def lgb_thresholds(booster):
    out = set()
    text = booster.model_to_string()
    for feats, thrs, dts in zip(re.findall(r"^split_feature=(.*)$", text, re.M),
                                re.findall(r"^threshold=(.*)$", text, re.M),
                                re.findall(r"^decision_type=(.*)$", text, re.M)):
        for f, t, d in zip(feats.split(), thrs.split(), dts.split()):
            if int(d) & 1 == 0:
                v = float(t)
                out.add((int(f), v))
                out.add((int(f), float(np.nextafter(v, np.inf))))
    return sorted(out)[:400]


def assert_close_rel(ours, ref, rel):
    ours = np.asarray(ours, dtype=np.float64).reshape(np.shape(ref))
    ref = np.asarray(ref, dtype=np.float64)
    scale = np.maximum(np.abs(ref), 1e-30)
    worst = np.max(np.abs(ours - ref) / scale)
    assert worst <= rel, f"max relative difference {worst:g} > {rel:g}"


def labels_for(objective, signal, rng):
    if objective in ("binary:logistic", "binary"):
        return (signal + rng.normal(scale=0.5, size=len(signal)) > 0.5).astype(int)
    if objective in ("multi:softprob", "multiclass"):
        return np.digitize(signal + rng.normal(scale=0.5, size=len(signal)), [0.0, 1.0])
    if objective == "count:poisson":
        return rng.poisson(np.exp(np.clip(signal, -2, 2) / 2))
    return signal + rng.normal(scale=0.3, size=len(signal))


XGB_CASES = [
    ("binary:logistic", 1, 1),
    ("binary:logistic", 3, 40),
    ("binary:logistic", 10, 6),
    ("reg:squarederror", 6, 30),
    ("multi:softprob", 4, 10),
    ("count:poisson", 5, 20),
    ("binary:logistic", 2, 500),
]


@pytest.mark.parametrize("objective,depth,trees", XGB_CASES)
@pytest.mark.parametrize("categorical", [False, True], ids=["numerical", "categorical"])
def test_xgboost_predictions_equal_xgboost(objective, depth, trees, categorical):
    x, signal, rng = make_data(500 if trees > 100 else 800, seed=depth * 100 + trees)
    y = labels_for(objective, signal, rng)
    params = {"objective": objective, "max_depth": depth, "nthread": 2, "eta": 0.3, "max_bin": 64}
    if objective == "multi:softprob":
        params["num_class"] = 3
    ft = ["c" if (categorical and j == CAT) else "q" for j in range(N_FEATURES)]
    dtrain = xgb.DMatrix(x, y, feature_types=ft, enable_categorical=categorical)
    booster = xgb.train(params, dtrain, trees)
    model = cdpcore.Model.from_xgboost_json(booster.save_raw("json"))
    assert model.num_trees == len(json.loads(booster.save_raw("json"))["learner"]["gradient_booster"]["model"]["trees"])
    probe = probe_rows(x, xgb_thresholds(booster), rng)
    if categorical:
        probe[:, CAT] = np.where(probe[:, CAT] < 0, np.nan, probe[:, CAT])
    for dtype in (np.float64, np.float32):
        xp = probe.astype(dtype)
        ref = booster.inplace_predict(xp)
        assert_close_rel(model.predict(xp), ref, 1e-6)
        ref_margin = booster.inplace_predict(xp, predict_type="margin")
        ours_margin = model.predict(xp, output="margin")
        assert np.allclose(ours_margin.reshape(ref_margin.shape), ref_margin, rtol=1e-6, atol=1e-6)
    # Column-major input is read in place and gives the same numbers.
    assert np.array_equal(model.predict(np.asfortranarray(probe)), model.predict(probe))
    # The single-row path gives XGBoost's numbers, and the batch path's to the bit.
    batch = model.predict(probe)
    rows = np.array([np.atleast_1d(model.predict_row(r)) for r in probe]).reshape(np.shape(batch))
    assert np.array_equal(rows, batch)
    assert_close_rel(rows, booster.inplace_predict(probe), 1e-6)


@pytest.mark.parametrize("style", ["scalar-2.x", "list-3.x", "fixed"])
def test_xgboost_base_score_styles(style):
    x, signal, rng = make_data(800, seed=7)
    y = labels_for("binary:logistic", signal, rng)
    params = {"objective": "binary:logistic", "max_depth": 3, "nthread": 2}
    if style == "fixed":
        params["base_score"] = 0.3
    booster = xgb.train(params, xgb.DMatrix(x, y), 10)
    raw = json.loads(booster.save_raw("json"))
    base = raw["learner"]["learner_model_param"]["base_score"]
    if style == "scalar-2.x":
        # XGBoost 2.x wrote base_score as a bare number string; 3.x reads it.
        raw["learner"]["learner_model_param"]["base_score"] = base.strip("[]")
        booster = xgb.Booster(model_file=bytearray(json.dumps(raw).encode()))
    else:
        assert base.startswith("[")
    if style == "fixed":
        assert abs(float(base.strip("[]")) - 0.3) < 1e-7
    else:
        assert abs(float(base.strip("[]")) - 0.5) > 1e-3  # estimated from the labels
    model = cdpcore.Model.from_xgboost_json(json.dumps(raw))
    probe = probe_rows(x, xgb_thresholds(booster), rng)
    assert_close_rel(model.predict(probe), booster.inplace_predict(probe), 1e-6)


def test_xgboost_infinities_compare_as_values():
    x, signal, rng = make_data(500, seed=3, nan_rate=0)
    booster = xgb.train({"objective": "reg:squarederror", "max_depth": 3, "nthread": 2},
                        xgb.DMatrix(x, signal), 5)
    model = cdpcore.Model.from_xgboost_json(booster.save_raw("json"))
    probe = x[:4].copy()
    probe[0, 0], probe[1, 0] = np.inf, -np.inf
    # XGBoost refuses Inf unless it is the missing value; compare with the
    # largest finite floats, which take the same branches.
    finite = probe.copy()
    finite[0, 0], finite[1, 0] = np.finfo(np.float32).max, -np.finfo(np.float32).max
    assert_close_rel(model.predict(probe), booster.inplace_predict(finite), 1e-6)


LGB_CASES = [
    ("binary", {}),
    ("binary", {"sigmoid": 0.7}),
    ("binary", {"zero_as_missing": True}),
    ("binary", {"use_missing": False}),
    ("regression", {"num_leaves": 63, "max_depth": 10}),
    ("regression", {"num_leaves": 2}),
    ("multiclass", {"num_class": 3}),
]


@pytest.mark.parametrize("objective,extra", LGB_CASES)
@pytest.mark.parametrize("categorical", [False, True], ids=["numerical", "categorical"])
def test_lightgbm_predictions_equal_lightgbm(objective, extra, categorical):
    x, signal, rng = make_data(1000, seed=len(extra) * 10 + len(objective))
    y = labels_for(objective, signal, rng)
    params = {"objective": objective, "verbose": -1, "num_threads": 2, "min_data_in_leaf": 5,
              "min_data_per_group": 5, "cat_smooth": 1.0, "max_bin": 63, **extra}
    data = lgb.Dataset(x, y, categorical_feature=[CAT] if categorical else "auto")
    booster = lgb.train(params, data, 20)
    text = booster.model_to_string()
    if categorical:
        assert "num_cat=1" in text or "num_cat=2" in text
    model = cdpcore.Model.from_lightgbm(text)
    probe = probe_rows(x, lgb_thresholds(booster), rng)
    if categorical:
        probe[-9, CAT] = -1.0  # a negative category
    ref = booster.predict(probe)
    assert_close_rel(model.predict(probe), ref, 1e-9)
    raw = booster.predict(probe, raw_score=True)
    assert np.allclose(model.predict(probe, output="margin").reshape(raw.shape), raw, rtol=1e-9, atol=1e-12)
    assert_close_rel(model.predict(probe.astype(np.float32)), booster.predict(probe.astype(np.float32)), 1e-9)
    assert_single_rows_equal(model, probe, ref)


def assert_single_rows_equal(model, probe, ref):
    """Every probe row through predict_row gives the library's number and the batch path's to the bit."""
    rows = np.array([np.atleast_1d(model.predict_row(r)) for r in probe]).reshape(np.shape(ref))
    assert np.array_equal(rows, model.predict(probe).reshape(np.shape(ref)))
    assert_close_rel(rows, ref, 1e-9)


def test_lightgbm_single_row_on_deep_ensembles_equals_lightgbm():
    # Enough trees for several single-row blocks, and deep ones that are not.
    x, signal, rng = make_data(3000, seed=5)
    y = labels_for("binary", signal, rng)
    for extra in ({"num_leaves": 255, "max_depth": 8}, {"num_leaves": 40, "max_depth": 14}):
        booster = lgb.train({"objective": "binary", "verbose": -1, "num_threads": 2, "min_data_in_leaf": 3,
                             "learning_rate": 0.05, **extra}, lgb.Dataset(x, y), 150)
        model = cdpcore.Model.from_lightgbm(booster.model_to_string())
        probe = probe_rows(x, lgb_thresholds(booster), rng)
        assert_single_rows_equal(model, probe, booster.predict(probe))


def test_lightgbm_random_forest_averages_trees():
    x, signal, rng = make_data(1000, seed=11)
    booster = lgb.train({"objective": "regression", "boosting": "rf", "bagging_freq": 1, "bagging_fraction": 0.7,
                         "feature_fraction": 0.8, "verbose": -1, "num_threads": 2}, lgb.Dataset(x, signal), 20)
    model = cdpcore.Model.from_lightgbm(booster.model_to_string())
    probe = probe_rows(x, lgb_thresholds(booster), rng)
    assert_close_rel(model.predict(probe), booster.predict(probe), 1e-9)


def test_boosters_convert_in_memory():
    x, signal, rng = make_data(400, seed=5)
    b = xgb.XGBClassifier(n_estimators=5, max_depth=2, n_jobs=2).fit(x, signal > 0.5)
    m = cdpcore.model.from_booster(b)
    assert_close_rel(m.predict(x), b.predict_proba(x)[:, 1], 1e-6)
    lb = lgb.LGBMRegressor(n_estimators=5, verbose=-1, n_jobs=2).fit(x, signal)
    assert_close_rel(cdpcore.model.from_booster(lb).predict(x), lb.predict(x), 1e-9)


def test_feature_count_mismatch_and_bad_files_are_refused():
    x, signal, _ = make_data(300, seed=2)
    booster = xgb.train({"objective": "reg:squarederror", "max_depth": 2}, xgb.DMatrix(x, signal), 2)
    model = cdpcore.Model.from_xgboost_json(booster.save_raw("json"))
    with pytest.raises(cdpcore.Error, match="expects 6 features.*5 columns"):
        model.predict(x[:, :5])
    text = bytes(booster.save_raw("json"))
    with pytest.raises(cdpcore.Error, match="byte"):
        cdpcore.Model.from_xgboost_json(text[: len(text) // 2])
    lb = lgb.train({"objective": "regression", "verbose": -1}, lgb.Dataset(x, signal), 2)
    lt = lb.model_to_string()
    with pytest.raises(cdpcore.Error, match="truncated"):
        cdpcore.Model.from_lightgbm(lt[: lt.index("end of trees")])
    with pytest.raises(cdpcore.Error, match="line"):
        cdpcore.Model.from_lightgbm(lt.replace("leaf_value=", "leaf_value=zz ", 1))
