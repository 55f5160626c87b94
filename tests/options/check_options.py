#!/usr/bin/env python3
"""Every option of the C++ API is reachable from C and from Python.

Each C++ options struct (``struct XOptions`` in include/cdpcore/*.hpp) is
described in TARGETS: the C struct or C function that carries it, the C ABI
file that converts it, and the Python entry points that take it as keyword
arguments. For every field of the C++ struct the check wants

- ``c``:      a field of the C struct (or a parameter of the C function),
- ``capi``:   a statement in src/capi that sets the C++ field from it,
- ``python``: a keyword of each Python entry point (the native module's
              docstring signatures, or the pure-Python function's signature),
- ``pyi``:    the same keyword in bindings/python/cdpcore/_cdpcore.pyi for
              native entry points,

unless EXCEPTIONS says why that field is deliberately missing from a layer.
An exception that is no longer needed is an error too, so the table stays
true. Run it directly (``python3 tests/options/check_options.py``, with the
built package on PYTHONPATH) or through tests/python/test_options_parity.py.
"""
from __future__ import annotations

import ast
import importlib
import inspect
import re
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Dict, Iterable, List, Optional, Tuple

sys.path.insert(0, str(Path(__file__).resolve().parent))
from pybind_signatures import docstring_signatures  # noqa: E402

ROOT = Path(__file__).resolve().parents[2]
LAYERS = ("c", "capi", "python", "pyi")


@dataclass(frozen=True)
class Target:
    """Where one C++ options struct surfaces in the other layers."""

    cpp: str                              # C++ struct name
    header: str                           # include/cdpcore/<x>.hpp
    capi: str                             # src/capi/<x>.cpp
    python: Tuple[str, ...]               # "Class.method" in _cdpcore, or "cdpcore.module.function"
    c_struct: Optional[str] = None        # the C struct that mirrors it ...
    c_function: Optional[str] = None      # ... or the C function whose parameters carry it
    c_names: Dict[str, str] = field(default_factory=dict)   # C++ field -> C name, where they differ
    py_names: Dict[str, str] = field(default_factory=dict)  # C++ field -> Python keyword, where they differ
    nested: Dict[str, str] = field(default_factory=dict)    # C++ field -> struct whose fields C flattens


TARGETS: List[Target] = [
    Target("WorkspaceOptions", "workspace.hpp", "workspace.cpp", ("Workspace.open",),
           c_struct="cdp_workspace_options"),
    Target("IdentityOptions", "identity.hpp", "identity.cpp", ("IdentityGraph.__init__",),
           c_struct="cdp_identity_options"),
    Target("IdentifierTypeOptions", "identity.hpp", "identity.cpp", ("IdentityGraph.register_type",),
           c_struct="cdp_identity_type_options",
           c_names={"custom_normalizer": "custom_fn"}, py_names={"custom_normalizer": "normalize",
                                                                 "custom_thread_safe": "thread_safe"}),
    Target("BatchOptions", "identity.hpp", "identity.cpp",
           ("IdentityGraph._link_arrays", "cdpcore.identity.link_frame", "cdpcore.identity.link_long"),
           c_struct="cdp_identity_link_options",
           c_names={"mode": "best_effort"},
           py_names={"mode": "best_effort", "skip_invalid_identifiers": "skip_invalid"}),
    Target("DotOptions", "identity.hpp", "identity.cpp", ("IdentityGraph.to_dot",),
           c_struct="cdp_identity_dot_options"),
    Target("RemoveOptions", "identity.hpp", "identity.cpp",
           ("IdentityGraph.remove_identifier", "IdentityGraph.remove_record", "IdentityGraph.erase_person"),
           c_struct="cdp_identity_remove_options"),
    Target("ConsentOptions", "consent.hpp", "consent.cpp", ("Consent.__init__",),
           c_struct="cdp_consent_options",
           c_names={"future_tolerance": "future_tolerance_us"}),
    Target("CheckOptions", "consent.hpp", "consent.cpp",
           ("Consent.check", "Consent.check_many", "Consent.check_person"), c_struct="cdp_consent_check_options"),
    Target("FilterOptions", "consent.hpp", "consent.cpp", ("Consent.filter",),
           c_struct="cdp_consent_check_options"),
    Target("ImportOptions", "consent.hpp", "consent.cpp", ("Consent.import_columns",),
           c_struct="cdp_consent_import_options", py_names={"skip_invalid_subjects": "skip_invalid"}),
    Target("PredictOptions", "model.hpp", "model.cpp", ("Model.predict",),
           c_struct="cdp_predict_options"),
    # load_csv's `time` keyword is FileLoadOptions::time_column (a file's rows carry their own times), so
    # WriteOptions::time matches it by name only.
    Target("WriteOptions", "profile.hpp", "profile.cpp", ("ProfileStore._write", "ProfileStore.load_csv"),
           c_struct="cdp_write_options"),
    Target("FileLoadOptions", "profile.hpp", "profile.cpp", ("ProfileStore.load_csv",),
           c_struct="cdp_file_load_options",
           py_names={"key_column": "key", "time_column": "time"}),
    Target("CompileOptions", "rules.hpp", "rules.cpp", ("RuleSet.__init__",),
           c_struct="cdp_rules_options", nested={"limits": "Limits"},
           py_names={f"limits.{f}": "limits" for f in ("max_text_bytes", "max_depth", "max_nodes", "max_rules",
                                                      "max_cost")}),
    Target("EvalOptions", "rules.hpp", "rules.cpp", ("RuleSet.evaluate",),
           c_struct="cdp_rules_eval_options"),
    Target("DefineOptions", "segment.hpp", "segment.cpp", ("SegmentEngine.define",),
           c_struct="cdp_segment_define_options"),
    Target("SplitOptions", "segment.hpp", "segment.cpp", ("SegmentEngine.split",),
           c_function="cdp_segment_split"),
    Target("ExportOptions", "segment.hpp", "segment.cpp", ("SegmentEngine.export",),
           c_struct="cdp_segment_export_options"),
    Target("LogisticFitOptions", "model.hpp", "model.cpp", ("fit_logistic",)),
    Target("RfmOptions", "model.hpp", "model.cpp", ("rfm",)),
    Target("FitOptions", "model.hpp", "model.cpp", ("BgNbd.fit", "GammaGamma.fit")),
    Target("ClvOptions", "model.hpp", "model.cpp", ("clv",)),
    Target("KMeansOptions", "model.hpp", "model.cpp", ("KMeans.fit",)),
    Target("LookalikeOptions", "model.hpp", "model.cpp", ("lookalike",)),
    Target("Options", "datagen.hpp", "", ("cdpcore.datagen.generate",)),
]

