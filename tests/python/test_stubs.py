"""The type stubs describe the native module: every public name of
cdpcore._cdpcore has a stub, and every stubbed name exists."""
import ast
from pathlib import Path

import cdpcore
from cdpcore import _cdpcore

STUB = Path(cdpcore.__file__).with_name("_cdpcore.pyi")


def _stub_names():
    tree = ast.parse(STUB.read_text(encoding="utf-8"))
    names = set()
    for node in tree.body:
        if isinstance(node, (ast.ClassDef, ast.FunctionDef)):
            names.add(node.name)
        elif isinstance(node, ast.AnnAssign) and isinstance(node.target, ast.Name):
            names.add(node.target.id)
        elif isinstance(node, ast.Assign):
            names.update(t.id for t in node.targets if isinstance(t, ast.Name))
    return names


def test_every_public_native_name_has_a_stub():
    public = {n for n in dir(_cdpcore) if not n.startswith("_")} | {"__version__"}
    missing = sorted(public - _stub_names())
    assert not missing, f"names without a stub in {STUB.name}: {missing}"


def test_every_stubbed_public_name_exists():
    stubbed = {n for n in _stub_names() if not n.startswith("_") or n == "__version__"}
    # type aliases of the stub file itself are not native names
    aliases = {n for n in stubbed if n[0].isupper() and n not in dir(_cdpcore) and n.endswith(("Like", "Type"))}
    extra = sorted(stubbed - set(dir(_cdpcore)) - aliases)
    assert not extra, f"stubs of names the module does not have: {extra}"
