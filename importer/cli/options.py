"""The command line's options: one `Annotated` alias per option, and the bundle of them
that `validate` and `run` share (injected by `shared_options`, so that each command lists
only its own options; sqlite-utils' reusable option bundles, in typer's terms).
"""

from __future__ import annotations

import functools
import inspect
from collections.abc import Callable
from dataclasses import dataclass, fields
from pathlib import Path
from typing import Annotated, Any, Literal

import typer

from importer.defaults import (
    DEFAULT_BASE_URL,
    DEFAULT_CONCURRENCY,
    DEFAULT_MAX_ATTEMPTS,
    DEFAULT_MAX_ERROR_RATE,
    DEFAULT_MAX_WAIT,
    DEFAULT_TIMEOUT,
)

DEFAULT_SANDBOX_STATE = Path("reports/sandbox-state.sqlite")
_INPUT = "Input"
_ROWS = "Row defaults"
_API = "API"
_OUTPUT = "Output"


def shown(help_text: str, default: object) -> str:
    """`help_text` and the default that applies when no flag, environment variable or
    config file sets the option, shown as typer shows a flag's own default (`[default: 16]`).
    The flags themselves default to None, so that they never hide the layers below them."""
    value = f"{default:g}" if isinstance(default, float) else str(default)
    return f"{help_text} [dim]\\[default: {value}][/dim]"


def not_stdio(value: Path | None) -> Path | None:
    """Refuse `-` for an option naming a file: only FILE reads standard input."""
    if value is not None and str(value) == "-":
        raise typer.BadParameter("`-` is not a file here (only FILE reads standard input)")
    return value


FileArg = Annotated[
    Path,
    typer.Argument(
        help="The partner spreadsheet: CSV/TSV/TXT, XLSX, XLSM, XLS or ODS.", show_default=False
    ),
]
ConfigOpt = Annotated[
    Path | None,
    typer.Option("--config", help="TOML config file.", rich_help_panel=_INPUT, callback=not_stdio),
]
SheetOpt = Annotated[
    str | None,
    typer.Option(help=shown("Sheet name.", "the first with a header"), rich_help_panel=_INPUT),
]
EncodingOpt = Annotated[
    str | None, typer.Option(help=shown("CSV encoding.", "detected"), rich_help_panel=_INPUT)
]
DelimiterOpt = Annotated[
    str | None, typer.Option(help=shown("CSV delimiter.", "sniffed"), rich_help_panel=_INPUT)
]
RegionOpt = Annotated[
    str | None,
    typer.Option(help="Region for national-format numbers, e.g. US.", rich_help_panel=_ROWS),
]
CapabilitiesOpt = Annotated[
    int | None, typer.Option(help="Capability mask for rows without one.", rich_help_panel=_ROWS)
]
CarrierOpt = Annotated[
    str | None,
    typer.Option(help="underlying_carrier_sid for rows without one.", rich_help_panel=_ROWS),
]
CallbackOpt = Annotated[
    str | None, typer.Option(help="callback_url for rows without one.", rich_help_panel=_ROWS)
]
ReportOpt = Annotated[
    Path | None,
    typer.Option(
        help=shown("Results workbook.", "reports/<file name>.results.xlsx"),
        rich_help_panel=_OUTPUT,
        callback=not_stdio,
    ),
]
SummaryOpt = Annotated[
    Path | None,
    typer.Option(
        help="Also write the JSON summary here.", rich_help_panel=_OUTPUT, callback=not_stdio
    ),
]
ReportFormatOpt = Annotated[
    Literal["xlsx", "csv", "both"] | None,
    typer.Option(
        help=shown(
            "Report files: xlsx, csv (results + errors CSV) or both.",
            "xlsx, plus the CSV twins for CSV input",
        ),
        rich_help_panel=_OUTPUT,
    ),
]
QuietOpt = Annotated[
    bool,
    typer.Option(
        "--quiet",
        "-q",
        help="Print only warnings and errors: no progress, no summary line.",
        rich_help_panel=_OUTPUT,
    ),
]
VerboseOpt = Annotated[
    bool,
    typer.Option(
        "--verbose", "-v", help="Also print the column mapping used.", rich_help_panel=_OUTPUT
    ),
]
CheckRemoteOpt = Annotated[
    bool,
    typer.Option(
        "--check-remote",
        help="Also look the numbers up on the API (read-only): plan already_registered rows.",
        rich_help_panel=_API,
    ),
]
BaseUrlOpt = Annotated[
    str | None,
    typer.Option(
        help=shown("API base URL (env CARRIERX_BASE_URL).", DEFAULT_BASE_URL), rich_help_panel=_API
    ),
]
TokenFileOpt = Annotated[
    Path | None,
    typer.Option(
        help="File holding the API token (else env CARRIERX_TOKEN).",
        rich_help_panel=_API,
        callback=not_stdio,
    ),
]
AllowInsecureOpt = Annotated[
    bool,
    typer.Option(
        "--allow-insecure",
        help="Allow a plain http:// API URL that is not loopback (the token is sent unencrypted).",
        rich_help_panel=_API,
    ),
]
ProfileOpt = Annotated[
    str | None,
    typer.Option(
        help="Config profile: the file's \\[profiles.NAME] tables (env CARRIERX_PROFILE).",
        rich_help_panel=_INPUT,
    ),
]
LogFormatOpt = Annotated[
    Literal["human", "json"] | None,
    typer.Option(
        help="Log lines on stderr: human, or one JSON object per event (env CARRIERX_LOG_FORMAT).",
        rich_help_panel=_OUTPUT,
    ),
]
NotifyUrlOpt = Annotated[
    str | None,
    typer.Option(
        help="POST the JSON summary here when the run ends (env CARRIERX_NOTIFY_URL).",
        rich_help_panel=_OUTPUT,
    ),
]


