"""Profiles: pandas, Arrow and NumPy tables into the native ``ProfileStore``.

``ProfileStore`` here is the native store with two batch writers that take a
pandas DataFrame, a pyarrow Table or a dict of columns (NumPy arrays or
lists)::

    >>> import pandas as pd
    >>> from cdpcore.profile import ProfileStore
    >>> store = ProfileStore()
    >>> store.define_attribute("member_level", "string")
    >>> store.define_event_type("order", {"amount": "double", "category": "string"})
    >>> store.upsert(pd.DataFrame({"person": [0, 1], "member_level": ["gold", None]})).rows_applied
    2
    >>> store.append_events("order", {"person": [0, 0], "time": ["2024-01-01", "2024-02-01"],
    ...                               "amount": [10.0, 20.0]}).rows_applied
    2

Columns are converted by the schema's type: pandas categoricals and Arrow
dictionary arrays go in as codes + dictionary (no per-row strings), datetimes
as UTC microseconds (naive = UTC), None / NaN / NaT as null. A malformed row
fails the whole batch with its index unless ``best_effort=True``.
"""
from __future__ import annotations

from typing import Any, Dict, List, Mapping, Optional, Sequence, Tuple

import numpy as np

from . import _cdpcore
from ._time import TimeLike, is_null, to_micros

__all__ = ["ProfileStore", "to_columns"]


def _is_pandas(obj: Any) -> bool:
    return type(obj).__module__.startswith("pandas")


def _table(data: Any) -> Dict[str, Any]:
    """Column name → column object (pandas Series, Arrow array, array or list)."""
    if hasattr(data, "to_pydict") and hasattr(data, "column_names"):  # pyarrow.Table
        return {name: data.column(name) for name in data.column_names}
    if _is_pandas(data) and hasattr(data, "columns"):
        return {str(c): data[c] for c in data.columns}
    if isinstance(data, Mapping):
        return dict(data)
    raise TypeError("expected a pandas DataFrame, a pyarrow Table or a dict of columns")


def _arrow_to_numpy_or_list(col: Any) -> Tuple[str, Any, Any]:
    """An Arrow column as ('codes', codes, dictionary) or ('values', values, None)."""
    import pyarrow as pa

    if isinstance(col, pa.ChunkedArray):
        col = col.combine_chunks() if col.num_chunks != 1 else col.chunk(0)
    if pa.types.is_dictionary(col.type):
        codes = col.indices.to_numpy(zero_copy_only=False)
        mask = col.is_null().to_numpy(zero_copy_only=False)
        codes = np.where(mask, -1, codes).astype(np.int32)
        return "codes", codes, col.dictionary.to_pylist()
    if pa.types.is_timestamp(col.type):
        ints = col.cast(pa.timestamp("us", tz=col.type.tz)).cast(pa.int64())
        return "values", ints.to_numpy(zero_copy_only=False), col.is_null().to_numpy(zero_copy_only=False)
    if pa.types.is_string(col.type) or pa.types.is_large_string(col.type) or pa.types.is_list(col.type):
        return "values", col.to_pylist(), None
    arr = col.to_numpy(zero_copy_only=False)
    return "values", arr, col.is_null().to_numpy(zero_copy_only=False)


def _null_mask(values: Any) -> Optional[np.ndarray]:
    try:
        import pandas as pd

        mask = np.asarray(pd.isna(values), dtype=bool)
        return mask if mask.any() else None
    except ImportError:  # pragma: no cover - pandas is a test dependency
        return None


