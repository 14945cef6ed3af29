"""What the fault campaigns share: the file they register and the report read back.

`bench/soak.py`, `bench/kill_campaign.py` and their test-sized twins in
`tests/test_resume.py` register the same partner CSV of valid numbers and compare the
report with the sandbox's records.
"""

from __future__ import annotations

from pathlib import Path

import openpyxl


def number(i: int) -> str:
    """The `i`-th number of a campaign file: distinct, valid US numbers, E.164 digits."""
    return f"1205{905 + i // 10_000}{i % 10_000:04d}"


def write_numbers(path: Path, count: int) -> Path:
    """A partner CSV of `count` valid numbers, capabilities 3."""
    lines = ["Phone Number,Capabilities"] + [f"+{number(i)},3" for i in range(count)]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def report_rows(report: Path) -> dict[str, tuple[str, str | None]]:
    """normalized number → (status, external_did_sid) from the report's Results sheet."""
    book = openpyxl.load_workbook(report, read_only=True)
    try:
        rows = list(book["Results"].iter_rows(values_only=True))
    finally:
        book.close()
    header = list(rows[0])
    digits, status, sid = (
        header.index(name) for name in ("normalized_phonenumber", "status", "external_did_sid")
    )
    return {str(row[digits]): (str(row[status]), row[sid]) for row in rows[1:]}
