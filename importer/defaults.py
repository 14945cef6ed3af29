"""Defaults the command line's help shows, named once: `importer.config` builds the
settings from them. This module imports nothing, so `did-import --help` stays fast
(`importer.config` pulls in pydantic).
"""

from __future__ import annotations

DEFAULT_BASE_URL = "https://api.carrierx.com/core/v2"
DEFAULT_TIMEOUT = 30.0
DEFAULT_CONCURRENCY = 16
DEFAULT_MAX_ATTEMPTS = 5
DEFAULT_MAX_WAIT = 300.0
DEFAULT_MAX_ERROR_RATE = 0.5
DEFAULT_INBOX_INTERVAL = 60.0
DEFAULT_INBOX_SETTLE = 2.0
