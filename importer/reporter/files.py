"""Which report files a run writes, and writing them all or not at all.

`plan_reports` decides, before anything is written (the summary names the main file):

* the workbook, unless `report_format` is "csv" (or the report path ends in .csv);
* the CSV twins `<stem>.results.csv` and `<stem>.errors.csv` beside it, `<stem>` the
  report's name without `.results.xlsx` (`numbers.csv`: `default_report_path`) (and, for a
  report with a Deletes sheet, `<stem>.deletes.csv`: `ReportFiles.with_deletes`), for
  CSV input or with `report_format` "csv"/"both", and always when the rows are more than
  `workbook_row_limit`: then the workbook keeps Summary, Errors and Retry only, and
  its Errors sheet at most `workbook_row_limit` lines (`errors_sheet_lines`; all of
  them are in the errors CSV).

A report replaces every file of an earlier report of the same name: the CSV twins it
does not write are removed once it is in place (`remove_stale`).

`write_all` writes every file to a temporary name beside its target and, once all of
them are complete, moves each onto its target with `os.replace`: a reader never sees a
half-written report, and a failure leaves the previous reports as they were. No target
may be the input file. Report files hold partners' numbers and account details: each
is written inside a folder only its owner can open, then made readable by its owner
only (`REPORT_MODE`, 0o600, whatever the umask) before it is moved into place.
"""

from __future__ import annotations

import contextlib
import os
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import TextIO

from xlsxwriter.exceptions import XlsxWriterException

from importer.config import ReportSettings
from importer.errors import ConfigError

Writer = Callable[[Path], None]

RESULTS_SUFFIX = ".results"
DELETES_SUFFIX = ".deletes"
REPORT_MODE = 0o600
PRIVATE_FOLDER_MODE = 0o700
CSV_SUFFIX = ".csv"


@dataclass(frozen=True, slots=True, kw_only=True)
class ReportFiles:
    """The files of one report; `main` is the one a user is pointed at."""

    workbook: Path | None
    results_csv: Path | None = None
    errors_csv: Path | None = None
    deletes_csv: Path | None = None  # a plan's or apply's Deletes sheet as CSV (`with_deletes`)
    results_in_workbook: bool = True
    errors_sheet_lines: int | None = None  # the most the Errors sheet shows (None: a sheet's)

    @property
    def main(self) -> Path:
        """The workbook, else the results CSV."""
        main = self.workbook or self.results_csv
        assert main is not None, "a report has a workbook or a results CSV"
        return main

    @property
    def paths(self) -> list[Path]:
        """Every file of the report, the main one first."""
        files = (self.workbook, self.results_csv, self.errors_csv, self.deletes_csv)
        return [path for path in files if path is not None]

    def with_deletes(self) -> ReportFiles:
        """These files and `<stem>.deletes.csv`, when the report has CSV twins."""
        if self.results_csv is None or self.deletes_csv is not None:
            return self
        return replace(self, deletes_csv=deletes_path(self.main))


def default_report_path(input_path: Path, report_dir: Path) -> Path:
    """Where the report goes when no --report is given: `<dir>/<name>.results.xlsx`,
    `<name>` the input's whole file name (`numbers.csv.results.xlsx`), so that inputs
    differing only by extension (`numbers.csv`, `numbers.xlsx`) never share a report."""
    return report_dir / f"{input_path.name}{RESULTS_SUFFIX}.xlsx"


def twin_paths(report_path: Path) -> tuple[Path, Path]:
    """`<stem>.results.csv` and `<stem>.errors.csv` beside the report."""
    stem = report_path.stem.removesuffix(RESULTS_SUFFIX)
    folder = report_path.parent
    return folder / f"{stem}{RESULTS_SUFFIX}.csv", folder / f"{stem}.errors.csv"


def deletes_path(report_path: Path) -> Path:
    """`<stem>.deletes.csv` beside the report: the Deletes sheet's twin."""
    stem = report_path.stem.removesuffix(RESULTS_SUFFIX)
    return report_path.parent / f"{stem}{DELETES_SUFFIX}.csv"


