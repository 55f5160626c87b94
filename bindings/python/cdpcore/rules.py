"""Tag rules: pandas views of the native ``TagResults``.

    >>> from cdpcore.profile import ProfileStore
    >>> from cdpcore.rules import RuleSet, to_pandas
    >>> store = ProfileStore()
    >>> store.define_event_type("order", {"amount": "double"})
    >>> _ = store.append_events("order", {"person": [0, 1, 1], "time": [1, 2, 3], "amount": [5.0, 7.0, 9.0]})
    >>> rs = RuleSet(store, "tag repeat = count(order) >= 2\\ntrait spend = sum(order.amount)")
    >>> res = rs.evaluate(store, as_of=10)
    >>> res.members("repeat").to_numpy().tolist()
    [1]
    >>> to_pandas(res)["spend"].tolist()
    [5.0, 16.0]

The rule language is described in README.md, "Tag rules". Everything here calls the
native API; C++ and C users have the same operations (cdpcore/rules.hpp).
"""
from __future__ import annotations

from typing import Any

from . import _cdpcore
from ._cdpcore import (  # noqa: F401  (re-exported)
    Expression,
    RuleSet,
    TagResults,
    expression_text,
    parse_expression,
    parse_rules,
    rules_text,
)

__all__ = ["RuleSet", "TagResults", "Expression", "parse_expression", "expression_text", "parse_rules",
           "rules_text", "to_pandas", "series"]


def series(results: "_cdpcore.TagResults", name: str):
    """One rule as a pandas Series indexed by ordinal: bool, Categorical of
    labels (NaN = none) or float (NaN = null)."""
    import pandas as pd

    kind = results.kind(name)
    if kind == "value":
        codes = results.codes(name)
        return pd.Series(pd.Categorical.from_codes(codes, categories=results.labels(name)), name=name)
    return pd.Series(results.column(name), name=name)


def to_pandas(results: "_cdpcore.TagResults") -> Any:
    """Every rule as a pandas DataFrame indexed by ordinal."""
    import pandas as pd

    return pd.DataFrame({n: series(results, n) for n in results.names})
