"""bench/corpus.py's classifier on local files, so the corpus check does not rot.

The corpus itself is downloaded (bench/corpus.py, README "Speed"); these tests run the
same `classify` on files of tests/fixtures and sample_data, without the network.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from bench.corpus import classify, reason_class
from bench.corpus_sources import wanted

REPO = Path(__file__).resolve().parent.parent
LOADER = REPO / "tests" / "fixtures" / "loader"
ANY_RSS = float("inf")
"""No memory limit here: a child's peak RSS includes its launcher's at the spawn (Linux
counts the parent's pages until the exec), and pytest late in the whole suite is past
200 MB; `bench/corpus.py` launches from a small process and prints that floor."""


@pytest.mark.parametrize(
    ("path", "rows", "counter"),
    [
        (REPO / "sample_data" / "partner_numbers.csv", 50, "csv"),
        (LOADER / "phantom_rows.xlsx", 2, "openpyxl"),
        (LOADER / "libreoffice.xls", 3, "calamine to_python"),
    ],
)
def test_a_loaded_file_has_its_rows_counted_independently(
    path: Path, rows: int, counter: str
) -> None:
    outcome = classify(path, "local", max_rss_mb=ANY_RSS, base=REPO)
    assert (outcome.kind, outcome.problem) == ("loaded", None)
    assert (outcome.data_rows, outcome.independent_rows, outcome.counter) == (rows, rows, counter)
    assert outcome.peak_rss_mb > 0


def test_a_refusal_keeps_its_one_line_message_and_its_reason_class() -> None:
    outcome = classify(LOADER / "no_phone_column.xlsx", "local", max_rss_mb=ANY_RSS, base=REPO)
    assert (outcome.kind, outcome.exit_code) == ("refused", 2)
    assert outcome.reason == "no phone-number column"
    assert outcome.message == 'no phone-number column in row 1; headers found: "Name", "Caps"'


def test_a_run_past_the_timeout_is_killed_and_bad() -> None:
    outcome = classify(
        LOADER / "title_rows.csv", "local", timeout=0.01, max_rss_mb=ANY_RSS, base=REPO
    )
    assert (outcome.kind, outcome.exit_code) == ("bad", None)
    assert "killed" in str(outcome.problem)


@pytest.mark.parametrize(
    ("message", "reason"),
    [
        ('no phone-number column; headers found: "a"', "no phone-number column"),
        ("no data rows below the header (row 3)", "no data rows"),
        ("not a readable XLSB workbook (failed to fill whole buffer)", "unreadable workbook"),
        ("not a readable XLSX workbook (it is password protected)", "password protected"),
        ("cannot decode the file as utf-8 (bad byte at offset 4)", "undecodable text"),
        ("something new", "other"),
    ],
)
def test_refusal_messages_sort_into_reason_classes(message: str, reason: str) -> None:
    assert reason_class(message) == reason


@pytest.mark.parametrize(
    ("member", "kept"),
    [
        ("pkg-1.0/tests/files/book.xlsx", True),
        ("pkg-1.0/data/table.csv", True),
        ("pkg-1.0/tests/fixtures/force_file_type.txt", True),
        ("pkg-1.0/contrib/version.txt", False),
        ("pkg-1.0/tests/requirements.txt", False),
        ("pkg-1.0/pkg.egg-info/requires.txt", False),
        ("pkg-1.0/data/archive.csv.gz", False),
    ],
)
def test_only_spreadsheet_and_csv_files_of_an_sdist_are_gathered(member: str, kept: bool) -> None:
    assert wanted(member) is kept


def test_a_run_over_the_memory_limit_is_bad() -> None:
    """A peak RSS over `max_rss_mb` makes any outcome bad, naming the figure."""
    outcome = classify(LOADER / "no_phone_column.xlsx", "local", max_rss_mb=1.0, base=REPO)
    assert outcome.kind == "bad"
    assert outcome.problem is not None
    assert outcome.problem.startswith("peak RSS ")
    assert outcome.problem.endswith(" MB > 1")
