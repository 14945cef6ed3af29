"""What the sandbox serves: partners, tokens, and a switch for every [assumed] behaviour.

Everything CarrierX documents is fixed behaviour; everything `carrierx-api.md` marks
[assumed] is a field here, so the client can be tested against both readings. Faults
(latency, 429, 5xx, dropped connections, lost answers) are all off by default and
drawn from a `random.Random(seed)`, so a run can be reproduced.
"""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

SCOPE_MANAGE = "phonenumber.manage"
SCOPE_READ = "phonenumber.read"
SCOPE_CREATE = "phonenumber.create"
SCOPE_DELETE = "phonenumber.delete"
SCOPE_UPDATE = "phonenumber.update"

DEFAULT_CARRIER_SID = "61ced070-8dad-43b4-b5e6-f7d61f7aeb65"
KNOWN_CARRIER_SIDS: frozenset[str] = frozenset(
    {DEFAULT_CARRIER_SID, "0f3c52a4-0d3e-4a49-9a3b-5b1e3d2f9c10"}
)

DEFAULT_TOKEN = "sandbox-token"  # noqa: S105 - a published sandbox token
READ_ONLY_TOKEN = "sandbox-token-read"  # noqa: S105 - a published sandbox token
CREATE_ONLY_TOKEN = "sandbox-token-create"  # noqa: S105 - a published sandbox token
DELETE_ONLY_TOKEN = "sandbox-token-delete"  # noqa: S105 - a published sandbox token
PARTNER_B_TOKEN = "sandbox-token-b"  # noqa: S105 - a published sandbox token
DEFAULT_BASIC_LOGIN = ("partner-a", "sandbox-password")  # published sandbox login

PARTNER_A_SID = "a13c384d-cf78-46fd-ab8b-1056b49291ba"
PARTNER_B_SID = "b7f1e2d4-5c6a-4e8b-9f0a-1b2c3d4e5f60"

MAX_LIMIT = 1000
DEFAULT_LIMIT = 10
DEFAULT_REQUEST_LOG_LIMIT = 200_000


class Partner(BaseModel):
    """One partner account: its tokens (token → scopes), carrier default, restrictions."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    name: str
    partner_sid: str
    tokens: dict[str, frozenset[str]]
    default_carrier_sid: str | None = None
    allowed_prefixes: tuple[str, ...] = ()
    external_dids_enabled: bool = True
    basic_logins: dict[str, str] = Field(default_factory=dict)
    """HTTP Basic `username → password`, each with `phonenumber.manage`; empty = Basic disabled."""


def default_partners() -> list[Partner]:
    """partner-a (default carrier, scope-limited extra tokens) and partner-b (no default)."""
    return [
        Partner(
            name="partner-a",
            partner_sid=PARTNER_A_SID,
            tokens={
                DEFAULT_TOKEN: frozenset({SCOPE_MANAGE}),
                READ_ONLY_TOKEN: frozenset({SCOPE_READ}),
                CREATE_ONLY_TOKEN: frozenset({SCOPE_CREATE}),
                DELETE_ONLY_TOKEN: frozenset({SCOPE_DELETE}),
            },
            default_carrier_sid=DEFAULT_CARRIER_SID,
            basic_logins={DEFAULT_BASIC_LOGIN[0]: DEFAULT_BASIC_LOGIN[1]},
        ),
        Partner(
            name="partner-b",
            partner_sid=PARTNER_B_SID,
            tokens={PARTNER_B_TOKEN: frozenset({SCOPE_MANAGE})},
        ),
    ]


class SandboxConfig(BaseModel):
    """The sandbox's partners, [assumed]-behaviour switches, faults and storage."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    partners: list[Partner] = Field(default_factory=default_partners, min_length=1)
    carrier_sids: frozenset[str] = KNOWN_CARRIER_SIDS

    # [assumed] behaviours, each switchable
    duplicate_status: Literal[422, 409] = 422
    attributes_patch: Literal["merge", "replace"] = "merge"
    put_semantics: Literal["patch", "replace"] = "patch"
    capabilities_change: Literal["reject", "ignore"] = "reject"
    missing_scope_status: Literal[403, 401] = 403
    carrier_check: Literal["known", "any"] = "known"
    extra_fields: Literal["ignore", "reject"] = "ignore"
    register_optional_fields: Literal["store", "ignore"] = "store"
    plus_prefix: Literal["reject", "strip"] = "reject"
    number_check: Literal["valid", "possible"] = "valid"
    extended_filter_ops: bool = True
    limit_over_max: Literal["clamp", "reject"] = "clamp"
    list_total: Literal["count", "null"] = "count"
    retry_after_header: bool = True
    initial_messaging: Literal["enabled", "disabled"] = "enabled"
    messaging_outcome: Literal["success", "failed"] = "success"
    messaging_settle_s: float = Field(default=0.0, ge=0)

    # faults, all off by default
    latency_ms: float = Field(default=0, ge=0)
    latency_jitter_ms: float = Field(default=0, ge=0)
    latency_distribution: Literal["uniform", "exponential"] = "uniform"
    fail_rate: float = Field(default=0, ge=0, le=1)
    fail_statuses: tuple[int, ...] = (500, 503)
    rate_limit: float | None = Field(default=None, gt=0)
    drop_rate: float = Field(default=0, ge=0, le=1)
    lose_answer_rate: float = Field(default=0, ge=0, le=1)
    """Fraction of External DID requests of `lose_answer_methods` handled (a write applied),
    then their answer lost."""
    lose_answer_methods: frozenset[Literal["POST", "PATCH", "PUT", "DELETE", "GET"]] = frozenset(
        {"POST", "PATCH", "PUT", "DELETE"}
    )
    """The methods whose answers may be lost: every write by default; GET too if listed."""
    lose_answer_delay_s: float | None = Field(default=None, ge=0)
    """None: cut the connection after the commit; else answer this many seconds late."""
    lose_answer_status: int | None = Field(default=None, ge=500, le=599)
    """When set, a lost answer is this 5xx (after the commit) instead of a cut or a delay."""
    seed: int = 0

    # storage
    state_file: Path | None = None
    request_log_limit: int = Field(default=DEFAULT_REQUEST_LOG_LIMIT, ge=0)
