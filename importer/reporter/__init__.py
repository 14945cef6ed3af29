"""Reporter: the results workbook, its CSV twins and the JSON summary.

Layers, each reusable on its own:

* `flatten` (pure): the pipeline's records as plain rows of cells;
* `headline` (pure): the run in one sentence, first on the Summary sheet (exported for
  any other place that says how a run went);
* `layout`: those rows as the workbook's sheets (Results, Summary, Errors, Retry);
* `workbook` / `csvout`: the writers, formula-free (xlsxwriter with every conversion
  off and explicit cell types; CSV cells that a spreadsheet would run neutralised);
* `files`: which files a run writes (`plan_reports`), and writing them all or none.

`write_report` is what `importer.api` calls::

    files = plan_reports(path, rows=len(results), source_format="csv", settings=settings.report)
    write_report(files, ReportData(header=header, results=results, summary=summary))

Sheet order: Results, Summary, Errors, Retry. When the rows are more than the
workbook holds, Results is left to the CSV twin and the order is Retry, Summary
(opened first, with a note saying where the rows are), Errors: whichever way the
workbook is fed back to `did-import`, the first sheet it reads is in the partner's
layout, never a sheet of ours whose cells could pass for a header. A plan or apply
report (`ReportData.has_deletes`) has a Deletes sheet after Results (last when Results
is left out), and, with CSV twins, `<stem>.deletes.csv`.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path

from importer.reporter import csvout, flatten, layout
from importer.reporter.files import (
    ReportFiles,
    default_report_path,
    plan_reports,
    refuse_input,
    remove_stale,
    twin_paths,
    write_all,
)
from importer.reporter.headline import headline
from importer.reporter.items import redact_url, report_options
from importer.reporter.layout import ReportData, SheetCounts
from importer.reporter.summary import RunSummary, charted_statuses
from importer.reporter.workbook import CountChart, Sheet, render_workbook

__all__ = [
    "ReportData",
    "ReportFiles",
    "default_report_path",
    "headline",
    "plan_reports",
    "redact_url",
    "report_options",
    "twin_paths",
    "write_report",
    "write_summary_json",
]


def write_report(files: ReportFiles, data: ReportData) -> ReportFiles:
    """Write every file of `files` from `data`, atomically; return `files`.

    Raises `ConfigError` when a file would be the input file or cannot be written.
    """
    if data.has_deletes:
        files = files.with_deletes()
    input_file = Path(data.summary.input.file)
    refuse_input(files.paths, input_file)
    counts = layout.count_lines(data)
    jobs = []
    if files.workbook is not None:
        extra = _file_items(files, counts, data.has_deletes)
        items = layout.summary_items(data, extra, counts.attention)
        jobs.append((files.workbook, lambda target: _render(target, files, data, items)))
    spool = data.results_spool
    if files.results_csv is not None and spool is not None:
        jobs.append((files.results_csv, lambda target: os.replace(spool, target)))
    elif files.results_csv is not None:
        jobs.append((files.results_csv, lambda target: _results_csv(target, data)))
    errors_spool = data.errors_spool
    if files.errors_csv is not None and errors_spool is not None:
        jobs.append((files.errors_csv, lambda target: os.replace(errors_spool, target)))
    elif files.errors_csv is not None:
        jobs.append((files.errors_csv, lambda target: _errors_csv(target, data)))
    if files.deletes_csv is not None:
        jobs.append((files.deletes_csv, lambda target: _sheet_csv(target, data, _deletes)))
    write_all(jobs)
    remove_stale(files, input_file)
    return files


def write_summary_json(path: Path, summary: RunSummary) -> Path:
    """Write the run summary as JSON atomically (base URL redacted); return its path."""
    refuse_input([path], Path(summary.input.file), "summary")
    safe = summary.model_copy(update={"base_url": redact_url(summary.base_url)})
    text = safe.model_dump_json(indent=2) + "\n"

    def write(target: Path) -> None:
        with target.open("x", encoding="utf-8") as handle:
            handle.write(text)

    write_all([(path, write)], "summary")
    return path


def _render(target: Path, files: ReportFiles, data: ReportData, items: list[flatten.Item]) -> None:
    summary = layout.summary_sheet(items, active=not files.results_in_workbook)
    errors = layout.errors_sheet(data, files.errors_sheet_lines)
    retry = layout.retry_sheet(data)
    deletes = [layout.deletes_sheet(data)] if data.has_deletes else []
    sheets: list[Sheet]
    if files.results_in_workbook:
        sheets = [layout.results_sheet(data), *deletes, summary, errors, retry]
    else:
        sheets = [retry, summary, errors, *deletes]
    summary_data = data.summary
    charted = charted_statuses(summary_data.counts, summary_data.mode)
    render_workbook(target, sheets, CountChart(layout.SUMMARY_SHEET, items, charted))


def _results_csv(target: Path, data: ReportData) -> None:
    _sheet_csv(target, data, layout.results_sheet)


def _deletes(data: ReportData) -> Sheet:
    """Every line of the Deletes sheet (its CSV twin is not capped)."""
    return layout.deletes_sheet(data, capped=False)


def _sheet_csv(target: Path, data: ReportData, make: Callable[[ReportData], Sheet]) -> None:
    sheet = make(data)
    csvout.write_csv(
        target, sheet.columns, layout.cell_rows(sheet.lines), data.summary.input.delimiter
    )


def _errors_csv(target: Path, data: ReportData) -> None:
    mapping = data.used_mapping
    rows = (
        line for result in data.results for line in flatten.error_rows(data.header, result, mapping)
    )
    csvout.write_csv(target, flatten.ERROR_COLUMNS, rows, data.summary.input.delimiter)


def _file_items(files: ReportFiles, counts: SheetCounts, has_deletes: bool) -> list[flatten.Item]:
    """Where each file is, and notes for whatever the workbook does not hold."""
    items: list[flatten.Item] = []
    capacity = layout.sheet_capacity()
    if not files.results_in_workbook and files.results_csv is not None:
        items.append(
            (
                layout.NOTE_ITEM,
                f"The per-row results ({counts.results:,} rows) are in "
                f"{files.results_csv.name}, beside this workbook: more rows than the "
                "workbook is set to hold.",
            )
        )
    shown = layout.lines_shown(files.errors_sheet_lines)
    if counts.errors > shown:
        rest = f"all are in {files.errors_csv.name if files.errors_csv else 'the errors CSV'}"
        items.append(layout.capped_note(layout.ERRORS_SHEET, shown, counts.errors, rest))
    if counts.retry > capacity:
        rest = (
            "the others are in the results CSV (status invalid, failed, not_attempted or blocked)"
        )
        items.append(layout.capped_note(layout.RETRY_SHEET, capacity, counts.retry, rest))
    if counts.deletes > capacity:
        rest = f"all are in {files.deletes_csv.name if files.deletes_csv else 'the deletes CSV'}"
        items.append(layout.capped_note(layout.DELETES_SHEET, capacity, counts.deletes, rest))
    items += [
        ("report: results csv", str(files.results_csv) if files.results_csv else None),
        ("report: errors csv", str(files.errors_csv) if files.errors_csv else None),
        *([("report: deletes csv", str(files.deletes_csv))] if files.deletes_csv else []),
        ("lines in Errors", counts.errors),
        ("rows in Retry", counts.retry),
        *([("rows in Deletes", counts.deletes)] if has_deletes else []),
    ]
    return items
