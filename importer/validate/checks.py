"""Per-field checks of the optional payload fields: each cell → its value, or its problem.

A check takes the stripped cell text and returns `(value, None)` or `(None, problem)`;
a warning function returns an `IssueType` or None. `OPTIONAL_FIELDS` lists the
optional payload keys in payload order with their check and warning (see
`importer.validate.rows` for the rules in words).
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from importer.config import RowDefaults, ValidationSettings
from importer.errors import ConfigError
from importer.models import IssueType
from importer.validate import catalogue
from importer.validate.capabilities import check_mask
from importer.validate.phone import NumberPolicy, check_country, check_region

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

UUID_PATTERN = "[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}"
"""A UUID in lower case (the carrier SID); cells are matched ignoring case, then lowered."""
_UUID = re.compile(UUID_PATTERN, re.IGNORECASE)
_URL_SCHEMES = frozenset({"http", "https"})

Check = Callable[[str], tuple[Any, IssueType | None]]
Warn = Callable[[str], IssueType | None]


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
class RunDefaults:
    """`RowDefaults` and `ValidationSettings`, checked and normalised once for the run."""

    region: str | None
    capabilities: int | None
    fallbacks: Mapping[str, str]
    policy: NumberPolicy
    carrier_required: bool


def check_defaults(defaults: RowDefaults, rules: ValidationSettings) -> RunDefaults:
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
    return RunDefaults(
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
