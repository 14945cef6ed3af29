"""Column mapping: which column of the partner's sheet holds which canonical field.

Partners name their columns as they like ("Phone Number", "DID", "TN", "Caps", ...).
Header text is compared by a *key*: case-folded, with everything but letters and
digits removed, so "Phone_Number", "phone number" and "PhoneNumber" are one name.
Each canonical field has a ranked list of alias keys; when several columns match a
field, the best-ranked alias wins ("Carrier SID" beats "Carrier", "Name" beats
"Description"). Overrides (`InputSettings.columns`, field -> header text) win over
aliases. Columns that match nothing are simply not mapped; the reporter keeps them.

Two fields can also be *composed* from several columns:

- **capabilities** from flag columns `SMS`, `MMS`, `SMS In`, `SMS Out`, `MMS In`,
  `MMS Out` (any spelling with the same key) holding yes/no, y/n, x, true/false, 1/0
  or a tick. The flags become capability names (`sms+mms_in`), so the mask is checked
  by validation like any capabilities cell: all flags empty -> the default applies, all
  "no" -> no messaging. A real capabilities column wins: flag columns are then only
  carried to the report.
- **attributes** from `attributes.<key>` columns (also `attribute.<key>`, `attrs.<key>`):
  each non-empty cell adds `<key>: cell text` to the JSON object sent. With an
  `attributes` JSON column too, the two are merged and a column wins over the same key
  in the JSON cell (a cell that is not a JSON object is passed on to be reported).

A duplicate name among the columns the mapping uses is refused with both column letters;
repeated names of unused columns are harmless (the report carries every column).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from dataclasses import field as dataclass_field

from importer.errors import ConfigError, MappingError
from importer.mapping.aliases import ALIAS_INDEX, ALIASES, CANONICAL_FIELDS, header_key
from importer.mapping.composed import (
    FLAG_COLUMNS,
    attribute_columns,
    attributes_text,
    cell,
    flag_columns,
    flags_text,
)
from importer.models import RawRow

__all__ = [
    "ALIASES",
    "ATTRIBUTES_FIELD",
    "CANONICAL_FIELDS",
    "CAPABILITIES_FIELD",
    "FLAG_COLUMNS",
    "PHONE_FIELD",
    "ColumnMapping",
    "build_mapping",
    "column_letter",
    "find_phone_column",
    "header_key",
    "mapping_lines",
    "missing_phone_error",
    "quote",
    "quote_headers",
]


PHONE_FIELD = "phonenumber"
CAPABILITIES_FIELD = "capabilities"
ATTRIBUTES_FIELD = "attributes"
MESSAGE_HEADERS = 12  # headers listed in an error message before "... (n more)"
MESSAGE_HEADER_CHARS = 40


@dataclass(frozen=True, slots=True)
class ColumnMapping:
    """The header as read, and which column(s) hold each canonical field.

    `fields` maps a field to its one column; `flags` (column -> capability name) and
    `attribute_columns` (attribute key -> column) are the composed fields.
    """

    header: tuple[str, ...]
    fields: Mapping[str, int]
    flags: Mapping[int, str] = dataclass_field(default_factory=dict)
    attribute_columns: Mapping[str, int] = dataclass_field(default_factory=dict)

    def describe(self) -> dict[str, str]:
        """Canonical field -> where it comes from, in canonical order (for the report)."""
        described = {name: self.column_of(name) for name in CANONICAL_FIELDS}
        return {name: text for name, text in described.items() if text is not None}

    def column_of(self, name: str) -> str | None:
        """Header text of the column that holds `name` ("A + B columns" when composed)."""
        columns = self._columns_of(name)
        if not columns:
            return None
        if len(columns) == 1 and name in self.fields:
            return self.header[columns[0]]
        return " + ".join(self.header[index] for index in columns) + " columns"

    def letter_of(self, name: str) -> str | None:
        """Spreadsheet column letter of `name`'s one column, or None (unmapped or composed)."""
        columns = self._columns_of(name)
        return column_letter(columns[0]) if len(columns) == 1 else None

    def extract(self, row: RawRow) -> dict[str, str]:
        """Canonical field -> stripped cell text ("" where the row is too short).

        Composed fields come out as the text validation reads: capability names joined
        by `+`, attributes as a JSON object.
        """
        cells = row.cells
        values = {name: cell(cells, index) for name, index in self.fields.items()}
        if self.flags:
            values[CAPABILITIES_FIELD] = flags_text(self.header, self.flags, cells)
        if self.attribute_columns:
            values[ATTRIBUTES_FIELD] = attributes_text(
                values.get(ATTRIBUTES_FIELD, ""), self.attribute_columns, cells
            )
        return values

    def used_columns(self) -> list[int]:
        """Every column index the mapping reads, in column order."""
        used = {*self.fields.values(), *self.flags, *self.attribute_columns.values()}
        return sorted(used)

    def _columns_of(self, name: str) -> list[int]:
        columns = [self.fields[name]] if name in self.fields else []
        if name == CAPABILITIES_FIELD:
            columns += list(self.flags)
        if name == ATTRIBUTES_FIELD:
            columns += list(self.attribute_columns.values())
        return columns


def column_letter(index: int) -> str:
    """Spreadsheet letter of a 0-based column index: 0 -> "A", 25 -> "Z", 26 -> "AA"."""
    if index < 0:
        raise ValueError(f"column index must be >= 0, not {index}")
    letters = ""
    number = index + 1
    while number:
        number, remainder = divmod(number - 1, 26)
        letters = chr(ord("A") + remainder) + letters
    return letters


