"""The `--partner` and `--latency` option parsers of `did-import sandbox`."""

from __future__ import annotations

import pytest

from importer.sandbox import SandboxConfig, parse_latency, parse_partner


def test_full_partner_spec() -> None:
    """Every key of a --partner spec lands in the Partner."""
    partner = parse_partner(
        "name=partner-c, token=tok-c, scopes=phonenumber.read+phonenumber.create,"
        "carrier=61ced070-8dad-43b4-b5e6-f7d61f7aeb65, prefixes=1205+44, external_dids=off,"
        "sid=c0c0c0c0-0000-4000-8000-000000000000"
    )
    assert partner.name == "partner-c"
    assert partner.tokens == {"tok-c": frozenset({"phonenumber.read", "phonenumber.create"})}
    assert partner.default_carrier_sid == "61ced070-8dad-43b4-b5e6-f7d61f7aeb65"
    assert partner.allowed_prefixes == ("1205", "44")
    assert partner.external_dids_enabled is False
    assert partner.partner_sid == "c0c0c0c0-0000-4000-8000-000000000000"


def test_minimal_partner_spec_defaults() -> None:
    """name and token alone give manage scope, no carrier, all prefixes, a stable sid."""
    partner = parse_partner("name=p,token=t")
    assert partner.tokens == {"t": frozenset({"phonenumber.manage"})}
    assert (partner.default_carrier_sid, partner.allowed_prefixes) == (None, ())
    assert partner.external_dids_enabled is True
    assert partner.partner_sid == parse_partner("name=p,token=other").partner_sid
    assert SandboxConfig(partners=[partner]).partners[0] == partner


@pytest.mark.parametrize(
    "spec",
    [
        "",
        "name=p",
        "token=t",
        "name=p,token=t,colour=red",
        "name=p,token",
        "name=p,token=t,external_dids=maybe",
    ],
)
def test_bad_partner_specs_raise(spec: str) -> None:
    """A missing name/token, an unknown key, a bare word or a bad switch is a ValueError."""
    with pytest.raises(ValueError, match="--partner"):
        parse_partner(spec)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("50", (50.0, 0.0, "uniform")),
        ("50:20", (50.0, 20.0, "uniform")),
        ("5:2.5:exponential", (5.0, 2.5, "exponential")),
    ],
)
def test_latency_forms(text: str, expected: tuple[float, float, str]) -> None:
    """MS, MS:JITTER and MS:JITTER:exponential set the three latency fields."""
    fields = parse_latency(text)
    assert (
        fields["latency_ms"],
        fields["latency_jitter_ms"],
        fields["latency_distribution"],
    ) == expected
    SandboxConfig(**fields)


@pytest.mark.parametrize("text", ["fast", "-5", "1:2:3:4", "1:2:gaussian", "1:x"])
def test_bad_latency_raises(text: str) -> None:
    """Non-numbers, negatives, extra parts or unknown distributions are ValueErrors."""
    with pytest.raises(ValueError, match="--latency"):
        parse_latency(text)
