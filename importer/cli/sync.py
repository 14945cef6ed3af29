"""`plan`, `apply` and `delete`: keep the account in step with the sheet (design.md).

Each builds a `Run` of its command, like `run` does; a replace or a delete asks first
(on a terminal) or needs `--yes`.
"""

from __future__ import annotations

import sys
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from importer.cli import (
    _announce,
    _embedded_sandbox,
    _secrets,
    _settings,
    _stderr_log,
    _tty,
    app,
)
from importer.cli.ending import execute
from importer.cli.options import (
    DEFAULT_SANDBOX_STATE,
    CampaignOpt,
    ConcurrencyOpt,
    FileArg,
    FreshOpt,
    JournalOpt,
    LogFormatOpt,
    MaxAttemptsOpt,
    MaxWaitOpt,
    MessagingOpt,
    NotifyUrlOpt,
    RateOpt,
    SandboxOpt,
    SandboxStateOpt,
    SharedOptions,
    TimeoutOpt,
    not_stdio,
    shared_options,
)
from importer.cli.surface import CliCommand

if TYPE_CHECKING:
    from importer.run import Command
    from importer.run.outcome import RunOutcome
    from importer.signals import StopSwitch

_PLAN = "Plan"
DELETE_MASK = 3
"""The mask `delete FILE` assumes for rows without one (a delete never sends it)."""

PruneOpt = Annotated[
    bool,
    typer.Option(
        "--prune",
        help="Also delete the account's numbers that the sheet does not hold.",
        rich_help_panel=_PLAN,
    ),
]
AllowReplaceOpt = Annotated[
    bool,
    typer.Option(
        "--allow-replace",
        help="Delete and register again a number whose capabilities or carrier differ.",
        rich_help_panel=_PLAN,
    ),
]
EmptyClearsOpt = Annotated[
    bool,
    typer.Option(
        "--empty-clears",
        help="An empty cell clears the field (else it is left alone).",
        rich_help_panel=_PLAN,
    ),
]
YesOpt = Annotated[
    bool,
    typer.Option("--yes", "-y", help="Replace and delete without asking.", rich_help_panel=_PLAN),
]
OutOpt = Annotated[
    Path | None,
    typer.Option(
        "--out", help="Save the plan to this JSON file.", rich_help_panel=_PLAN, callback=not_stdio
    ),
]


@app.command(
    cls=CliCommand,
    epilog=(
        "Examples:\n\n"
        "  did-import plan numbers.xlsx --sandbox\n\n"
        "  CARRIERX_TOKEN=... did-import plan numbers.xlsx --prune --allow-replace"
        " --out plan.json\n\n"
        "  did-import apply plan.json --yes   # carries out exactly that plan, while current"
    ),
)
@shared_options
def plan(
    file: FileArg,
    prune: PruneOpt = False,
    allow_replace: AllowReplaceOpt = False,
    empty_clears: EmptyClearsOpt = False,
    out: OutOpt = None,
    concurrency: ConcurrencyOpt = None,
    rate: RateOpt = None,
    timeout: TimeoutOpt = None,
    max_attempts: MaxAttemptsOpt = None,
    max_wait: MaxWaitOpt = None,
    sandbox: SandboxOpt = False,
    sandbox_state: SandboxStateOpt = DEFAULT_SANDBOX_STATE,
    log_format: LogFormatOpt = None,
    *,
    shared: SharedOptions,
) -> None:
    """Read-only: plan every row against the account (register, update, replace, delete).

    Writes the plan report (status `would_register`, `unchanged`, `would_update`,
    `would_replace` or `blocked`, and `would_delete` rows on the Deletes sheet with
    --prune; the `changes` column says what differs, field by field).
    """
    flags = shared.flags()
    flags["api"] |= _api_flags(concurrency, rate, timeout, max_attempts, max_wait)
    flags["plan"] = _plan_flags(prune, allow_replace, empty_clears) | {"out": out}
    flags["log"] = {"format": log_format}
    _sync(file, flags, shared, _command("PLAN"), sandbox_state if sandbox else None, yes=False)


