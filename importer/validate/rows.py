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

The rules, by field (codes in `importer.validate.catalogue`, numbers in
`importer.validate.phone`, masks in `importer.validate.capabilities`):

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

import os
from collections.abc import Iterable, Mapping, Sequence
from typing import Any, cast

from importer.config import RowDefaults, ValidationSettings
from importer.mapping import CANONICAL_FIELDS, PHONE_FIELD, ColumnMapping
from importer.models import Issue, IssueType, RawRow, RowResult, Severity, Status
from importer.validate import catalogue
from importer.validate.capabilities import MAX_MASK, mask_warning, parse_capabilities
from importer.validate.cellerrors import error_meaning
from importer.validate.checks import (
    CALLBACK_URL,
    CALLBACK_URL_MAX,
    CAPABILITIES,
    CARRIER_SID,
    MAX_LENGTHS,
    OPTIONAL_FIELDS,
    PAYLOAD_ORDER,
    TEXT_MAX,
    Check,
    Warn,
    callback_url_warning,
    check_callback_url,
    check_carrier_sid,
    check_defaults,
    parse_attributes,
)
from importer.validate.phone import Reading
from importer.validate.phonebatch import read_numbers

__all__ = [
    "CALLBACK_URL",
    "CALLBACK_URL_MAX",
    "CARRIER_SID",
    "MAX_LENGTHS",
    "PAYLOAD_ORDER",
    "TEXT_MAX",
    "RowValidator",
    "callback_url_warning",
    "check_callback_url",
    "check_carrier_sid",
    "default_workers",
    "parse_attributes",
    "validate_rows",
]

