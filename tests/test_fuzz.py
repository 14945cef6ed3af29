"""Property tests: whatever the input, only the documented exceptions come out.

Random bytes under every supported file name, real workbooks with bytes flipped or cut,
and random CSV tables written in random dialects go through `load_file` (and all their
rows are read): the only exception allowed is an `ImporterError`, and a well-formed CSV
reads back exactly as written. The phone normaliser and the capability parser take any
text: they return a value or an issue, never raise. Each property runs a modest number
of examples here; its `_slow` twin runs many more (`pytest --run-slow`). The
coverage-guided twin of the CSV property is tests/fuzz/fuzz_csv.py (atheris).
"""

from __future__ import annotations

import csv
import io
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from importer.config import InputSettings
from importer.errors import ImporterError
from importer.loader import load_file
from importer.loader.layout import AHEAD_ROWS, is_data_below
from importer.validate.capabilities import parse_capabilities
from importer.validate.phone import normalize_phonenumber

FAST_EXAMPLES = 60
SLOW_EXAMPLES = 3000
FIXTURES = Path(__file__).parent / "fixtures" / "loader"
SUFFIXES = [".csv", ".txt", ".tsv", ".xlsx", ".xlsm", ".xlsb", ".xls", ".ods", ""]
WORKBOOKS = ["numeric_openpyxl.xlsx", "libreoffice.xls", "numbers.ods", "macro.xlsm"]
ENCODINGS = ["utf-8", "utf-8-sig", "utf-16", "utf-16-le", "utf-16-be"]
DELIMITERS = [",", ";", "\t", "|"]
QUOTING = [csv.QUOTE_MINIMAL, csv.QUOTE_ALL, csv.QUOTE_NONNUMERIC]
REGIONS = [None, "US", "us", "GB", "DE", "IN", "BR"]


def twice(*strategies: st.SearchStrategy[Any]) -> Callable[[Callable[..., None]], Any]:
    """`given(*strategies)` run fast, and a `slow`-marked twin with many more examples."""
    common: dict[str, Any] = {
        "deadline": None,
        "database": None,
        "suppress_health_check": [HealthCheck.too_slow, HealthCheck.data_too_large],
    }

    def make(body: Callable[..., None]) -> tuple[Any, Any]:
        fast = settings(max_examples=FAST_EXAMPLES, **common)(given(*strategies)(body))
        slow = settings(max_examples=SLOW_EXAMPLES, **common)(given(*strategies)(body))
        return fast, pytest.mark.slow(slow)

    return make


def read_all(
    data: bytes, suffix: str, options: InputSettings | None = None
) -> list[tuple[str, ...]]:
    """Write `data` to a file named *suffix, load it and read every row; the cells."""
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / f"input{suffix}"
        path.write_bytes(data)
        loaded = load_file(path, options or InputSettings())
        return [row.cells for row in loaded.rows]


def survives(data: bytes, suffix: str) -> None:
    """Loading `data` ends in rows or a one-line ImporterError, nothing else."""
    try:
        read_all(data, suffix)
    except ImporterError as error:
        message = error.message
    else:
        return
    assert message
    assert "\n" not in message


# -- the loader on random bytes -----------------------------------------------------------------


def _random_bytes(data: bytes, suffix: str) -> None:
    """Random bytes under any supported name: rows or an ImporterError."""
    survives(data, suffix)


test_loader_random_bytes, test_loader_random_bytes_slow = twice(
    st.binary(max_size=4096), st.sampled_from(SUFFIXES)
)(_random_bytes)


def _damaged_workbook(name: str, cuts: list[tuple[int, int]], keep: float) -> None:
    """A real workbook with bytes overwritten and its tail cut: rows or an ImporterError."""
    data = bytearray((FIXTURES / name).read_bytes())
    for position, value in cuts:
        data[position % len(data)] = value
    survives(bytes(data[: max(1, int(len(data) * keep))]), Path(name).suffix)


test_loader_damaged_workbook, test_loader_damaged_workbook_slow = twice(
    st.sampled_from(WORKBOOKS),
    st.lists(st.tuples(st.integers(0, 1 << 20), st.integers(0, 255)), max_size=8),
    st.sampled_from([1.0, 1.0, 0.99, 0.9, 0.5]),
)(_damaged_workbook)


def _text_like(text: str, encoding: str, suffix: str) -> None:
    """Random text in any encoding, read as a CSV: rows or an ImporterError."""
    survives(text.encode(encoding, "replace"), suffix)


test_loader_random_text, test_loader_random_text_slow = twice(
    st.text(alphabet=st.characters(codec="utf-8"), max_size=2000),
    st.sampled_from([*ENCODINGS, "cp1252"]),
    st.sampled_from([".csv", ".txt"]),
)(_text_like)


EXPLICIT = ["utf-16", "utf-32", "utf-8", "cp1252", "latin-1", "idna", "punycode", "utf-7"]
EXPLICIT += ["shift_jis", "hex", "base64", "rot13", "zlib", "no-such-codec"]