@app.command(
    cls=CliCommand,
    epilog=(
        "Examples:\n\n"
        "  did-import apply numbers.xlsx --sandbox\n\n"
        "  CARRIERX_TOKEN=... did-import apply numbers.xlsx --prune --allow-replace --yes\n\n"
        "  did-import apply plan.json          # a saved plan: refused once the account moved\n\n"
        "  did-import apply numbers.xlsx       # again after Ctrl-C or a crash: resumes"
    ),
)
@shared_options
def apply(
    file: FileArg,
    prune: PruneOpt = False,
    allow_replace: AllowReplaceOpt = False,
    empty_clears: EmptyClearsOpt = False,
    yes: YesOpt = False,
    concurrency: ConcurrencyOpt = None,
    rate: RateOpt = None,
    timeout: TimeoutOpt = None,
    max_attempts: MaxAttemptsOpt = None,
    max_wait: MaxWaitOpt = None,
    sandbox: SandboxOpt = False,
    sandbox_state: SandboxStateOpt = DEFAULT_SANDBOX_STATE,
    journal: JournalOpt = None,
    fresh: FreshOpt = False,
    enable_messaging: MessagingOpt = None,
    campaign_sid: CampaignOpt = None,
    log_format: LogFormatOpt = None,
    notify_url: NotifyUrlOpt = None,
    *,
    shared: SharedOptions,
) -> None:
    """Carry the plan out: register, update (PATCH), replace (DELETE + POST), delete.

    FILE is a sheet (planned now) or a plan saved by `plan --out` (carried out only while
    the input and the account are as planned). Every action is journaled and done once.
    """
    flags = shared.flags()
    flags["api"] |= _api_flags(concurrency, rate, timeout, max_attempts, max_wait)
    flags["api"] |= {"enable_messaging": enable_messaging, "campaign_sid": campaign_sid}
    flags["plan"] = _plan_flags(prune, allow_replace, empty_clears)
    flags["journal"] = {"path": journal, "fresh": fresh or None}
    flags |= {"notify": {"url": notify_url}, "log": {"format": log_format}}
    _sync(file, flags, shared, _command("APPLY"), sandbox_state if sandbox else None, yes=yes)


@app.command(
    cls=CliCommand,
    epilog=(
        "Examples:\n\n"
        "  did-import delete ported_away.csv --sandbox --yes\n\n"
        "  CARRIERX_TOKEN=... did-import delete ported_away.xlsx   # asks first"
    ),
)
@shared_options
def delete(
    file: FileArg,
    yes: YesOpt = False,
    concurrency: ConcurrencyOpt = None,
    rate: RateOpt = None,
    timeout: TimeoutOpt = None,
    max_attempts: MaxAttemptsOpt = None,
    max_wait: MaxWaitOpt = None,
    sandbox: SandboxOpt = False,
    sandbox_state: SandboxStateOpt = DEFAULT_SANDBOX_STATE,
    journal: JournalOpt = None,
    fresh: FreshOpt = False,
    log_format: LogFormatOpt = None,
    *,
    shared: SharedOptions,
) -> None:
    """Delete the numbers listed in the sheet; a number already absent ends `not_found`."""
    flags = shared.flags()
    flags["api"] |= _api_flags(concurrency, rate, timeout, max_attempts, max_wait)
    flags["defaults"]["capabilities"] = flags["defaults"]["capabilities"] or DELETE_MASK
    flags["journal"] = {"path": journal, "fresh": fresh or None}
    flags["log"] = {"format": log_format}
    _sync(file, flags, shared, _command("DELETE"), sandbox_state if sandbox else None, yes=yes)


def _api_flags(*values: float | int | None) -> dict[str, Any]:
    names = ("concurrency", "rate", "timeout", "max_attempts", "max_wait")
    return dict(zip(names, values, strict=True))


def _plan_flags(prune: bool, allow_replace: bool, empty_clears: bool) -> dict[str, Any]:
    return {
        "prune": prune or None,
        "allow_replace": allow_replace or None,
        "empty_clears": empty_clears or None,
    }


def _command(name: str) -> Command:
    from importer.run import Command

    return Command[name]


def _sync(
    file: Path,
    flags: dict[str, dict[str, Any]],
    shared: SharedOptions,
    command: Command,
    sandbox_state: Path | None,
    *,
    yes: bool,
) -> None:
    """Run `command` on `file` with the usual logging, sandbox and outcome rendering."""
    with _stderr_log(flags["log"]["format"], quiet=shared.quiet) as log:

        def job(switch: StopSwitch) -> RunOutcome:
            from importer.run import Hooks, Run

            settings = _settings(
                flags, shared.config, token_file=shared.token_file, profile=shared.profile
            )
            tty = _tty(quiet=shared.quiet)
            ask = _ask if sys.stdin.isatty() and sys.stderr.isatty() else None
            hooks = Hooks(stop=switch, handle_signals=True, tty=tty, confirm=ask, yes=yes)
            with _embedded_sandbox(settings, sandbox_state) as settings:
                log.configure(settings.log.format, _secrets(settings))
                outcome = Run(file, settings, command, hooks).execute()
            _announce(outcome, settings)
            return outcome

        execute(job, quiet=shared.quiet, verbose=shared.verbose)


PROMPT_WORDS = {
    "would_register": "register {n:,}",
    "would_update": "update {n:,}",
    "would_replace": "replace {n:,} (delete, then register again)",
    "would_delete": "DELETE {n:,}",
}
"""How the confirmation prompt names each planned write."""


def _ask(counts: Mapping[str, int]) -> bool:
    """The terminal prompt before a replace or delete: what will be written, then yes/no."""
    shown = [text.format(n=counts[key]) for key, text in PROMPT_WORDS.items() if counts.get(key)]
    return typer.confirm(f"apply will {', '.join(shown)}. Go on?", default=False, err=True)
