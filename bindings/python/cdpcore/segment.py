"""Segments: pure-Python conveniences over the native ``SegmentEngine``.

``Segment`` is one named segment of an engine, with its members as NumPy
arrays and its export as pandas or Arrow tables::

    >>> import cdpcore
    >>> seg = cdpcore.SegmentEngine()
    >>> seg.set_tag("vip", cdpcore.Bitmap([1, 2, 3]))
    >>> seg.set_tag("lapsed", cdpcore.Bitmap([3]))
    >>> _ = seg.define("active_vips", "vip and not lapsed")
    >>> s = cdpcore.Segment(seg, "active_vips").evaluate(as_of=0)
    >>> s.members().tolist()
    [1, 2]

Everything here calls the native API; C++ and C users have the same
operations (see cdpcore/segment.hpp).
"""
from __future__ import annotations

from typing import Any, Callable, Iterable, Optional, Sequence

import numpy as np

from . import _cdpcore
from ._time import TimeLike

__all__ = ["Segment", "export_to_pandas", "export_to_arrow", "overlap_frame"]


def _collect(engine, members, identifier_types, allowed, batch_size):
    batches = []
    report = engine.export(
        members,
        lambda b: batches.append(b),
        identifier_types=identifier_types,
        allowed=allowed,
        batch_size=batch_size,
    )
    return batches, report


def _columns(batches, identifier_types):
    cols: dict[str, Any] = {}
    if batches:
        cols["person"] = np.concatenate([b["person"] for b in batches])
        if "person_key" in batches[0]:
            cols["person_key"] = np.concatenate([b["person_key"] for b in batches])
        if identifier_types:
            cols["identifier_type"] = [t for b in batches for t in b["identifier_type"]]
            cols["identifier"] = [v for b in batches for v in b["identifier"]]
    else:
        cols["person"] = np.zeros(0, dtype=np.uint32)
        if identifier_types:
            cols["identifier_type"] = []
            cols["identifier"] = []
    return cols


def export_to_pandas(
    engine,
    members,
    identifier_types: Optional[Sequence[str]] = None,
    allowed=None,
    batch_size: int = 100_000,
):
    """Members as a pandas DataFrame: ``person`` (ordinal), ``person_key``
    (with an identity graph) and, with ``identifier_types`` in priority
    order, ``identifier_type`` and ``identifier``. ``allowed`` (a Bitmap, e.g.
    a consent filter) restricts the rows."""
    import pandas as pd

    batches, _ = _collect(engine, members, identifier_types, allowed, batch_size)
    return pd.DataFrame(_columns(batches, identifier_types))


def export_to_arrow(
    engine,
    members,
    identifier_types: Optional[Sequence[str]] = None,
    allowed=None,
    batch_size: int = 100_000,
):
    """Members as a pyarrow.Table built batch by batch (same columns as
    export_to_pandas)."""
    import pyarrow as pa

    record_batches = []

    def on_batch(b):
        arrays = {"person": pa.array(b["person"], type=pa.uint32())}
        if "person_key" in b:
            arrays["person_key"] = pa.array(b["person_key"], type=pa.uint64())
        if identifier_types:
            arrays["identifier_type"] = pa.array(b["identifier_type"], type=pa.string())
            arrays["identifier"] = pa.array(b["identifier"], type=pa.string())
        record_batches.append(pa.record_batch(arrays))

    engine.export(members, on_batch, identifier_types=identifier_types, allowed=allowed, batch_size=batch_size)
    if record_batches:
        return pa.Table.from_batches(record_batches)
    fields = [pa.field("person", pa.uint32())]
    if identifier_types:
        fields += [pa.field("identifier_type", pa.string()), pa.field("identifier", pa.string())]
    return pa.table({f.name: pa.array([], type=f.type) for f in fields})


def overlap_frame(engine, names: Sequence[str]):
    """The overlap matrix of named segments as a labelled pandas DataFrame."""
    import pandas as pd

    names = list(names)
    return pd.DataFrame(engine.overlap(names), index=names, columns=names)


class Segment:
    """One segment of a ``SegmentEngine``, by name. A light handle: it holds
    the engine and the name, and reads members when asked."""

    def __init__(self, engine, name: str):
        if name not in engine:
            raise _cdpcore.NotFound(f"segment '{name}' does not exist")
        self.engine = engine
        self.name = name

    def __repr__(self) -> str:
        info = self.info
        size = info["size"] if info["evaluated"] else "not evaluated"
        return f"<cdpcore.Segment {self.name!r} ({size})>"

    # -- what it is
    @property
    def info(self) -> dict:
        return self.engine.info(self.name)

    @property
    def definition(self) -> str:
        return self.info["definition"]

    # -- members
    def evaluate(self, as_of: TimeLike) -> "Segment":
        """Evaluate at ``as_of`` (any time cdpcore.to_micros takes); returns self."""
        self.engine.evaluate(self.name, as_of)
        return self

    @property
    def bitmap(self):
        """The members as a cdpcore.Bitmap."""
        return self.engine.members(self.name)

    def members(self) -> np.ndarray:
        """The members' ordinals, ascending, as a uint32 array."""
        return self.bitmap.to_numpy()

    def count(self) -> int:
        return self.engine.count(self.name)

    def __len__(self) -> int:
        return self.count()

    def __contains__(self, person: int) -> bool:
        return person in self.bitmap

    def count_with(self, condition: str, as_of: TimeLike) -> int:
        """How many members also satisfy ``condition``."""
        return self.engine.count_with(self.name, condition, as_of)

    def breakdown(self, value_tag: str) -> dict:
        return self.engine.breakdown(self.name, value_tag)

    def overlap(self, others: Iterable[str]):
        """Overlaps with other segments as a DataFrame (this one first)."""
        return overlap_frame(self.engine, [self.name, *others])

    # -- samples and holdouts
    def sample(self, k: int, seed: int):
        return _cdpcore.SegmentEngine.sample(self.bitmap, k, seed)

    def split(self, salt: str, proportions: Sequence[float] = (0.1, 0.9)):
        """Groups (control first) by a stable hash of the person key and salt."""
        return self.engine.split(self.bitmap, salt, list(proportions))

    # -- snapshots
    def snapshot(self, at: TimeLike, label: str = "") -> int:
        return self.engine.snapshot(self.name, at, label)

    def snapshots(self) -> list:
        return self.engine.snapshots(self.name)

    # -- export
    def export(self, callback: Callable[[dict], Any], **options) -> dict:
        return self.engine.export(self.bitmap, callback, **options)

    def to_pandas(self, identifier_types: Optional[Sequence[str]] = None, allowed=None):
        return export_to_pandas(self.engine, self.bitmap, identifier_types, allowed)

    def to_arrow(self, identifier_types: Optional[Sequence[str]] = None, allowed=None):
        return export_to_arrow(self.engine, self.bitmap, identifier_types, allowed)

    def to_csv(self, path: str, identifier_types: Optional[Sequence[str]] = None, allowed=None):
        return self.engine.export_csv(self.bitmap, path, identifier_types=identifier_types, allowed=allowed)


def _engine_segment(self, name: str) -> Segment:
    """The named segment as a cdpcore.Segment."""
    return Segment(self, name)


_cdpcore.SegmentEngine.segment = _engine_segment
