"""did-import: register partner-owned phone numbers as CarrierX External DIDs in bulk.

The scheduler-facing functions are importable from the package itself (loaded on first
use, so `did-import --help` stays fast)::

    import importer

    outcome = importer.run_import(path, importer.build_settings(environ=os.environ))
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

__version__ = "0.1.0"

if TYPE_CHECKING:
    from importer.api import export_account, run_import, validate_file
    from importer.config import Settings, build_settings
    from importer.inbox import InboxRun, process_inbox, watch_inbox
    from importer.run import Command, Hooks, Run
    from importer.run.outcome import RunOutcome
    from importer.send.operations.listing import list_account

_EXPORTS = {
    "run_import": "importer.api",
    "validate_file": "importer.api",
    "export_account": "importer.api",
    "list_account": "importer.send.operations.listing",
    "RunOutcome": "importer.run.outcome",
    "Run": "importer.run",
    "Command": "importer.run",
    "Hooks": "importer.run",
    "build_settings": "importer.config",
    "Settings": "importer.config",
    "process_inbox": "importer.inbox",
    "watch_inbox": "importer.inbox",
    "InboxRun": "importer.inbox",
}

__all__ = [
    "Command",
    "Hooks",
    "InboxRun",
    "Run",
    "RunOutcome",
    "Settings",
    "__version__",
    "build_settings",
    "export_account",
    "list_account",
    "process_inbox",
    "run_import",
    "validate_file",
    "watch_inbox",
]


def __getattr__(name: str) -> Any:
    """`importer.run_import` and friends, imported from their module on first use."""
    if name not in _EXPORTS:
        raise AttributeError(f"module 'importer' has no attribute {name!r}")
    return getattr(importlib.import_module(_EXPORTS[name]), name)
