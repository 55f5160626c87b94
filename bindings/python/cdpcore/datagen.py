"""Sample data: a synthetic retail / private-domain population with its ground truth.

    >>> from cdpcore import datagen
    >>> s = datagen.generate(persons=2_000, seed=7)
    >>> s.links.head()          # one row per identifier occurrence (raw values)
    >>> s.events.groupby("type").size()
    >>> tables = s.to_arrow()   # dict of pyarrow Tables

The data is generated in C++ (``cdpcore::datagen::generate``): the same
options give byte-identical data in C++ and Python, on every run. Numeric
columns are read-only NumPy views of the C++ buffers (kept alive by the
sample object); strings are Arrow large_string buffers, also without a copy.

Tables (see README.md, "Sample data" for every column):

- ``links``    one row per identifier occurrence: record, type, value (raw),
               canonical (normalised ground truth), flags (LinkFlag bits)
- ``records``  one row per identity record, sorted by time: time, source,
               true_person
- ``persons``  ground truth per true person or anonymous visitor
- ``profiles`` CRM attribute rows keyed by crm_id (members) or raw phone
- ``events``   behaviour sorted by time: type, id_type + raw id_value,
               amount, sku, category, store, campaign, true_person
- ``consent``  the consent ledger sorted by time

Times are UTC: ``datetime64[us]`` in pandas (naive, UTC by convention, a view
of the int64 microseconds; ``NaT`` = none), ``timestamp[us, UTC]`` in Arrow.
Use :meth:`SampleData.column` for the raw int64 microseconds.
"""
from __future__ import annotations

import hashlib
from typing import Any, Dict, List, Optional, Tuple

import numpy as np

from . import _cdpcore
from ._time import TimeLike, to_micros

__all__ = ["generate", "SampleData", "names", "LINK_FLAGS", "TABLES"]

TABLES = ("links", "records", "persons", "profiles", "events", "consent")

#: Bits of ``links.flags``.
LINK_FLAGS = {
    "placeholder": 1,
    "shared_device": 2,
    "old_phone": 4,
    "duplicate_import": 8,
    "international": 16,
}

_DEFAULT_END = 1_735_689_600_000_000  # 2025-01-01T00:00:00Z
_NO_TIME = np.iinfo(np.int64).min
_NO_DATE = np.iinfo(np.int32).min
_ANY_CHANNEL = 0xFF

_names_cache: Optional[Dict[str, List[str]]] = None


def names() -> Dict[str, List[str]]:
    """Names of the code columns, by code: ``names()["event_type"][2] == "order"``."""
    global _names_cache
    if _names_cache is None:
        _names_cache = _cdpcore._datagen_names()
    return {k: list(v) for k, v in _names_cache.items()}


# Code columns: (table, column) -> names() key, or ("dict", <dictionary>).
_CODES = {
    ("links", "type"): "identifier_type",
    ("records", "source"): "record_source",
    ("persons", "member_level"): "member_level",
    ("persons", "gender"): "gender",
    ("persons", "city"): ("dict", "cities"),
    ("profiles", "key_type"): "identifier_type",
    ("profiles", "member_level"): "member_level",
    ("profiles", "gender"): "gender",
    ("profiles", "city"): ("dict", "cities"),
    ("events", "type"): "event_type",
    ("events", "id_type"): "identifier_type",
    ("events", "sku"): ("dict", "skus"),
    ("events", "category"): ("dict", "categories"),
    ("events", "store"): ("dict", "stores"),
    ("events", "campaign"): ("dict", "campaigns"),
    ("consent", "subject_type"): "identifier_type",
    ("consent", "purpose"): "purpose",
    ("consent", "channel"): "channel",
    ("consent", "decision"): "decision",
    ("consent", "source"): "consent_source",
    ("consent", "legal_basis"): "legal_basis",
    ("consent", "policy_version"): ("dict", "policy_versions"),
}
_TIMES = {("records", "time"), ("persons", "signup_at"), ("profiles", "signup_at"), ("events", "time"),
          ("consent", "time"), ("consent", "expiry")}
_DATES = {("persons", "birthday"), ("profiles", "birthday")}
_INTERNAL = {("records", "link_offsets")}


def _to_micros(end: Optional[TimeLike]) -> int:
    return _DEFAULT_END if end is None else to_micros(end)