def find_phone_column(
    header: Sequence[str], overrides: Mapping[str, str] | None = None
) -> int | None:
    """Index of the phone-number column of `header`, or None if it has none.

    The loader asks this of each candidate row to find where the header is.
    """
    wanted = (overrides or {}).get(PHONE_FIELD)
    if wanted is not None:
        return _find_header(header, wanted)
    return _alias_matches(header, taken=set()).get(PHONE_FIELD)


def build_mapping(
    header: Sequence[str], overrides: Mapping[str, str] | None = None, *, source: str = ""
) -> ColumnMapping:
    """Map `header` to canonical fields; raise `MappingError` when it cannot be used.

    `source` (the file name) starts every error message.
    """
    header = tuple(header)
    fields = _override_matches(header, overrides or {}, source)
    for field, index in _alias_matches(header, taken=set(fields.values())).items():
        fields.setdefault(field, index)
    if PHONE_FIELD not in fields:
        raise missing_phone_error(header, overrides, source=source)
    taken = set(fields.values())
    flags = {} if CAPABILITIES_FIELD in fields else flag_columns(header, taken)
    attributes = attribute_columns(header, taken)
    ordered = {name: fields[name] for name in CANONICAL_FIELDS if name in fields}
    mapping = ColumnMapping(header, ordered, flags, attributes)
    _check_duplicates(header, mapping.used_columns(), source)
    return mapping


def missing_phone_error(
    header: Sequence[str],
    overrides: Mapping[str, str] | None = None,
    *,
    source: str = "",
    row: int | None = None,
) -> MappingError:
    """The error for a header without a phone-number column (or without the overridden
    one); `row`, the sheet row the header was looked for in, is named when given."""
    found = quote_headers(header)
    wanted = (overrides or {}).get(PHONE_FIELD)
    if wanted is not None:
        return _override_missing(wanted, PHONE_FIELD, found, source, row)
    where = f" in row {row}" if row is not None else ""
    return MappingError(f"{_prefix(source)}no phone-number column{where}; headers found: {found}")


def quote_headers(header: Sequence[str]) -> str:
    """The non-empty headers, quoted and comma-separated, for one-line error messages."""
    named = [quote(text) for text in header if text.strip()]
    if len(named) > MESSAGE_HEADERS:
        named[MESSAGE_HEADERS:] = [f"... ({len(named) - MESSAGE_HEADERS} more)"]
    return ", ".join(named) if named else "(none)"


def quote(text: str) -> str:
    """A header quoted for a message: on one line, cut short if very long, and with
    quotes, backslashes and unprintable characters escaped as in a Python or JSON
    string, so that `"03"-"08"` reads as one header: `"\\"03\\"-\\"08\\""`."""
    flat = " ".join(text.split())
    if len(flat) > MESSAGE_HEADER_CHARS:
        flat = flat[: MESSAGE_HEADER_CHARS - 3] + "..."
    escaped = flat.replace("\\", "\\\\").replace('"', '\\"')
    shown = "".join(ch if ch.isprintable() else ascii(ch)[1:-1] for ch in escaped)
    return f'"{shown}"'


def _prefix(source: str) -> str:
    return f"{source}: " if source else ""


def _find_header(header: Sequence[str], wanted: str) -> int | None:
    """Index of the column named `wanted`: exact text first, then by key."""
    stripped = [text.strip() for text in header]
    if wanted.strip() in stripped:
        return stripped.index(wanted.strip())
    key = header_key(wanted)
    keys = [header_key(text) for text in header]
    return keys.index(key) if key and key in keys else None


def _alias_matches(header: Sequence[str], *, taken: set[int]) -> dict[str, int]:
    """Field -> index of the column whose header is that field's best-ranked alias."""
    best: dict[str, tuple[int, int]] = {}
    for index, text in enumerate(header):
        match = ALIAS_INDEX.get(header_key(text))
        if index in taken or match is None:
            continue
        field, rank = match
        if field not in best or rank < best[field][0]:
            best[field] = (rank, index)
    return {field: index for field, (_, index) in best.items()}


def _override_matches(
    header: tuple[str, ...], overrides: Mapping[str, str], source: str
) -> dict[str, int]:
    """Field -> index for every override; unknown fields or headers are errors."""
    fields: dict[str, int] = {}
    for field, wanted in overrides.items():
        if field not in CANONICAL_FIELDS:
            known = ", ".join(CANONICAL_FIELDS)
            raise ConfigError(f"columns: unknown field {field!r}; fields are {known}")
        index = _find_header(header, wanted)
        if index is None:
            raise _override_missing(wanted, field, quote_headers(header), source)
        if index in fields.values():
            raise MappingError(
                f"{_prefix(source)}column {quote(header[index])} is given for more than one field"
            )
        fields[field] = index
    return fields


def _override_missing(
    wanted: str, field: str, found: str, source: str, row: int | None = None
) -> MappingError:
    where = "the header" if row is None else f"row {row}"
    return MappingError(
        f"{_prefix(source)}column {quote(wanted)} given for {field} is not in {where}; "
        f"headers found: {found}"
    )


def _check_duplicates(header: tuple[str, ...], used: Sequence[int], source: str) -> None:
    """A used column whose name appears twice is ambiguous: refuse the file."""
    keys = [header_key(text) for text in header]
    for index in used:
        twins = [other for other, key in enumerate(keys) if key == keys[index] and other != index]
        if keys[index] and twins:
            first, second = sorted((index, twins[0]))
            raise MappingError(
                f"{_prefix(source)}duplicate column {quote(header[index])} in columns "
                f"{column_letter(first)} and {column_letter(second)}"
            )


def mapping_lines(described: Mapping[str, str]) -> list[str]:
    """`describe()` as lines for a terminal: `phonenumber    <- "Phone Number"`."""
    width = max((len(name) for name in described), default=0)
    return [f"{name.ljust(width)} <- {quote(text)}" for name, text in described.items()]
