"""did-import: register partner-owned phone numbers as CarrierX External DIDs in bulk."""

from __future__ import annotations

__version__ = "0.1.0"