def _convert(name: str, col: Any, type_name: str, rows: int) -> tuple:
    """One column as the native writer's (name, kind, data, valid, dictionary, set_offsets)."""
    extra_mask = None
    if type(col).__module__.startswith("pyarrow"):
        form, data, mask = _arrow_to_numpy_or_list(col)
        if form == "codes":
            return (name, "codes", data, None, data_dictionary(mask), None)
        col, extra_mask = data, (mask if isinstance(mask, np.ndarray) and mask.any() else None)
    if _is_pandas(col) and str(getattr(col, "dtype", "")) == "category":
        cat = col.cat if hasattr(col, "cat") else col  # a Series or a Categorical
        codes = np.asarray(cat.codes, dtype=np.int32)
        return (name, "codes", codes, None, [str(c) for c in cat.categories], None)
    if type_name == "set<string>":
        values = list(col)
        flat: List[str] = []
        offsets = [0]
        valid = np.ones(rows, dtype=np.uint8)
        for i, v in enumerate(values):
            if v is None or (isinstance(v, float) and np.isnan(v)):
                valid[i] = 0
            else:
                flat.extend(str(x) for x in v)
            offsets.append(len(flat))
        return (name, "set", flat, valid if not valid.all() else None, None, np.asarray(offsets, dtype=np.uint32))
    if type_name == "string":
        values = col.tolist() if hasattr(col, "tolist") else list(col)
        values = [None if (v is None or (isinstance(v, float) and np.isnan(v))) else v for v in values]
        if extra_mask is not None:
            values = [None if m else v for v, m in zip(values, extra_mask)]
        return (name, "string", values, None, None, None)
    arr = np.asarray(col)
    mask = extra_mask if extra_mask is not None else _null_mask(col) if arr.dtype == object or _is_pandas(col) else None
    valid = None if mask is None else (~mask).astype(np.uint8)
    if type_name == "timestamp":
        if np.issubdtype(arr.dtype, np.datetime64):
            nat = np.isnat(arr)
            ints = arr.astype("datetime64[us]").astype(np.int64)
            if nat.any():
                valid = (~nat).astype(np.uint8)
                ints = np.where(nat, 0, ints)
            return (name, "timestamp", ints, valid, None, None)
        if arr.dtype == object or arr.dtype.kind in "US":
            return (name, "string", _time_texts(arr.tolist()), None, None, None)
        return (name, "timestamp", np.where(mask, 0, arr) if mask is not None else arr.astype(np.int64), valid, None, None)
    if type_name == "bool":
        if mask is not None:
            arr = np.where(mask, False, arr)
        return (name, "bool", arr.astype(np.uint8), valid, None, None)
    if type_name == "int64":
        if arr.dtype.kind == "f":
            return (name, "double", arr.astype(np.float64), valid, None, None)
        if mask is not None:
            arr = np.where(mask, 0, arr)
        return (name, "int64", arr.astype(np.int64), valid, None, None)
    if type_name == "double":
        if mask is not None:
            arr = np.where(mask, np.nan, arr)
        return (name, "double", arr.astype(np.float64), valid, None, None)
    raise TypeError(f"column {name!r}: unsupported type {type_name}")


def data_dictionary(d: Any) -> List[str]:
    return [str(x) for x in d]


def to_columns(store: "_cdpcore.ProfileStore", data: Any, skip: Sequence[str], event_type: Optional[str]) -> Tuple[list, int]:
    """The native writer's columns for `data` (every column but those in `skip`)."""
    cols = _table(data)
    schema = store.schema
    if event_type is None:
        types = {k: v[0] for k, v in schema["attributes"].items()}
        what = "attribute"
    else:
        if event_type not in schema["event_types"]:
            raise _cdpcore.NotFound(f"unknown event type {event_type!r}")
        types = dict(schema["event_types"][event_type])
        what = f"property of {event_type}"
    rows = None
    out = []
    for name, col in cols.items():
        if name in skip:
            continue
        if name not in types:
            raise _cdpcore.NotFound(f"column {name!r} is not a defined {what}")
        n = len(col)
        rows = n if rows is None else rows
        if n != rows:
            raise ValueError(f"column {name!r} has {n} rows, the others {rows}")
        out.append(_convert(name, col, types[name], n))
    return out, rows or 0


def _keys(data: Any, key: str, identifier_type: Optional[str]):
    cols = _table(data)
    if key not in cols:
        raise KeyError(f"no key column {key!r}")
    col = cols[key]
    if type(col).__module__.startswith("pyarrow"):
        col = col.to_pylist()
    if identifier_type is None:
        arr = np.asarray(col)
        if arr.dtype.kind not in "iu":
            raise TypeError(f"key column {key!r} must hold person ordinals (integers); "
                            "pass identifier_type= for identifiers")
        if len(arr) and (arr.min() < 0 or arr.max() > 0xFFFFFFFF):
            raise ValueError(f"key column {key!r}: ordinals must be in 0..4294967295")
        return arr.astype(np.uint32), None
    values = col.tolist() if hasattr(col, "tolist") else list(col)
    return None, [str(v) for v in values]


