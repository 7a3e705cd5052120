"""docs/sandbox-fidelity.md, in the sections audited against the real services: every row names a
test, and every test it names exists (so the table cannot point at a renamed or removed test)."""

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
DOC = ROOT / "docs" / "sandbox-fidelity.md"
REF = re.compile(r"`(tests/[\w/]+\.py)?(?:::(\w+))?`")
AUDITED = ("QuickBooks Online: query language", "QuickBooks Online: entities, writes and faults", "Autotask REST")


def _rows() -> list[tuple[str, str]]:
    rows, section = [], ""
    for line in DOC.read_text(encoding="utf-8").splitlines():
        if line.startswith("## "):
            section = line[3:]
        elif line.startswith("| ") and not line.startswith("| rule |") and section in AUDITED:
            rows.append((section, line))
    return rows


def test_every_row_names_a_test_that_exists():
    problems = []
    for section, row in _rows():
        cells = [c.strip() for c in re.split(r"(?<!\\)\|", row)[1:-1]]
        if len(cells) != 4:
            problems.append(f"{section}: not four cells: {row[:80]}")
            continue
        last = None
        named = 0
        for m in REF.finditer(cells[3]):
            path, name = m.group(1), m.group(2)
            last = path or last
            if last is None or not (path or name):
                continue
            file = ROOT / last
            if not file.exists():
                problems.append(f"{section}: no file {last}")
            elif name and not re.search(rf"def {name}\(", file.read_text(encoding="utf-8")):
                problems.append(f"{section}: no test {last}::{name}")
            named += 1
        if not named:
            problems.append(f"{section}: row without a test: {cells[0][:80]}")
    assert problems == []


def test_the_three_audited_sections_have_rows():
    sections = {s for s, _ in _rows()}
    assert sections == set(AUDITED)
