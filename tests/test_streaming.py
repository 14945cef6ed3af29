"""The validation stream: every row kept for a run, and a stop heeded between two chunks.

That the stream gives the stage-by-stage path's report, whichever process judged which
chunk, is pinned in tests/test_speed_paths.py.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from importer.config import ReportSettings, RowDefaults, Settings
from importer.loader import sha256_of
from importer.models import Status
from importer.reporter.files import twin_paths
from importer.reporter.spool import SpoolTarget
from importer.signals import StopSwitch
from importer.validate import streaming
from importer.validate.streaming import stream_file

SAMPLE = Path(__file__).resolve().parent / "fixtures" / "speed" / "partner_5k.xlsx"


class StopAt(StopSwitch):
    """A switch flipped (as by SIGTERM) when the stream looks at it for the `at`-th time."""

    def __init__(self, at: int) -> None:
        super().__init__()
        self.looks = 0
        self.at = at

    @property
    def requested(self) -> bool:
        self.looks += 1
        if self.looks == self.at and self.reason is None:
            self.request("SIGTERM")
        return self.reason is not None


def settings(tmp_path: Path, limit: int = 200_000) -> Settings:
    """US numbers, reports in `tmp_path`, the given workbook row limit."""
    report = ReportSettings(report_dir=tmp_path, workbook_row_limit=limit)
    return Settings(defaults=RowDefaults(default_region="US"), report=report)


@pytest.fixture
def small_chunks(monkeypatch: pytest.MonkeyPatch) -> None:
    """Chunks of 700 rows, shared with the helper process even for a small file."""
    monkeypatch.setattr(streaming, "CHUNK_ROWS", 700)
    monkeypatch.setattr(streaming, "HELPER_MIN_BYTES", 0)


def test_without_a_spool_every_result_is_kept_past_the_limit(
    tmp_path: Path, small_chunks: None
) -> None:
    """A run's stream (no spool) keeps all 5,000 results even with a limit of 1,000."""
    streamed = stream_file(SAMPLE, settings(tmp_path, limit=1_000), None)
    assert streamed.spool is None
    assert len(streamed.kept) == streamed.rows == 5_000
    assert sum(streamed.counts.values()) == 5_000
    assert list(tmp_path.iterdir()) == []  # nothing spooled


def test_on_rows_is_told_of_every_chunk_taken_back(tmp_path: Path, small_chunks: None) -> None:
    """`on_rows` (validate's progress bar) hears each chunk's rows, in all the file's."""
    told: list[int] = []
    streamed = stream_file(SAMPLE, settings(tmp_path), None, on_rows=told.append)
    assert sum(told) == streamed.rows == 5_000
    assert told[:2] == [700, 700]


def test_a_stop_keeps_the_rows_read_in_order_and_nothing_after(
    tmp_path: Path, small_chunks: None
) -> None:
    """Stopped before the 4th chunk: the 3 chunks read, every row judged, the file's sha256."""
    streamed = stream_file(SAMPLE, settings(tmp_path), None, stop=StopAt(4))
    assert streamed.stopped == "SIGTERM"
    numbers = [result.row.number for result in streamed.kept]
    assert len(numbers) == 3 * 700  # those in the helper too
    assert numbers == list(range(2, 2 + len(numbers)))  # a prefix of the sheet
    assert streamed.last_row == numbers[-1]
    assert streamed.rows == len(numbers) == sum(streamed.counts.values())
    assert streamed.source.sha256 == sha256_of(SAMPLE)


def test_a_stop_before_the_first_chunk_reads_the_header_only(tmp_path: Path) -> None:
    """A switch flipped before the run: no row, the header and mapping known."""
    switch = StopSwitch()
    switch.request("SIGINT")
    streamed = stream_file(SAMPLE, settings(tmp_path), None, stop=switch)
    assert (streamed.stopped, streamed.rows, streamed.kept, streamed.last_row) == (
        "SIGINT",
        0,
        [],
        0,
    )
    assert streamed.mapping["phonenumber"]


def test_a_stopped_spool_holds_the_rows_read(
    tmp_path: Path, small_chunks: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A file expected large, stopped early: its spool has the rows read; it is not read again."""
    monkeypatch.setattr(streaming, "LARGE_BYTES_PER_ROW", 0)
    chosen = settings(tmp_path, limit=100_000)
    target = SpoolTarget(*twin_paths(tmp_path / "r.results.xlsx"))
    streamed = stream_file(SAMPLE, chosen, target, stop=StopAt(3))
    assert streamed.spool is not None
    lines = streamed.spool.path.read_text(encoding="utf-8-sig").splitlines()
    streamed.spool.discard()
    assert streamed.rows == len(lines) - 1 == 2 * 700  # a header line, then a line a row
    assert all(result.status is not Status.WOULD_REGISTER for result in streamed.kept)