def _times(data: Any, time: str) -> tuple:
    """The time column as a native column: int64 microseconds, or ISO 8601 text
    (rows whose time is missing or does not parse are row errors)."""
    cols = _table(data)
    if time not in cols:
        raise KeyError(f"no time column {time!r}")
    col = cols[time]
    if isinstance(col, np.ndarray) and col.dtype.kind in "iu":
        return (time, "timestamp", col.astype(np.int64), None, None, None)
    values = list(col) if isinstance(col, (list, tuple)) else None
    if values is not None and any(isinstance(v, str) for v in values) and not all(isinstance(v, str) for v in values):
        # mixed text and other times: the others as ISO text, so the native parser reads one column
        return (time, "string", _time_texts(values), None, None, None)
    if values is not None and values and all(isinstance(v, (int, np.integer)) for v in values):
        return (time, "timestamp", np.asarray(values, dtype=np.int64), None, None, None)
    converted = _convert(time, col, "timestamp", len(col))
    return converted


def _time_texts(values: list) -> list:
    """A column of mixed times as ISO 8601 text for the native parser, which
    reports a row error for a bad row: text stays text (it is parsed there),
    other kinds go through cdpcore.to_micros, and a value that does not
    convert goes as its str() so that its row is the one reported; nulls are
    None."""
    out: List[Optional[str]] = []
    for v in values:
        if is_null(v):
            out.append(None)
        elif isinstance(v, str):
            out.append(v)
        else:
            try:
                out.append(_cdpcore.format_time(to_micros(v)))
            except (TypeError, ValueError):
                out.append(str(v))
    return out


class ProfileStore(_cdpcore.ProfileStore):
    """The native ProfileStore with batch writers for pandas, Arrow and dicts."""

    def upsert(self, data: Any, *, key: str = "person", identifier_type: Optional[str] = None,
               best_effort: bool = False, nulls_clear: bool = False, time: TimeLike = 0,
               progress=None) -> "_cdpcore.WriteReport":
        """Set attributes from a table: one row per person, the key column
        (ordinals, or identifiers of `identifier_type`) and one column per
        attribute. The last row wins for a repeated person; nulls leave the
        stored value unless nulls_clear."""
        ordinals, ids = _keys(data, key, identifier_type)
        columns, _ = to_columns(self, data, [key], None)
        return self._write(None, ordinals, identifier_type, ids, None, columns, best_effort, nulls_clear, True,
                           time, progress)

    def append_events(self, event_type: str, data: Any, *, key: str = "person", time: str = "time",
                      identifier_type: Optional[str] = None, best_effort: bool = False,
                      progress=None) -> "_cdpcore.WriteReport":
        """Append events of one type from a table: the key column, the time
        column (datetimes, ISO text or int microseconds) and one column per
        property (missing properties are null)."""
        ordinals, ids = _keys(data, key, identifier_type)
        times = _times(data, time)
        columns, _ = to_columns(self, data, [key, time], event_type)
        return self._write(event_type, ordinals, identifier_type, ids, times, columns, best_effort, False, True, 0,
                           progress)

    def attribute_frame(self, names: Optional[Sequence[str]] = None):
        """Attributes as a pandas DataFrame indexed by ordinal (nulls as None/NaN/NaT)."""
        import pandas as pd

        names = list(names) if names is not None else list(self.schema["attributes"].keys())
        out = {}
        for n in names:
            values, valid = self.column(n)
            kind = self.schema["attributes"][n][0]
            if kind == "timestamp":
                s = pd.Series(values.astype("datetime64[us]"))
                s[~valid] = pd.NaT
            elif kind in ("int64", "bool"):
                s = pd.Series(values).astype("Int64" if kind == "int64" else "boolean")
                s[~valid] = pd.NA
            else:
                s = pd.Series(values)
            out[n] = s
        return pd.DataFrame(out)
