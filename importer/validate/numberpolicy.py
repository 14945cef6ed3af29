"""The partner's own rules for valid numbers: allowed countries and prefixes, SMS-unlikely kinds.

`NumberPolicy` applies them to a valid `Reading` (see `importer.validate.phone`): a number outside
the allowed countries or prefixes is an error, a kind that rarely takes SMS a warning.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from typing import TYPE_CHECKING

import phonenumbers

from importer.mapping import PHONE_FIELD
from importer.models import Issue, IssueType
from importer.validate import catalogue

if TYPE_CHECKING:
    from importer.validate.phone import Reading

FIELD = PHONE_FIELD
CACHE_SIZE = 1 << 16
# How a message names each libphonenumber type (`phonenumber.sms_unlikely`: "+… is a pager").
KIND_PHRASES: dict[str, str] = {
    "fixed_line": "a landline",
    "mobile": "a mobile number",
    "fixed_line_or_mobile": "a landline or mobile number",
    "toll_free": "a toll-free number",
    "premium_rate": "a premium-rate number",
    "shared_cost": "a shared-cost number",
    "voip": "a VoIP number",
    "personal_number": "a personal number",
    "pager": "a pager",
    "uan": "a UAN (universal access number)",
    "voicemail": "a voicemail access number",
}


@dataclass(frozen=True, slots=True)
class NumberPolicy:
    """The partner's rules for valid numbers; empty collections allow everything."""

    countries: frozenset[str] = frozenset()
    prefixes: tuple[str, ...] = ()
    sms_incapable: frozenset[str] = frozenset()

    def issues(self, reading: Reading, text: str, column: str | None = None) -> list[Issue]:
        """Errors for a number outside the allowed countries/prefixes, a warning for its kind."""
        digits = reading.digits
        if digits is None or not (
            self.countries or self.prefixes or reading.kind in self.sms_incapable
        ):
            return []
        found = [self._country(digits), self._prefix(digits), self._kind(reading.kind)]
        return [
            problem.issue(field=FIELD, column=column, value=text, normalized=digits, **params)
            for problem, params in (item for item in found if item is not None)
        ]

    def _country(self, digits: str) -> tuple[IssueType, dict[str, str]] | None:
        if not self.countries:
            return None
        country = country_of(digits)
        if country in self.countries:
            return None
        allowed = ", ".join(sorted(self.countries))
        return catalogue.PHONENUMBER_COUNTRY_NOT_ALLOWED, {"country": country, "allowed": allowed}

    def _prefix(self, digits: str) -> tuple[IssueType, dict[str, str]] | None:
        if not self.prefixes or digits.startswith(self.prefixes):
            return None
        allowed = ", ".join(f"+{prefix}" for prefix in self.prefixes)
        return catalogue.PHONENUMBER_PREFIX_NOT_ALLOWED, {"allowed": allowed}

    def _kind(self, kind: str | None) -> tuple[IssueType, dict[str, str]] | None:
        if kind is None or kind not in self.sms_incapable:
            return None
        return catalogue.PHONENUMBER_SMS_UNLIKELY, {"kind": KIND_PHRASES[kind]}


@lru_cache(maxsize=CACHE_SIZE)
def country_of(digits: str) -> str:
    """ISO alpha-2 region of valid E.164 `digits` (`001` for non-geographic numbers)."""
    number = phonenumbers.parse("+" + digits, None)
    return phonenumbers.region_code_for_number(number) or "ZZ"


def check_country(region: str) -> str:
    """Return a region code in upper case; raise `ValueError` if `phonenumbers` lacks it."""
    upper = region.upper()
    if upper not in phonenumbers.SUPPORTED_REGIONS and upper != "001":
        raise ValueError(f"unknown region {region!r}")
    return upper
