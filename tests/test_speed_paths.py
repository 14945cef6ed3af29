"""The fast paths give exactly what the plain paths give: statuses, codes, numbers, files.

Fast paths (issue 9): streaming validation with results spilled to a CSV spool
(`importer.validate.streaming`), NANP numbers read without `phonenumbers.parse`
(`importer.validate.nanp`), worksheet rows written as XML text (`importer.reporter.fastrows`).
The plain path is the stage-by-stage one: the whole file loaded, validated as a list
(`validate_rows`),
reported from the list, with the fast paths switched off.
"""

from __future__ import annotations

import csv
import io
import pickle
import random
import subprocess
import sys
import zipfile
from collections import Counter
from collections.abc import Callable
from concurrent.futures import Future
from concurrent.futures.process import BrokenProcessPool
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path
from typing import cast

import openpyxl
import phonenumbers
import pytest

from importer.api import RunOutcome, validate_file
from importer.config import ReportSettings, RowDefaults, Settings
from importer.loader import load_file
from importer.mapping import build_mapping
from importer.models import NO_EXTRA, RawRow, RowResult, Status
from importer.reporter import ReportFiles, flatten, workbook, write_report
from importer.reporter.csvout import ENCODING, csv_cells
from importer.reporter.layout import ReportData
from importer.reporter.lines import ErrorLines, ReportLines, ResultLines
from importer.reporter.spool import ResultsSpool
from importer.reporter.summary import InputFacts, RunSummary
from importer.run.outcome import Ending, write_outcome
from importer.send.operations import register
from importer.validate import catalogue, chunks, nanp, phone, streaming
from importer.validate.rows import validate_rows
from importer.validate.streaming import StreamedFile

SPEED = Path(__file__).resolve().parent / "fixtures" / "speed"
NANP_FORMS = ("+1{}", "1{}", "{}", "001{}", "+1 {}")
NANP_AREAS = ("205", "212", "415", "876", "787", "684", "800", "900", "500", "264", "011")


def settings(out: Path, *, limit: int = 200_000, report_format: str | None = None) -> Settings:
    """US numbers, reports in `out`, the given workbook row limit and report format."""
    chosen = {"report_dir": out, "workbook_row_limit": limit, "report_format": report_format}
    report = ReportSettings.model_validate(chosen)
    return Settings(defaults=RowDefaults(default_region="US"), report=report)


def plain(path: Path, chosen: Settings, monkeypatch: pytest.MonkeyPatch) -> RunOutcome:
    """The stage-by-stage path with every fast path off: a list of results, reported."""
    with monkeypatch.context() as patch:
        patch.setattr(phone, "FAST_NANP", False)
        patch.setattr(workbook, "FAST_ROWS", False)
        started = datetime.now(UTC)
        loaded = load_file(path, chosen.input)
        mapping = build_mapping(loaded.source.header, chosen.input.columns, source=path.name)
        results = validate_rows(loaded.rows, mapping, chosen.defaults, chosen.validation)
        counts = Counter(result.status for result in results)
        listed = StreamedFile(loaded.source, mapping.describe(), results, counts, len(results))
        return write_outcome(listed, chosen, Ending(mode="validate", started=started))


def essentials(results: list[RowResult]) -> list[tuple[object, ...]]:
    """What must match: row, status, issue codes, sid, number, payload."""
    return [
        (
            r.row.number,
            r.status,
            tuple(i.code for i in r.issues),
            r.external_did_sid,
            r.normalized_phonenumber,
            r.payload,
        )
        for r in results
    ]


def sheet_values(path: Path, name: str) -> list[tuple[object, ...]]:
    """Every row of one sheet, as values."""
    book = openpyxl.load_workbook(path, read_only=True)
    try:
        return list(book[name].iter_rows(values_only=True))
    finally:
        book.close()


