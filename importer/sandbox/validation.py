"""Checks on register and update bodies; every problem found becomes one 422 error entry.

[doc]: phonenumber E.164 digits without '+'; capabilities a mask with at least one
messaging bit and never voice (4); underlying_carrier_sid required unless the partner has
a default; numbers checked against the partner's allowed prefixes; capabilities never
change. [assumed, switchable]: '+' rejected or stripped, unknown carriers refused,
unknown or read-only fields ignored or refused, capabilities changes refused or ignored,
optional register fields (callback_url, name, ...) stored or ignored.
"""

from __future__ import annotations

from typing import Any

from importer.sandbox.auth import Caller
from importer.sandbox.config import SandboxConfig
from importer.sandbox.numbers import number_problem
from importer.sandbox.responses import FieldError, invalid

VOICE = 4
MESSAGING_BITS = 1 | 2 | 8 | 16
MAX_MASK = 31
WRITABLE = frozenset(
    {"attributes", "callback_url", "name", "string_key_1", "string_key_2", "underlying_carrier_sid"}
)
REGISTER_FIELDS = WRITABLE | {"phonenumber", "capabilities"}
READ_ONLY = frozenset(
    {
        "active_capabilities", "campaign_sid", "classification_sid", "country_code",
        "external_did_sid", "in_country_format", "international_format", "lata", "locality",
        "lrn_sid", "ocn", "ocn_block", "partner_sid", "state", "status",
    }
)  # fmt: skip

Body = dict[str, Any]


def check_register(body: Body, caller: Caller, config: SandboxConfig) -> Body:
    """The accepted register fields (carrier defaulted), or raise a 422 with every error."""
    errors = _extra_field_errors(body, REGISTER_FIELDS, config)
    digits, error = _phonenumber(body.get("phonenumber"), config)
    errors += [error] if error else []
    if error is None and not _prefix_allowed(digits, caller):
        errors.append(FieldError("phonenumber", "phonenumber is outside the allowed prefixes"))
    errors += _capabilities_errors(body.get("capabilities"))
    carrier = body.get("underlying_carrier_sid") or caller.partner.default_carrier_sid
    if carrier is None:
        message = "underlying_carrier_sid is required: the partner has no default carrier"
        errors.append(FieldError("underlying_carrier_sid", message))
    errors += _writable_errors(body, config)
    if errors:
        raise invalid(*errors)
    optional = WRITABLE if config.register_optional_fields == "store" else frozenset()
    clean = {key: body[key] for key in optional if key in body}
    return clean | {
        "phonenumber": digits,
        "capabilities": body["capabilities"],
        "underlying_carrier_sid": carrier,
    }


def check_update(body: Body, record: Body, config: SandboxConfig) -> Body:
    """The accepted changes of a PATCH/PUT body, or raise a 422 with every error."""
    errors = _extra_field_errors(body, REGISTER_FIELDS, config)
    if "phonenumber" in body and body["phonenumber"] != record["phonenumber"]:
        errors.append(FieldError("phonenumber", "phonenumber cannot be changed"))
    capabilities = body.get("capabilities", record["capabilities"])
    if capabilities != record["capabilities"] and config.capabilities_change == "reject":
        message = "capabilities cannot be changed: delete and register again"
        errors.append(FieldError("capabilities", message))
    if body.get("underlying_carrier_sid", "") is None:
        errors.append(FieldError("underlying_carrier_sid", "underlying_carrier_sid is required"))
    errors += _writable_errors(body, config)
    if errors:
        raise invalid(*errors)
    return {key: body[key] for key in WRITABLE if key in body}


def _extra_field_errors(
    body: Body, allowed: frozenset[str], config: SandboxConfig
) -> list[FieldError]:
    if config.extra_fields == "ignore":
        return []
    errors = []
    for key in sorted(set(body) - allowed):
        kind = "read-only" if key in READ_ONLY else "unknown"
        errors.append(FieldError(key, f"{key} is a {kind} field"))
    return errors


def _phonenumber(value: Any, config: SandboxConfig) -> tuple[str, FieldError | None]:
    if value is None:
        return "", FieldError("phonenumber", "phonenumber is required")
    if not isinstance(value, str):
        return "", FieldError("phonenumber", "phonenumber must be a string")
    if value.startswith("+") and config.plus_prefix == "strip":
        value = value[1:]
    problem = number_problem(value, config.number_check)
    return value, FieldError("phonenumber", problem) if problem else None


def _prefix_allowed(digits: str, caller: Caller) -> bool:
    prefixes = caller.partner.allowed_prefixes
    return not prefixes or digits.startswith(prefixes)


def _capabilities_errors(value: Any) -> list[FieldError]:
    def error(message: str) -> list[FieldError]:
        return [FieldError("capabilities", message)]

    if value is None:
        return error("capabilities is required")
    if not isinstance(value, int) or isinstance(value, bool):
        return error("capabilities must be an integer")
    if not 1 <= value <= MAX_MASK:
        return error("capabilities must be a mask between 1 and 31")
    if value & VOICE:
        return error("voice (4) is not allowed for an External DID")
    if not value & MESSAGING_BITS:
        return error("capabilities must include at least one messaging bit")
    return []


def _writable_errors(body: Body, config: SandboxConfig) -> list[FieldError]:
    errors = []
    for key in ("name", "string_key_1", "string_key_2", "callback_url"):
        if body.get(key) is not None and not isinstance(body[key], str):
            errors.append(FieldError(key, f"{key} must be a string or null"))
    url = body.get("callback_url")
    if isinstance(url, str) and not url.startswith(("http://", "https://")):
        errors.append(FieldError("callback_url", "callback_url must be an http(s) URL"))
    if body.get("attributes") is not None and not isinstance(body["attributes"], dict):
        errors.append(FieldError("attributes", "attributes must be an object"))
    carrier = body.get("underlying_carrier_sid")
    if carrier is not None and not _carrier_known(carrier, config):
        message = "underlying_carrier_sid is not a known carrier"
        errors.append(FieldError("underlying_carrier_sid", message))
    return errors


def _carrier_known(carrier: Any, config: SandboxConfig) -> bool:
    if not isinstance(carrier, str):
        return False
    return config.carrier_check == "any" or carrier in config.carrier_sids
