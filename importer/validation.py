"""Validation: each row's canonical fields → the registration body, or every problem.

For every row `validate_rows` returns one `RowResult`:

- `would_register` with `payload`, the JSON body of `POST /phonenumber/external_dids`:
  `phonenumber` (E.164 digits) and `capabilities` (mask), then only the optional keys
  that have a value — `underlying_carrier_sid`, `callback_url`, `name`, `attributes`,
  `string_key_1`, `string_key_2` — in that order;
- `invalid` with every error of the row at once (not only the first), each `Issue`
  naming the canonical field, the partner's header text, the cell text and, where one
  was read, the normalised value;
- `duplicate` when a number repeats an earlier *valid* row of the file: `row.duplicate`,
  or `row.duplicate_conflict` when the two rows ask for different capabilities. The
  first valid row is the one registered; an invalid first row does not count.

The rules, by field (codes in `importer.catalogue`, numbers in `importer.phone`, masks
in `importer.capabilities`):

- `underlying_carrier_sid`: a hyphenated UUID (`not_uuid`); when `ValidationSettings`
  says the partner has no default carrier, an empty cell without `--carrier` is `missing`;
- `callback_url`: at most 2,048 characters (`too_long`), no spaces or invisible
  characters (`has_spaces`), absolute http(s) with a host (`invalid`); plain `http` is
  a warning (`not_https`);
- `name`, `string_key_1`, `string_key_2`: at most 255 characters (`too_long`). CarrierX
  documents no limit; 255 is an assumption, a common column size, kept in `MAX_LENGTHS`;
- `attributes`: a strict JSON object (`not_an_object`).

Empty cells take `RowDefaults` (capabilities, carrier SID, callback URL); without a
default an empty carrier SID or callback URL is simply left out, and the API applies
the partner's own default. The defaults themselves are checked once, up front: a bad
default is a `ConfigError` for the run, not an error on every row.

Warnings (a ragged row, plain http, MMS without SMS, a number type that rarely takes
SMS) are kept in `issues` and never make a row invalid.
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from importer import catalogue
from importer.capabilities import check_mask, mask_warning, parse_capabilities
from importer.catalogue import IssueType
from importer.config import RowDefaults, ValidationSettings
from importer.errors import ConfigError
from importer.mapping import CANONICAL_FIELDS, ColumnMapping
from importer.models import Issue, RawRow, RowResult, Severity, Status
from importer.phone import NumberPolicy, Reading, check_country, check_region, read_numbers

PHONENUMBER = "phonenumber"
CAPABILITIES = "capabilities"
CARRIER_SID = "underlying_carrier_sid"
CALLBACK_URL = "callback_url"

CALLBACK_URL_MAX = 2048
TEXT_MAX = 255  # [assumed]: CarrierX documents no limit for name and the string keys
MAX_LENGTHS: Mapping[str, int] = {
    CALLBACK_URL: CALLBACK_URL_MAX,
    "name": TEXT_MAX,
    "string_key_1": TEXT_MAX,
    "string_key_2": TEXT_MAX,
}
MAX_WORKERS = 8

_UUID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}", re.IGNORECASE)
_URL_SCHEMES = frozenset({"http", "https"})

Check = Callable[[str], tuple[Any, IssueType | None]]
Warn = Callable[[str], IssueType | None]


def validate_rows(
    rows: Iterable[RawRow],
    mapping: ColumnMapping,
    defaults: RowDefaults,
    rules: ValidationSettings | None = None,
    *,
    workers: int | None = None,
) -> list[RowResult]:
    """Validate every row in order; raise `ConfigError` if `defaults` or `rules` are unusable.

    Each distinct phone-number cell is read once; a large file's are read by `workers`
    processes (default: every core). Results do not depend on `workers`.
    """
    rows = rows if isinstance(rows, list) else list(rows)
    validator = RowValidator(mapping, defaults, rules)
    validator.prime(rows, workers=workers if workers is not None else default_workers())
    return [validator.validate(row) for row in rows]


def default_workers() -> int:
    """Worker processes for reading numbers: the machine's cores, at most `MAX_WORKERS`."""
    return max(1, min(MAX_WORKERS, os.cpu_count() or 1))


def check_carrier_sid(text: str) -> tuple[str | None, IssueType | None]:
    """A carrier SID must be a hyphenated UUID; it is sent in lower case."""
    if _UUID.fullmatch(text):
        return text.lower(), None
    return None, catalogue.CARRIER_SID_NOT_UUID


