"""Capability masks: the `capabilities` cell → an External DID bit mask, or why not.

Bits (CarrierX): 1 = SMS in, 2 = SMS out, 4 = voice, 8 = MMS in, 16 = MMS out. An
External DID takes any mask from 1 to 31 that has at least one messaging bit and never
the voice bit. The checks run in this order, so each cell gets the most useful code:

- empty → the default mask, or `capabilities.missing` when there is none;
- not a whole number and not capability names → `capabilities.not_an_integer`
  (`3.0` and `3,0`, as spreadsheets write integers, are whole numbers);
- below 0 or above 31 → `capabilities.out_of_range`;
- voice bit set (including `4` alone and `31`) → `capabilities.voice_not_allowed`;
- no messaging bit → `capabilities.no_messaging`. `0` lands here rather than in
  `out_of_range`: "no capability at all" says more than "outside 1..31".

An accepted mask can still earn a warning (`mask_warning`): MMS without SMS
(`capabilities.mms_without_sms`) is allowed by the API but rarely meant. Every issue
carries the mask it read as its normalised value (`sms+voice` → `7`).

Names are accepted too, case-insensitive, joined by `+ / , ; & |`, spaces or `and`:
`sms` = 3, `mms` = 24, `all` = 27, `sms_in` = 1, `sms_out` = 2, `mms_in` = 8,
`mms_out` = 16 (also `sms-in`, `sms in`, `smsin`), `voice` = 4 (so `sms+voice` is
reported as voice, not as gibberish). Repeated names are combined, not added.
A mask followed by a comment in parentheses, as the template's dropdown writes it
(`27 (SMS in+out, MMS in+out)`), is the mask.
"""

from __future__ import annotations

import re
from dataclasses import replace
from functools import lru_cache

from importer.mapping import CAPABILITIES_FIELD
from importer.models import Issue, IssueType
from importer.validate import catalogue

FIELD = CAPABILITIES_FIELD

SMS_IN = 1
SMS_OUT = 2
VOICE = 4
MMS_IN = 8
MMS_OUT = 16
SMS = SMS_IN | SMS_OUT
MMS = MMS_IN | MMS_OUT
MESSAGING = SMS | MMS
MAX_MASK = 31

NAMES: dict[str, int] = {
    "sms": SMS,
    "mms": MMS,
    "all": MESSAGING,
    "sms_in": SMS_IN,
    "sms_out": SMS_OUT,
    "mms_in": MMS_IN,
    "mms_out": MMS_OUT,
    "voice": VOICE,
}

_INTEGER = re.compile(r"[+-]?\d+(?:[.,]0*)?")
_COMMENT = re.compile(r"(\d+)\s*\([^()]*\)")
_FRACTION = re.compile(r"[.,]0*$")
_MAX_DIGITS = 6
_DIRECTION = re.compile(r"\b(sms|mms)[\s_-]*(in|out)\b")
_SEPARATORS = re.compile(r"[\s+/,;&|]+|\band\b")


def parse_capabilities(
    text: str, default: int | None, *, column: str | None = None
) -> tuple[int | None, Issue | None]:
    """Read a mask from a cell; an empty cell takes `default` (checked the same way).

    `column` is the header text recorded on the issue.
    """
    if text:
        mask, problem = _parse(text)
        value = text
    elif default is not None:
        mask, problem, value = default, check_mask(default), str(default)
    else:
        mask, problem, value = None, catalogue.CAPABILITIES_MISSING, text
    if problem is None:
        return mask, None
    in_range = mask is not None and problem is not catalogue.CAPABILITIES_OUT_OF_RANGE
    normalized = str(mask) if in_range else None
    issue = problem.issue(field=FIELD, value=value, normalized=normalized)
    return None, replace(issue, column=column) if column is not None else issue


def mask_warning(mask: int, text: str, *, column: str | None = None) -> Issue | None:
    """A warning for an accepted mask that is probably a mistake (MMS without SMS)."""
    if mask & MMS and not mask & SMS:
        return catalogue.CAPABILITIES_MMS_WITHOUT_SMS.issue(
            field=FIELD, column=column, value=text, normalized=str(mask)
        )
    return None


def check_mask(mask: int) -> IssueType | None:
    """Why `mask` cannot be an External DID's capabilities, or None when it can."""
    if mask < 0 or mask > MAX_MASK:
        return catalogue.CAPABILITIES_OUT_OF_RANGE
    if mask & VOICE:
        return catalogue.CAPABILITIES_VOICE_NOT_ALLOWED
    if not mask & MESSAGING:
        return catalogue.CAPABILITIES_NO_MESSAGING
    return None


ALLOWED_MASKS: tuple[int, ...] = tuple(m for m in range(1, MAX_MASK + 1) if check_mask(m) is None)
_BIT_NAMES = ((SMS_IN, "SMS in"), (SMS_OUT, "SMS out"), (MMS_IN, "MMS in"), (MMS_OUT, "MMS out"))


def describe_mask(mask: int) -> str:
    """Words for a mask: `27` → `SMS in+out, MMS in+out`, `9` → `SMS in, MMS in`."""
    parts = []
    for kind, both in (("SMS", SMS), ("MMS", MMS)):
        bits = mask & both
        if bits == both:
            parts.append(f"{kind} in+out")
        elif bits:
            parts.append(next(name for bit, name in _BIT_NAMES if bit == bits))
    return ", ".join(parts) or "nothing"


@lru_cache(maxsize=1024)
def _parse(text: str) -> tuple[int | None, IssueType | None]:
    mask = _integer(text)
    if mask is None:
        mask = _from_names(text)
    if mask is None:
        return None, catalogue.CAPABILITIES_NOT_AN_INTEGER
    return mask, check_mask(mask)


def _integer(text: str) -> int | None:
    commented = _COMMENT.fullmatch(text)
    if commented:
        text = commented.group(1)
    if not _INTEGER.fullmatch(text):
        return None
    whole = _FRACTION.sub("", text)
    if len(whole.lstrip("+-0")) > _MAX_DIGITS:
        return MAX_MASK + 1  # far out of range; int() of a huge string is slow or refused
    return int(whole)


def _from_names(text: str) -> int | None:
    """`sms+mms` → 27; None when any part is not a capability name."""
    joined = _DIRECTION.sub(r"\1_\2", text.lower())
    words = [word for word in _SEPARATORS.split(joined) if word]
    if not words or any(word not in NAMES for word in words):
        return None
    mask = 0
    for word in words:
        mask |= NAMES[word]
    return mask