# (C++ struct, field or "*", layer) -> why the field is deliberately absent
# there. The layer is "c", "capi", "python" or "pyi"; "python:<entry>" or
# "pyi:<entry>" limits a Python exception to one entry point.
_ANALYTICS = ("the C ABI loads and scores models but has no model fitting or customer analytics; they run in "
              "C++ and Python")

EXCEPTIONS: Dict[Tuple[str, str, str], str] = {
    ("BatchOptions", "return_record_ids", "c"):
        "C derives it: record ids are kept exactly when cdp_identity_link is given an out_result to read them from",
    ("FilterOptions", "with_identifiers", "c"):
        "its result is per-identifier output arrays that cdp_consent_filter_v2 has no out-parameters for; a C "
        "caller exports the allowed persons' identifiers with cdp_segment_export (its `allowed` bitmap)",
    ("CompileOptions", "resolver", "c"):
        "a NameResolver returns C++ column readers (rules::ExternalName) that C code cannot build; the components "
        "that need one (segments, models) supply it inside the library",
    ("FileLoadOptions", "write", "python"):
        "load_csv takes each WriteOptions field as its own keyword (checked under WriteOptions), not one struct",
    ("FileLoadOptions", "write", "pyi"): "as for python: the stub lists WriteOptions' fields as keywords",
    ("LogisticFitOptions", "*", "c"): _ANALYTICS,
    ("RfmOptions", "*", "c"): _ANALYTICS,
    ("FitOptions", "*", "c"): _ANALYTICS,
    ("ClvOptions", "*", "c"): _ANALYTICS,
    ("KMeansOptions", "*", "c"): _ANALYTICS,
    ("LookalikeOptions", "*", "c"): _ANALYTICS,
    ("Options", "*", "c"):
        "the sample-data generator (datagen) serves the demo, tests and benchmarks and is not in the core library "
        "(issue 15 §1); it has no C ABI",
}

# Structs that are not options of the C ABI or Python API at all.
NOT_SURFACED: Dict[str, str] = {}


# --- C++ ---------------------------------------------------------------------

def _strip_comments(text: str) -> str:
    text = re.sub(r"/\*.*?\*/", " ", text, flags=re.S)
    return re.sub(r"//[^\n]*", "", text)


def _struct_body(text: str, keyword: str, name: str) -> Optional[Tuple[str, Optional[str]]]:
    """The body of `struct name` (C++) or `typedef struct name` (C), and its base."""
    m = re.search(rf"^{keyword}\s+{name}\s*(?::\s*(\w+)\s*)?\{{", text, flags=re.M)
    if not m:
        return None
    depth, i = 1, m.end()
    while depth:
        depth += {"{": 1, "}": -1}.get(text[i], 0)
        i += 1
    return text[m.end():i - 1], m.group(1)


