"""Model scoring against XGBoost, LightGBM and treelite; CLV fitting against
lifetimes.

Batch: a binary model of 500 trees of depth 8 on 100 features (scale "full";
fewer trees at "small"), scoring 1M float32 rows with 2 threads — cdpcore vs
XGBoost inplace_predict, LightGBM predict and treelite's GTIL. The models are
trained on a 20k-row sample (training on 1M rows would take longer than every
other benchmark together; the scored model has the same shape either way) and
cached in the build directory.

Single row: median latency of one call — cdpcore's predict_row (C++ and
Python), XGBoost inplace_predict on one row, LightGBM's single-row fast path
(LGBM_BoosterPredictForMatSingleRowFast through ctypes).
"""
from __future__ import annotations

import ctypes
import os
import statistics
import time
from pathlib import Path

import numpy as np

FEATURES = 100
DEPTH = 8


def _train_models(ctx, trees, train_rows):
    import lightgbm as lgb
    import xgboost as xgb

    cache = Path(ctx.build_dir) / "model_bench"
    cache.mkdir(parents=True, exist_ok=True)
    xpath = cache / f"xgb_{trees}x{DEPTH}_{train_rows}.json"
    lpath = cache / f"lgb_{trees}x{DEPTH}_{train_rows}.txt"
    rng = np.random.default_rng(7)
    x = rng.normal(size=(train_rows, FEATURES)).astype(np.float32)
    w = rng.normal(size=FEATURES)
    y = ((x @ w + np.sin(x[:, 0] * 3) * 2 + rng.normal(size=train_rows) * 2) > 0).astype(np.int32)
    if not xpath.exists():
        t0 = time.perf_counter()
        b = xgb.train({"objective": "binary:logistic", "max_depth": DEPTH, "nthread": ctx.threads,
                       "tree_method": "hist", "eta": 0.1, "min_child_weight": 0.5}, xgb.DMatrix(x, y), trees)
        b.save_model(str(xpath))
        print(f"  trained XGBoost {trees} trees in {time.perf_counter() - t0:.1f}s", flush=True)
    if not lpath.exists():
        t0 = time.perf_counter()
        b = lgb.train({"objective": "binary", "max_depth": DEPTH, "num_leaves": 2 ** DEPTH - 1, "verbose": -1,
                       "num_threads": ctx.threads, "min_data_in_leaf": 10, "learning_rate": 0.1},
                      lgb.Dataset(x, y), trees)
        b.save_model(str(lpath))
        print(f"  trained LightGBM {trees} trees in {time.perf_counter() - t0:.1f}s", flush=True)
    return xpath, lpath


def _median_latency(fn, calls):
    for _ in range(min(200, calls)):
        fn()
    samples = []
    for _ in range(calls):
        t0 = time.perf_counter()
        fn()
        samples.append(time.perf_counter() - t0)
    return statistics.median(samples)


def _lightgbm_fast_single_row(booster, nfeat):
    """A callable scoring one float64 row through LightGBM's C fast path."""
    from lightgbm.basic import _LIB, _c_str

    handle = ctypes.c_void_p()
    rc = _LIB.LGBM_BoosterPredictForMatSingleRowFastInit(
        booster._handle, ctypes.c_int(0), ctypes.c_int(0), ctypes.c_int(-1), ctypes.c_int(1),
        ctypes.c_int32(nfeat), _c_str("num_threads=1"), ctypes.byref(handle))
    if rc != 0:
        raise RuntimeError("LGBM_BoosterPredictForMatSingleRowFastInit failed")
    row = np.zeros(nfeat, dtype=np.float64)
    out = np.zeros(1, dtype=np.float64)
    out_len = ctypes.c_int64()
    row_ptr = row.ctypes.data_as(ctypes.c_void_p)
    out_ptr = out.ctypes.data_as(ctypes.POINTER(ctypes.c_double))

    def call(values):
        row[:] = values
        _LIB.LGBM_BoosterPredictForMatSingleRowFast(handle, row_ptr, ctypes.byref(out_len), out_ptr)
        return out[0]

    return call, handle, _LIB


