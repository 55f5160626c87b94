"""The fenced code blocks of README.md and docs/*.md, and which of them run.

One parser for both test suites: tests/python/test_docs.py runs the Python
blocks, tests/docs/extract.py writes the C and C++ blocks as programs for
ctest. The convention (docs/building.md, "Documentation that runs"):

- ```python, ```c and ```cpp blocks run, unless the line just before the
  fence is `<!-- not run: <reason> -->`;
- every other block names one of OTHER_LANGUAGES (shell commands, output,
  CMake, JSON, Graphviz, rule text) and is never run as a program;
- a fence without a language, or with any other one, is an error, so that no
  code block escapes both lists by accident;
- an output block (```text, ```dot) may say what prints it, on the line just
  before the fence: `<!-- output of: <Python expression> -->`; the test
  evaluates the expression after the document's Python blocks above it and
  compares.
"""
from __future__ import annotations

import re
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import List, Optional

RUN_LANGUAGES = ("python", "c", "cpp")
# "rules" is the tag-rule language: tests/python/test_docs.py parses every
# such block, and tests/python/test_rules.py evaluates the examples.
OTHER_LANGUAGES = ("sh", "text", "cmake", "json", "dot", "rules")

_FENCE = re.compile(r"^(?P<indent>[ \t]*)(?P<ticks>`{3,})(?P<lang>[^`\s]*)\s*$")
_NOT_RUN = re.compile(r"^\s*<!--\s*not run:(?P<reason>.*?)-->\s*$")
_OUTPUT_OF = re.compile(r"^\s*<!--\s*output of:(?P<expr>.*?)-->\s*$")
_MAIN = re.compile(r"\bint\s+main\s*\(")
_INCLUDE = re.compile(r"^\s*#\s*include\b")


@dataclass(frozen=True)
class Block:
    document: str           # path relative to the repository root
    line: int               # 1-based line of the opening fence
    lang: str
    code: str
    not_run: Optional[str]  # the reason, when marked not to run
    output_of: Optional[str] = None  # the Python expression that prints an output block

    @property
    def runs(self) -> bool:
        return self.lang in RUN_LANGUAGES and self.not_run is None

    @property
    def name(self) -> str:
        """A file- and test-name-safe id: docs_identity_md_42."""
        return re.sub(r"[^A-Za-z0-9]+", "_", self.document) + f"_{self.line}"


def documents(root: Path) -> List[Path]:
    """README.md and every docs/*.md, in a fixed order."""
    return [root / "README.md"] + sorted((root / "docs").glob("*.md"))


def blocks(path: Path, root: Path) -> List[Block]:
    rel = path.relative_to(root).as_posix()
    lines = path.read_text(encoding="utf-8").split("\n")
    out: List[Block] = []
    i = 0
    while i < len(lines):
        m = _FENCE.match(lines[i])
        if not m:
            i += 1
            continue
        indent, ticks, lang = m.group("indent"), m.group("ticks"), m.group("lang")
        start = i
        body: List[str] = []
        i += 1
        while i < len(lines) and lines[i].strip() != ticks:
            line = lines[i]
            body.append(line[len(indent):] if line.startswith(indent) else line.lstrip())
            i += 1
        if i == len(lines):
            raise ValueError(f"{rel}:{start + 1}: code block is never closed")
        before = lines[start - 1] if start > 0 else ""
        marker = _NOT_RUN.match(before)
        reason = marker.group("reason").strip() if marker else None
        output = _OUTPUT_OF.match(before)
        out.append(Block(rel, start + 1, lang, "\n".join(body) + "\n", reason,
                         output.group("expr").strip() if output else None))
        i += 1
    return out


def all_blocks(root: Path) -> List[Block]:
    return [b for doc in documents(root) for b in blocks(doc, root)]


def problems(found: List[Block]) -> List[str]:
    """What breaks the convention: an unknown language, an empty reason."""
    out = []
    for b in found:
        where = f"{b.document}:{b.line}"
        if b.lang not in RUN_LANGUAGES + OTHER_LANGUAGES:
            out.append(f"{where}: code block language {b.lang!r} is neither run "
                       f"({', '.join(RUN_LANGUAGES)}) nor one of {', '.join(OTHER_LANGUAGES)}")
        if b.not_run is not None and not b.not_run:
            out.append(f"{where}: '<!-- not run: -->' without a reason")
        if b.not_run is not None and b.lang not in RUN_LANGUAGES:
            out.append(f"{where}: '<!-- not run -->' on a {b.lang!r} block, which never runs")
        if b.output_of is not None and b.lang not in ("text", "dot"):
            out.append(f"{where}: '<!-- output of -->' on a {b.lang!r} block (only text and dot)")
    return out


def program(block: Block) -> str:
    """The C or C++ source of a block: the block itself when it defines main;
    otherwise its lines inside `int main`, with its #include lines moved above
    (left blank in place so that #line keeps the document's line numbers)."""
    header = f'#line {block.line + 1} "{block.document}"\n'
    if _MAIN.search(block.code):
        return header + block.code
    lines = block.code.split("\n")
    includes = [l for l in lines if _INCLUDE.match(l)]
    body = ["" if _INCLUDE.match(l) else l for l in lines]
    if block.lang == "c":
        prelude = ["#include <assert.h>", "#include <stdint.h>", "#include <stdio.h>",
                   "#include <stdlib.h>", "#include <string.h>"]
        opening = "int main(void) {"
    else:
        prelude = ["#include <cassert>", "#include <cstdint>", "#include <cstdio>",
                   "#include <string>", "#include <vector>"]
        opening = "int main() {"
    return "\n".join(prelude + includes + [opening, header.rstrip("\n")] + body
                     + ["  return 0;", "}", ""])


if __name__ == "__main__":
    # `python3 doc_blocks.py <root>`: exit 1 listing the convention's problems.
    root = Path(sys.argv[1] if len(sys.argv) > 1 else ".").resolve()
    found = all_blocks(root)
    bad = problems(found)
    for p in bad:
        print(p)
    counts = {lang: sum(1 for b in found if b.lang == lang and b.runs) for lang in RUN_LANGUAGES}
    marked = sum(1 for b in found if b.lang in RUN_LANGUAGES and not b.runs)
    print(f"{len(found)} code blocks; run: " + ", ".join(f"{k} {v}" for k, v in counts.items())
          + f"; marked not run: {marked}")
    sys.exit(1 if bad else 0)
