"""`did-import export`: the whole account in the template's layout (`importer.api.export_account`).

Registered on `importer.cli.app` when `importer.cli` is imported (its last lines). A
progress bar on a terminal, nothing otherwise; one line on stderr when done; errors
as every command's: one line and the exit code (2 for a bad --out, 3 when the API
refuses us or cannot be reached, 4 when interrupted).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from importer.cli import _embedded_sandbox, _settings, _tty, app
from importer.cli.ending import fail
from importer.cli.options import (
    _API,
    DEFAULT_SANDBOX_STATE,
    AllowInsecureOpt,
    BaseUrlOpt,
    ConfigOpt,
    ProfileOpt,
    QuietOpt,
    TokenFileOpt,
    shown,
)
from importer.cli.surface import CliCommand
from importer.errors import ImporterError

if TYPE_CHECKING:
    from importer.config import Settings
    from importer.reporter.export import ExportOutcome
    from importer.send.operations.listing import Page

OutOpt = Annotated[
    Path | None,
    typer.Option(
        "--out",
        "-o",
        help=shown("Where to write: .xlsx or .csv.", "reports/export-<UTC date-time>.xlsx"),
        show_default=False,
    ),
]
SandboxOpt = Annotated[
    bool,
    typer.Option("--sandbox", help="Export an embedded local sandbox.", rich_help_panel=_API),
]
SandboxStateOpt = Annotated[
    Path,
    typer.Option(help="Where the embedded sandbox keeps its records.", rich_help_panel=_API),
]


@app.command(
    cls=CliCommand,
    epilog=(
        "Examples:\n\n"
        "  CARRIERX_TOKEN=... did-import export --out numbers.xlsx\n\n"
        "  did-import export --out numbers.csv --token-file ~/.carrierx-token\n\n"
        "  did-import run numbers.xlsx --sandbox && did-import export --sandbox"
        "   # what the demo registered"
    ),
)
def export(
    out: OutOpt = None,
    config: ConfigOpt = None,
    profile: ProfileOpt = None,
    base_url: BaseUrlOpt = None,
    token_file: TokenFileOpt = None,
    allow_insecure: AllowInsecureOpt = False,
    sandbox: SandboxOpt = False,
    sandbox_state: SandboxStateOpt = DEFAULT_SANDBOX_STATE,
    quiet: QuietOpt = False,
) -> None:
    """Write every External DID of the account to a workbook or CSV, in the template's layout.

    The columns a sheet sets come first, then read-only ones (external_did_sid, status, …).

    Edit it and feed it back to validate, plan or apply: every row validates, and sets
    exactly what the account holds. It only reads.
    """
    flags: dict[str, dict[str, Any]] = {
        "api": {"base_url": base_url, "allow_insecure": allow_insecure or None}
    }
    try:
        settings = _settings(flags, config, token_file=token_file, profile=profile)
        outcome = _export(settings, out, sandbox_state if sandbox else None, quiet=quiet)
    except ImporterError as error:
        fail(error)
    if not quiet:
        typer.echo(f"export: {outcome.records:,} numbers → {outcome.path}", err=True)


def _export(
    settings: Settings, out: Path | None, state: Path | None, *, quiet: bool
) -> ExportOutcome:
    """The export with SIGINT/SIGTERM as stop requests, against the sandbox if asked."""
    from importer.api import export_account
    from importer.reporter.export import export_format
    from importer.signals import StopSwitch, stop_on_signals

    if out is not None:
        export_format(out)  # exit 2 before a sandbox is started or anything sent
    switch = StopSwitch()
    with (
        stop_on_signals(switch),
        _embedded_sandbox(settings, state) as served,
        _progress(tty=_tty(quiet=quiet)) as on_page,
    ):
        return export_account(served, out, on_page=on_page, stop=switch)


@contextmanager
def _progress(*, tty: bool) -> Iterator[Callable[[Page], None] | None]:
    """A rich bar of the records listed on a terminal (pulsing until a total is known)."""
    if not tty:
        yield None
        return
    from importer.logs import BarProgress

    bar = BarProgress("export")

    def advance(page: Page) -> None:
        if page.number == 1 and page.total is not None:
            bar.start(page.total)
        bar.advance(len(page.items))

    with bar.bar:
        yield advance
