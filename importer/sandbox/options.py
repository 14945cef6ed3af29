"""Parsers for the `did-import sandbox` options that are richer than a number.

`--partner` takes `key=value` pairs separated by commas, lists joined with `+`::

    name=partner-c,token=tok-c,scopes=phonenumber.read+phonenumber.create,
    carrier=61ced070-8dad-43b4-b5e6-f7d61f7aeb65,prefixes=1205+44,external_dids=off

`name` and `token` are required; `scopes` defaults to `phonenumber.manage`, `carrier`
to none (`none` also says so), `prefixes` to all, `external_dids` to on, `sid` to a
UUID derived from the name. `--latency` takes `MS`, `MS:JITTER` or
`MS:JITTER:exponential` (uniform jitter otherwise). Both raise `ValueError` with a
one-line message naming the bad part.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from typing import Any

from pydantic import ValidationError

from importer.errors import ConfigError
from importer.sandbox.config import SCOPE_MANAGE, Partner, SandboxConfig

_PARTNER_KEYS = frozenset(
    {"name", "token", "scopes", "carrier", "prefixes", "external_dids", "sid"}
)
_SWITCH_WORDS = {"on": True, "true": True, "yes": True, "off": False, "false": False, "no": False}
_PARTNER_NAMESPACE = uuid.UUID("5f0c1d2e-3a4b-4c5d-8e6f-708192a3b4c5")


def parse_partner(spec: str) -> Partner:
    """A `Partner` from a `--partner` value."""
    fields = _pairs(spec)
    unknown = set(fields) - _PARTNER_KEYS
    if unknown:
        raise ValueError(f"--partner {spec!r}: unknown key {sorted(unknown)[0]!r}")
    if "name" not in fields or "token" not in fields:
        raise ValueError(f"--partner {spec!r}: name= and token= are required")
    name = fields["name"]
    carrier = fields.get("carrier", "none")
    return Partner(
        name=name,
        partner_sid=fields.get("sid") or str(uuid.uuid5(_PARTNER_NAMESPACE, name)),
        tokens={fields["token"]: frozenset(_list(fields.get("scopes", SCOPE_MANAGE)))},
        default_carrier_sid=None if carrier.lower() == "none" else carrier,
        allowed_prefixes=tuple(_list(fields.get("prefixes", ""))),
        external_dids_enabled=_switch(spec, fields.get("external_dids", "on")),
    )


def parse_latency(text: str) -> dict[str, Any]:
    """`SandboxConfig` latency fields from a `--latency` value."""
    parts = text.split(":")
    if len(parts) > 3 or (len(parts) == 3 and parts[2] not in ("uniform", "exponential")):
        raise ValueError(f"--latency {text!r}: use MS, MS:JITTER or MS:JITTER:exponential")
    try:
        numbers = [float(part) for part in parts[:2]]
    except ValueError:
        raise ValueError(f"--latency {text!r}: milliseconds must be numbers") from None
    if any(number < 0 for number in numbers):
        raise ValueError(f"--latency {text!r}: milliseconds cannot be negative")
    return {
        "latency_ms": numbers[0],
        "latency_jitter_ms": numbers[1] if len(numbers) > 1 else 0.0,
        "latency_distribution": parts[2] if len(parts) == 3 else "uniform",
    }


def _pairs(spec: str) -> dict[str, str]:
    fields: dict[str, str] = {}
    for part in filter(None, (piece.strip() for piece in spec.split(","))):
        key, equals, value = part.partition("=")
        if not equals or not key.strip() or not value.strip():
            raise ValueError(f"--partner {spec!r}: expected key=value, got {part!r}")
        fields[key.strip()] = value.strip()
    return fields


def _list(value: str) -> list[str]:
    return [item.strip() for item in value.split("+") if item.strip()]


def _switch(spec: str, value: str) -> bool:
    try:
        return _SWITCH_WORDS[value.lower()]
    except KeyError:
        raise ValueError(f"--partner {spec!r}: external_dids must be on or off") from None


def config_from_options(
    *, latency: str = "0", partners: Sequence[str] = (), **switches: Any
) -> SandboxConfig:
    """A `SandboxConfig` from `did-import sandbox` options; bad values are `ConfigError`.

    `latency` and `partners` take the rich forms above; every other keyword is a
    `SandboxConfig` field (`fail_rate=0.05`, `duplicate_status=409`, ...).
    """
    try:
        if partners:
            switches["partners"] = [parse_partner(spec) for spec in partners]
        return SandboxConfig(**parse_latency(latency), **switches)
    except ValueError as error:  # pydantic's ValidationError is a ValueError too
        raise ConfigError(_first_line(error)) from None


def _first_line(error: ValueError) -> str:
    if isinstance(error, ValidationError):
        first = error.errors()[0]
        return f"invalid sandbox option {first['loc'][0]}: {first['msg']}"
    return str(error)
