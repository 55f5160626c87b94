"""Times going into cdpcore from Python: one scalar converter, one column converter.

A time is UTC microseconds since the epoch. :func:`to_micros` (the native
``_cdpcore.to_micros``, the same conversion every native entry point applies
to a time argument) accepts

- ``int`` (or a NumPy integer): microseconds, UTC;
- ``datetime.datetime`` and ``pandas.Timestamp``: an aware one at its
  offset, a naive one as UTC (as ISO 8601 text without an offset is UTC);
- ``datetime.date``: midnight UTC of that day;
- ``numpy.datetime64`` of any unit;
- ``str``: ISO 8601 ("2024-03-01", "2024-03-01T08:00:00+08:00", ...).

Anything else (``float``, ``bool``, ``timedelta``, ``None``) raises
``TypeError``; ``NaT`` or text that does not parse raises ``ValueError``.

:func:`to_micros_array` converts a column (NumPy, pandas, Arrow, list) with
the same element kinds, vectorised for datetime64, integer and Arrow
timestamp columns, and reports nulls (None, NaN, NaT) in a mask.
"""
from __future__ import annotations

import datetime
from typing import Any, Optional, Tuple, Union

import numpy as np

from ._cdpcore import to_micros

__all__ = ["TimeLike", "is_null", "is_scalar", "to_micros", "to_micros_array"]

#: What a time argument accepts (pandas.Timestamp is a datetime.datetime).
TimeLike = Union[int, str, datetime.datetime, datetime.date, np.datetime64]


def is_null(value: Any) -> bool:
    """None, a float NaN, ``pandas.NaT``/``NA`` or a NaT datetime64."""
    if value is None:
        return True
    if isinstance(value, float):
        return value != value
    if isinstance(value, np.datetime64):
        return bool(np.isnat(value))
    name = type(value).__name__
    return name in ("NaTType", "NAType")


def is_scalar(values: Any) -> bool:
    """A single time rather than a column of them."""
    return isinstance(values, (str, bytes, int, np.integer, np.datetime64)) or not hasattr(values, "__len__")


def _arrow_column(values: Any) -> Optional[Tuple[np.ndarray, Optional[np.ndarray]]]:
    """An Arrow timestamp or integer column, vectorised; None for other columns."""
    mod = type(values).__module__
    if not mod.startswith("pyarrow"):
        return None
    import pyarrow as pa

    col = values.combine_chunks() if isinstance(values, pa.ChunkedArray) else values
    if pa.types.is_timestamp(col.type):
        col = col.cast(pa.timestamp("us", tz=col.type.tz)).cast(pa.int64())
    elif pa.types.is_date(col.type):
        col = col.cast(pa.timestamp("us")).cast(pa.int64())
    elif not pa.types.is_integer(col.type):
        return None
    nulls = col.is_null().to_numpy(zero_copy_only=False)
    ints = col.fill_null(0).to_numpy(zero_copy_only=False).astype(np.int64)
    return ints, (nulls if nulls.any() else None)


def to_micros_array(values: Any, n: Optional[int] = None) -> Tuple[np.ndarray, Optional[np.ndarray]]:
    """``(micros, nulls)``: the times of a column as an int64 array, and a
    boolean mask of its null rows (None when there are none). A single time
    (not a column) is repeated ``n`` times."""
    if is_scalar(values):
        if n is None:
            raise TypeError("expected a column of times")
        return np.full(n, to_micros(values), dtype=np.int64), None
    arrow = _arrow_column(values)
    if arrow is not None:
        return arrow
    dt = getattr(values, "dt", None)
    if dt is not None and getattr(dt, "tz", None) is not None:  # tz-aware pandas: to UTC wall times
        values = dt.tz_convert("UTC").dt.tz_localize(None)
    arr = np.asarray(values)
    if arr.dtype.kind == "M":  # datetime64 of any unit (naive = UTC); NaT is null
        nat = np.isnat(arr)
        ints = arr.astype("datetime64[us]").astype(np.int64)
        if nat.any():
            return np.where(nat, 0, ints), nat
        return ints, None
    if arr.dtype.kind in "iu":
        return arr.astype(np.int64, copy=False), None
    if arr.dtype.kind == "f":  # integers with NaN for nulls (a pandas int column with gaps)
        nan = np.isnan(arr)
        if not np.array_equal(arr[~nan], np.floor(arr[~nan])):
            raise TypeError("times must be integer microseconds, not fractional numbers")
        return np.where(nan, 0, arr).astype(np.int64), (nan if nan.any() else None)
    if arr.dtype.kind == "b":
        raise TypeError("expected times, got a column of bools")
    # Text and objects (datetime, date, pandas.Timestamp, ...): one element at a time.
    items = arr.tolist() if arr.dtype.kind in "OUS" else list(values)
    out = np.zeros(len(items), dtype=np.int64)
    nulls = np.zeros(len(items), dtype=bool)
    for i, v in enumerate(items):
        if is_null(v):
            nulls[i] = True
        else:
            try:
                out[i] = to_micros(v)
            except (TypeError, ValueError) as e:
                raise type(e)(f"row {i}: {e}") from None
    return out, (nulls if nulls.any() else None)
