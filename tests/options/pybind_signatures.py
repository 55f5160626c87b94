"""Parameters of pybind11 functions, read from the signature pybind11 writes
at the top of every docstring ("name(self: T, a: int, *, b: str = 'x') -> R").
Used by the options parity check and the stub signature test."""
from __future__ import annotations

import re
from typing import List, Tuple

Param = Tuple[str, str, bool]  # (name, kind, has a default); kind: "pos", "kw", "*args", "**kwargs"


def split_top(text: str) -> List[str]:
    """Split on commas outside brackets and quotes."""
    out, depth, cur, quote = [], 0, "", ""
    for ch in text:
        if quote:
            quote = "" if ch == quote else quote
        elif ch in "'\"":
            quote = ch
        elif ch in "[({":
            depth += 1
        elif ch in "])}":
            depth -= 1
        if ch == "," and depth == 0 and not quote:
            out.append(cur.strip())
            cur = ""
        else:
            cur += ch
    if cur.strip():
        out.append(cur.strip())
    return out


def params_of_text(params: str) -> List[Param]:
    out: List[Param] = []
    kind = "pos"
    for p in split_top(params):
        if p == "*":
            kind = "kw"
        elif p == "/":
            continue
        elif p.startswith("**"):
            out.append((p[2:].split(":")[0].strip(), "**kwargs", False))
        elif p.startswith("*"):
            out.append((p[1:].split(":")[0].strip(), "*args", False))
            kind = "kw"
        else:
            out.append((re.split(r"[:=]", p, maxsplit=1)[0].strip(), kind, "=" in p))
    return out


def docstring_signatures(obj, name: str) -> List[List[Param]]:
    """Every signature pybind11 wrote for `name` (one, or one per overload)."""
    doc = obj.__doc__ or ""
    sigs = re.findall(rf"^(?:\d+\. )?{re.escape(name)}\((.*)\) ->", doc, flags=re.M)
    if "Overloaded function." in doc:
        sigs = sigs[1:]  # the first line is the generic (*args, **kwargs)
    return [params_of_text(s) for s in sigs]
