"""Documentation that runs: every ```python block of README.md and docs/*.md.

One test per block, named by document and line. The blocks of one document
run in order in one namespace (a later block may use what an earlier one
defined), in a temporary directory of their own; selecting a single block
with -k runs the blocks before it first. C and C++ blocks run through ctest
(tests/docs/CMakeLists.txt); the convention is in docs/building.md.
"""
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "tests" / "docs"))
import doc_blocks  # noqa: E402

BLOCKS = doc_blocks.all_blocks(ROOT)
PYTHON = [b for b in BLOCKS if b.lang == "python" and b.runs]


class _Document:
    """The shared namespace and working directory of one document's blocks."""

    def __init__(self, workdir: Path):
        self.namespace = {"__name__": "docs"}
        self.workdir = workdir
        self.done = set()
        self.failed = None  # line of the first block that raised

    def run(self, block):
        if self.failed is not None:
            pytest.fail(f"not run: the block at {block.document}:{self.failed} failed, "
                        "and this document's blocks share one namespace")
        # Padding keeps tracebacks on the document's own line numbers.
        code = compile("\n" * block.line + block.code, str(ROOT / block.document), "exec")
        cwd = os.getcwd()
        os.chdir(self.workdir)
        try:
            exec(code, self.namespace)
        except BaseException:
            self.failed = block.line
            raise
        finally:
            os.chdir(cwd)
            self.done.add(block.line)


_documents = {}


def _document_up_to(block, tmp_path_factory) -> _Document:
    """The document's namespace after every Python block before `block`."""
    doc = _documents.get(block.document)
    if doc is None:
        doc = _documents[block.document] = _Document(
            tmp_path_factory.mktemp(block.name.rsplit("_", 1)[0]))
    for earlier in PYTHON:
        if (earlier.document == block.document and earlier.line < block.line
                and earlier.line not in doc.done):
            doc.run(earlier)
    if doc.failed is not None:
        pytest.fail(f"not run: the block at {block.document}:{doc.failed} failed")
    return doc


# Python blocks and the output blocks they print, in document order: an
# output block is compared right after the blocks above it have run.
STEPS = [b for b in BLOCKS if b in PYTHON or b.output_of is not None]


@pytest.mark.parametrize("block", STEPS, ids=[f"{b.document}:{b.line}" for b in STEPS])
def test_block_runs(block, tmp_path_factory):
    doc = _document_up_to(block, tmp_path_factory)
    if block.output_of is None:
        doc.run(block)
        return
    cwd = os.getcwd()
    os.chdir(doc.workdir)
    try:
        printed = str(eval(block.output_of, doc.namespace))
    finally:
        os.chdir(cwd)
    assert printed.rstrip("\n") == block.code.rstrip("\n"), f"{block.output_of} printed:\n{printed}"


RULES = [b for b in BLOCKS if b.lang == "rules"]


@pytest.mark.parametrize("block", RULES, ids=[f"{b.document}:{b.line}" for b in RULES])
def test_rules_block_parses(block):
    import cdpcore
    assert cdpcore.parse_rules(block.code)["rules"]


JSON = [b for b in BLOCKS if b.lang == "json"]


@pytest.mark.parametrize("block", JSON, ids=[f"{b.document}:{b.line}" for b in JSON])
def test_json_block_parses(block):
    import json

    import cdpcore
    tree = json.loads(block.code)
    if "op" in tree:  # a rule expression's JSON form: the library reads it back
        assert cdpcore.expression_text(tree)


def test_every_code_block_runs_or_is_marked():
    assert doc_blocks.problems(BLOCKS) == []


def test_documents_have_code_blocks_that_run():
    # Guards the parser: a change that silently found no blocks would pass.
    for lang in doc_blocks.RUN_LANGUAGES:
        assert any(b.lang == lang and b.runs for b in BLOCKS), lang


def test_parser_reads_markers_and_indented_fences(tmp_path):
    (tmp_path / "docs").mkdir()
    (tmp_path / "README.md").write_text(
        "# t\n<!-- not run: needs a network -->\n```python\nimport x\n```\n"
        "- item\n\n  ```c\n  int a;\n  ```\n```\nbare\n```\n", encoding="utf-8")
    found = doc_blocks.all_blocks(tmp_path)
    assert [(b.line, b.lang, b.not_run, b.code) for b in found] == [
        (3, "python", "needs a network", "import x\n"),
        (8, "c", None, "int a;\n"),
        (11, "", None, "bare\n"),
    ]
    assert len(doc_blocks.problems(found)) == 1  # the bare fence


def test_fragment_becomes_a_program_on_the_documents_lines():
    b = doc_blocks.Block("docs/x.md", 10, "cpp", '#include <cdpcore/cdpcore.hpp>\nint x = 1;\n', None)
    src = doc_blocks.program(b)
    assert src.index("#include <cdpcore/cdpcore.hpp>") < src.index("int main()")
    assert '#line 11 "docs/x.md"\n\nint x = 1;' in src


def test_measured_performance_tables_match_the_committed_results():
    # The tables between <!-- perf:... --> markers are generated; editing
    # them by hand, or committing results without regenerating, fails here.
    r = subprocess.run([sys.executable, str(ROOT / "benchmarks" / "report.py"), "--check"],
                       capture_output=True, text=True)
    assert r.returncode == 0, r.stdout + r.stderr


def _anchor(heading: str) -> str:
    """GitHub's anchor of a heading: lower case, punctuation dropped, spaces to '-'."""
    return re.sub(r"[^\w\- ]", "", heading.strip().lower()).replace(" ", "-")


def test_links_between_documents_resolve():
    broken = []
    for doc in doc_blocks.documents(ROOT):
        text = doc.read_text(encoding="utf-8")
        for target in re.findall(r"\]\(([^)\s]+)\)", text):
            if re.match(r"[a-z]+:", target):
                continue  # http:, mailto:
            path, _, anchor = target.partition("#")
            dest = (doc.parent / path).resolve() if path else doc
            if not dest.exists():
                broken.append(f"{doc.relative_to(ROOT)}: {target} (no such file)")
                continue
            if anchor and dest.suffix == ".md":
                headings = re.findall(r"^#+ (.*)$", dest.read_text(encoding="utf-8"), re.M)
                if anchor not in {_anchor(h) for h in headings}:
                    broken.append(f"{doc.relative_to(ROOT)}: {target} (no such heading)")
    assert broken == []
