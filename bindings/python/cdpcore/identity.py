"""Batch linking of identity records from pandas DataFrames and Arrow tables.

Two layouts are accepted:

- **wide** (:func:`link_frame`): one row per record, one column per
  identifier type (nulls and empty cells skipped), plus a time column and a
  source column (or one source for every row)::

      import cdpcore, pandas as pd
      g = cdpcore.IdentityGraph(ws)
      g.register_default_types()
      df = pd.DataFrame({"phone": ["138 0013 8000", None], "crm_id": ["M1", "M2"],
                         "time": [t0, t1]})
      cdpcore.identity.link_frame(g, df, source="crm_import")

- **long** (:func:`link_long`): one row per identifier occurrence with a
  record index, a type and a value, and the records' times and sources in
  arrays indexed by record — the layout of ``cdpcore.datagen``'s ``links``
  and ``records`` tables.

Values go to C++ as Arrow ``large_string`` buffers (no per-value Python
objects). Lookups of many values: :func:`ordinals_of` returns a NumPy
``uint32`` array with ``cdpcore.NO_PERSON`` for unknown values.
"""
from __future__ import annotations

from typing import Any, Dict, Iterable, List, Mapping, Optional, Sequence, Union

import numpy as np

from . import _cdpcore
from ._time import TimeLike, is_scalar, to_micros_array

__all__ = ["link_frame", "link_long", "ordinals_of", "NO_PERSON"]

NO_PERSON: int = _cdpcore.NO_PERSON


def _pa():
    import pyarrow as pa  # imported lazily: only the table paths need it

    return pa


def _string_buffers(values: Any):
    """(offsets int64, data uint8, validity bool, Arrow array) of a column of strings."""
    pa = _pa()
    if isinstance(values, pa.ChunkedArray):
        values = values.combine_chunks()
    if isinstance(values, pa.Array):
        arr = values
        if pa.types.is_dictionary(arr.type):
            arr = arr.dictionary_decode()
        if not (pa.types.is_string(arr.type) or pa.types.is_large_string(arr.type)):
            arr = arr.cast(pa.string())
    else:
        arr = None
        try:
            import pandas as pd

            if isinstance(values, (pd.Series, pd.Index)):
                if values.dtype.kind in "iu":
                    values = values.astype(str)
                elif values.dtype.kind == "f":  # floats holding integer ids: no ".0"
                    values = values.astype("Int64").astype("string")
                arr = pa.array(values, from_pandas=True)  # vectorised, zero-copy for Arrow-backed strings
                if pa.types.is_dictionary(arr.type):
                    arr = arr.dictionary_decode()
                if not (pa.types.is_string(arr.type) or pa.types.is_large_string(arr.type)):
                    arr = arr.cast(pa.string())
        except ImportError:  # pragma: no cover
            pass
        if arr is None:
            arr = pa.array(values, type=pa.large_string(), from_pandas=True)
    arr = arr.cast(pa.large_string())
    bufs = arr.buffers()
    n = len(arr)
    offsets = np.frombuffer(bufs[1], dtype=np.int64)[arr.offset : arr.offset + n + 1]
    data = np.frombuffer(bufs[2], dtype=np.uint8) if bufs[2] is not None else np.zeros(0, np.uint8)
    valid = np.asarray(arr.is_valid(), dtype=bool) if arr.null_count else np.ones(n, dtype=bool)
    return offsets, data, valid, arr


def _categories(values: Any):
    """(codes, names) when `values` is a pandas categorical or Arrow dictionary column."""
    try:
        import pandas as pd

        if isinstance(values, pd.Series) and isinstance(values.dtype, pd.CategoricalDtype):
            return values.cat.codes.to_numpy(), [str(c) for c in values.cat.categories]
        if isinstance(values, pd.Categorical):
            return values.codes, [str(c) for c in values.categories]
    except ImportError:  # pragma: no cover
        pass
    return None


def _type_ids(graph, types: Any, n: int) -> np.ndarray:
    """Type ids from names or ids (a scalar applies to every row)."""
    if isinstance(types, (str, int, np.integer)):
        return np.full(n, _one_type(graph, types), dtype=np.uint32)
    cat = _categories(types)
    if cat is not None:
        codes, names = cat
        lut = np.array([_one_type(graph, nm) for nm in names] + [0], dtype=np.uint32)
        if (codes < 0).any():
            raise ValueError("identifier types must not be null")
        return lut[codes]
    arr = np.asarray(types)
    if arr.dtype.kind in "iu":
        return arr.astype(np.uint32, copy=False)
    names, codes = np.unique(arr.astype(str), return_inverse=True)
    lut = np.array([_one_type(graph, str(nm)) for nm in names], dtype=np.uint32)
    return lut[codes]


