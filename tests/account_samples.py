"""An account of External DIDs put straight into a sandbox's state (no requests, no
faults): the records the listing and export tests read back, with every awkward value
an export must carry (nested and typed attributes, accents, commas and quotes, nulls,
both carriers, several masks)."""

from __future__ import annotations

from typing import Any

from importer.mapping.aliases import CANONICAL_FIELDS
from importer.sandbox import DEFAULT_CARRIER_SID, SandboxServer
from importer.sandbox.config import PARTNER_A_SID, PARTNER_B_SID
from importer.sandbox.numbers import derived_fields

OTHER_CARRIER_SID = "0f3c52a4-0d3e-4a49-9a3b-5b1e3d2f9c10"
MASKS = (3, 27, 1, 24, 2, 19)
EDITABLE = CANONICAL_FIELDS  # what a sheet sets: the template's fields


def number(n: int) -> str:
    """A distinct valid US number (E.164 digits) per n < 10,000."""
    return f"1205905{n:04d}"


def account_record(n: int, *, partner_sid: str = PARTNER_A_SID) -> dict[str, Any]:
    """The n-th sample record, as the sandbox stores one."""
    digits = number(n)
    record = derived_fields(digits) | {
        "active_capabilities": MASKS[n % len(MASKS)],
        "attributes": _attributes(n),
        "callback_url": None if n % 3 == 0 else f"https://cb{n % 7}.example.com/sms?n={n}",
        "campaign_sid": None,
        "capabilities": MASKS[n % len(MASKS)],
        "classification_sid": None,
        "external_did_sid": f"00000000-0000-4000-8000-{n:012d}",
        "name": _name(n),
        "partner_sid": partner_sid,
        "phonenumber": digits,
        "status": "assigned",
        "string_key_1": None if n % 2 else f"store-{n}",
        "string_key_2": f'région, "{n}"' if n % 5 == 0 else None,
        "underlying_carrier_sid": OTHER_CARRIER_SID if n % 4 == 1 else DEFAULT_CARRIER_SID,
    }
    return dict(sorted(record.items()))


def seed_account(server: SandboxServer, count: int, *, start: int = 0) -> list[dict[str, Any]]:
    """Put `count` sample records of partner-a into `server` (and one of partner-b's)."""
    records = [account_record(n) for n in range(start, start + count)]
    for record in records:
        server.state.put(record)
    server.state.put(account_record(9999, partner_sid=PARTNER_B_SID))
    return records


def editable(record: dict[str, Any]) -> dict[str, Any]:
    """The fields a sheet sets, as validation builds them: absent when null."""
    return {field: record[field] for field in EDITABLE if record.get(field) is not None}


def _attributes(n: int) -> dict[str, Any]:
    if n % 4 == 0:
        return {}
    if n % 4 == 1:
        return {"team": "sales"}
    return {"n": n, "nested": {"list": [1, 2.5, None, True]}, "ünï": "cödé ✓", "q": 'a "b"'}


def _name(n: int) -> str:
    if n % 3 == 0:
        return f"External DID {102505 + n}"
    return f'Fröntdesk, "{n}"' if n % 3 == 1 else f"Line {n}\nsecond line"
