"""pandas conveniences for :class:`cdpcore.Consent`.

    >>> from cdpcore.consent import import_frame, check_frame
    >>> import_frame(consent, df, now=now)            # one transaction
    >>> check_frame(consent, "phone", df["phone"], "marketing.sms", "sms", at=now)

Times are any kind :func:`cdpcore.to_micros` takes (int UTC microseconds,
datetime (naive = UTC), date, pandas.Timestamp, numpy.datetime64, ISO 8601
text), as single values or as columns.
"""
from __future__ import annotations

from typing import Any, Callable, Iterable, Optional

import numpy as np

from ._time import is_null, to_micros as _to_micros, to_micros_array

COLUMNS = (
    "subject_type",
    "subject_value",
    "purpose",
    "channel",
    "decision",
    "time",
    "expiry",
    "source",
    "legal_basis",
    "policy_version",
    "proof_method",
    "proof_location",
    "proof_reference",
)
_TIME_COLUMNS = ("time", "expiry")


def to_micros(value: Any) -> Optional[int]:
    """UTC microseconds of a time (any kind :func:`cdpcore.to_micros` takes),
    or None for a missing one (None, NaN, NaT)."""
    return None if is_null(value) else _to_micros(value)


def _time_column(series) -> list:
    micros, nulls = to_micros_array(series)
    out = micros.tolist()
    if nulls is not None:
        for i in np.flatnonzero(nulls):
            out[i] = None
    return out


def _str_column(series) -> list:
    return [None if (v is None or (isinstance(v, float) and v != v)) else str(v) for v in series.tolist()]


def import_frame(
    consent,
    frame,
    *,
    now: Any,
    skip_suppressed: bool = True,
    skip_invalid: bool = False,
    progress: Optional[Callable[[int, int], Optional[bool]]] = None,
) -> dict:
    """Append the rows of a pandas DataFrame (columns named as
    :data:`COLUMNS`; subject_type, subject_value, purpose, decision and time
    are required) in one transaction. On any bad row nothing is applied and
    the error names the row index (``skip_invalid``: rows whose subject the
    identity graph cannot normalise are skipped and counted instead). Returns
    {appended, suppressed, invalid, first_seq, last_seq}."""
    cols = {}
    for name in COLUMNS:
        if name not in frame.columns:
            continue
        series = frame[name]
        cols[name] = _time_column(series) if name in _TIME_COLUMNS else _str_column(series)
    return consent.import_columns(cols, now=now, skip_suppressed=skip_suppressed,
                                  skip_invalid=skip_invalid, progress=progress)


def check_frame(
    consent,
    subject_type: str,
    values: Iterable[str],
    purpose: str,
    channel: str,
    *,
    at: Any,
    jurisdiction: Optional[str] = None,
    contact_rules: bool = True,
    topic: str = "",
):
    """Vectorised checks as a DataFrame: value, allowed, reason (name),
    reason_code, record."""
    import pandas as pd

    from . import _cdpcore

    values = list(values)
    res = consent.check_many(
        subject_type,
        values,
        purpose,
        channel,
        at=at,
        jurisdiction=jurisdiction,
        contact_rules=contact_rules,
        topic=topic,
    )
    names = {int(c): _cdpcore.consent_reason_name(int(c)) for c in set(res["reason"].tolist())}
    return pd.DataFrame(
        {
            "value": values,
            "allowed": res["allowed"],
            "reason": [names[int(c)] for c in res["reason"]],
            "reason_code": res["reason"],
            "record": res["record"],
        }
    )


def dropped_frame(filter_result: dict):
    """The per-reason counts of a Consent.filter() result as a DataFrame
    (reason, dropped), largest first."""
    import pandas as pd

    items = sorted(filter_result["dropped"].items(), key=lambda kv: (-kv[1], kv[0]))
    return pd.DataFrame({"reason": [k for k, _ in items], "dropped": [v for _, v in items]})


def history_frame(consent, subject_type: str, subject_value: str):
    """A subject's consent history as a DataFrame, oldest first."""
    import pandas as pd

    return pd.DataFrame(consent.history(subject_type, subject_value))


__all__ = ["COLUMNS", "check_frame", "dropped_frame", "history_frame", "import_frame", "to_micros"]
