"""The `did-import` command line: a thin layer over `importer.api`.

Each command parses its options, builds `Settings` once, calls the library, prints a
one-line summary and returns the design.md exit code. Only `ImporterError` is caught:
it becomes a one-line message on stderr and its exit code. Heavy modules are imported
inside the commands so that `did-import --help` starts fast.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, NoReturn

import typer

from importer.errors import ImporterError

if TYPE_CHECKING:
    from importer.api import RunOutcome
    from importer.config import Settings
    from importer.models import RowResult

app = typer.Typer(
    name="did-import",
    help="Register partner-owned phone numbers as CarrierX External DIDs from a spreadsheet.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    context_settings={"help_option_names": ["-h", "--help"]},
)

DEFAULT_SANDBOX_STATE = Path("reports/sandbox-state.sqlite")
_INPUT = "Input"
_ROWS = "Row defaults"
_API = "API"
_OUTPUT = "Output"

FileArg = Annotated[
    Path, typer.Argument(help="The partner spreadsheet: CSV or XLSX.", show_default=False)
]
ConfigOpt = Annotated[
    Path | None, typer.Option("--config", help="TOML config file.", rich_help_panel=_INPUT)
]
SheetOpt = Annotated[
    str | None,
    typer.Option(help="Sheet name (default: first with a header).", rich_help_panel=_INPUT),
]
EncodingOpt = Annotated[
    str | None, typer.Option(help="CSV encoding (default: detected).", rich_help_panel=_INPUT)
]
DelimiterOpt = Annotated[
    str | None, typer.Option(help="CSV delimiter (default: sniffed).", rich_help_panel=_INPUT)
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
        help="Results workbook (default: reports/<name>.results.xlsx).", rich_help_panel=_OUTPUT
    ),
]
SummaryOpt = Annotated[
    Path | None, typer.Option(help="Also write the JSON summary here.", rich_help_panel=_OUTPUT)
]
QuietOpt = Annotated[
    bool, typer.Option("--quiet", "-q", help="Print only errors.", rich_help_panel=_OUTPUT)
]


@app.command(
    epilog=(
        "Examples:\n\n"
        "  did-import validate numbers.xlsx\n\n"
        "  did-import validate numbers.csv --default-region US --capabilities 3 --report out.xlsx"
    )
)
def validate(
    file: FileArg,
    config: ConfigOpt = None,
    sheet: SheetOpt = None,
    encoding: EncodingOpt = None,
    delimiter: DelimiterOpt = None,
    default_region: RegionOpt = None,
    capabilities: CapabilitiesOpt = None,
    carrier: CarrierOpt = None,
    callback_url: CallbackOpt = None,
    report: ReportOpt = None,
    summary_json: SummaryOpt = None,
    quiet: QuietOpt = False,
) -> None:
    """Dry run: check every row and write the report; never sends a write request."""
    flags = _common_flags(locals())

    def job() -> RunOutcome:
        from importer.api import validate_file

        return validate_file(file, _settings(flags, config))

    _execute(job, quiet=quiet)


@app.command(
    epilog=(
        "Examples:\n\n"
        "  did-import run sample_data/partner_numbers.xlsx --sandbox\n\n"
        "  CARRIERX_TOKEN=... did-import run numbers.xlsx --concurrency 32 --rate 100"
    )
)
def run(
    file: FileArg,
    config: ConfigOpt = None,
    sheet: SheetOpt = None,
    encoding: EncodingOpt = None,
    delimiter: DelimiterOpt = None,
    default_region: RegionOpt = None,
    capabilities: CapabilitiesOpt = None,
    carrier: CarrierOpt = None,
    callback_url: CallbackOpt = None,
    report: ReportOpt = None,
    summary_json: SummaryOpt = None,
    quiet: QuietOpt = False,
    base_url: Annotated[
        str | None,
        typer.Option(help="API base URL [env CARRIERX_BASE_URL].", rich_help_panel=_API),
    ] = None,
    token_file: Annotated[
        Path | None,
        typer.Option(
            help="File holding the API token [else env CARRIERX_TOKEN].", rich_help_panel=_API
        ),
    ] = None,
    concurrency: Annotated[
        int | None, typer.Option(help="Requests in flight at once.", rich_help_panel=_API)
    ] = None,
    rate: Annotated[
        float | None, typer.Option(help="Requests per second, at most.", rich_help_panel=_API)
    ] = None,
    timeout: Annotated[
        float | None, typer.Option(help="Seconds to wait for one answer.", rich_help_panel=_API)
    ] = None,
    max_attempts: Annotated[
        int | None, typer.Option(help="Attempts per row before it fails.", rich_help_panel=_API)
    ] = None,
    sandbox: Annotated[
        bool,
        typer.Option(
            "--sandbox",
            help="Use an embedded local sandbox (no credentials).",
            rich_help_panel=_API,
        ),
    ] = False,
    sandbox_state: Annotated[
        Path,
        typer.Option(help="Where the embedded sandbox keeps its records.", rich_help_panel=_API),
    ] = DEFAULT_SANDBOX_STATE,
) -> None:
    """Validate, then register every valid row concurrently; write the report."""
    flags = _common_flags(locals())
    flags["api"] = {
        "base_url": base_url,
        "concurrency": concurrency,
        "rate": rate,
        "timeout": timeout,
        "max_attempts": max_attempts,
    }

    def job() -> RunOutcome:
        settings = _settings(flags, config, token_file=token_file)
        with _embedded_sandbox(settings, sandbox_state if sandbox else None) as settings:
            return _run_with_progress(file, settings, quiet=quiet)

    _execute(job, quiet=quiet)


@app.command(
    epilog=(
        "Examples:\n\n"
        "  did-import sandbox --port 8765\n\n"
        "  did-import sandbox --latency 50 --rate-limit 100 --fail-rate 0.05 --seed 7"
    )
)
def sandbox(
    host: Annotated[str, typer.Option(help="Address to bind (loopback by default).")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port to listen on.")] = 8765,
    latency: Annotated[float, typer.Option(help="Added latency per request, ms.")] = 0.0,
    fail_rate: Annotated[float, typer.Option(help="Fraction answered 500/503.")] = 0.0,
    rate_limit: Annotated[
        float | None, typer.Option(help="Requests/second before 429 + Retry-After.")
    ] = None,
    drop_rate: Annotated[float, typer.Option(help="Fraction of connections cut.")] = 0.0,
    lose_answer_rate: Annotated[
        float, typer.Option(help="Fraction of registrations created, then the answer lost.")
    ] = 0.0,
    duplicate_status: Annotated[
        int, typer.Option(help="Status for an already registered number: 422 or 409.")
    ] = 422,
    seed: Annotated[int, typer.Option(help="Seed for the fault injection.")] = 0,
    state: Annotated[
        Path | None, typer.Option(help="Keep records in this SQLite file across restarts.")
    ] = None,
) -> None:
    """Serve the local CarrierX-compatible API until interrupted."""
    from importer.sandbox import SandboxConfig, serve

    config = _sandbox_config(SandboxConfig, locals())

    def ready(base_url: str, token: str) -> None:
        typer.echo(f"sandbox listening on {base_url}")
        typer.echo(f"token: {token}   (export CARRIERX_BASE_URL={base_url} CARRIERX_TOKEN={token})")

    try:
        serve(config, host=host, port=port, on_ready=ready)
    except ImporterError as error:
        _fail(error)


def main() -> None:
    """Console-script entry point."""
    app()


# -- helpers -----------------------------------------------------------------------


def _common_flags(values: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """The options `validate` and `run` share, nested by settings section."""
    return {
        "input": {key: values[key] for key in ("sheet", "encoding", "delimiter")},
        "defaults": {
            "default_region": values["default_region"],
            "capabilities": values["capabilities"],
            "carrier_sid": values["carrier"],
            "callback_url": values["callback_url"],
        },
        "report": {"report_path": values["report"], "summary_json": values["summary_json"]},
    }


def _settings(
    flags: dict[str, dict[str, Any]], config: Path | None, *, token_file: Path | None = None
) -> Settings:
    from importer.config import build_settings

    return build_settings(flags, config_file=config, environ=os.environ, token_file=token_file)


def _sandbox_config(config_type: Any, values: dict[str, Any]) -> Any:
    """Build the sandbox's config from the command's options (pydantic checks them)."""
    from pydantic import ValidationError

    from importer.errors import ConfigError

    try:
        return config_type(
            latency_ms=values["latency"],
            fail_rate=values["fail_rate"],
            rate_limit=values["rate_limit"],
            drop_rate=values["drop_rate"],
            lose_answer_rate=values["lose_answer_rate"],
            duplicate_status=values["duplicate_status"],
            seed=values["seed"],
            state_file=values["state"],
        )
    except ValidationError as error:
        first = error.errors()[0]
        _fail(ConfigError(f"invalid sandbox option {first['loc'][0]}: {first['msg']}"))


@contextmanager
def _embedded_sandbox(settings: Settings, state_file: Path | None) -> Iterator[Settings]:
    """With `--sandbox`, serve a local sandbox and point the settings at it."""
    if state_file is None:
        yield settings
        return
    from pydantic import SecretStr

    from importer.sandbox import SandboxConfig, SandboxServer

    state_file.parent.mkdir(parents=True, exist_ok=True)
    with SandboxServer(SandboxConfig(state_file=state_file)) as server:
        api = settings.api.model_copy(
            update={"base_url": server.base_url, "token": SecretStr(server.token)}
        )
        yield settings.model_copy(update={"api": api})


def _run_with_progress(file: Path, settings: Settings, *, quiet: bool) -> RunOutcome:
    from importer.api import run_import

    if quiet or not sys.stderr.isatty():
        return run_import(file, settings)
    from rich.console import Console
    from rich.progress import Progress

    with Progress(console=Console(stderr=True), transient=True) as progress:
        task = progress.add_task("registering", total=None)

        def advance(_: RowResult) -> None:
            progress.advance(task)

        return run_import(file, settings, on_result=advance)


def _execute(job: Callable[[], RunOutcome], *, quiet: bool) -> None:
    try:
        outcome = job()
    except ImporterError as error:
        _fail(error)
    if outcome.stopped_by is not None:
        typer.echo(f"did-import: {outcome.stopped_by}", err=True)
    if not quiet:
        typer.echo(one_line_summary(outcome))
    raise typer.Exit(outcome.exit_code)


def _fail(error: ImporterError) -> NoReturn:
    typer.echo(f"did-import: {error}", err=True)
    raise typer.Exit(error.exit_code)


def one_line_summary(outcome: RunOutcome) -> str:
    """`file: N rows — 40 registered, 8 invalid · report: path · exit 1`."""
    counts = ", ".join(f"{n} {status}" for status, n in outcome.summary.counts.items() if n)
    name = Path(outcome.summary.input.file).name
    rows = outcome.summary.input.data_rows
    return (
        f"{name}: {rows} rows — {counts or 'nothing to do'}"
        f" · report: {outcome.report_path} · exit {outcome.exit_code}"
    )


if __name__ == "__main__":  # pragma: no cover
    main()
