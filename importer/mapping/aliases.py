"""Canonical fields and the header spellings (alias keys) that name each of them.

Header text is compared by a *key*: case-folded, with everything but letters and digits
removed, so "Phone_Number", "phone number" and "PhoneNumber" are one name.
"""

from __future__ import annotations

from collections.abc import Mapping

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
ALIAS_INDEX: dict[str, tuple[str, int]] = {
    key: (field, rank) for field, keys in ALIASES.items() for rank, key in enumerate(keys)
}


def header_key(text: str) -> str:
    """The comparison key of a header: case-folded letters and digits only."""
    return "".join(char for char in text.casefold() if char.isalnum())