@pytest.mark.parametrize("sample", ["partner_5k.xlsx", "partner_5k.csv"])
def test_streamed_validation_matches_the_plain_path(
    sample: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """On a 5,000-row file, every row gets the same status, codes, sid and number both ways."""
    fast = validate_file(SPEED / sample, settings(tmp_path / "fast"))
    slow = plain(SPEED / sample, settings(tmp_path / "plain"), monkeypatch)
    assert len(fast.results) == len(slow.results) == 5_000
    assert essentials(fast.results) == essentials(slow.results)
    assert fast.summary.counts == slow.summary.counts
    assert {Status.INVALID, Status.DUPLICATE, Status.WOULD_REGISTER} <= {
        r.status for r in slow.results
    }
    for sheet in ("Results", "Errors", "Retry"):
        assert sheet_values(fast.report_path, sheet) == sheet_values(slow.report_path, sheet)


def test_spilled_results_csv_is_the_plain_results_csv(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Past the workbook limit, the spooled results and errors CSVs equal the plain ones."""
    sample = SPEED / "partner_5k.xlsx"
    fast = validate_file(sample, settings(tmp_path / "fast", limit=1_000))
    slow = plain(sample, settings(tmp_path / "plain", limit=1_000), monkeypatch)
    for name in ("partner_5k.xlsx.results.csv", "partner_5k.xlsx.errors.csv"):
        assert (tmp_path / "fast" / name).read_bytes() == (tmp_path / "plain" / name).read_bytes()
    for sheet in ("Errors", "Retry"):
        assert sheet_values(fast.report_path, sheet) == sheet_values(slow.report_path, sheet)
    assert fast.summary.counts == slow.summary.counts
    assert fast.summary.input.data_rows == 5_000
    assert all(not r.status.ended_well or r.errors for r in fast.results)  # problems only
    assert [p.name for p in (tmp_path / "fast").iterdir() if p.name.startswith(".")] == []


@pytest.mark.parametrize(
    ("limit", "bytes_per_row", "passes"),
    [
        (1_000, 10**6, 1),  # results kept until the limit, then spilled
        (1_000, 0, 1),  # expected large: lines from the first chunk
        (200_000, 0, 2),  # expected large, wrongly: validated again as results
    ],
)
def test_chunks_judged_in_two_processes_give_the_plain_report(
    limit: int, bytes_per_row: int, passes: int, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Chunks of 700 rows shared with the helper process: same rows, codes, sheets and CSVs,
    whether the file was expected to pass the workbook limit or not, rightly or wrongly."""
    sample = SPEED / "partner_5k.xlsx"
    slow = plain(sample, settings(tmp_path / "plain", limit=limit), monkeypatch)
    monkeypatch.setattr(streaming, "CHUNK_ROWS", 700)
    monkeypatch.setattr(streaming, "HELPER_MIN_BYTES", 0)
    monkeypatch.setattr(streaming, "LARGE_BYTES_PER_ROW", bytes_per_row)
    helped: list[int] = []
    monkeypatch.setattr(chunks.ChunkPool, "submit", _counting(chunks.ChunkPool.submit, helped))
    streams: list[int] = []
    monkeypatch.setattr(
        streaming._Streamer, "stream", _counting(streaming._Streamer.stream, streams)
    )
    fast = validate_file(sample, settings(tmp_path / "fast", limit=limit))
    assert len(streams) == passes
    assert len(helped) >= 2  # the helper process judged some of the 8 chunks
    assert essentials(fast.results) == essentials(
        [r for r in slow.results if limit > 5_000 or not r.status.ended_well or r.errors]
    )
    assert fast.summary.counts == slow.summary.counts
    for sheet in ("Errors", "Retry") if limit < 5_000 else ("Results", "Errors", "Retry"):
        assert sheet_values(fast.report_path, sheet) == sheet_values(slow.report_path, sheet)
    written = sorted(path.name for path in (tmp_path / "plain").iterdir())
    assert sorted(path.name for path in (tmp_path / "fast").iterdir()) == written
    assert ("partner_5k.xlsx.results.csv" in written) == (limit < 5_000)
    for name in (name for name in written if name.endswith(".csv")):
        assert (tmp_path / "fast" / name).read_bytes() == (tmp_path / "plain" / name).read_bytes()


def _counting(function: Callable[..., object], calls: list[int]) -> Callable[..., object]:
    """`function`, counting its calls in `calls`."""

    def counted(*args: object, **kwargs: object) -> object:
        calls.append(len(args))
        return function(*args, **kwargs)

    return counted


def test_nanp_type_is_number_type_for_every_region_and_kind() -> None:
    """`nanp_type` answers as `number_type` does: every NANP region's example of every
    type, and 20,000 random ten-digit numbers under the area codes those examples use."""
    regions = phonenumbers.COUNTRY_CODE_TO_REGION_CODE[1]
    examples = [
        phonenumbers.example_number_for_type(region, kind)
        for region in regions
        for kind in nanp.PhoneNumberType.values()
    ]
    nationals = {str(example.national_number) for example in examples if example is not None}
    pick = random.Random(1)
    areas = sorted({national[:3] for national in nationals})
    nationals |= {f"{pick.choice(areas)}{pick.randrange(10**7):07d}" for _ in range(20_000)}
    kinds = set()
    for national in sorted(nationals):
        expected = phonenumbers.number_type(phonenumbers.PhoneNumber(1, int(national)))
        assert nanp.nanp_type(national) == expected, national
        kinds.add(expected)
    assert len(kinds) >= 6  # fixed line, mobile, toll free, premium, personal, unknown...


def test_nanp_home_digits_are_the_national_format() -> None:
    """A valid NANP number's national form is its ten digits, as `nanp_home_digits` says:
    every NANP region's examples and 20,000 random valid numbers (a seven-digit one, and
    other countries, get None: the slow path formats them)."""
    pick = random.Random(2)
    numbers = [
        phonenumbers.example_number_for_type(region, kind)
        for region in phonenumbers.COUNTRY_CODE_TO_REGION_CODE[1]
        for kind in nanp.PhoneNumberType.values()
    ]
    numbers += [
        phonenumbers.PhoneNumber(1, pick.randrange(2 * 10**9, 10**10)) for _ in range(20_000)
    ]
    valid = [number for number in numbers if number and phonenumbers.is_valid_number(number)]
    assert len(valid) > 5_000
    answered = 0
    for number in valid:
        national = phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.NATIONAL)
        e164 = phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)
        home = nanp.nanp_home_digits(e164[1:])
        assert home in (None, "".join(filter(str.isdigit, national))), e164
        answered += home is not None
    assert answered > 0.99 * len(valid)  # all but short ones (CA's seven-digit UAN example)
    assert nanp.nanp_home_digits("4930123456") is None


