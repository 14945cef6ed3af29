"""Validation: each row's canonical fields → the registration body, or every problem.

For every row `validate_rows` returns one `RowResult`:

- `would_register` with `payload`, the JSON body of `POST /phonenumber/external_dids`:
  `phonenumber` (E.164 digits) and `capabilities` (mask), then only the optional keys
  that have a value — `underlying_carrier_sid`, `callback_url`, `name`, `attributes`,
  `string_key_1`, `string_key_2` — in that order;
- `invalid` with every error of the row at once (not only the first), each `Issue`
  naming the canonical field, the partner's header text and the cell text;
- `duplicate` when a number repeats an earlier *valid* row of the file: `row.duplicate`,
  or `row.duplicate_conflict` when the two rows ask for different capabilities. The
  first valid row is the one registered; an invalid first row does not count.

Empty cells take `RowDefaults` (capabilities, carrier SID, callback URL); without a
default an empty carrier SID or callback URL is simply left out, and the API applies
the partner's own default. The defaults themselves are checked once, up front: a bad
default is a `ConfigError` for the run, not an error on every row.

Warnings (a ragged row) are kept in `issues` and never make a row invalid.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from importer import catalogue
from importer.capabilities import check_mask, parse_capabilities
from importer.catalogue import IssueType
from importer.config import RowDefaults
from importer.errors import ConfigError
from importer.mapping import CANONICAL_FIELDS, ColumnMapping
from importer.models import Issue, RawRow, RowResult, Severity, Status
from importer.phone import check_region, normalize_phonenumber

PHONENUMBER = "phonenumber"
CAPABILITIES = "capabilities"
CARRIER_SID = "underlying_carrier_sid"
CALLBACK_URL = "callback_url"

_UUID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}", re.IGNORECASE)
_URL_SCHEMES = frozenset({"http", "https"})

Check = Callable[[str], tuple[Any, IssueType | None]]


def validate_rows(
    rows: Iterable[RawRow], mapping: ColumnMapping, defaults: RowDefaults
) -> list[RowResult]:
    """Validate every row in order; raise `ConfigError` if `defaults` are unusable."""
    validator = RowValidator(mapping, defaults)
    return [validator.validate(row) for row in rows]


def check_carrier_sid(text: str) -> tuple[str | None, IssueType | None]:
    """A carrier SID must be a hyphenated UUID; it is sent in lower case."""
    if _UUID.fullmatch(text):
        return text.lower(), None
    return None, catalogue.CARRIER_SID_NOT_UUID


def check_callback_url(text: str) -> tuple[str | None, IssueType | None]:
    """A callback URL must be absolute http(s) with a host, and without spaces."""
    if any(char.isspace() or not char.isprintable() for char in text):
        return None, catalogue.CALLBACK_URL_INVALID
    try:
        parts = urlsplit(text)
        parts.port  # noqa: B018 - raises ValueError for a malformed port
    except ValueError:
        return None, catalogue.CALLBACK_URL_INVALID
    if parts.scheme.lower() not in _URL_SCHEMES or not parts.hostname:
        return None, catalogue.CALLBACK_URL_INVALID
    return text, None


def parse_attributes(text: str) -> tuple[dict[str, Any] | None, IssueType | None]:
    """Attributes must be a JSON object (strict JSON: no NaN or Infinity)."""
    try:
        value = json.loads(text, parse_constant=_refuse_constant)
    except (ValueError, RecursionError):
        return None, catalogue.ATTRIBUTES_NOT_AN_OBJECT
    if not isinstance(value, dict):
        return None, catalogue.ATTRIBUTES_NOT_AN_OBJECT
    return value, None


def _refuse_constant(name: str) -> float:
    raise ValueError(f"{name} is not JSON")


def _keep(text: str) -> tuple[str, None]:
    return text, None


# The optional payload keys, in payload order, and how each cell is checked.
OPTIONAL_FIELDS: tuple[tuple[str, Check], ...] = (
    (CARRIER_SID, check_carrier_sid),
    (CALLBACK_URL, check_callback_url),
    ("name", _keep),
    ("attributes", parse_attributes),
    ("string_key_1", _keep),
    ("string_key_2", _keep),
)


@dataclass(frozen=True, slots=True)
class _Defaults:
    """`RowDefaults`, checked and normalised once for the whole run."""

    region: str | None
    capabilities: int | None
    fallbacks: Mapping[str, str]


class RowValidator:
    """Validates rows one at a time, remembering valid numbers to spot duplicates.

    `validate_rows` is the usual entry point; a streaming caller can use this directly.
    """

    def __init__(self, mapping: ColumnMapping, defaults: RowDefaults) -> None:
        self._mapping = mapping
        self._width = len(mapping.header)
        self._defaults = _check_defaults(defaults)
        self._columns = {field: mapping.column_of(field) for field in CANONICAL_FIELDS}
        self._first_seen: dict[str, tuple[int, int]] = {}

    def validate(self, row: RawRow) -> RowResult:
        """The result for one row; rows must come in sheet order."""
        fields = self._mapping.extract(row)
        issues = self._shape_issues(row)
        number, issue = normalize_phonenumber(
            fields.get(PHONENUMBER, ""), self._defaults.region, column=self._columns[PHONENUMBER]
        )
        _collect(issues, issue)
        mask, issue = parse_capabilities(
            fields.get(CAPABILITIES, ""),
            self._defaults.capabilities,
            column=self._columns[CAPABILITIES],
        )
        _collect(issues, issue)
        optional = self._optional_values(fields, issues)
        if number is None or mask is None or _has_errors(issues):
            return RowResult(
                row=row, status=Status.INVALID, issues=tuple(issues), normalized_phonenumber=number
            )
        payload = {PHONENUMBER: number, CAPABILITIES: mask, **optional}
        return self._deduplicate(row, payload, issues)

    def _shape_issues(self, row: RawRow) -> list[Issue]:
        if len(row.cells) == self._width:
            return []
        return [catalogue.ROW_RAGGED.issue(found=len(row.cells), expected=self._width)]

    def _optional_values(self, fields: Mapping[str, str], issues: list[Issue]) -> dict[str, Any]:
        values: dict[str, Any] = {}
        for field, check in OPTIONAL_FIELDS:
            text = fields.get(field, "")
            if not text:
                if field in self._defaults.fallbacks:
                    values[field] = self._defaults.fallbacks[field]
                continue
            value, problem = check(text)
            if problem is None:
                values[field] = value
            else:
                issues.append(problem.issue(field=field, column=self._columns[field], value=text))
        return values

    def _deduplicate(self, row: RawRow, payload: dict[str, Any], issues: list[Issue]) -> RowResult:
        number: str = payload[PHONENUMBER]
        mask: int = payload[CAPABILITIES]
        first = self._first_seen.get(number)
        if first is None:
            self._first_seen[number] = (row.number, mask)
            return RowResult(
                row=row,
                status=Status.WOULD_REGISTER,
                issues=tuple(issues),
                payload=payload,
                normalized_phonenumber=number,
            )
        first_row, first_mask = first
        kind = catalogue.ROW_DUPLICATE if mask == first_mask else catalogue.ROW_DUPLICATE_CONFLICT
        issue = kind.issue(
            field=PHONENUMBER,
            column=self._columns[PHONENUMBER],
            value=number,
            first_row=first_row,
            first_mask=first_mask,
        )
        return RowResult(
            row=row, status=Status.DUPLICATE, issues=(*issues, issue), normalized_phonenumber=number
        )


def _collect(issues: list[Issue], issue: Issue | None) -> None:
    if issue is not None:
        issues.append(issue)


def _has_errors(issues: Iterable[Issue]) -> bool:
    return any(issue.severity is Severity.ERROR for issue in issues)


def _check_defaults(defaults: RowDefaults) -> _Defaults:
    """Check the run's defaults once; a bad one stops the run before anything is sent."""
    try:
        region = check_region(defaults.default_region)
    except ValueError:
        raise ConfigError(f"default region {defaults.default_region!r} is unknown") from None
    if defaults.capabilities is not None:
        _refuse_default(CAPABILITIES, str(defaults.capabilities), check_mask(defaults.capabilities))
    fallbacks = {
        CARRIER_SID: _checked_default(CARRIER_SID, defaults.carrier_sid, check_carrier_sid),
        CALLBACK_URL: _checked_default(CALLBACK_URL, defaults.callback_url, check_callback_url),
    }
    given = {field: value for field, value in fallbacks.items() if value is not None}
    return _Defaults(region, defaults.capabilities, given)


def _checked_default(field: str, given: str | None, check: Check) -> str | None:
    if not given:
        return None
    value, problem = check(given)
    _refuse_default(field, given, problem)
    return str(value)


def _refuse_default(field: str, given: str, problem: IssueType | None) -> None:
    if problem is not None:
        message = problem.issue(field=field, value=given).message
        raise ConfigError(f"default {field}: {message}")
