"""What a run does with its file: the commands, their summary modes, who needs a token."""

from __future__ import annotations

from enum import StrEnum

from importer.reporter.summary import Mode

__all__ = ["NEEDS_TOKEN", "Command"]


class Command(StrEnum):
    """What a run does with a file once it is validated (the command that asked for it)."""

    VALIDATE = "validate"  # nothing more: a dry run
    CHECK_REMOTE = "check_remote"  # a dry run that also looks the numbers up, read-only
    RUN = "run"  # register the valid rows
    PLAN = "plan"  # a dry run that plans every row against the account, read-only
    APPLY = "apply"  # carry the plan out: register, update, replace, delete
    DELETE = "delete"  # delete the listed numbers

    @property
    def mode(self) -> Mode:
        """The summary's `mode`."""
        return _MODES[self]

    @property
    def plans(self) -> bool:
        """Whether its rows are planned against the account (plan, apply, delete)."""
        return self in (Command.PLAN, Command.APPLY, Command.DELETE)

    @property
    def writes(self) -> bool:
        """Whether it sends writes (a journal, its lock, progress)."""
        return self in (Command.RUN, Command.APPLY, Command.DELETE)

    @property
    def uses_api(self) -> bool:
        """Whether it talks to the API (a token is needed; its rows' statuses change)."""
        return self is not Command.VALIDATE


_MODES: dict[Command, Mode] = {
    Command.VALIDATE: "validate",
    Command.CHECK_REMOTE: "validate",
    Command.RUN: "run",
    Command.PLAN: "plan",
    Command.APPLY: "apply",
    Command.DELETE: "delete",
}
NEEDS_TOKEN = {
    Command.RUN: "run",
    Command.CHECK_REMOTE: "--check-remote",
    Command.PLAN: "plan",
    Command.APPLY: "apply",
    Command.DELETE: "delete",
}
"""The operations that need an API token, as their error message names them."""