ConcurrencyOpt = Annotated[
    int | None,
    typer.Option(
        help=shown("Requests in flight at once.", DEFAULT_CONCURRENCY), rich_help_panel=_API
    ),
]
RateOpt = Annotated[
    float | None,
    typer.Option(help=shown("Requests per second, at most.", "no limit"), rich_help_panel=_API),
]
JournalOpt = Annotated[
    Path | None,
    typer.Option(
        help=shown("Run journal (SQLite).", "reports/journal.sqlite"),
        rich_help_panel=_OUTPUT,
        callback=not_stdio,
    ),
]
FreshOpt = Annotated[
    bool,
    typer.Option(
        "--fresh",
        help="Start over: ignore an unfinished run of the same file in the journal.",
        rich_help_panel=_API,
    ),
]
CanaryOpt = Annotated[
    int | None,
    typer.Option(
        help=shown("Send this many rows first; stop if they fail.", "0, off"), rich_help_panel=_API
    ),
]
MaxErrorRateOpt = Annotated[
    float | None,
    typer.Option(
        help=shown("Stop (exit 4) above this share of failing requests.", DEFAULT_MAX_ERROR_RATE),
        rich_help_panel=_API,
    ),
]
MaxWaitOpt = Annotated[
    float | None,
    typer.Option(
        help=shown(
            "Longest Retry-After to wait, in seconds; a row asked to wait longer is left"
            " for the next run (api.deferred).",
            DEFAULT_MAX_WAIT,
        ),
        rich_help_panel=_API,
    ),
]
TimeoutOpt = Annotated[
    float | None,
    typer.Option(
        help=shown(
            "Deadline of one request, in seconds: connect, send, the whole answer.",
            DEFAULT_TIMEOUT,
        ),
        rich_help_panel=_API,
    ),
]
MaxAttemptsOpt = Annotated[
    int | None,
    typer.Option(
        help=shown(
            "Attempts per request before the row is left for the second pass.",
            DEFAULT_MAX_ATTEMPTS,
        ),
        rich_help_panel=_API,
    ),
]
SandboxOpt = Annotated[
    bool,
    typer.Option(
        "--sandbox", help="Use an embedded local sandbox (no credentials).", rich_help_panel=_API
    ),
]
SandboxStateOpt = Annotated[
    Path,
    typer.Option(
        help="Where the embedded sandbox keeps its records.",
        rich_help_panel=_API,
        callback=not_stdio,
    ),
]
VerifyOpt = Annotated[
    bool,
    typer.Option("--verify", help="Read each new record back and check it.", rich_help_panel=_API),
]
MessagingOpt = Annotated[
    Literal["a2p", "p2p"] | None,
    typer.Option(
        help="Then enable messaging on every number (billed per number).", rich_help_panel=_API
    ),
]
CampaignOpt = Annotated[
    str | None, typer.Option(help="Campaign SID for --enable-messaging a2p.", rich_help_panel=_API)
]


