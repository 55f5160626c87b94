"""pandas conveniences for :class:`cdpcore.Consent`.

    >>> from cdpcore.consent import import_frame, check_frame
    >>> import_frame(consent, df, now=now)            # one transaction
    >>> check_frame(consent, "phone", df["phone"], "marketing.sms", "sms", at=now)

Times may be integers (UTC microseconds since the epoch), ``datetime64``
columns (naive = UTC) or ``pandas.Timestamp`` values.
"""
from __future__ import annotations

from typing import Any, Callable, Iterable, Optional

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
    """UTC microseconds of an int, a datetime / pandas.Timestamp, or None for NaT/None."""
    if value is None:
        return None
    try:
        import pandas as pd

        if value is pd.NaT:
            return None
        if isinstance(value, (pd.Timestamp,)) or hasattr(value, "tzinfo"):
            ts = pd.Timestamp(value)
            if ts.tzinfo is not None:
                ts = ts.tz_convert("UTC").tz_localize(None)
            return int(ts.value // 1000)
    except ImportError:  # pragma: no cover - pandas is a declared dependency of this module only
        pass
    return int(value)


def _time_column(series) -> list:
    import numpy as np
    import pandas as pd

    if pd.api.types.is_datetime64_any_dtype(series):
        s = series
        if getattr(s.dt, "tz", None) is not None:
            s = s.dt.tz_convert("UTC").dt.tz_localize(None)
        micros = s.astype("datetime64[us]").astype("int64")
        return [None if isnull else int(v) for v, isnull in zip(micros.to_numpy(), s.isna().to_numpy())]
    out = []
    for v in series.tolist():
        if v is None or (isinstance(v, float) and np.isnan(v)):
            out.append(None)
        else:
            out.append(to_micros(v))
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
    return consent.import_columns(cols, now=to_micros(now), skip_suppressed=skip_suppressed,
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
        at=to_micros(at),
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