def generate(
    persons: int = 100_000,
    seed: int = 42,
    *,
    end: Optional[TimeLike] = None,
    days: int = 365,
    anonymous_ratio: float = 0.2,
    records_per_person: float = 4.0,
    events_per_person: float = 20.0,
    with_events: bool = True,
    with_consent: bool = True,
    identity_only: bool = False,
    with_canonical: bool = True,
    noise: float = 1.0,
) -> "SampleData":
    """Generate the sample population (deterministic for the same arguments).

    persons: true persons including anonymous visitors (``anonymous_ratio`` of them).
    end: end of the simulated period (exclusive), default 2025-01-01T00:00:00Z;
        data covers the ``days`` before it.
    identity_only: only links, records and persons (the identity benchmark's input).
    with_canonical: fill ``links.canonical`` (memory at large scale).
    noise: scales the hard cases (placeholders, phone changes, shared devices,
        duplicate imports); 0 disables them.

    The GIL is released while generating. Raises InvalidArgument for options
    out of range.
    """
    native = _cdpcore._datagen_generate(
        int(seed), int(persons), _to_micros(end), int(days), float(anonymous_ratio), float(records_per_person),
        float(events_per_person), bool(with_events), bool(with_consent), bool(identity_only),
        bool(with_canonical), float(noise))
    return SampleData(native)


def _strings(offsets: np.ndarray, data: np.ndarray):
    import pyarrow as pa

    n = len(offsets) - 1
    # Zero-copy: the pyarrow buffers keep the NumPy views (and so the C++ data) alive.
    return pa.LargeStringArray.from_buffers(n, pa.py_buffer(offsets), pa.py_buffer(data))


