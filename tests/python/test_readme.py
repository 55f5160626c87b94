"""The README's Python tour runs as written."""
import re
from pathlib import Path

README = Path(__file__).resolve().parents[2] / "README.md"


def test_readme_python_tour_runs():
    text = README.read_text(encoding="utf-8")
    tour = text.split("## A tour of the loop (Python)", 1)[1]
    block = re.search(r"```python\n(.*?)```", tour, re.S)
    assert block, "the README has no Python tour block"
    exec(compile(block.group(1), "README.md (tour)", "exec"), {"__name__": "readme_tour"})
