"""A local, CarrierX-compatible External DID API for partners' trials and our tests.

It follows `carrierx-api.md`: what CarrierX documents is fixed behaviour, every
[assumed] behaviour is a `SandboxConfig` switch, and faults (latency, 429 with
Retry-After, 5xx, dropped connections, "created, then the answer was lost") are
injected from a seeded random generator. Modules::

    config      SandboxConfig, Partner, default partners, tokens, known carriers
    server      SandboxServer (background thread) and serve() (foreground, for the CLI)
    app         create_app(): routes, error bodies, admin view (/_sandbox/...)
    middleware  per-request log, faults and authentication
    handlers    register, list, get, update, delete;  messaging: enablement
    validation  register/update body checks;  filters: filter and order languages
    state       records + request log (store: SQLite for --state FILE)
    faults      fault decisions and connection cutting;  openapi: the description
    options     parsers for the CLI's --partner and --latency values
"""

from __future__ import annotations

from importer.sandbox.app import create_app
from importer.sandbox.config import (
    CREATE_ONLY_TOKEN,
    DEFAULT_CARRIER_SID,
    DEFAULT_TOKEN,
    DELETE_ONLY_TOKEN,
    KNOWN_CARRIER_SIDS,
    PARTNER_B_TOKEN,
    READ_ONLY_TOKEN,
    Partner,
    SandboxConfig,
    default_partners,
)
from importer.sandbox.options import parse_latency, parse_partner
from importer.sandbox.server import SandboxServer, serve
from importer.sandbox.state import RequestEntry, SandboxState

__all__ = [
    "CREATE_ONLY_TOKEN",
    "DEFAULT_CARRIER_SID",
    "DEFAULT_TOKEN",
    "DELETE_ONLY_TOKEN",
    "KNOWN_CARRIER_SIDS",
    "PARTNER_B_TOKEN",
    "READ_ONLY_TOKEN",
    "Partner",
    "RequestEntry",
    "SandboxConfig",
    "SandboxServer",
    "SandboxState",
    "create_app",
    "default_partners",
    "parse_latency",
    "parse_partner",
    "serve",
]