@pytest.mark.parametrize("region", ["US", "CA", "JM", "AG", "DE", None])
def test_nanp_fast_path_gives_what_phonenumbers_gives(
    region: str | None, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Thousands of random NANP-shaped cells read the same with and without the fast path."""
    pick = random.Random(region or "none")
    texts = []
    for _ in range(3_000):
        if pick.random() < 0.5:
            national = f"{pick.randrange(10**10):010d}"
        else:
            national = f"{pick.choice(NANP_AREAS)}{pick.randrange(10**7):07d}"
        texts.append(pick.choice(NANP_FORMS).format(national))
    fast = [phone._read_text(text, region) for text in texts]
    monkeypatch.setattr(phone, "FAST_NANP", False)
    slow = [phone._read_text(text, region) for text in texts]
    assert fast == slow
    assert sum(reading.digits is not None for reading in slow) > 500


def _results(count: int) -> list[RowResult]:
    cells = [
        ("+1 205 905 1025", "3", " lead", 'a&b<c>"q"'),
        ("x\x01y_x0041_", "é\u2028", "tail ", "\ufffe"),
        ("", "", "", ""),
        ("+44 7911 123456", "=1+1", "x" * 40_000, "27"),
    ]
    statuses = (Status.WOULD_REGISTER, Status.INVALID, Status.FAILED, Status.DUPLICATE)
    return [
        RowResult(row=RawRow(n + 2, cells[n % 4]), status=statuses[n % 4], attempts=n % 3)
        for n in range(count)
    ]


def _data(results: list[RowResult], folder: Path) -> ReportData:
    now = datetime.now(UTC)
    facts = InputFacts(
        file=str(folder / "in.csv"), sha256="0", format="csv", header_row=1, data_rows=1
    )
    summary = RunSummary(
        tool_version="t",
        phonenumbers_version="p",
        mode="validate",
        input=facts,
        counts={},
        started_at=now,
        finished_at=now,
        duration_seconds=1,
        rows_per_second=1,
        exit_code=1,
    )
    return ReportData(header=("Phone", "Caps", "Name", "Notes"), results=results, summary=summary)


def test_fast_rows_write_the_xml_xlsxwriter_writes(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Every sheet's XML is byte for byte what xlsxwriter's cell-by-cell path writes."""
    results = _results(400)
    parts = {}
    for fast in (True, False):
        monkeypatch.setattr(workbook, "FAST_ROWS", fast)
        target = tmp_path / f"{fast}.xlsx"
        write_report(ReportFiles(workbook=target), _data(results, tmp_path))
        with zipfile.ZipFile(target) as archive:
            parts[fast] = {
                name: archive.read(name)
                for name in archive.namelist()
                if name.startswith("xl/") and "sheet2" not in name  # Summary: timings
            }
    assert parts[True] == parts[False]


def test_a_wrapped_note_gets_the_height_of_its_lines(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A long note is as tall as its wrapped lines; sheet and chart XML equal on either path."""
    note = "The per-row results (250,000 rows) are in r.results.csv, beside this workbook. " * 3
    items = [("note", note), ("note", note), ("invalid", 3), ("duplicate", 5)]
    parts = {}
    for fast in (True, False):
        monkeypatch.setattr(workbook, "FAST_ROWS", fast)
        lines = [workbook.Line([name, value], {1: "note"} if name == "note" else {})
                 for name, value in items]  # fmt: skip
        sheet = workbook.Sheet(name="Summary", columns=("item", "value"), lines=lines)
        target = tmp_path / f"{fast}.xlsx"
        workbook.render_workbook(target, [sheet], workbook.CountChart("Summary", items))
        with zipfile.ZipFile(target) as archive:
            parts[fast] = {
                name: archive.read(name).decode()
                for name in ("xl/worksheets/sheet1.xml", "xl/drawings/drawing1.xml")
            }
    assert parts[True] == parts[False]
    xml = parts[True]["xl/worksheets/sheet1.xml"]
    assert '<row r="2" ht="45" customHeight="1">' in xml  # 246 characters, 85 a line: 3
    assert '<row r="4">' in xml


def test_an_errors_csv_with_a_digit_delimiter_quotes_row_numbers() -> None:
    """A row number holding the delimiter is quoted, as csv.writer would quote it."""
    issue = catalogue.ROW_DUPLICATE.issue(
        field="phonenumber", value="+1", first_row=2, first_mask=3
    )
    result = RowResult(row=RawRow(12, ("+1", "3")), status=Status.DUPLICATE, issues=(issue,))
    header, mapping = ("Phone", "Caps"), {"phonenumber": "Phone"}
    (text,) = ErrorLines(header, mapping, "1").texts([result])
    expected = io.StringIO()
    csv.writer(expected, delimiter="1").writerows(
        csv_cells(row) for row in flatten.error_rows(header, result, mapping)
    )
    assert text == expected.getvalue()
    assert text.startswith('"12"1')


def test_fast_rows_escape_a_cell_that_looks_like_rich_text(tmp_path: Path) -> None:
    """`<r>x</r>` is kept as text (xlsxwriter's own path would write it as raw XML)."""
    results = [RowResult(row=RawRow(2, ("<r>&</r>",)), status=Status.INVALID)]
    target = tmp_path / "r.xlsx"
    write_report(ReportFiles(workbook=target), _data(results, tmp_path))
    assert sheet_values(target, "Results")[1][0] == "<r>&</r>"


def test_spool_pads_lines_written_before_a_wider_row(tmp_path: Path) -> None:
    """A ragged row wider than the header widens every line, as if known from the start."""
    lines = ReportLines(("Phone", "Caps"), {"phonenumber": "Phone"}, ";")
    spool = ResultsSpool(tmp_path / "r.results.csv", tmp_path / "r.errors.csv", lines)
    first = [RowResult(row=RawRow(2, ("+1", "3")), status=Status.WOULD_REGISTER)]
    spool.add_results(first)
    later = [
        RowResult(row=RawRow(3, ("+2", "3", "extra")), status=Status.INVALID),
        RowResult(row=RawRow(4, ("+3",)), status=Status.INVALID),
    ]
    spool.add_results(later)
    path = spool.finish()
    with path.open(encoding=ENCODING, newline="") as handle:
        lines = list(csv.reader(handle, delimiter=";"))
    assert lines[0][:4] == ["Phone", "Caps", "", "status"]
    assert [line[:4] for line in lines[1:]] == [
        ["+1", "3", "", "would_register"],
        ["+2", "3", "extra", "invalid"],
        ["+3", "", "", "invalid"],
    ]
    assert {len(line) for line in lines} == {11}


def _neighbours() -> list[RowResult]:
    """Rows in pairs and runs that repeat, and neighbours differing in one thing each."""
    first = catalogue.ROW_DUPLICATE.issue(
        field="phonenumber", value="+1", first_row=2, first_mask=3
    )
    other = replace(first, message="number +1 already appears in row 3")
    unvalued = replace(first, value=None)  # the errors line reads the cell instead
    rejected = register.API_REJECTED.issue(field="phonenumber", value="+9", detail="no")
    cells, wide = ("+1", "3"), ("+1", "3", "x")
    plain = {"row": RawRow(0, cells), "status": Status.DUPLICATE, "issues": (first,)}
    changes: list[dict[str, object]] = [
        {}, {}, {"status": Status.INVALID}, {}, {"normalized_phonenumber": "1"},
        {"row": RawRow(0, wide)}, {"row": RawRow(0, wide)}, {"issues": (other,)},
        {"issues": (other,)}, {}, {"issues": (unvalued,)}, {"issues": (unvalued,),
        "row": RawRow(0, ("+2", "3"))},
        {"status": Status.REJECTED, "issues": (rejected,), "http_status": 422, "attempts": 1},
        {"status": Status.REJECTED, "issues": (rejected,), "http_status": 422, "attempts": 2},
        {"status": Status.REJECTED, "issues": (rejected,), "http_status": 400, "attempts": 2},
        {"status": Status.REGISTERED, "issues": (), "external_did_sid": "a", "attempts": 1},
        {"status": Status.REGISTERED, "issues": (), "external_did_sid": "b", "attempts": 1},
    ]  # fmt: skip
    results = []
    for number, change in enumerate(changes, start=3):
        fields = plain | change
        row = cast(RawRow, fields.pop("row"))
        results.append(RowResult(row=RawRow(number, row.cells), **fields))  # type: ignore[arg-type]
    return results


def test_repeated_rows_reuse_their_lines_with_their_own_row_numbers() -> None:
    """Lines reused for repeated rows are the lines made row by row, each its own number."""
    results = _neighbours()
    header = ("Phone", "Caps")
    maker = ResultLines(len(header), ";")
    errors = ErrorLines(header, {"phonenumber": "Phone"}, ";")
    one_by_one = [maker.lines([result]) for result in results]
    assert maker.lines(results) == (
        [line for lines, _ in one_by_one for line in lines],
        {5: 3, 6: 3},
    )
    assert errors.texts(results) == [errors.texts([result])[0] for result in results]
    numbered = [text.split(";")[0] for text in errors.texts(results) if text]
    assert numbered == [str(result.row.number) for result in results if result.errors]


@pytest.mark.parametrize("extra", [None, {"reconciled": True}])
def test_records_cross_processes_unchanged(extra: dict[str, object] | None) -> None:
    """A result with its row and issues pickles as tuples and comes back equal."""
    issue = catalogue.ROW_DUPLICATE.issue(
        field="phonenumber", value="+1", first_row=2, first_mask=3
    )
    fields = {} if extra is None else {"extra": extra}
    result = RowResult(
        row=RawRow(7, ("+1", "3")), status=Status.DUPLICATE, issues=(issue,), **fields
    )
    again = pickle.loads(pickle.dumps(result))
    assert again == result
    assert (again.extra is NO_EXTRA) == (extra is None)


NO_GUARD_SCRIPT = """
from pathlib import Path
from importer.validate import chunks, streaming
from importer.api import validate_file
from importer.config import ReportSettings, RowDefaults, Settings

print("script body runs")
streaming.CHUNK_ROWS, streaming.HELPER_MIN_BYTES = 700, 0
calls = {"helped": 0, "here": 0}
submit, judge = chunks.ChunkPool.submit, chunks.ChunkJudge.judge
def helped(pool, rows, **mode):
    calls["helped"] += 1
    return submit(pool, rows, **mode)
def here(self, rows, **mode):
    calls["here"] += 1
    return judge(self, rows, **mode)
chunks.ChunkPool.submit, chunks.ChunkJudge.judge = helped, here
report = ReportSettings(report_dir=Path(OUT))
defaults = RowDefaults(default_region="US")
outcome = validate_file(Path(SAMPLE), Settings(defaults=defaults, report=report))
from importer.validate import phonebatch
phonebatch.PARALLEL_MIN_NUMBERS = 2
read = phonebatch.read_numbers(["+12025550123", "+442079460000", "2025550199"], "US", workers=2)
print("numbers", sorted(reading.digits for reading in read.values()))
print("exit", outcome.exit_code, "helped", calls["helped"], "here", calls["here"])
"""


def test_a_script_without_a_main_guard_gets_the_helper(tmp_path: Path) -> None:
    """Worker processes (the helper, the list path's number readers) do not run the
    caller's unguarded script again, as `spawn` would."""
    script = tmp_path / "plain_script.py"
    sample = SPEED / "partner_5k.xlsx"
    text = NO_GUARD_SCRIPT.replace("OUT", repr(str(tmp_path / "out")))
    script.write_text(text.replace("SAMPLE", repr(str(sample))))
    done = subprocess.run(
        [sys.executable, str(script)], capture_output=True, text=True, timeout=120, check=False
    )
    assert done.returncode == 0, done.stderr
    assert done.stderr == ""
    lines = done.stdout.splitlines()
    assert lines[0] == "script body runs"
    assert lines.count("script body runs") == 1
    assert lines[-2] == "numbers ['12025550123', '12025550199', '442079460000']"
    _, code, _, helped, _, here = lines[-1].split()
    assert code == "1"
    assert int(helped) >= 2
    assert int(helped) + int(here) == 8  # 5,000 rows in chunks of 700: none judged twice


def test_a_dead_helper_leaves_the_work_to_this_process(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """If the helper process dies, its chunks are judged here: the same report."""
    sample = SPEED / "partner_5k.xlsx"
    slow = plain(sample, settings(tmp_path / "plain", limit=1_000), monkeypatch)
    monkeypatch.setattr(streaming, "CHUNK_ROWS", 700)
    monkeypatch.setattr(streaming, "HELPER_MIN_BYTES", 0)

    def broken(pool: object, rows: list[RawRow], **mode: bool) -> Future[object]:
        future: Future[object] = Future()
        future.set_exception(BrokenProcessPool("the helper process died"))
        return future

    monkeypatch.setattr(chunks.ChunkPool, "submit", broken)
    fast = validate_file(sample, settings(tmp_path / "fast", limit=1_000))
    assert fast.summary.counts == slow.summary.counts
    for name in ("partner_5k.xlsx.results.csv", "partner_5k.xlsx.errors.csv"):
        assert (tmp_path / "fast" / name).read_bytes() == (tmp_path / "plain" / name).read_bytes()
