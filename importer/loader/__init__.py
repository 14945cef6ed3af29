"""Loader: a partner's file -> its header and raw rows of text cells, read lazily.

`load_file` tells the format by content (`detect`), reads CSV text (`text`: encoding,
delimiter, one pass that also hashes the file; `charset`: the code page of a file that
is not UTF-8) or a workbook sheet (`workbook`, through
python-calamine), and finds the table in it (`layout`: header below any title rows,
blank rows skipped and counted). Every row keeps the row number the partner sees.

The rows of the returned `LoadedFile` are an iterator: the file is read while they are
consumed, so a 1M-row file never sits in memory as Python objects. Problems found on
the way (a byte that does not decode halfway down a CSV) raise when they are reached;
facts known only at the end (blank rows, a CSV's sha256) complete `source` then.

Refused with a one-line `UnreadableFileError` or `MappingError` naming the file (exit
code 2): a missing, empty or binary file, a damaged or hostile workbook, a file with
no header, or with a header and no data row below it.
"""

from __future__ import annotations

import hashlib
import logging
import weakref
from collections.abc import Callable, Iterator
from dataclasses import replace
from pathlib import Path

from importer.config import InputSettings
from importer.loader.detect import WORKBOOK_FORMATS, detect_format
from importer.loader.layout import (
    HEADER_SEARCH_ROWS,
    HeaderNotFound,
    RowCounts,
    Table,
    is_ragged,
    read_table,
)
from importer.loader.text import CsvReader, DecodedBytes, sniff_delimiter
from importer.loader.workbook import EXACT_INTEGER_LIMIT, cell_text, read_workbook
from importer.logs import event, get_logger
from importer.models import LoadedFile, RawRow, SourceInfo

_Completion = Callable[[SourceInfo], SourceInfo]

__all__ = [
    "EXACT_INTEGER_LIMIT",
    "HEADER_SEARCH_ROWS",
    "WORKBOOK_FORMATS",
    "cell_text",
    "detect_format",
    "is_ragged",
    "load_file",
    "sniff_delimiter",
]


def load_file(path: Path, options: InputSettings) -> LoadedFile:
    """Read `path` (CSV/TSV/TXT, XLSX, XLSM, XLSB, XLS or ODS): its header now, rows lazily."""
    file_format = detect_format(path)
    if file_format == "csv":
        if options.sheet is not None:
            _sheet_ignored(path, options.sheet)
        return _load_csv(path, options)
    digest = sha256_of(path)
    sheet, table = read_workbook(path, file_format, options)
    source = SourceInfo(
        path=path,
        format=file_format,
        sha256=digest,
        header=table.header,
        header_row=table.header_row,
        sheet=sheet,
    )
    return _lazy(source, table, lambda done: done)


def _sheet_ignored(path: Path, sheet: str) -> None:
    """A sheet asked for (`--sheet`, `[input] sheet`) of a CSV file: one warning, not an error."""
    message = f'{path.name} is a CSV file, which has no sheets: the sheet "{sheet}" is ignored'
    event(get_logger(__name__), "sheet_ignored", message, level=logging.WARNING, sheet=sheet)


def _load_csv(path: Path, options: InputSettings) -> LoadedFile:
    reader = CsvReader(path, options.encoding, options.delimiter)
    try:
        table = read_table(reader.records(), path, options.columns)
    except HeaderNotFound as missing:
        reader.close()
        raise missing.error from None
    except BaseException:
        reader.close()
        raise
    source = SourceInfo(
        path=path,
        format="csv",
        sha256="",
        header=table.header,
        header_row=table.header_row,
        delimiter=reader.dialect.delimiter,
    )

    def complete(done: SourceInfo) -> SourceInfo:
        return _encoding_facts(replace(done, sha256=reader.feed.sha256 or ""), reader.feed)

    return _lazy(_encoding_facts(source, reader.feed), table, complete)


def _encoding_facts(source: SourceInfo, feed: DecodedBytes) -> SourceInfo:
    """The encoding in use, and how it was detected (final for a file read in one chunk)."""
    guess = feed.guess
    if guess is None:
        return replace(source, encoding=feed.encoding)
    return replace(
        source,
        encoding=feed.encoding,
        encoding_detection=guess.describe(),
        encoding_confidence=guess.confidence,
    )


def _lazy(source: SourceInfo, table: Table, complete: _Completion) -> LoadedFile:
    """A LoadedFile whose `source` is completed when its rows have all been read."""
    loaded = LoadedFile(source=source, rows=iter(()))
    loaded.rows = _rows_then_complete(weakref.ref(loaded), table.rows, table.counts, complete)
    return loaded


def _rows_then_complete(
    owner: weakref.ref[LoadedFile],
    rows: Iterator[RawRow],
    counts: RowCounts,
    complete: _Completion,
) -> Iterator[RawRow]:
    """The rows, then the end-of-file facts into the owner's `source`.

    A weak reference, so that dropping an unread LoadedFile closes its file at once.
    """
    yield from rows
    loaded = owner()
    if loaded is not None:
        loaded.source = complete(replace(loaded.source, blank_rows=counts.blank_rows))
        loaded.complete = True


def sha256_of(path: Path) -> str:
    """The sha256 of the file's bytes (what the journal and the inbox ledger key on)."""
    with path.open("rb") as stream:
        return hashlib.file_digest(stream, "sha256").hexdigest()