def stale_twins(files: ReportFiles) -> list[Path]:
    """The CSV twins named after `files.main` that `files` does not write: left there by
    an earlier report of that name, they would be read as this report's."""
    named = (*twin_paths(files.main), deletes_path(files.main))
    return [path for path in named if path not in files.paths]


def remove_stale(files: ReportFiles, input_file: Path) -> None:
    """Remove `stale_twins(files)`, never the input file (a results CSV fed back);
    raise `ConfigError` when one cannot be removed."""
    for path in stale_twins(files):
        if same_file(path, input_file):
            continue
        try:
            path.unlink(missing_ok=True)
        except OSError as error:
            raise ConfigError(
                f"{path}: cannot remove this CSV twin of an earlier report ({reason(error)})"
            ) from None


def plan_reports(
    report_path: Path,
    *,
    rows: int,
    source_format: str,
    settings: ReportSettings,
    spooled: bool = False,
) -> ReportFiles:
    """Which files a report of `rows` rows read from a `source_format` file is written to.

    `spooled`: the rows' results are already in a results CSV spool (a file expected
    to pass the limit, whose read was stopped before it did): laid out as past the limit.
    """
    chosen = settings.report_format
    if chosen is None and report_path.suffix.lower() == CSV_SUFFIX:
        chosen = "csv"
    over_limit = rows > settings.workbook_row_limit or spooled
    twins = over_limit or chosen in ("csv", "both") or (chosen is None and source_format == "csv")
    results_csv, errors_csv = twin_paths(report_path) if twins else (None, None)
    workbook = None if chosen == "csv" else report_path
    return ReportFiles(
        workbook=workbook,
        results_csv=results_csv,
        errors_csv=errors_csv,
        results_in_workbook=workbook is not None and not over_limit,
        errors_sheet_lines=settings.workbook_row_limit if over_limit else None,
    )


def refuse_input(paths: Sequence[Path], input_file: Path, what: str = "report") -> None:
    """Raise `ConfigError` when one of `paths` is the input file."""
    for path in paths:
        if same_file(path, input_file):
            raise ConfigError(
                f"{path}: the {what} would overwrite the input file; choose another path"
            )


def same_file(first: Path, second: Path) -> bool:
    """True when both paths name one file (or would, once created)."""
    try:
        return os.path.samefile(first, second)
    except OSError:
        return first.resolve() == second.resolve()


def write_all(jobs: Sequence[tuple[Path, Writer]], what: str = "report") -> None:
    """Write each file to a temporary name, then move them all into place."""
    temporaries = [_temporary(path) for path, _ in jobs]
    current = jobs[0][0] if jobs else Path()
    try:
        for (current, write), temporary in zip(jobs, temporaries, strict=True):
            current.parent.mkdir(parents=True, exist_ok=True)
            temporary.parent.mkdir(mode=PRIVATE_FOLDER_MODE)
            write(temporary)
            os.chmod(temporary, REPORT_MODE)
        for (current, _), temporary in zip(jobs, temporaries, strict=True):
            os.replace(temporary, current)
    except (OSError, XlsxWriterException) as error:
        raise ConfigError(f"{current}: cannot write the {what} ({reason(error)})") from None
    finally:
        for temporary in temporaries:
            temporary.unlink(missing_ok=True)
            with contextlib.suppress(OSError):
                temporary.parent.rmdir()


def create_private(path: Path, encoding: str = "utf-8") -> TextIO:
    """A new text file only its owner can read (`REPORT_MODE`); fails if `path` exists."""
    descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, REPORT_MODE)
    try:
        os.fchmod(descriptor, REPORT_MODE)  # exactly 0600, whatever the umask
        return open(descriptor, "w", encoding=encoding, newline="")
    except BaseException:
        os.close(descriptor)
        path.unlink(missing_ok=True)
        raise


def _temporary(path: Path) -> Path:
    """A name in a private folder beside `path`: same file system, no one else can look in."""
    return path.with_name(f".{path.name}.{uuid.uuid4().hex[:12]}.tmp") / path.name


def reason(error: Exception) -> str:
    """An OS or xlsxwriter failure as one short reason."""
    if isinstance(error, OSError) and error.strerror:
        return error.strerror
    cause = error.__context__
    if isinstance(cause, OSError) and cause.strerror:
        return cause.strerror
    return str(error) or type(error).__name__
