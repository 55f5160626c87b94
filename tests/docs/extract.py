"""Writes each C and C++ block of README.md and docs/*.md that runs as one
source file, and prints the manifest CMake reads: one line per block,
`<lang>|<name>|<document>:<line>|<source file>`.

    python3 extract.py <repository root> <output directory>

A file is rewritten only when its text changes (no needless rebuilds), and
files of blocks that no longer exist are removed.
"""
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import doc_blocks  # noqa: E402


def main() -> int:
    root, out = Path(sys.argv[1]).resolve(), Path(sys.argv[2])
    out.mkdir(parents=True, exist_ok=True)
    wanted = set()
    for b in doc_blocks.all_blocks(root):
        if not b.runs or b.lang not in ("c", "cpp"):
            continue
        src = out / f"{b.name}.{b.lang}"
        text = doc_blocks.program(b)
        if not src.exists() or src.read_text(encoding="utf-8") != text:
            src.write_text(text, encoding="utf-8")
        wanted.add(src.name)
        print(f"{b.lang}|{b.name}|{b.document}:{b.line}|{src.as_posix()}")
    for old in out.iterdir():
        if old.suffix in (".c", ".cpp") and old.name not in wanted:
            old.unlink()
    return 0


if __name__ == "__main__":
    sys.exit(main())