PHONENUMBER = PHONE_FIELD
MAX_WORKERS = 8
NUMBER_CACHE_MAX = 1 << 16  # judged cells kept for repeats; past this the cache starts again
REPEAT_CACHE_MAX = 1 << 12  # duplicate issues kept for rows repeated cell for cell
MASK_BITS = MAX_MASK.bit_length()  # FirstSeen packs row << 5 | mask: a 28-byte int < 32M rows
MASK_LIMIT = (1 << MASK_BITS) - 1
Verdict = tuple[str | None, int | None, dict[str, Any], list[Issue]]  # number, mask, ...
REPEATING_FIELDS = frozenset({CARRIER_SID, CALLBACK_URL})  # the same few values on every row


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
        self._defaults = check_defaults(defaults, rules or ValidationSettings())
        self._columns = {field: mapping.column_of(field) for field in CANONICAL_FIELDS}
        self._first_seen = FirstSeen()
        self._readings: dict[str, Reading] = {}
        # Per-run caches: a cell text is judged once, whatever the number of rows with it.
        self._numbers: dict[str, tuple[str | None, tuple[Issue, ...]]] = {}
        self._masks: dict[str, tuple[int | None, tuple[Issue, ...]]] = {}
        self._repeating: dict[tuple[str, str], tuple[Any, Issue | None]] = {}
        self._repeats: dict[tuple[tuple[str, ...], str, int, int, int], Issue] = {}
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
        result = self.judge(row)
        if result.status is not Status.WOULD_REGISTER:
            return result
        return self.settle(result) or result

    def judge(self, row: RawRow) -> RowResult:
        """`validate` without the duplicate check: a valid row is `would_register` (`settle`)."""
        return self.result_of(row, self.verdict(row))

    def verdict(self, row: RawRow) -> Verdict:
        """The row's number, mask, optional payload fields and issues (`result_of` them)."""
        fields = self._mapping.extract(row)
        issues = self._shape_issues(row)
        number = self._number(fields.get(PHONENUMBER, ""), issues)
        mask = self._mask(fields.get(CAPABILITIES, ""), issues)
        return number, mask, self._optional_values(fields, issues), issues

    def result_of(self, row: RawRow, verdict: Verdict) -> RowResult:
        """The `judge` result of a row from its `verdict`."""
        number, mask, optional, issues = verdict
        if number is None or mask is None or _has_errors(issues):
            return RowResult(
                row=row, status=Status.INVALID, issues=tuple(issues), normalized_phonenumber=number
            )
        return RowResult(
            row=row,
            status=Status.WOULD_REGISTER,
            issues=tuple(issues),
            payload={PHONENUMBER: number, CAPABILITIES: mask, **optional},
            normalized_phonenumber=number,
        )

    def settle(self, judged: RowResult) -> RowResult | None:
        """The `duplicate` result if `judged`'s number came in an earlier valid row, else None.

        Valid (`would_register`) rows must be settled in sheet order, each once.
        """
        payload = cast(Mapping[str, Any], judged.payload)
        number, mask = payload[PHONENUMBER], payload[CAPABILITIES]
        return self.repeat_of(judged.row, number, mask, judged.issues)

    def repeat_of(
        self, row: RawRow, number: str, mask: int, issues: tuple[Issue, ...] = ()
    ) -> RowResult | None:
        """`settle` for a valid row known by its number, mask and issues (its warnings)."""
        first = self._first_seen.first(number, row.number, mask)
        return None if first is None else self._duplicate(row, number, mask, issues, first)

    def settle_all(
        self,
        rows: Sequence[RawRow],
        numbers: Sequence[str],
        masks: Sequence[int],
        warnings: Mapping[int, tuple[Issue, ...]],
    ) -> dict[int, RowResult]:
        """`repeat_of` for many valid rows at once: {position: duplicate result}.

        `warnings` holds the issues of the rows that have any, by position.
        """
        found = self._first_seen.repeats(numbers, [row.number for row in rows], masks)
        return {
            at: self._duplicate(rows[at], numbers[at], masks[at], warnings.get(at, ()), first)
            for at, first in found
        }

    def _duplicate(
        self,
        row: RawRow,
        number: str,
        mask: int,
        issues: tuple[Issue, ...],
        first: tuple[int, int],
    ) -> RowResult:
        issue = self._duplicate_issue(row, number, mask, first)
        return RowResult(
            row=row,
            status=Status.DUPLICATE,
            issues=(*issues, issue),
            normalized_phonenumber=number,
        )

    def _duplicate_issue(
        self, row: RawRow, number: str, mask: int, first: tuple[int, int]
    ) -> Issue:
        """The `row.duplicate(_conflict)` issue; made once for rows repeated cell for cell.

        A pasted block repeated many times (or a file of one row a million times) then
        shares one issue, and the report writers see the same object on every line.
        """
        key = (row.cells, number, mask, *first)
        issue = self._repeats.get(key)
        if issue is None:
            if len(self._repeats) >= REPEAT_CACHE_MAX:
                self._repeats.clear()
            first_row, first_mask = first
            same = mask == first_mask
            kind = catalogue.ROW_DUPLICATE if same else catalogue.ROW_DUPLICATE_CONFLICT
            issue = self._repeats[key] = kind.issue(
                field=PHONENUMBER,
                column=self._columns[PHONENUMBER],
                value=self._mapping.extract(row).get(PHONENUMBER, ""),
                normalized=number,
                first_row=first_row,
                first_mask=first_mask,
            )
        return issue

    def _number(self, text: str, issues: list[Issue]) -> str | None:
        judged = self._numbers.get(text)
        if judged is None:
            if len(self._numbers) >= NUMBER_CACHE_MAX:
                self._numbers.clear()  # bounded memory: a repeat further back is read again
            judged = self._numbers[text] = self._judge_number(text)
        issues.extend(judged[1])
        return judged[0]

    def _judge_number(self, text: str) -> tuple[str | None, tuple[Issue, ...]]:
        reading = self._readings.pop(text, None)
        column = self._columns[PHONENUMBER]
        meaning = error_meaning(text)
        if meaning is not None:
            issue = catalogue.CELL_ERROR.issue(
                field=PHONENUMBER, column=column, value=text, meaning=meaning
            )
            return None, (issue,)
        if reading is None:
            reading = read_numbers([text], self._defaults.region)[text]
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
            value, issue = self._judge_optional(field, text, check, warn)
            if issue is not None:
                issues.append(issue)
            if value is not None:
                values[field] = value
        if len(values) < 2:
            return values
        return {field: values[field] for field in PAYLOAD_ORDER if field in values}

    def _judge_optional(
        self, field: str, text: str, check: Check, warn: Warn | None
    ) -> tuple[Any, Issue | None]:
        """A cell's value and issue; carrier SIDs and callback URLs, which repeat, cached."""
        key = (field, text)
        judged = self._repeating.get(key)
        if judged is None:
            value, problem = check(text)
            problem = problem or (warn(text) if warn else None)
            issue = None if problem is None else self._field_issue(problem, field, text, value)
            judged = (value, issue)
            if field in REPEATING_FIELDS and len(self._repeating) < NUMBER_CACHE_MAX:
                self._repeating[key] = judged
        return judged

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


class FirstSeen:
    """Each valid number's first row and mask, packed in one int (1M numbers: ~90 MB, not 180)."""

    def __init__(self) -> None:
        self._seen: dict[int, int] = {}

    def first(self, number: str, row: int, mask: int) -> tuple[int, int] | None:
        """The (row, mask) that came first with `number`; None, and remembered, if this is it."""
        packed = self._seen.setdefault(int(number), row << MASK_BITS | mask)
        if packed >> MASK_BITS == row:
            return None
        return packed >> MASK_BITS, packed & MASK_LIMIT

    def repeats(
        self, numbers: Sequence[str], rows: Sequence[int], masks: Sequence[int]
    ) -> list[tuple[int, tuple[int, int]]]:
        """`first` for each (number, row, mask), in order: the positions that repeat."""
        remember = self._seen.setdefault
        found = []
        for at, (number, row, mask) in enumerate(zip(numbers, rows, masks, strict=True)):
            packed = remember(int(number), row << MASK_BITS | mask)
            if packed >> MASK_BITS != row:
                found.append((at, (packed >> MASK_BITS, packed & MASK_LIMIT)))
        return found


def _has_errors(issues: Iterable[Issue]) -> bool:
    return any(issue.severity is Severity.ERROR for issue in issues)