def check_callback_url(text: str) -> tuple[str | None, IssueType | None]:
    """A callback URL: at most 2,048 characters, no spaces, absolute http(s) with a host."""
    if len(text) > CALLBACK_URL_MAX:
        return None, catalogue.CALLBACK_URL_TOO_LONG
    if any(char.isspace() or not char.isprintable() for char in text):
        return None, catalogue.CALLBACK_URL_HAS_SPACES
    try:
        parts = urlsplit(text)
        parts.port  # noqa: B018 - raises ValueError for a malformed port
    except ValueError:
        return None, catalogue.CALLBACK_URL_INVALID
    if parts.scheme.lower() not in _URL_SCHEMES or not parts.hostname:
        return None, catalogue.CALLBACK_URL_INVALID
    return text, None


def callback_url_warning(text: str) -> IssueType | None:
    """Plain http is accepted, with a warning: SMS events would travel unencrypted."""
    return catalogue.CALLBACK_URL_NOT_HTTPS if text[:5].lower() == "http:" else None


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


def _max_length(limit: int, problem: IssueType) -> Check:
    def check(text: str) -> tuple[str | None, IssueType | None]:
        return (text, None) if len(text) <= limit else (None, problem)

    return check


# The optional payload keys, in payload order, how each cell is checked, what it warns.
OPTIONAL_FIELDS: tuple[tuple[str, Check, Warn | None], ...] = (
    (CARRIER_SID, check_carrier_sid, None),
    (CALLBACK_URL, check_callback_url, callback_url_warning),
    ("name", _max_length(TEXT_MAX, catalogue.NAME_TOO_LONG), None),
    ("attributes", parse_attributes, None),
    ("string_key_1", _max_length(TEXT_MAX, catalogue.STRING_KEY_1_TOO_LONG), None),
    ("string_key_2", _max_length(TEXT_MAX, catalogue.STRING_KEY_2_TOO_LONG), None),
)


PAYLOAD_ORDER = tuple(field for field, _, _ in OPTIONAL_FIELDS)


@dataclass(frozen=True, slots=True)
class _Defaults:
    """`RowDefaults` and `ValidationSettings`, checked and normalised once for the run."""

    region: str | None
    capabilities: int | None
    fallbacks: Mapping[str, str]
    policy: NumberPolicy
    carrier_required: bool