def _one_type(graph, t: Union[str, int]) -> int:
    if isinstance(t, str):
        tid = graph.type_id(t)
        if tid is None:
            raise _cdpcore.NotFound(f'unknown identifier type "{t}"')
        return tid
    return int(t)


def _times(values: Any, n: int) -> np.ndarray:
    """Per-record times: a column, or one time for all records (None: 0)."""
    if values is None:
        return np.zeros(n, dtype=np.int64)
    micros, nulls = to_micros_array(values, n)
    if nulls is not None:
        raise ValueError(f"time of record {int(np.flatnonzero(nulls)[0])} is missing")
    return micros


def _sources(values: Any, n: int):
    if values is None:
        return np.zeros(0, dtype=np.uint32), [""]
    if isinstance(values, str):
        return np.zeros(0, dtype=np.uint32), [values]
    cat = _categories(values)
    if cat is not None:
        codes, names = cat
        if (codes < 0).any():
            names = names + [""]
            codes = np.where(codes < 0, len(names) - 1, codes)
        return codes.astype(np.uint32), names
    arr = np.asarray(values)
    if arr.dtype.kind in "iu":
        raise TypeError("sources must be strings (or one string for all records)")
    names, codes = np.unique(arr.astype(str), return_inverse=True)
    return codes.astype(np.uint32), [str(x) for x in names]


def link_long(
    graph,
    record: Any,
    type: Any,
    value: Any,
    time: Any = None,
    source: Any = None,
    *,
    best_effort: bool = False,
    skip_invalid: bool = False,
    return_record_ids: bool = False,
    progress=None,
):
    """Link records given one row per identifier occurrence.

    ``record[i]`` is the record index (0..n-1, any order) of occurrence i,
    ``type[i]`` its type (name or id, or one for all), ``value[i]`` its raw
    value (nulls skipped). ``time`` and ``source`` are per record (arrays of
    length n) or one value for all. Returns a :class:`cdpcore.LinkResult`;
    error indexes are record indexes.
    """
    rec = np.asarray(record, dtype=np.int64)
    m = len(rec)
    offsets, data, valid, _keep = _string_buffers(value)
    if len(valid) != m:
        raise ValueError("record, type and value must have the same length")
    types = _type_ids(graph, type, m)
    n_records = int(rec.max()) + 1 if m else 0
    if time is not None and not is_scalar(time):
        n_records = max(n_records, len(time))
    if m and rec.min() < 0:
        raise ValueError("record indexes must not be negative")
    order = np.argsort(rec[valid], kind="stable")
    sel = np.nonzero(valid)[0][order]
    rec_sorted = rec[sel]
    counts = np.bincount(rec_sorted, minlength=n_records) if len(sel) else np.zeros(n_records, np.int64)
    record_offsets = np.zeros(n_records + 1, dtype=np.uint64)
    np.cumsum(counts, out=record_offsets[1:])
    # Gather the selected values into one contiguous buffer.
    starts = offsets[sel]
    ends = offsets[sel + 1]
    lens = ends - starts
    new_offsets = np.zeros(len(sel) + 1, dtype=np.int64)
    np.cumsum(lens, out=new_offsets[1:])
    if len(sel) == m and (m == 0 or bool(np.all(np.diff(sel) == 1))):
        # Already in record order with no nulls: the buffers go as they are.
        new_data = data[offsets[0] : offsets[-1]] if m else data[:0]
        new_offsets = (offsets - offsets[0]).astype(np.int64) if m else new_offsets
    else:
        idx = np.repeat(starts - new_offsets[:-1], lens) + np.arange(int(new_offsets[-1]), dtype=np.int64)
        new_data = data[idx]
    times = _times(time, n_records)
    codes, names = _sources(source, n_records)
    return graph._link_arrays(
        record_offsets, types[sel], new_offsets, np.ascontiguousarray(new_data), times, codes, names,
        best_effort=best_effort, skip_invalid=skip_invalid, return_record_ids=return_record_ids, progress=progress,
    )