def _declared_names(body: str) -> List[str]:
    """Data members declared at the top level of a struct body (not methods)."""
    names, depth, stmt = [], 0, ""
    for ch in body:  # ';' never appears inside template arguments, so <> need no counting
        if ch in "{(":
            depth += 1
        elif ch in "})":
            depth -= 1
        if ch == ";" and depth == 0:
            decl = re.sub(r"\s*(=|\{).*$", "", stmt.strip(), flags=re.S)  # drop the initialiser
            m = re.search(r"(\w+)\s*(\[[^\]]*\])?$", decl)
            fnptr = re.search(r"\(\s*\*\s*(\w+)\s*\)", stmt)
            if fnptr:
                names.append(fnptr.group(1))
            elif m and not re.search(r"\b(operator|friend|using|static|return)\b", decl) and " " in decl.strip():
                names.append(m.group(1))
            stmt = ""
        elif depth == 0 and ch == "}":
            stmt = ""
        else:
            stmt += ch
    return names


def cpp_fields(headers: Dict[str, str], target: Target) -> List[str]:
    """The fields of a C++ options struct, base classes first; fields of a
    `nested` struct as "outer.inner"."""
    text = _strip_comments(headers[target.header])
    found = _struct_body(text, "struct", target.cpp)
    if found is None:
        raise LookupError(f"struct {target.cpp} not found in include/cdpcore/{target.header}")
    body, base = found
    out: List[str] = []
    if base:
        out += cpp_fields(headers, Target(base, target.header, target.capi, ()))
    for name in _declared_names(body):
        if name in target.nested:
            inner = _struct_body(text, "struct", target.nested[name])
            if inner is None:
                raise LookupError(f"struct {target.nested[name]} not found")
            out += [f"{name}.{f}" for f in _declared_names(inner[0])]
        else:
            out.append(name)
    return out


def all_cpp_option_structs(headers: Dict[str, str]) -> List[Tuple[str, str]]:
    out = []
    for header, text in headers.items():
        for m in re.finditer(r"^struct\s+(\w*Options)\b", _strip_comments(text), flags=re.M):
            out.append((header, m.group(1)))
    return out


# --- C -----------------------------------------------------------------------

def c_struct_fields(c_headers: str, name: str) -> Optional[List[str]]:
    found = _struct_body(_strip_comments(c_headers), "typedef struct", name)
    return None if found is None else _declared_names(found[0])


def c_function_params(c_headers: str, name: str) -> Optional[List[str]]:
    m = re.search(rf"\b{name}\s*\(([^;]*?)\)\s*;", _strip_comments(c_headers), flags=re.S)
    if not m:
        return None
    return [re.search(r"(\w+)\s*(\[\])?$", p.strip()).group(1) for p in m.group(1).split(",") if p.strip()]


def _statements(code: str) -> List[str]:
    return [s for s in re.split(r"[;{}]", _strip_comments(code)) if s.strip()]


def capi_converts(capi_code: str, cpp_field: str, c_name: str, via_function: Optional[str]) -> bool:
    """The C ABI sets the C++ field from the C field (one statement assigns
    `.field` and reads `c_name`), or, for a C function, uses the parameter in
    the function's body."""
    if via_function:
        m = re.search(rf"\b{via_function}\s*\([^)]*\)\s*\{{", capi_code)
        if not m:
            return False
        end = capi_code.find("\n}", m.end())
        return re.search(rf"\b{c_name}\b", capi_code[m.end():end]) is not None
    leaf = cpp_field.split(".")[-1]
    lhs = re.compile(rf"\.{re.escape(leaf)}\s*(=(?!=)|\.(emplace_back|push_back|assign|insert)\()")
    reads = [rf"(->|\.)\s*{re.escape(c_name)}\b"]
    # One level of indirection: `cdp_progress_fn fn = opts->progress; o.progress = [fn] ...`.
    for s in _statements(capi_code):
        m = re.search(rf"(\w+)\s*=\s*\w+\s*->\s*{re.escape(c_name)}\s*$", s.strip())
        if m:
            reads.append(rf"\b{m.group(1)}\b")
    rhs = re.compile("|".join(f"(?:{r})" for r in reads))
    for s in _statements(capi_code):
        m = lhs.search(s)
        if m and rhs.search(s[m.end():]):
            return True
    return False


# --- Python ------------------------------------------------------------------

def native_keywords(obj, name: str) -> List[str]:
    """Parameter names of a pybind11 function, from its docstring signature."""
    sigs = docstring_signatures(obj, name)
    if not sigs:
        raise LookupError(f"{name}: no signature in the docstring")
    return [p[0] for sig in sigs for p in sig]


def runtime_keywords(entry: str) -> List[str]:
    """Keyword names a Python entry point accepts."""
    if entry.startswith("cdpcore."):
        mod, fn = entry.rsplit(".", 1)
        return list(inspect.signature(getattr(importlib.import_module(mod), fn)).parameters)
    native = importlib.import_module("cdpcore._cdpcore")
    cls, _, meth = entry.rpartition(".")
    obj = getattr(getattr(native, cls) if cls else native, meth)
    return native_keywords(obj, meth)


