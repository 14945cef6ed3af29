"""The list endpoint's `filter` and `order` languages.

`filter=<field> <op> <value> [and <field> <op> <value> ...]`, values bare or quoted with
' or ", `in`/`notin` taking a comma list (optionally in parentheses), `null` for null.
Only `and` joins conditions [doc]; `or`, parentheses around conditions or anything
unparsable is a `FilterError` (422). `eq ne gt ge lt like` are documented; `le ilike in
notin` are [assumed] and can be switched off. `order=<field> [asc|desc][, ...]`.
"""

from __future__ import annotations

import functools
import operator
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

DOCUMENTED_OPS = frozenset({"eq", "ne", "gt", "ge", "lt", "like"})
ASSUMED_OPS = frozenset({"le", "ilike", "in", "notin"})
INT_FIELDS = frozenset({"capabilities", "active_capabilities"})
FILTER_FIELDS = frozenset(
    {
        "active_capabilities", "callback_url", "campaign_sid", "capabilities",
        "classification_sid", "country_code", "external_did_sid", "in_country_format",
        "international_format", "lata", "locality", "lrn_sid", "name", "ocn", "ocn_block",
        "partner_sid", "phonenumber", "state", "status", "string_key_1", "string_key_2",
        "underlying_carrier_sid",
    }
)  # fmt: skip

_TOKEN = re.compile(r"""\s*(?:"([^"]*)"|'([^']*)'|([(),])|([^\s(),"']+))""")
_COMPARE: dict[str, Callable[[Any, Any], bool]] = {
    "gt": operator.gt, "ge": operator.ge, "lt": operator.lt, "le": operator.le,
}  # fmt: skip

Record = dict[str, Any]


class FilterError(ValueError):
    """The filter or order expression cannot be used (answered with 422)."""


@dataclass(frozen=True)
class Condition:
    """One `<field> <op> <value>` condition."""

    field: str
    op: str
    value: Any

    def matches(self, record: Record) -> bool:
        """True when the record satisfies this condition."""
        actual = field_value(record, self.field)
        if self.op in ("eq", "ne"):
            return bool(actual == self.value) == (self.op == "eq")
        if self.op in ("in", "notin"):
            return (actual in self.value) == (self.op == "in")
        if self.op in ("like", "ilike"):
            return actual is not None and bool(self.value.fullmatch(str(actual)))
        if actual is None or self.value is None or type(actual) is not type(self.value):
            return False
        return bool(_COMPARE[self.op](actual, self.value))


@dataclass(frozen=True)
class Filter:
    """All conditions of a filter; `phonenumber` is set for the indexed fast path."""

    conditions: tuple[Condition, ...]

    @property
    def phonenumber(self) -> str | None:
        """The number an `phonenumber eq X` condition asks for, if there is one."""
        for condition in self.conditions:
            if condition.field == "phonenumber" and condition.op == "eq":
                return str(condition.value)
        return None

    @property
    def phonenumbers(self) -> tuple[str, ...] | None:
        """The numbers a `phonenumber eq X` or `phonenumber in (…)` condition asks for."""
        for condition in self.conditions:
            if condition.field == "phonenumber" and condition.op == "in":
                return tuple(str(value) for value in condition.value)
        number = self.phonenumber
        return None if number is None else (number,)

    def matches(self, record: Record) -> bool:
        """True when every condition holds."""
        return all(condition.matches(record) for condition in self.conditions)


def field_value(record: Record, field: str) -> Any:
    """A record's value for a field name, `attributes.<key>` reaching into attributes."""
    if field.startswith("attributes."):
        return record.get("attributes", {}).get(field.removeprefix("attributes."))
    return record.get(field)


@functools.lru_cache(maxsize=4096)
def parse_filter(text: str, *, extended_ops: bool = True) -> Filter:
    """Parse a filter expression, or raise `FilterError` saying what is wrong."""
    tokens = _tokenize(text)
    conditions: list[Condition] = []
    while tokens:
        conditions.append(_condition(tokens, extended_ops))
        if tokens:
            joiner = tokens.pop(0)
            if joiner.lower() != "and":
                raise FilterError(f"conditions must be joined by 'and', not {joiner!r}")
            if not tokens:
                raise FilterError("a condition must follow 'and'")
    if not conditions:
        raise FilterError("the filter is empty")
    return Filter(tuple(conditions))


