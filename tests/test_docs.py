"""Every Python example in the README and docs runs, and its assertions hold."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
DOCUMENTS = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
EXAMPLES = [
    pytest.param(block, id=f"{path.name}-{number}")
    for path in DOCUMENTS
    for number, block in enumerate(re.findall(r"```python\n(.*?)```", path.read_text(), re.S), start=1)
]


@pytest.mark.parametrize("source", EXAMPLES)
def test_documented_example_runs(source: str) -> None:
    exec(compile(source, "<example>", "exec"), {"__name__": "__example__"})


def test_there_are_examples_to_run() -> None:
    assert EXAMPLES