def link_frame(
    graph,
    table: Any,
    columns: Optional[Union[Sequence[str], Mapping[str, str]]] = None,
    *,
    time: Union[str, TimeLike, None] = "time",
    source: Union[str, None] = "source",
    best_effort: bool = False,
    skip_invalid: bool = False,
    return_record_ids: bool = False,
    progress=None,
):
    """Link one record per row of a pandas DataFrame or Arrow table.

    ``columns`` names the identifier columns: a list of column names that are
    also type names, or a mapping column -> type name. By default every
    column whose name is a registered type. ``time`` is a column name (int64
    microseconds, datetime64, tz-aware timestamps, Arrow timestamps, or
    objects of any kind :func:`cdpcore.to_micros` takes) or one time for all
    rows (text that names no column is read as ISO 8601); ``source`` a column name or, when no such column exists, the source
    of every row. Empty and null cells are skipped.
    """
    pa = None
    try:
        import pandas as pd
    except ImportError:  # pragma: no cover
        pd = None
    is_arrow = False
    try:
        pa = _pa()
        is_arrow = isinstance(table, (pa.Table, pa.RecordBatch))
    except ImportError:  # pragma: no cover
        pass
    col_names = list(table.column_names if is_arrow else table.columns)
    if columns is None:
        mapping = {c: c for c in col_names if isinstance(c, str) and graph.type_id(c) is not None}
    elif isinstance(columns, Mapping):
        mapping = dict(columns)
    else:
        mapping = {c: c for c in columns}
    if not mapping:
        raise ValueError("no identifier columns: name them with columns= or use registered type names")
    n = table.num_rows if is_arrow else len(table)

    def column(name):
        return table.column(name) if is_arrow else table[name]

    rec_parts, type_parts, val_parts = [], [], []
    for col, tname in mapping.items():
        tid = _one_type(graph, tname)
        offsets, data, valid, arr = _string_buffers(column(col))
        lens = offsets[1:] - offsets[:-1]
        keep = valid & (lens > 0)
        rows = np.nonzero(keep)[0]
        rec_parts.append(rows)
        type_parts.append(np.full(len(rows), tid, dtype=np.uint32))
        val_parts.append(arr.filter(pa.array(keep)))
    rec = np.concatenate(rec_parts) if rec_parts else np.zeros(0, np.int64)
    types = np.concatenate(type_parts) if type_parts else np.zeros(0, np.uint32)
    values = pa.concat_arrays(val_parts) if val_parts else pa.array([], type=pa.large_string())
    if isinstance(time, str):
        if time in col_names:
            times = column(time)
            times = times.to_numpy() if is_arrow else times
        elif time == "time":
            times = None  # the default column is optional: time 0
        else:
            try:  # not a column: ISO 8601 text is one time for all rows
                times = _cdpcore.parse_time(time)
            except ValueError:
                raise KeyError(f'no time column "{time}"') from None
    else:
        times = time
    if isinstance(source, str) and source in col_names:
        src = column(source)
        src = np.asarray(src.to_pylist() if is_arrow else src.astype(str).to_numpy(), dtype=object).astype(str)
    elif source is None or source == "source":
        src = ""
    else:
        src = source
    if n == 0:
        return graph._link_arrays(np.zeros(1, np.uint64), np.zeros(0, np.uint32), np.zeros(1, np.int64),
                                  np.zeros(0, np.uint8), np.zeros(0, np.int64), np.zeros(0, np.uint32), [""])
    return link_long(
        graph, rec, types, values, time=_times(times, n) if times is not None else np.zeros(n, np.int64),
        source=src, best_effort=best_effort, skip_invalid=skip_invalid, return_record_ids=return_record_ids,
        progress=progress,
    )


def ordinals_of(graph, type: Union[str, int], values: Any) -> np.ndarray:
    """Person ordinals of many values (list, NumPy, pandas or Arrow strings) as
    a ``uint32`` array; ``NO_PERSON`` where unknown, invalid, null or blocked."""
    offsets, data, valid, _arr = _string_buffers(values)
    out = graph._ordinals_of_arrow(type, np.ascontiguousarray(offsets), np.ascontiguousarray(data))
    if not valid.all():
        out = np.array(out, copy=True)
        out[~valid] = NO_PERSON
    return out