def parse_order(text: str) -> list[tuple[str, bool]]:
    """Parse `order=<field> [asc|desc][, ...]` into (field, descending) pairs."""
    keys: list[tuple[str, bool]] = []
    for part in text.split(","):
        words = part.split()
        if not 1 <= len(words) <= 2 or (
            len(words) == 2 and words[1].lower() not in ("asc", "desc")
        ):
            raise FilterError(f"cannot parse order {part.strip()!r}: use '<field> asc|desc'")
        _check_field(words[0])
        keys.append((words[0], len(words) == 2 and words[1].lower() == "desc"))
    return keys


def sort_records(records: list[Record], keys: Sequence[tuple[str, bool]]) -> list[Record]:
    """Stable multi-key sort; nulls sort first in ascending order."""
    for field, descending in reversed(keys):
        records = sorted(records, key=functools.partial(_sort_key, field), reverse=descending)
    return records


def _sort_key(field: str, record: Record) -> tuple[bool, str, Any]:
    value = field_value(record, field)
    return (value is not None, type(value).__name__, value if value is not None else 0)


def _tokenize(text: str) -> list[str]:
    tokens: list[str] = []
    position, text = 0, text.strip()
    while position < len(text):
        match = _TOKEN.match(text, position)
        if match is None:
            raise FilterError(f"cannot parse filter near {text[position:]!r}")
        quoted = match.group(1) if match.group(1) is not None else match.group(2)
        tokens.append("\0" + quoted if quoted is not None else match.group(3) or match.group(4))
        position = match.end()
    return tokens


def _condition(tokens: list[str], extended_ops: bool) -> Condition:
    if len(tokens) < 3:
        raise FilterError("each condition needs '<field> <op> <value>'")
    field, op = tokens.pop(0), tokens.pop(0).lower()
    _check_field(field)
    allowed = DOCUMENTED_OPS | ASSUMED_OPS if extended_ops else DOCUMENTED_OPS
    if op not in allowed:
        raise FilterError(f"unknown filter operator {op!r}")
    if op in ("in", "notin"):
        return Condition(field, op, frozenset(_typed(field, v) for v in _value_list(tokens)))
    raw = _single_value(tokens)
    if op in ("like", "ilike"):
        return Condition(field, op, _like_pattern(_text(raw), ignore_case=op == "ilike"))
    return Condition(field, op, _typed(field, raw))


def _check_field(field: str) -> None:
    if field.startswith("\0") or not (field in FILTER_FIELDS or field.startswith("attributes.")):
        raise FilterError(f"unknown field {field.lstrip(chr(0))!r}")


def _single_value(tokens: list[str]) -> str:
    value = tokens.pop(0)
    if value in ("(", ")", ","):
        raise FilterError(f"expected a value, found {value!r}")
    return value


def _value_list(tokens: list[str]) -> list[str]:
    parenthesised = tokens[0] == "("
    if parenthesised:
        tokens.pop(0)
    values = [_single_value(tokens)]
    while tokens and tokens[0] == ",":
        tokens.pop(0)
        values.append(_single_value(tokens) if tokens else _single_value([")"]))
    if parenthesised and (not tokens or tokens.pop(0) != ")"):
        raise FilterError("missing ')' after the value list")
    return values


def _text(raw: str) -> str:
    return raw[1:] if raw.startswith("\0") else raw


def _typed(field: str, raw: str) -> Any:
    if raw == "null":
        return None
    value = _text(raw)
    if field in INT_FIELDS:
        try:
            return int(value)
        except ValueError:
            raise FilterError(f"{field} takes an integer, not {value!r}") from None
    return value


def _like_pattern(pattern: str, *, ignore_case: bool) -> re.Pattern[str]:
    parts = ("." * (c == "_") or ".*" * (c == "%") or re.escape(c) for c in pattern)
    return re.compile("".join(parts), re.IGNORECASE | re.DOTALL if ignore_case else re.DOTALL)