class SampleData:
    """Generated sample data. Immutable; tables are built on first access and cached."""

    def __init__(self, native: Any) -> None:
        self._native = native
        self._raw: Dict[str, Dict[str, Any]] = {}
        self._frames: Dict[str, Any] = {}
        self._dicts: Optional[Dict[str, Any]] = None

    # ---- raw access ----------------------------------------------------------------
    @property
    def options(self) -> Dict[str, Any]:
        """The options the data was generated with."""
        return dict(self._native.options)

    def raw(self, table: str) -> Dict[str, Any]:
        """Columns of a table as read-only NumPy views of the C++ data: numeric
        columns as arrays, string columns as ``(offsets, bytes)`` pairs."""
        if table not in self._raw:
            self._raw[table] = dict(self._native.table(table))
        return self._raw[table]

    def column(self, table: str, name: str) -> np.ndarray:
        """One numeric column as a read-only NumPy view (times: int64 UTC microseconds)."""
        col = self.raw(table)[name]
        if isinstance(col, tuple):
            raise TypeError(f"{table}.{name} is a string column; use strings()")
        return col

    def strings(self, table: str, name: str) -> List[str]:
        """One string column as a list of str (a copy)."""
        offsets, data = self.raw(table)[name]
        b = data.tobytes()
        return [b[offsets[i]:offsets[i + 1]].decode("utf-8") for i in range(len(offsets) - 1)]

    def __len__(self) -> int:
        return len(self.column("persons", "is_anonymous"))

    @property
    def dicts(self) -> Dict[str, Any]:
        """Dictionaries behind coded columns: cities, categories, stores (with
        store_city), skus (with sku_category, sku_price), campaigns (with
        campaign_time), policy_versions."""
        if self._dicts is None:
            out: Dict[str, Any] = {}
            for k, v in self.raw("dicts").items():
                if isinstance(v, tuple):
                    out[k] = _strings(*v).to_pylist()
                else:
                    out[k] = v
            self._dicts = out
        return self._dicts

    def _categories(self, spec) -> List[str]:
        if isinstance(spec, tuple):
            return self.dicts[spec[1]]
        return names()[spec]

    def _rows(self, table: str) -> int:
        for k, v in self.raw(table).items():
            if (table, k) in _INTERNAL:
                continue
            return len(v[0]) - 1 if isinstance(v, tuple) else len(v)
        return 0

    # ---- pandas --------------------------------------------------------------------
    def frame(self, table: str):
        """A table as a pandas DataFrame (cached)."""
        if table not in TABLES:
            raise KeyError(f"no table {table!r}; tables are {', '.join(TABLES)}")
        if table in self._frames:
            return self._frames[table]
        import pandas as pd

        n = self._rows(table)
        cols: Dict[str, Any] = {}
        for name, v in self.raw(table).items():
            key = (table, name)
            if key in _INTERNAL:
                continue
            if isinstance(v, tuple):
                if len(v[0]) - 1 != n:  # e.g. canonical when with_canonical=False
                    continue
                cols[name] = pd.array(_strings(*v), dtype="str")
            elif key in _CODES:
                codes = v.astype(np.int32)
                if key == ("consent", "channel"):
                    codes[codes == _ANY_CHANNEL] = -1  # NaN = any channel
                cols[name] = pd.Categorical.from_codes(codes, categories=self._categories(_CODES[key]))
            elif key in _TIMES:
                cols[name] = v.view("datetime64[us]")
            elif key in _DATES:
                d = v.astype("datetime64[D]")
                d[v == _NO_DATE] = np.datetime64("NaT")
                cols[name] = d.astype("datetime64[s]")
            elif name == "is_anonymous":
                cols[name] = v.view(np.bool_)
            else:
                cols[name] = v
        df = pd.DataFrame(cols, copy=False)
        if table in ("records", "persons"):
            df.index.name = "record" if table == "records" else "person"
        self._frames[table] = df
        return df

    @property
    def links(self):
        """Identifier occurrences (pandas DataFrame)."""
        return self.frame("links")

    @property
    def records(self):
        """Identity records (pandas DataFrame, index = record number)."""
        return self.frame("records")

    @property
    def persons(self):
        """Ground truth per person (pandas DataFrame, index = true_person)."""
        return self.frame("persons")

    @property
    def profiles(self):
        """CRM profile rows (pandas DataFrame)."""
        return self.frame("profiles")

    @property
    def events(self):
        """Events sorted by time (pandas DataFrame)."""
        return self.frame("events")

    @property
    def consent(self):
        """The consent ledger sorted by time (pandas DataFrame)."""
        return self.frame("consent")

    # ---- Arrow ---------------------------------------------------------------------
    def to_arrow(self) -> Dict[str, Any]:
        """Every table as a pyarrow Table: numeric and string columns without
        copies, codes as dictionary arrays, n/a values as nulls."""
        import pyarrow as pa

        out = {}
        for table in TABLES:
            n = self._rows(table)
            arrays, fields = [], []
            for name, v in self.raw(table).items():
                key = (table, name)
                if key in _INTERNAL:
                    continue
                if isinstance(v, tuple):
                    if len(v[0]) - 1 != n:
                        continue
                    arr = _strings(*v)
                elif key in _CODES:
                    idx = v.astype(np.int32)
                    mask = idx < 0
                    if key == ("consent", "channel"):
                        mask = idx == _ANY_CHANNEL
                    idx = np.where(mask, 0, idx).astype(np.int32)
                    dictionary = pa.array(self._categories(_CODES[key]), type=pa.string())
                    arr = pa.DictionaryArray.from_arrays(pa.array(idx, mask=mask), dictionary)
                elif key in _TIMES:
                    mask = v == _NO_TIME
                    typ = pa.timestamp("us", tz="UTC")
                    if mask.any():
                        arr = pa.array(v, type=pa.int64(), mask=mask).cast(typ)
                    else:
                        arr = pa.Array.from_buffers(typ, len(v), [None, pa.py_buffer(v)])
                elif key in _DATES:
                    arr = pa.array(v, type=pa.int32(), mask=(v == _NO_DATE)).cast(pa.date32())
                elif name == "is_anonymous":
                    arr = pa.array(v.view(np.bool_))
                elif name == "amount":
                    arr = pa.array(v, from_pandas=True)  # NaN -> null
                else:
                    arr = pa.array(v)
                arrays.append(arr)
                fields.append(name)
            out[table] = pa.Table.from_arrays(arrays, names=fields)
        return out

    # ---- digests and writers ---------------------------------------------------------
    def column_digests(self) -> List[Tuple[str, str, str]]:
        """(table, column, sha256 hex) of every column, computed in C++."""
        return [tuple(x) for x in self._native.column_digests()]

    def digest(self) -> str:
        """SHA-256 over every column: equal digests mean identical data."""
        return self._native.digest()

    def python_column_digests(self) -> List[Tuple[str, str, str]]:
        """The same digests as column_digests(), computed in Python from the
        NumPy views (an independent check of what Python sees)."""
        order = [(t, c) for t, c, _ in self.column_digests()]
        out = []
        for table, col in order:
            v = self.raw(table)[col]
            if isinstance(v, tuple):
                offsets, data = v
                h = hashlib.sha256(
                    (hashlib.sha256(offsets.tobytes()).hexdigest() + hashlib.sha256(data.tobytes()).hexdigest()).encode()
                ).hexdigest()
            else:
                h = hashlib.sha256(np.ascontiguousarray(v).tobytes()).hexdigest()
            out.append((table, col, h))
        return out

    def write_to_workspace(self, workspace) -> None:
        """Write the sample_* tables into a cdpcore.Workspace (one transaction)."""
        self._native.write_to_workspace(workspace)

    def write_csv(self, directory: str) -> None:
        """Write <table>.csv files (RFC 4180, ISO 8601 times) into directory."""
        self._native.write_csv(str(directory))

    def write_jsonl(self, directory: str) -> None:
        """Write <table>.jsonl files (one JSON object per line) into directory."""
        self._native.write_jsonl(str(directory))

    def __repr__(self) -> str:
        o = self.options
        return (f"<cdpcore.datagen.SampleData persons={o['persons']} seed={o['seed']} "
                f"records={self._rows('records')} events={self._rows('events')} consent={self._rows('consent')}>")
