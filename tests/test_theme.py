"""The theme's stylesheets are well formed: every block closes (several branches append
sections to site.css; one missing brace swallows every rule after it without an error)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

THEME = Path(__file__).resolve().parent.parent / "theme"
STYLESHEETS = sorted(THEME.rglob("*.css"))
COMMENT = re.compile(r"/\*.*?\*/", re.S)
AT_BLOCKS = ("@media", "@supports", "@layer", "@container")  # may hold rules


@pytest.mark.parametrize("sheet", STYLESHEETS, ids=lambda p: p.name)
def test_every_block_closes_and_no_rule_opens_inside_a_rule(sheet: Path) -> None:
    text = COMMENT.sub("", sheet.read_text(encoding="utf-8"))
    opened: list[str] = []  # the selector of each open block
    for number, line in enumerate(text.splitlines(), 1):
        for selector, brace in re.findall(r"([^{}]*)([{}])", line):
            if brace == "{":
                inside_rule = opened and not opened[-1].startswith(AT_BLOCKS)
                assert not inside_rule, f"{sheet.name}:{number}: a rule inside {opened[-1]!r}"
                opened.append(selector.strip())
            else:
                assert opened, f"{sheet.name}:{number}: a }} closes nothing"
                opened.pop()
    assert not opened, f"{sheet.name}: {opened!r} never closed"


def test_there_are_stylesheets() -> None:
    assert THEME / "static" / "css" / "site.css" in STYLESHEETS