@dataclass(frozen=True, slots=True, kw_only=True)
class SharedOptions:
    """The options `validate` and `run` both take, as one value."""

    config: Path | None = None
    profile: str | None = None
    sheet: str | None = None
    encoding: str | None = None
    delimiter: str | None = None
    default_region: str | None = None
    capabilities: int | None = None
    carrier: str | None = None
    callback_url: str | None = None
    base_url: str | None = None
    token_file: Path | None = None
    allow_insecure: bool = False
    report: Path | None = None
    summary_json: Path | None = None
    report_format: Literal["xlsx", "csv", "both"] | None = None
    quiet: bool = False
    verbose: bool = False

    def flags(self) -> dict[str, dict[str, Any]]:
        """The options as settings layers, nested by section (None = not given)."""
        return {
            "input": {"sheet": self.sheet, "encoding": self.encoding, "delimiter": self.delimiter},
            "defaults": {
                "default_region": self.default_region,
                "capabilities": self.capabilities,
                "carrier_sid": self.carrier,
                "callback_url": self.callback_url,
            },
            "api": {"base_url": self.base_url, "allow_insecure": self.allow_insecure or None},
            "report": {
                "report_path": self.report,
                "summary_json": self.summary_json,
                "report_format": self.report_format,
            },
        }


_SHARED_ANNOTATIONS: dict[str, Any] = {
    "config": ConfigOpt,
    "profile": ProfileOpt,
    "sheet": SheetOpt,
    "encoding": EncodingOpt,
    "delimiter": DelimiterOpt,
    "default_region": RegionOpt,
    "capabilities": CapabilitiesOpt,
    "carrier": CarrierOpt,
    "callback_url": CallbackOpt,
    "base_url": BaseUrlOpt,
    "token_file": TokenFileOpt,
    "allow_insecure": AllowInsecureOpt,
    "report": ReportOpt,
    "summary_json": SummaryOpt,
    "report_format": ReportFormatOpt,
    "quiet": QuietOpt,
    "verbose": VerboseOpt,
}
_SHARED_PARAMETERS = [
    inspect.Parameter(
        field.name,
        inspect.Parameter.KEYWORD_ONLY,
        default=field.default,
        annotation=_SHARED_ANNOTATIONS[field.name],
    )
    for field in fields(SharedOptions)
]


def shared_options(command: Callable[..., None]) -> Callable[..., None]:
    """Give `command` the shared options; it receives them as `shared: SharedOptions`.

    typer reads a command's options from its signature, so the wrapper shows typer the
    command's own parameters followed by the shared ones, and folds the latter back into
    one `SharedOptions` before calling the command.
    """
    own = [
        parameter
        for parameter in inspect.signature(command, eval_str=True).parameters.values()
        if parameter.name != "shared"
    ]

    @functools.wraps(command)
    def wrapper(**values: Any) -> None:
        shared = {name: values.pop(name) for name in _SHARED_ANNOTATIONS}
        command(shared=SharedOptions(**shared), **values)

    parameters = [*own, *_SHARED_PARAMETERS]
    del wrapper.__wrapped__  # typer must see the signature below, not the command's
    wrapper.__signature__ = inspect.Signature(parameters)  # type: ignore[attr-defined]
    wrapper.__annotations__ = {p.name: p.annotation for p in parameters}
    return wrapper