def pyi_keywords(pyi_text: str, entry: str) -> Optional[List[str]]:
    """Parameter names of a method in the stub, or None when it is missing."""
    cls, _, meth = entry.rpartition(".")
    body = ast.parse(pyi_text).body
    if cls:
        body = next((n.body for n in body if isinstance(n, ast.ClassDef) and n.name == cls), [])
    for item in body:
        if isinstance(item, ast.FunctionDef) and item.name == meth:
            a = item.args
            return [x.arg for x in a.posonlyargs + a.args + a.kwonlyargs]
    return None


# --- the check ---------------------------------------------------------------

@dataclass
class Sources:
    headers: Dict[str, str]       # include/cdpcore/*.hpp by file name
    c_headers: str                # include/cdpcore/c/*.h, concatenated
    capi: Dict[str, str]          # src/capi/*.cpp by file name
    pyi: str                      # bindings/python/cdpcore/_cdpcore.pyi
    keywords: Dict[str, List[str]]  # Python entry point -> its keywords

    @staticmethod
    def load(targets: Iterable[Target] = TARGETS) -> "Sources":
        inc = ROOT / "include" / "cdpcore"
        kw = {}
        for t in targets:
            for e in t.python:
                kw[e] = runtime_keywords(e)
        return Sources(
            # the public headers, and the sample-data generator's (its own library)
            headers={p.name: p.read_text()
                     for p in [*inc.glob("*.hpp"), ROOT / "src" / "datagen" / "include" / "cdpcore" / "datagen.hpp"]},
            c_headers="\n".join(p.read_text() for p in sorted((inc / "c").glob("*.h"))),
            capi={p.name: p.read_text() for p in (ROOT / "src" / "capi").glob("*.cpp")},
            pyi=(ROOT / "bindings" / "python" / "cdpcore" / "_cdpcore.pyi").read_text(),
            keywords=kw,
        )


def check(src: Sources, targets: Iterable[Target] = TARGETS,
          exceptions: Dict[Tuple[str, str, str], str] = EXCEPTIONS,
          not_surfaced: Dict[str, str] = NOT_SURFACED) -> List[str]:
    """Every divergence, as readable lines (empty when all layers agree)."""
    targets = list(targets)
    problems: List[str] = []
    used = set()
    covered = {t.cpp for t in targets} | set(not_surfaced)
    for header, name in all_cpp_option_structs(src.headers):
        if name not in covered:
            problems.append(f"{name} (include/cdpcore/{header}): not described in TARGETS or NOT_SURFACED")

    def missing(cpp: str, f: str, layer: str, what: str, entry: str = "") -> None:
        for key in ((cpp, f, f"{layer}:{entry}"), (cpp, f, layer), (cpp, "*", layer)):
            if key in exceptions:
                used.add(key)
                return
        problems.append(f"{cpp}.{f}: {what}")

    for t in targets:
        if t.c_struct:
            c_names = c_struct_fields(src.c_headers, t.c_struct)
            where = f"C struct {t.c_struct}"
        else:
            c_names = c_function_params(src.c_headers, t.c_function) if t.c_function else None
            where = f"C function {t.c_function}"
        if c_names is None:
            if t.c_struct or t.c_function:
                problems.append(f"{t.cpp}: {where} not found in include/cdpcore/c")
            where = "the C ABI"
            c_names = []
        for f in cpp_fields(src.headers, t):
            leaf = f.split(".")[-1]
            cname = t.c_names.get(f, leaf)
            if cname in c_names:
                if not capi_converts(src.capi.get(t.capi, ""), f, cname, t.c_function):
                    missing(t.cpp, f, "capi", f"src/capi/{t.capi} does not set it from {where}.{cname}")
            else:
                missing(t.cpp, f, "c", f"no field or parameter {cname!r} in {where}")
            kw = t.py_names.get(f, leaf)
            for entry in t.python:
                if kw not in src.keywords.get(entry, []):
                    missing(t.cpp, f, "python", f"no keyword {kw!r} in Python {entry}", entry)
                if not entry.startswith("cdpcore."):
                    stub = pyi_keywords(src.pyi, entry)
                    if stub is None or kw not in stub:
                        missing(t.cpp, f, "pyi", f"no keyword {kw!r} in _cdpcore.pyi {entry}", entry)
    for key, reason in exceptions.items():
        if key not in used:
            problems.append(f"{key[0]}.{key[1]} ({key[2]}): exception no longer needed ({reason})")
    return problems


def main() -> int:
    problems = check(Sources.load())
    for p in problems:
        print(p)
    print(f"{len(problems)} divergence(s)" if problems else "options: every layer agrees")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
