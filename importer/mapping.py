"""Column mapping: which column of the partner's sheet holds which canonical field.

Partners name their columns as they like ("Phone Number", "DID", "TN", "Caps", ...).
Header text is compared by a *key*: case-folded, with everything but letters and
digits removed, so "Phone_Number", "phone number" and "PhoneNumber" are one name.
Each canonical field has a ranked list of alias keys; when several columns match a
field, the best-ranked alias wins ("Carrier SID" beats "Carrier", "Name" beats
"Description"). Overrides (`InputSettings.columns`, field -> header text) win over
aliases. Columns that match nothing are simply not mapped; the reporter keeps them.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from importer.errors import ConfigError, MappingError
from importer.models import RawRow

CANONICAL_FIELDS: tuple[str, ...] = (
    "phonenumber",
    "capabilities",
    "callback_url",
    "name",
    "underlying_carrier_sid",
    "attributes",
    "string_key_1",
    "string_key_2",
)

PHONE_FIELD = "phonenumber"
MESSAGE_HEADERS = 12  # headers listed in an error message before "... (n more)"
MESSAGE_HEADER_CHARS = 40

# Alias keys per field, best first (see `header_key` for how header text becomes a key).
ALIASES: Mapping[str, tuple[str, ...]] = {
    "phonenumber": (
        "phonenumber",
        "e164",
        "e164number",
        "did",
        "didnumber",
        "externaldid",
        "tn",
        "telephonenumber",
        "telephone",
        "phone",
        "phoneno",
        "msisdn",
        "mobilenumber",
        "mobile",
        "number",
    ),
    "capabilities": (
        "capabilities",
        "capabilitymask",
        "capabilitiesmask",
        "capability",
        "caps",
        "mask",
    ),
    "callback_url": ("callbackurl", "smscallbackurl", "callback", "webhookurl", "webhook"),
    "name": ("name", "didname", "friendlyname", "description", "label"),
    "underlying_carrier_sid": (
        "underlyingcarriersid",
        "carriersid",
        "underlyingcarrier",
        "carrier",
    ),
    "attributes": ("attributes", "attrs"),
    "string_key_1": ("stringkey1", "key1"),
    "string_key_2": ("stringkey2", "key2"),
}

# alias key -> (field, rank); rank 0 is the field's best alias.
_ALIAS_INDEX: dict[str, tuple[str, int]] = {
    key: (field, rank) for field, keys in ALIASES.items() for rank, key in enumerate(keys)
}


@dataclass(frozen=True, slots=True)
class ColumnMapping:
    """The header as read, and the column index of each mapped canonical field."""

    header: tuple[str, ...]
    fields: Mapping[str, int]

    def describe(self) -> dict[str, str]:
        """Canonical field -> header text of its column, in canonical order."""
        return {field: self.header[index] for field, index in self.fields.items()}

    def column_of(self, field: str) -> str | None:
        """Header text of the column that holds `field`, or None when unmapped."""
        index = self.fields.get(field)
        return None if index is None else self.header[index]

    def letter_of(self, field: str) -> str | None:
        """Spreadsheet column letter of `field`'s column, or None when unmapped."""
        index = self.fields.get(field)
        return None if index is None else column_letter(index)

    def extract(self, row: RawRow) -> dict[str, str]:
        """Canonical field -> stripped cell text; "" where the row is too short."""
        cells = row.cells
        return {
            field: cells[index].strip() if index < len(cells) else ""
            for field, index in self.fields.items()
        }


def header_key(text: str) -> str:
    """The comparison key of a header: case-folded letters and digits only."""
    return "".join(char for char in text.casefold() if char.isalnum())


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
    _check_duplicates(header, fields, source)
    ordered = {field: fields[field] for field in CANONICAL_FIELDS if field in fields}
    return ColumnMapping(header=header, fields=ordered)


def missing_phone_error(
    header: Sequence[str], overrides: Mapping[str, str] | None = None, *, source: str = ""
) -> MappingError:
    """The error for a header without a phone-number column (or without the overridden one)."""
    found = quote_headers(header)
    wanted = (overrides or {}).get(PHONE_FIELD)
    if wanted is not None:
        return _override_missing(wanted, PHONE_FIELD, found, source)
    return MappingError(f"{_prefix(source)}no phone-number column; headers found: {found}")


def quote_headers(header: Sequence[str]) -> str:
    """The non-empty headers, quoted and comma-separated, for one-line error messages."""
    named = [quote(text) for text in header if text.strip()]
    if len(named) > MESSAGE_HEADERS:
        named[MESSAGE_HEADERS:] = [f"... ({len(named) - MESSAGE_HEADERS} more)"]
    return ", ".join(named) if named else "(none)"


def quote(text: str) -> str:
    """A header quoted for a message: on one line, and cut short if very long."""
    flat = " ".join(text.split())
    if len(flat) > MESSAGE_HEADER_CHARS:
        flat = flat[: MESSAGE_HEADER_CHARS - 3] + "..."
    return f'"{flat}"'


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
        match = _ALIAS_INDEX.get(header_key(text))
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


def _override_missing(wanted: str, field: str, found: str, source: str) -> MappingError:
    return MappingError(
        f"{_prefix(source)}column {quote(wanted)} given for {field} is not in the header; "
        f"headers found: {found}"
    )


def _check_duplicates(header: tuple[str, ...], fields: Mapping[str, int], source: str) -> None:
    """A mapped column whose name appears twice is ambiguous: refuse the file."""
    keys = [header_key(text) for text in header]
    for index in sorted(fields.values()):
        twins = [other for other, key in enumerate(keys) if key == keys[index] and other != index]
        if keys[index] and twins:
            first, second = sorted((index, twins[0]))
            raise MappingError(
                f"{_prefix(source)}duplicate column {quote(header[index])} in columns "
                f"{column_letter(first)} and {column_letter(second)}"
            )