def _explicit_encoding(data: bytes, encoding: str, delimiter: str | None) -> None:
    """Random bytes read with any --encoding (even a bytes codec): rows or an ImporterError."""
    options = InputSettings(encoding=encoding, delimiter=delimiter)
    try:
        read_all(data, ".csv", options)
    except ImporterError as error:
        assert "\n" not in error.message  # noqa: PT017 - the message is the property


test_loader_explicit_encoding, test_loader_explicit_encoding_slow = twice(
    st.binary(max_size=2048),
    st.sampled_from(EXPLICIT),
    st.sampled_from([None, *DELIMITERS]),
)(_explicit_encoding)


# -- the loader on random CSV dialects -----------------------------------------------------------

CELL = st.text(alphabet=st.characters(codec="utf-8", exclude_characters="\x00"), max_size=12)


def _csv_bytes(rows: list[list[str]], delimiter: str, quoting: int, ending: str, enc: str) -> bytes:
    out = io.StringIO(newline="")
    writer = csv.writer(out, delimiter=delimiter, quoting=quoting, lineterminator=ending)
    writer.writerows(rows)
    return out.getvalue().encode(enc)


def _dialect_round_trip(
    rows: list[list[str]], delimiter: str, quoting: int, ending: str, encoding: str
) -> None:
    """A table written in any dialect reads back cell for cell (the delimiter given), or
    is refused because the phone cells below the header are mostly words (layout's rule)."""
    # csv.writer quotes only the line terminator's own characters: with a bare "\r"
    # or "\n" ending, a cell holding the other one is written ambiguously.
    assume(ending == "\r\n" or not any("\r" in c or "\n" in c for row in rows for c in row))
    table = [["Phone", "Notes"], *rows]
    data = _csv_bytes(table, delimiter, quoting, ending, encoding)
    expected = [tuple(row) for row in rows if "".join(row).strip()]
    options = InputSettings(delimiter=delimiter)
    try:
        cells = read_all(data, ".csv", options)
    except ImporterError as error:  # only "nothing below the header" may refuse it
        cells = [("refused", error.message)]
    words = not is_data_below([row[0].strip() for row in expected][:AHEAD_ROWS])
    assert cells == expected or ((not expected or words) and cells[0][0] == "refused")


test_csv_dialect_round_trip, test_csv_dialect_round_trip_slow = twice(
    st.lists(st.lists(CELL, min_size=2, max_size=2), max_size=20),
    st.sampled_from(DELIMITERS),
    st.sampled_from(QUOTING),
    st.sampled_from(["\r\n", "\n", "\r"]),
    st.sampled_from(ENCODINGS),
)(_dialect_round_trip)


def _sniffed_dialect(
    rows: list[list[str]], delimiter: str, quoting: int, ending: str, encoding: str
) -> None:
    """The same tables with the delimiter and encoding left to detection: never a crash."""
    survives(_csv_bytes([["Phone", "Notes"], *rows], delimiter, quoting, ending, encoding), ".csv")


test_csv_sniffed_dialect, test_csv_sniffed_dialect_slow = twice(
    st.lists(st.lists(CELL, min_size=0, max_size=5), max_size=20),
    st.sampled_from(DELIMITERS),
    st.sampled_from(QUOTING),
    st.sampled_from(["\r\n", "\n", "\r"]),
    st.sampled_from([*ENCODINGS, "utf-32"]),
)(_sniffed_dialect)


# -- the phone normaliser and the capability parser ----------------------------------------------

PHONE_LIKE = st.from_regex(r"\A[+0-9 ()\-.xX#*;=a-z\u00a0\uff10-\uff19]{0,30}\Z")


def _phone(text: str, region: str | None) -> None:
    """Any cell text: E.164 digits (at most 15) or an issue, exactly one of them."""
    digits, issue = normalize_phonenumber(text, region, column="Phone")
    assert (digits is None) != (issue is None)
    if digits is not None:
        assert digits.isascii()
        assert digits.isdigit()
        assert len(digits) <= 15
    else:
        assert issue is not None
        assert issue.code.startswith("phonenumber.")


test_phone_normaliser, test_phone_normaliser_slow = twice(
    st.one_of(st.text(max_size=40), PHONE_LIKE), st.sampled_from(REGIONS)
)(_phone)


def _capabilities(text: str, default: int | None) -> None:
    """Any cell text: a usable mask (1..31, messaging, no voice) or an issue."""
    mask, issue = parse_capabilities(text, default, column="Caps")
    assert (mask is None) != (issue is None)
    if mask is not None:
        assert 1 <= mask <= 31
        assert not mask & 4
        assert mask & 27
    else:
        assert issue is not None
        assert issue.code.startswith("capabilities.")


test_capability_parser, test_capability_parser_slow = twice(
    st.one_of(
        st.text(max_size=30),
        st.from_regex(r"\A[0-9 .,+()a-z_/&|-]{0,20}\Z"),
        st.integers(-(10**20), 10**20).map(str),
    ),
    st.one_of(st.none(), st.integers(-5, 40)),
)(_capabilities)


def test_the_fuzz_helpers_cover_every_format() -> None:
    """The random-bytes property names every suffix the loader knows."""
    from importer.loader import WORKBOOK_FORMATS

    named = {suffix.lstrip(".") for suffix in SUFFIXES}
    assert named >= WORKBOOK_FORMATS
