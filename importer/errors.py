"""Run-stopping failures: one small exception tree, each branch with its exit code.

Per-row problems are never raised; they are `Issue` records (see `importer.models`).
Only what stops a whole run is an exception, and every one of them derives from
`ImporterError`, so the command line catches that base alone::

    ImporterError                 (exit 2 unless a subclass says otherwise)
    ├── InputError                exit 2  the input file cannot be used; nothing was sent
    │   ├── UnreadableFileError           missing, empty, undecodable, wrong format
    │   └── MappingError                  no phone-number column, duplicate headers
    ├── ConfigError               exit 2  settings, config file or token unusable
    ├── ApiError                  exit 3  the API refused us or cannot be reached
    │   ├── AuthError                     401 / 403: bad token, missing scope, feature off
    │   └── ApiUnreachableError           connection refused, DNS, TLS, repeated timeouts
    ├── RunStopped                exit 4  interrupted or stopped by a threshold; resumable
    └── LockHeld                  exit 5  another process holds a lock this run needs; nothing done
        ├── InboxBusy                     another `did-import inbox` run holds the inbox
        └── JournalBusy                   another run holds the journal

Third-party exceptions (httpx, csv, zipfile, calamine) are translated into these at the
module that calls the third party, never further in.
"""

from __future__ import annotations


class ImporterError(Exception):
    """Base of every run-stopping failure; `exit_code` is what the CLI returns."""

    exit_code: int = 2

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message

    def __str__(self) -> str:
        return self.message


class InputError(ImporterError):
    """The input file cannot be used (exit 2, nothing was sent)."""

    exit_code = 2


class UnreadableFileError(InputError):
    """The file is missing, empty, undecodable or not a supported spreadsheet."""


class MappingError(InputError):
    """The header cannot be mapped: no phone-number column, or duplicate names."""


class ConfigError(ImporterError):
    """Settings, the config file or the token are unusable (exit 2)."""

    exit_code = 2


class ApiError(ImporterError):
    """The API refused us or cannot be reached; the run stopped (exit 3)."""

    exit_code = 3


class AuthError(ApiError):
    """401 or 403: bad token, missing scope, or the partner lacks the feature."""

    def __init__(self, message: str, *, status_code: int) -> None:
        super().__init__(message)
        self.status_code = status_code


class ApiUnreachableError(ApiError):
    """The API cannot be reached at all (refused, DNS, TLS, repeated timeouts)."""


class RunStopped(ImporterError):
    """The run was interrupted or stopped by a threshold; it can be resumed (exit 4)."""

    exit_code = 4


class LockHeld(ImporterError):
    """Another process holds a lock this run needs; this one did nothing (exit 5)."""

    exit_code = 5


class InboxBusy(LockHeld):
    """Another `did-import inbox` run holds the inbox's lock."""


class JournalBusy(LockHeld):
    """Another run holds the journal's lock: one run per journal at a time."""
