"""Conveniences around cdpcore's models for scikit-learn, XGBoost, LightGBM
and pandas users. Everything here is a thin adapter over the native classes
(``cdpcore.Model``, ``cdpcore.BgNbd``, ...), which C++ and C users have too.

    >>> import cdpcore
    >>> m = cdpcore.Model.from_sklearn(fitted_logistic_regression)
    >>> p = m.predict(X)                      # == estimator.predict_proba(X)[:, 1]
    >>> m = cdpcore.model.from_booster(xgb_booster)   # or a lightgbm.Booster
"""
from __future__ import annotations

import numpy as np

from . import _cdpcore

__all__ = ["from_booster", "from_sklearn", "rfm_frame", "clv_frame"]


def _scaler_params(scaler):
    mean = getattr(scaler, "mean_", None)
    scale = getattr(scaler, "scale_", None)
    n = getattr(scaler, "n_features_in_", None)
    if mean is None and n is not None:
        mean = np.zeros(n)
    if scale is None and n is not None:
        scale = np.ones(n)
    return np.asarray(mean, dtype=np.float64), np.asarray(scale, dtype=np.float64)


def _from_sklearn(estimator, scaler=None):
    """Backs ``Model.from_sklearn``: LogisticRegression / LinearRegression /
    Ridge / Lasso (or a Pipeline ending in one, with an optional
    StandardScaler step before it)."""
    steps = getattr(estimator, "steps", None)
    if steps is not None:
        if len(steps) == 2 and scaler is None:
            scaler = steps[0][1]
            estimator = steps[1][1]
        elif len(steps) == 1:
            estimator = steps[0][1]
        else:
            raise ValueError("from_sklearn: a Pipeline must be [StandardScaler, estimator] or [estimator]")
    coef = getattr(estimator, "coef_", None)
    if coef is None:
        raise TypeError(f"from_sklearn: {type(estimator).__name__} is not a fitted linear model (no coef_)")
    coef = np.atleast_2d(np.asarray(coef, dtype=np.float64))
    intercept = np.atleast_1d(np.asarray(getattr(estimator, "intercept_", 0.0), dtype=np.float64))
    if intercept.size == 1 and coef.shape[0] > 1:
        intercept = np.repeat(intercept, coef.shape[0])
    mean = scale = None
    if scaler is not None:
        mean, scale = _scaler_params(scaler)
    names = [str(n) for n in getattr(estimator, "feature_names_in_", [])]
    is_classifier = hasattr(estimator, "predict_proba") and hasattr(estimator, "classes_")
    if is_classifier:
        n_classes = len(estimator.classes_)
        if n_classes == 2:
            link = "logistic"
        else:
            multi = getattr(estimator, "multi_class", "auto")
            solver = getattr(estimator, "solver", "lbfgs")
            if multi == "ovr" or (multi == "auto" and solver == "liblinear"):
                raise ValueError("from_sklearn: one-vs-rest multiclass models are not supported; use multinomial")
            link = "softmax"
    else:
        link = "identity"
    return _cdpcore.Model.linear(coef, intercept, link=link, mean=mean, scale=scale, feature_names=names)


def from_sklearn(estimator, scaler=None):
    """A cdpcore.Model from a fitted scikit-learn linear model (see Model.from_sklearn)."""
    return _cdpcore.Model.from_sklearn(estimator, scaler)


def from_booster(booster):
    """A cdpcore.Model from an in-memory ``xgboost.Booster`` (or sklearn
    wrapper) or ``lightgbm.Booster`` (or sklearn wrapper)."""
    get_booster = getattr(booster, "get_booster", None)
    if callable(get_booster):  # xgboost.XGBModel
        booster = get_booster()
    if hasattr(booster, "booster_"):  # lightgbm.LGBMModel
        booster = booster.booster_
    if hasattr(booster, "save_raw") and hasattr(booster, "inplace_predict"):
        return _cdpcore.Model.from_xgboost_json(bytes(booster.save_raw("json")))
    if hasattr(booster, "model_to_string"):
        return _cdpcore.Model.from_lightgbm(booster.model_to_string())
    raise TypeError(f"from_booster: {type(booster).__name__} is not an XGBoost or LightGBM booster")


def rfm_frame(table):
    """An RfmTable as a pandas DataFrame indexed by person."""
    import pandas as pd

    return pd.DataFrame(
        {
            "recency_days": table.recency_days,
            "frequency": table.frequency,
            "monetary": table.monetary,
            "r": table.r_score,
            "f": table.f_score,
            "m": table.m_score,
            "code": table.code,
            "group": table.group,
        },
        index=pd.Index(table.person, name="person"),
    )


def clv_frame(purchases, spend, summary, *, t=30.0, months=12, monthly_discount_rate=0.01, units_per_month=30.0):
    """Expected purchases in the next ``t`` units, P(alive), expected spend and
    CLV for a summary dict from ``cdpcore.clv_summary``, as a DataFrame."""
    import pandas as pd

    f, r, T, m = summary["frequency"], summary["recency"], summary["T"], summary["monetary"]
    return pd.DataFrame(
        {
            "frequency": f,
            "recency": r,
            "T": T,
            "monetary": m,
            "expected_purchases": purchases.expected_purchases(t, f, r, T),
            "probability_alive": purchases.probability_alive(f, r, T),
            "expected_spend": spend.expected_spend(f, m),
            "clv": _cdpcore.clv(purchases, spend, f, r, T, m, months=months,
                                monthly_discount_rate=monthly_discount_rate, units_per_month=units_per_month),
        },
        index=pd.Index(summary["person"], name="person") if "person" in summary else None,
    )
