"""Tests for importer.reporter.headline: the one sentence at the top of the Summary."""

from __future__ import annotations

from pathlib import Path

import pytest
from reporter_samples import opened, row, sample_summary, values, write_workbook

from importer.models import Issue, RowResult, Severity, Status
from importer.reporter import headline
from importer.reporter.summary import RunSummary


def summary_of(input_file: Path, mode: str, **counts: int) -> RunSummary:
    return sample_summary(input_file, [], mode=mode, counts=counts)


@pytest.mark.parametrize(
    ("mode", "counts", "said"),
    [
        (
            "validate",
            {"would_register": 40, "invalid": 9, "duplicate": 1},
            "50 rows checked: 40 ready to register; 10 need attention — see Errors",
        ),
        (
            "validate",
            {"would_register": 3, "already_registered": 2},
            "5 rows checked: 3 ready to register, 2 already registered; nothing needs attention",
        ),
        (
            "run",
            {"registered": 40, "invalid": 9, "failed": 1},
            "40 of 50 numbers registered; 10 need attention — see Errors",
        ),
        (
            "run",
            {"registered": 1, "already_registered": 1, "rejected": 1},
            "1 of 3 numbers registered, 1 already registered; 1 needs attention — see Errors",
        ),
        (
            "plan",
            {"would_register": 3, "would_update": 2, "unchanged": 1_200, "blocked": 1},
            "1,206 rows planned: 3 to register, 2 to update, 1,200 unchanged; "
            "1 needs attention — see Errors",
        ),
        ("plan", {"unchanged": 1}, "1 row planned: 1 unchanged; nothing needs attention"),
        (
            "plan",
            {"would_register": 500, "unchanged": 3_300, "would_delete": 400},
            "3,800 rows planned: 500 to register, 3,300 unchanged; 400 numbers not in the"
            " sheet: 400 to delete; nothing needs attention",
        ),
        (
            "plan",
            {"invalid": 2},
            "2 rows planned: nothing to change; 2 need attention — see Errors",
        ),
        (
            "apply",
            {"registered": 3, "replaced": 1, "deleted": 2, "not_found": 1, "failed": 1},
            "5 rows applied: 3 registered, 1 replaced; 3 numbers not in the sheet: 2 deleted,"
            " 1 already absent; 1 needs attention — see Errors",
        ),
        (
            "delete",
            {"deleted": 3, "not_found": 1},
            "3 of 4 numbers deleted, 1 already absent; nothing needs attention",
        ),
    ],
)
def test_headline_per_mode(input_file: Path, mode: str, counts: dict[str, int], said: str) -> None:
    """Each mode says what became of the rows in its own words, and points at Errors."""
    assert headline(summary_of(input_file, mode, **counts)) == said


def test_headline_counts_the_rows_the_caller_says_need_attention(input_file: Path) -> None:
    """A row that ended well with a warning needing attention is counted when given."""
    summary = summary_of(input_file, "run", registered=2)
    assert headline(summary, attention=1) == (
        "2 of 2 numbers registered; 1 needs attention — see Errors"
    )


def test_headline_says_when_the_run_stopped(input_file: Path) -> None:
    """A stopped run says so, and where the reason is."""
    summary = summary_of(input_file, "run", registered=1, not_attempted=4)
    summary = summary.model_copy(update={"stopped_reason": "interrupted (SIGINT)"})
    assert headline(summary).endswith(
        "4 need attention — see Errors; stopped before the end — see stopped reason"
    )


def test_the_summary_sheet_opens_with_the_headline(tmp_path: Path, input_file: Path) -> None:
    """The first line of Summary is the headline, counting a `remote.differs` row too."""
    differs = Issue(code="remote.differs", message="name differs", severity=Severity.WARNING)
    results = [
        RowResult(row=row(2, "+12059051025"), status=Status.REGISTERED),
        RowResult(row=row(3, "+12059051026"), status=Status.ALREADY_REGISTERED, issues=(differs,)),
        RowResult(row=row(4, "nope"), status=Status.INVALID),
    ]
    path = write_workbook(
        tmp_path / "h.xlsx", ("Phone",), results, sample_summary(input_file, results)
    )
    with opened(path) as book:
        first = values(book["Summary"])[1]
        bold = book["Summary"]["B2"].font.b
    assert first == [
        "in short",
        "1 of 3 numbers registered, 1 already registered; 2 need attention — see Errors",
    ]
    assert bold
