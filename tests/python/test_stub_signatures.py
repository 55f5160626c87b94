"""The type stubs describe the native module's signatures, not only its names.

Two checks, both run with the built package on PYTHONPATH:

- mypy's stubtest over cdpcore._cdpcore: every stubbed name exists with the
  right kind (class, function, property, static method, ...), every public
  runtime name is stubbed, class hierarchies match. Genuine limitations of
  stubtest are listed, each with its reason, in stubtest_allowlist.txt.
- stubtest cannot read a pybind11 function's parameters (inspect.signature
  fails on builtins without __text_signature__), so the second check reads
  the signature pybind11 writes at the top of every docstring and compares,
  for every function and method in the stub, the parameters: names, order,
  kind (positional, keyword-only, *args, **kwargs) and which have defaults.
"""
import ast
import os
import site
import subprocess
import sys
from pathlib import Path
from typing import List

import pytest

import cdpcore
from cdpcore import _cdpcore

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "options"))
from pybind_signatures import Param, docstring_signatures  # noqa: E402

STUB = Path(cdpcore.__file__).with_name("_cdpcore.pyi")
ALLOWLIST = Path(__file__).with_name("stubtest_allowlist.txt")

def test_stubtest_passes():
    env = dict(os.environ)
    where = Path(cdpcore.__file__).resolve().parent.parent
    if str(where) not in {str(Path(p).resolve()) for p in site.getsitepackages() + [site.getusersitepackages()]}:
        # A development build on PYTHONPATH, which mypy does not read: point MYPYPATH at it
        # (an installed package is found in site-packages, which MYPYPATH must not name).
        env["MYPYPATH"] = str(where)
    r = subprocess.run(
        [sys.executable, "-m", "mypy.stubtest", "cdpcore._cdpcore", "--allowlist", str(ALLOWLIST),
         "--mypy-config-file", os.devnull],
        capture_output=True, text=True, env=env, timeout=600,
    )
    assert r.returncode == 0, f"stubtest found differences:\n{r.stdout}\n{r.stderr}"


def stub_params(fn: ast.FunctionDef) -> List[Param]:
    a = fn.args
    out: List[Param] = []
    positional = a.posonlyargs + a.args
    first_default = len(positional) - len(a.defaults)
    out += [(x.arg, "pos", i >= first_default) for i, x in enumerate(positional)]
    if a.vararg:
        out.append((a.vararg.arg, "*args", False))
    out += [(x.arg, "kw", d is not None) for x, d in zip(a.kwonlyargs, a.kw_defaults)]
    if a.kwarg:
        out.append((a.kwarg.arg, "**kwargs", False))
    return out


def _decorators(fn: ast.FunctionDef) -> set:
    return {d.id if isinstance(d, ast.Name) else getattr(d, "attr", "") for d in fn.decorator_list}


def _stubbed_functions():
    """(qualified name, runtime object, stub FunctionDef list) for every stubbed
    function and method whose runtime object is a pybind11 function."""
    tree = ast.parse(STUB.read_text(encoding="utf-8"))
    scopes = [("", _cdpcore, tree.body)]
    scopes += [(n.name + ".", getattr(_cdpcore, n.name, None), n.body) for n in tree.body
               if isinstance(n, ast.ClassDef)]
    found = {}
    for prefix, owner, body in scopes:
        if owner is None:
            continue
        for fn in body:
            if not isinstance(fn, ast.FunctionDef) or "property" in _decorators(fn) or \
                    any(d.endswith("setter") for d in _decorators(fn)):
                continue
            obj = owner.__dict__.get(fn.name) if isinstance(owner, type) else getattr(owner, fn.name, None)
            if isinstance(obj, (staticmethod, classmethod)):
                obj = obj.__func__
            if obj is None or not (obj.__doc__ or "").lstrip().startswith((fn.name + "(", "Overloaded")):
                continue  # not a pybind11 function (inherited, a Python-level helper, a slot wrapper)
            found.setdefault(prefix + fn.name, (obj, []))[1].append(fn)
    return [(q, obj, fns) for q, (obj, fns) in sorted(found.items())]


FUNCTIONS = _stubbed_functions()


def test_the_signature_check_sees_the_module():
    # A guard against the check silently comparing nothing.
    assert len(FUNCTIONS) > 150
    names = {q for q, _, _ in FUNCTIONS}
    assert {"Workspace.open", "IdentityGraph.link", "RuleSet.evaluate", "to_micros"} <= names


@pytest.mark.parametrize("qualname,obj,fns", FUNCTIONS, ids=[q for q, _, _ in FUNCTIONS])
def test_stub_parameters_match_the_module(qualname, obj, fns):
    name = qualname.split(".")[-1]
    runtime = docstring_signatures(obj, name)
    assert runtime, f"{qualname}: pybind11 wrote no signature"
    stub = [stub_params(fn) for fn in fns if "overload" in _decorators(fn)] or [stub_params(fns[-1])]
    assert sorted(runtime) == sorted(stub), (
        f"{qualname}: the stub's parameters differ from the module's\n"
        f"  module: {runtime}\n  stub:   {stub}")


def test_a_stub_that_lost_a_keyword_is_caught():
    (_, obj, fns), = [f for f in FUNCTIONS if f[0] == "IdentityGraph.register_type"]
    stub = stub_params(fns[-1])
    assert docstring_signatures(obj, "register_type") == [stub]
    lost = [p for p in stub if p[0] != "never_auto_block"]
    assert docstring_signatures(obj, "register_type") != [lost]