class RowValidator:
    """Validates rows one at a time, remembering valid numbers to spot duplicates.

    `validate_rows` is the usual entry point; a streaming caller can use this directly
    (without `prime`, numbers are read as rows come and kept in the same cache).
    """

    def __init__(
        self,
        mapping: ColumnMapping,
        defaults: RowDefaults,
        rules: ValidationSettings | None = None,
    ) -> None:
        self._mapping = mapping
        self._width = len(mapping.header)
        self._defaults = _check_defaults(defaults, rules or ValidationSettings())
        self._columns = {field: mapping.column_of(field) for field in CANONICAL_FIELDS}
        self._first_seen: dict[str, tuple[int, int]] = {}
        self._readings: dict[str, Reading] = {}
        # Per-run caches: a cell text is judged once, whatever the number of rows with it.
        self._numbers: dict[str, tuple[str | None, tuple[Issue, ...]]] = {}
        self._masks: dict[str, tuple[int | None, tuple[Issue, ...]]] = {}
        present = mapping.extract(RawRow(0, ("",) * self._width))
        self._optional = [entry for entry in OPTIONAL_FIELDS if entry[0] in present]
        self._absent = self._absent_fields(present)

    def prime(self, rows: Sequence[RawRow], *, workers: int = 1) -> None:
        """Read every distinct phone-number cell of `rows` up front (in parallel if many)."""
        index = self._mapping.fields[PHONENUMBER]
        texts = (row.cells[index].strip() if index < len(row.cells) else "" for row in rows)
        self._readings.update(read_numbers(texts, self._defaults.region, workers=workers))

    def validate(self, row: RawRow) -> RowResult:
        """The result for one row; rows must come in sheet order."""
        fields = self._mapping.extract(row)
        issues = self._shape_issues(row)
        number = self._number(fields.get(PHONENUMBER, ""), issues)
        mask = self._mask(fields.get(CAPABILITIES, ""), issues)
        optional = self._optional_values(fields, issues)
        if number is None or mask is None or _has_errors(issues):
            return RowResult(
                row=row, status=Status.INVALID, issues=tuple(issues), normalized_phonenumber=number
            )
        payload = {PHONENUMBER: number, CAPABILITIES: mask, **optional}
        return self._deduplicate(row, payload, issues, fields.get(PHONENUMBER, ""))

    def _number(self, text: str, issues: list[Issue]) -> str | None:
        judged = self._numbers.get(text)
        if judged is None:
            judged = self._numbers[text] = self._judge_number(text)
        issues.extend(judged[1])
        return judged[0]

    def _judge_number(self, text: str) -> tuple[str | None, tuple[Issue, ...]]:
        reading = self._readings.pop(text, None)
        if reading is None:
            reading = read_numbers([text], self._defaults.region)[text]
        column = self._columns[PHONENUMBER]
        found = [reading.issue(text, column), *self._defaults.policy.issues(reading, text, column)]
        return reading.digits, tuple(issue for issue in found if issue is not None)

    def _mask(self, text: str, issues: list[Issue]) -> int | None:
        judged = self._masks.get(text)
        if judged is None:
            judged = self._masks[text] = self._judge_mask(text)
        issues.extend(judged[1])
        return judged[0]

    def _judge_mask(self, text: str) -> tuple[int | None, tuple[Issue, ...]]:
        column = self._columns[CAPABILITIES]
        mask, issue = parse_capabilities(text, self._defaults.capabilities, column=column)
        warning = None if mask is None else mask_warning(mask, text or str(mask), column=column)
        return mask, tuple(found for found in (issue, warning) if found is not None)

    def _shape_issues(self, row: RawRow) -> list[Issue]:
        if len(row.cells) == self._width:
            return []
        return [catalogue.ROW_RAGGED.issue(found=len(row.cells), expected=self._width)]

    def _absent_fields(self, present: Mapping[str, str]) -> tuple[dict[str, Any], list[Issue]]:
        """What the fields no column holds always give: their defaults, or their issues."""
        values: dict[str, Any] = {}
        issues: list[Issue] = []
        for field, _, _ in OPTIONAL_FIELDS:
            if field not in present:
                self._fallback(field, values, issues)
        return values, issues

    def _optional_values(self, fields: Mapping[str, str], issues: list[Issue]) -> dict[str, Any]:
        values, absent_issues = self._absent
        values = dict(values)
        issues.extend(absent_issues)
        for field, check, warn in self._optional:
            text = fields[field]
            if not text:
                self._fallback(field, values, issues)
                continue
            value, problem = check(text)
            problem = problem or (warn(text) if warn else None)
            if problem is not None:
                issues.append(self._field_issue(problem, field, text, value))
            if value is not None:
                values[field] = value
        if len(values) < 2:
            return values
        return {field: values[field] for field in PAYLOAD_ORDER if field in values}

    def _fallback(self, field: str, values: dict[str, Any], issues: list[Issue]) -> None:
        if field in self._defaults.fallbacks:
            values[field] = self._defaults.fallbacks[field]
        elif field == CARRIER_SID and self._defaults.carrier_required:
            issues.append(
                catalogue.CARRIER_SID_MISSING.issue(field=field, column=self._columns[field])
            )

    def _field_issue(self, problem: IssueType, field: str, text: str, value: Any) -> Issue:
        return problem.issue(
            field=field,
            column=self._columns[field],
            value=text,
            normalized=value if isinstance(value, str) else None,
            length=len(text),
            limit=MAX_LENGTHS.get(field),
        )

    def _deduplicate(
        self, row: RawRow, payload: dict[str, Any], issues: list[Issue], text: str
    ) -> RowResult:
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
            value=text,
            normalized=number,
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


def _check_defaults(defaults: RowDefaults, rules: ValidationSettings) -> _Defaults:
    """Check the run's defaults and rules once; a bad one stops the run before anything is sent."""
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
    return _Defaults(
        region=region,
        capabilities=defaults.capabilities,
        fallbacks=given,
        policy=_policy(rules),
        carrier_required=not rules.has_default_carrier,
    )


def _policy(rules: ValidationSettings) -> NumberPolicy:
    try:
        countries = frozenset(check_country(country) for country in rules.allowed_countries)
    except ValueError as error:
        raise ConfigError(f"validation.allowed_countries: {error}") from None
    return NumberPolicy(
        countries=countries,
        prefixes=tuple(rules.allowed_prefixes),
        sms_incapable=frozenset(rules.sms_incapable_types),
    )


def _checked_default(field: str, given: str | None, check: Check) -> str | None:
    if not given:
        return None
    value, problem = check(given)
    _refuse_default(field, given, problem)
    return str(value)


def _refuse_default(field: str, given: str, problem: IssueType | None) -> None:
    if problem is not None:
        limit = MAX_LENGTHS.get(field)
        message = problem.issue(field=field, value=given, length=len(given), limit=limit).message
        raise ConfigError(f"default {field}: {message}")
