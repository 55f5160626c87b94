"""Every C++ option reaches the C ABI and Python, or the exceptions table in
tests/options/check_options.py says why not (see that file)."""
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "options"))
import check_options as co  # noqa: E402


@pytest.fixture(scope="module")
def sources():
    return co.Sources.load()


def test_every_option_reaches_every_layer(sources):
    problems = co.check(sources)
    assert not problems, "options that diverge between the layers:\n" + "\n".join(problems)


def test_every_exception_has_a_reason():
    for key, reason in {**co.EXCEPTIONS, **{(k, "*", "-"): v for k, v in co.NOT_SURFACED.items()}}.items():
        assert len(reason.split()) >= 4, f"{key}: write why the field is deliberately missing"
        assert key[2].split(":")[0] in co.LAYERS + ("-",), f"{key}: unknown layer"


def _target(name):
    return next(t for t in co.TARGETS if t.cpp == name)


# The check must fail when one layer loses a field: mutate each layer's text
# (or the Python keywords) the way a forgotten edit would, and expect the
# field to be reported.

def test_a_missing_c_field_is_reported(sources):
    c = sources.c_headers.replace("  int never_auto_block;\n", "")
    assert c != sources.c_headers
    problems = co.check(co.Sources(sources.headers, c, sources.capi, sources.pyi, sources.keywords))
    assert any(p.startswith("IdentifierTypeOptions.never_auto_block: no field") for p in problems), problems


def test_a_missing_capi_conversion_is_reported(sources):
    capi = dict(sources.capi)
    capi["identity.cpp"] = capi["identity.cpp"].replace("t.never_auto_block = o->never_auto_block != 0;", "")
    assert capi["identity.cpp"] != sources.capi["identity.cpp"]
    problems = co.check(co.Sources(sources.headers, sources.c_headers, capi, sources.pyi, sources.keywords))
    assert problems == ["IdentifierTypeOptions.never_auto_block: src/capi/identity.cpp does not set it from "
                        "C struct cdp_identity_type_options.never_auto_block"]


def test_a_missing_python_keyword_is_reported(sources):
    kw = dict(sources.keywords)
    kw["IdentityGraph.register_type"] = [k for k in kw["IdentityGraph.register_type"] if k != "never_auto_block"]
    problems = co.check(co.Sources(sources.headers, sources.c_headers, sources.capi, sources.pyi, kw))
    assert problems == ["IdentifierTypeOptions.never_auto_block: no keyword 'never_auto_block' in Python "
                        "IdentityGraph.register_type"]


def test_a_missing_stub_keyword_is_reported(sources):
    pyi = sources.pyi.replace("never_auto_block: bool = False", "")
    assert pyi != sources.pyi
    problems = co.check(co.Sources(sources.headers, sources.c_headers, sources.capi, pyi, sources.keywords))
    assert problems == ["IdentifierTypeOptions.never_auto_block: no keyword 'never_auto_block' in _cdpcore.pyi "
                        "IdentityGraph.register_type"]


def test_a_new_cpp_field_is_reported(sources):
    headers = dict(sources.headers)
    headers["workspace.hpp"] = headers["workspace.hpp"].replace(
        "  bool read_only = false;", "  bool read_only = false;\n  bool journal = true;")
    problems = co.check(co.Sources(headers, sources.c_headers, sources.capi, sources.pyi, sources.keywords))
    assert "WorkspaceOptions.journal: no field or parameter 'journal' in C struct cdp_workspace_options" in problems
    assert "WorkspaceOptions.journal: no keyword 'journal' in Python Workspace.open" in problems


def test_a_new_options_struct_is_reported(sources):
    headers = dict(sources.headers)
    headers["segment.hpp"] += "\nstruct MergeOptions {\n  bool keep = true;\n};\n"
    problems = co.check(co.Sources(headers, sources.c_headers, sources.capi, sources.pyi, sources.keywords))
    assert "MergeOptions (include/cdpcore/segment.hpp): not described in TARGETS or NOT_SURFACED" in problems


def test_a_stale_exception_is_reported(sources):
    stale = {**co.EXCEPTIONS, ("WorkspaceOptions", "read_only", "c"): "pretend C lacks it for this test"}
    problems = co.check(sources, exceptions=stale)
    assert any("WorkspaceOptions.read_only (c): exception no longer needed" in p for p in problems)