def run(ctx):
    import cdpcore

    full = ctx.scale == "full"
    trees = 500 if full else 100
    rows = 1_000_000 if full else 100_000
    xpath, lpath = _train_models(ctx, trees, 20_000 if full else 5_000)

    import lightgbm as lgb
    import xgboost as xgb

    rng = np.random.default_rng(11)
    x = rng.normal(size=(rows, FEATURES)).astype(np.float32)
    shape = f"{trees} trees depth {DEPTH}, {FEATURES} features"

    # ---- batch --------------------------------------------------------------
    ours_x = cdpcore.Model.load_xgboost_json(str(xpath))
    booster = xgb.Booster(model_file=str(xpath))
    booster.set_param({"nthread": ctx.threads})
    ref = booster.inplace_predict(x[:20000])
    assert np.allclose(ours_x.predict(x[:20000]), ref, rtol=1e-6, atol=1e-7), "cdpcore disagrees with XGBoost"
    ctx.record(benchmark="model_batch_xgboost_model", impl="cdpcore",
               seconds=ctx.time(lambda: ours_x.predict(x, threads=ctx.threads)), rows=rows, threads=ctx.threads,
               notes=shape)
    ctx.record(benchmark="model_batch_xgboost_model", impl="xgboost",
               seconds=ctx.time(lambda: booster.inplace_predict(x)), rows=rows, threads=ctx.threads,
               notes="inplace_predict")
    if ctx.ensure("treelite"):
        try:
            import treelite

            tl = treelite.frontend.load_xgboost_model(str(xpath))
            got = treelite.gtil.predict(tl, x[:2000], nthread=ctx.threads)
            assert np.allclose(np.ravel(got), ref[:2000], rtol=1e-5, atol=1e-6)
            ctx.record(benchmark="model_batch_xgboost_model", impl="treelite",
                       seconds=ctx.time(lambda: treelite.gtil.predict(tl, x, nthread=ctx.threads)), rows=rows,
                       threads=ctx.threads, notes=f"gtil.predict, treelite {treelite.__version__}")
        except Exception as e:  # noqa: BLE001 - a peer that cannot score is skipped with the reason
            print(f"  treelite skipped: {e!r}", flush=True)

    ours_l = cdpcore.Model.load_lightgbm(str(lpath))
    lbooster = lgb.Booster(model_file=str(lpath))
    xd = x[:20000].astype(np.float64)
    assert np.allclose(ours_l.predict(xd), lbooster.predict(xd), rtol=1e-9), "cdpcore disagrees with LightGBM"
    ctx.record(benchmark="model_batch_lightgbm_model", impl="cdpcore",
               seconds=ctx.time(lambda: ours_l.predict(x, threads=ctx.threads)), rows=rows, threads=ctx.threads,
               notes=f"{shape} (num_leaves {2 ** DEPTH - 1})")
    ctx.record(benchmark="model_batch_lightgbm_model", impl="lightgbm",
               seconds=ctx.time(lambda: lbooster.predict(x, num_threads=ctx.threads)), rows=rows,
               threads=ctx.threads, notes="predict")

    # ---- single row -----------------------------------------------------------
    calls = 5000 if full else 1000
    rows1 = [x[i] for i in range(64)]
    it = iter(range(10 ** 9))
    ctx.record(benchmark="model_single_row_xgboost", impl="cdpcore",
               seconds=_median_latency(lambda: ours_x.predict_row(rows1[next(it) % 64]), calls), rows=1,
               notes="Python predict_row (includes the call from Python)")
    ctx.record(benchmark="model_single_row_xgboost", impl="xgboost",
               seconds=_median_latency(lambda: booster.inplace_predict(rows1[next(it) % 64][None, :]), calls),
               rows=1, notes="inplace_predict on one row")
    ctx.record(benchmark="model_single_row_lightgbm", impl="cdpcore",
               seconds=_median_latency(lambda: ours_l.predict_row(rows1[next(it) % 64]), calls), rows=1,
               notes="Python predict_row (includes the call from Python)")
    try:
        fast, handle, lib = _lightgbm_fast_single_row(lbooster, FEATURES)
        assert abs(fast(rows1[0].astype(np.float64)) - ours_l.predict_row(rows1[0])) < 1e-9
        ctx.record(benchmark="model_single_row_lightgbm", impl="lightgbm",
                   seconds=_median_latency(lambda: fast(rows1[next(it) % 64]), calls), rows=1,
                   notes="LGBM_BoosterPredictForMatSingleRowFast via ctypes")
        lib.LGBM_FastConfigFree(handle)
    except Exception as e:  # noqa: BLE001
        print(f"  LightGBM fast single-row path skipped: {e!r}", flush=True)
    # Native: C++ predict_row latency and batch throughput without Python.
    ctx.native("model", "--xgboost", str(xpath), "--lightgbm", str(lpath), "--rows", str(rows))

    # ---- CLV fit ----------------------------------------------------------------
    try:
        import lifetimes
        from lifetimes.datasets import load_cdnow_summary_data_with_monetary_value
    except ImportError:
        print("  lifetimes unavailable: CLV benchmark skipped", flush=True)
        return
    d = load_cdnow_summary_data_with_monetary_value()
    f, r, t, m = (d[c].to_numpy(float) for c in ("frequency", "recency", "T", "monetary_value"))
    n = len(d)
    ctx.record(benchmark="clv_fit_bgnbd_gamma_gamma_cdnow", impl="cdpcore",
               seconds=ctx.time(lambda: (cdpcore.BgNbd.fit(f, r, t), cdpcore.GammaGamma.fit(f, m))), rows=n)

    def theirs():
        lifetimes.BetaGeoFitter().fit(d["frequency"], d["recency"], d["T"])
        rep = d[d["frequency"] > 0]
        lifetimes.GammaGammaFitter().fit(rep["frequency"], rep["monetary_value"])

    ctx.record(benchmark="clv_fit_bgnbd_gamma_gamma_cdnow", impl="lifetimes", seconds=ctx.time(theirs), rows=n)
