"""The `did-import` command line: a thin layer over `importer.api`.

Each command parses its options, builds `Settings` once, calls the library (a
`importer.run.Run`), prints a one-line summary and returns the design.md exit code.
Only `ImporterError` is caught in the commands: it becomes a one-line message on stderr
and its exit code. Anything else is a bug, caught once in `main`: one line, exit 2 (3
when it came from the HTTP stack), never the exit 1 of a finished run; the traceback
only with `-v/--verbose` (the command's, or the top-level one). Commands that read a
file turn SIGINT/SIGTERM into a stop request from their first line (`ending.execute`). Heavy
modules are imported inside the commands so that `did-import --help` starts fast.
"""

from __future__ import annotations

import hashlib
import os
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from importer.cli.ending import Diagnostics, execute, fail, unexpected
from importer.cli.options import (
    DEFAULT_SANDBOX_STATE,
    BaseUrlOpt,
    CallbackOpt,
    CampaignOpt,
    CanaryOpt,
    CapabilitiesOpt,
    CarrierOpt,
    CheckRemoteOpt,
    ConcurrencyOpt,
    ConfigOpt,
    FileArg,
    FreshOpt,
    JournalOpt,
    LogFormatOpt,
    MaxAttemptsOpt,
    MaxErrorRateOpt,
    MaxWaitOpt,
    MessagingOpt,
    NotifyUrlOpt,
    ProfileOpt,
    QuietOpt,
    RateOpt,
    RegionOpt,
    SandboxOpt,
    SandboxStateOpt,
    SharedOptions,
    TimeoutOpt,
    TokenFileOpt,
    VerifyOpt,
    not_stdio,
    shared_options,
    shown,
)
from importer.cli.surface import CliCommand, CliGroup, version_option
from importer.defaults import DEFAULT_INBOX_INTERVAL, DEFAULT_INBOX_SETTLE
from importer.errors import ImporterError

if TYPE_CHECKING:
    from importer.config import Settings
    from importer.logs import StderrHandler
    from importer.run.outcome import RunOutcome
    from importer.signals import StopSwitch

SANDBOX_PORTS = (20_000, 20_000)
"""The embedded sandbox listens on a port in [first, first + count), chosen by state file."""

app = typer.Typer(
    name="did-import",
    help="Register partner-owned phone numbers as CarrierX External DIDs from a spreadsheet.",
    cls=CliGroup,
    no_args_is_help=True,
    add_completion=True,
    pretty_exceptions_enable=False,
    context_settings={"help_option_names": ["-h", "--help"]},
)


@app.callback()
def _root(
    version: Annotated[
        bool,
        typer.Option(
            "--version", callback=version_option, is_eager=True, help="Show the version and exit."
        ),
    ] = False,
    verbose: Annotated[
        bool,
        typer.Option("--verbose", "-v", help="Show the traceback of an unexpected error."),
    ] = False,
) -> None:
    """Register partner-owned phone numbers as CarrierX External DIDs from a spreadsheet."""
    Diagnostics.traceback = verbose


@app.command(
    cls=CliCommand,
    epilog=(
        "Examples:\n\n"
        "  did-import validate numbers.xlsx\n\n"
        "  did-import validate numbers.csv --default-region US --capabilities 3"
        " --report out.xlsx\n\n"
        "  CARRIERX_TOKEN=... did-import validate numbers.xlsx --check-remote"
    ),
)
@shared_options
def validate(file: FileArg, check_remote: CheckRemoteOpt = False, *, shared: SharedOptions) -> None:
    """Dry run: check every row and write the report; never sends a write request."""
    flags = shared.flags()

    def job(switch: StopSwitch) -> RunOutcome:
        from importer.run import Command, Hooks, Run

        settings = _settings(
            flags, shared.config, token_file=shared.token_file, profile=shared.profile
        )
        command = Command.CHECK_REMOTE if check_remote else Command.VALIDATE
        hooks = Hooks(stop=switch, handle_signals=True, tty=_tty(quiet=shared.quiet))
        return Run(file, settings, command, hooks).execute()

    with _stderr_log(None, quiet=shared.quiet):  # warnings as `did-import: warning: …`
        execute(job, quiet=shared.quiet, verbose=shared.verbose)


@app.command(
    cls=CliCommand,
    epilog=(
        "Examples:\n\n"
        "  did-import run sample_data/partner_numbers.xlsx --sandbox\n\n"
        "  CARRIERX_TOKEN=... did-import run numbers.xlsx --concurrency 32 --rate 100\n\n"
        "  did-import run numbers.xlsx --canary 20 --max-error-rate 0.2   # stop early if bad\n\n"
        "  did-import run numbers.xlsx            # again after Ctrl-C or a crash: resumes\n\n"
        "  did-import run numbers.xlsx --verify --enable-messaging a2p --campaign-sid CSID"
    ),
)
@shared_options
def run(
    file: FileArg,
    concurrency: ConcurrencyOpt = None,
    rate: RateOpt = None,
    timeout: TimeoutOpt = None,
    max_attempts: MaxAttemptsOpt = None,
    max_wait: MaxWaitOpt = None,
    sandbox: SandboxOpt = False,
    sandbox_state: SandboxStateOpt = DEFAULT_SANDBOX_STATE,
    journal: JournalOpt = None,
    fresh: FreshOpt = False,
    canary: CanaryOpt = None,
    max_error_rate: MaxErrorRateOpt = None,
    verify: VerifyOpt = False,
    enable_messaging: MessagingOpt = None,
    campaign_sid: CampaignOpt = None,
    log_format: LogFormatOpt = None,
    notify_url: NotifyUrlOpt = None,
    *,
    shared: SharedOptions,
) -> None:
    """Validate, then register every valid row concurrently; write the report.

    Every row's progress is journaled: running the same file again after a crash, a
    kill, Ctrl-C (exit 4) or a threshold stop resumes it, and never sends a row twice.
    """
    flags = shared.flags()
    flags["api"] |= {
        "concurrency": concurrency,
        "rate": rate,
        "timeout": timeout,
        "max_attempts": max_attempts,
        "max_wait": max_wait,
        "canary": canary,
        "max_error_rate": max_error_rate,
        "verify": verify or None,
        "enable_messaging": enable_messaging,
        "campaign_sid": campaign_sid,
    }
    flags["journal"] = {"path": journal, "fresh": fresh or None}
    flags |= {"notify": {"url": notify_url}, "log": {"format": log_format}}

    with _stderr_log(log_format, quiet=shared.quiet) as log:

        def job(switch: StopSwitch) -> RunOutcome:
            from importer.run import Command, Hooks, Run

            settings = _settings(
                flags, shared.config, token_file=shared.token_file, profile=shared.profile
            )
            hooks = Hooks(stop=switch, handle_signals=True, tty=_tty(quiet=shared.quiet))
            if sandbox:
                _readable_before_sandbox(file)
            with _embedded_sandbox(settings, sandbox_state if sandbox else None) as settings:
                log.configure(settings.log.format, _secrets(settings))
                outcome = Run(file, settings, Command.RUN, hooks).execute()
            _announce(outcome, settings)
            return outcome

        execute(job, quiet=shared.quiet, verbose=shared.verbose)


@app.command(
    cls=CliCommand,
    epilog=(
        "Examples:\n\n"
        "  did-import sandbox --port 8765\n\n"
        "  did-import sandbox --latency 50 --rate-limit 100 --fail-rate 0.05 --seed 7\n\n"
        "  did-import sandbox --state sandbox.sqlite --duplicate-status 409 \\\n"
        "      --partner name=acme,token=acme-token,carrier=none,prefixes=1205+44"
    ),
)
def sandbox(
    host: Annotated[str, typer.Option(help="Address to bind (loopback by default).")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port to listen on.")] = 8765,
    latency: Annotated[
        str, typer.Option(help="Added latency: MS, MS:JITTER or MS:JITTER:exponential.")
    ] = "0",
    fail_rate: Annotated[float, typer.Option(help="Fraction answered 500/503.")] = 0.0,
    rate_limit: Annotated[
        float | None, typer.Option(help="Requests/second before 429 + Retry-After.")
    ] = None,
    drop_rate: Annotated[float, typer.Option(help="Fraction of connections cut.")] = 0.0,
    lose_answer_rate: Annotated[
        float, typer.Option(help="Fraction of writes applied (POST, PATCH, DELETE), answer lost.")
    ] = 0.0,
    duplicate_status: Annotated[
        int, typer.Option(help="Status for an already registered number: 422 or 409.")
    ] = 422,
    seed: Annotated[int, typer.Option(help="Seed for the fault injection.")] = 0,
    state: Annotated[
        Path | None, typer.Option(help="Keep records in this SQLite file across restarts.")
    ] = None,
    partner: Annotated[
        list[str] | None,
        typer.Option(help="A partner: name=,token=[,scopes=,carrier=,prefixes=]. Repeatable."),
    ] = None,
) -> None:
    """Serve the local CarrierX-compatible API until interrupted."""
    from importer.sandbox import serve
    from importer.sandbox.options import config_from_options

    try:
        config = config_from_options(
            latency=latency,
            partners=partner or (),
            fail_rate=fail_rate,
            rate_limit=rate_limit,
            drop_rate=drop_rate,
            lose_answer_rate=lose_answer_rate,
            duplicate_status=duplicate_status,
            seed=seed,
            state_file=state,
        )
    except ImporterError as error:
        fail(error)

    def ready(base_url: str, token: str) -> None:
        typer.echo(f"sandbox listening on {base_url}")
        typer.echo(f"token: {token}   (export CARRIERX_BASE_URL={base_url} CARRIERX_TOKEN={token})")

    try:
        serve(config, host=host, port=port, on_ready=ready)
    except ImporterError as error:
        fail(error)


@app.command(
    cls=CliCommand,
    epilog=(
        "Examples:\n\n"
        "  did-import template partner_template.xlsx\n\n"
        "  did-import template numbers.xlsx --rows 500"
    ),
)
def template(
    out: Annotated[Path, typer.Argument(help="Where to write the .xlsx template.")],
    rows: Annotated[
        int, typer.Option(min=1, max=1_000_000, help="Rows prepared for data entry.")
    ] = 1000,
) -> None:
    """Write a partner template workbook: headers, notes, capability dropdown, text phone column."""
    from importer.template import write_template

    try:
        write_template(out, rows=rows)
    except ImporterError as error:
        fail(error)
    typer.echo(f"template written: {out}")


@app.command(
    cls=CliCommand,
    epilog=(
        "Examples:\n\n"
        "  did-import history\n\n"
        "  did-import history --journal /var/lib/did-import/journal.sqlite --limit 50"
    ),
)
def history(
    journal: JournalOpt = None,
    config: ConfigOpt = None,
    profile: ProfileOpt = None,
    limit: Annotated[int, typer.Option(min=1, help="How many runs, newest first.")] = 20,
) -> None:
    """List past runs from the journal: when, operation, file, how it ended, the counts.

    It only reads, so it works while a run holds the journal."""
    from importer.journal import format_history, iter_history
    from importer.run.session import journal_path

    try:
        settings = _settings({"journal": {"path": journal}}, config, profile=profile)
        lines = format_history(iter_history(journal_path(settings), limit))
    except ImporterError as error:
        fail(error)
    typer.echo("\n".join(lines))


@app.command(
    cls=CliCommand,
    epilog=(
        "Examples:\n\n"
        "  did-import inbox /srv/did-inbox            # for cron: new files once, then exit\n\n"
        "  did-import inbox /srv/did-inbox --watch --interval 30\n\n"
        "  did-import inbox /srv/acme --profile acme --log-format json"
        " --notify-url https://hooks.example.com/did"
    ),
)
def inbox(
    directory: Annotated[
        Path,
        typer.Argument(
            help="The inbox: files dropped in it or in its incoming/ folder.",
            show_default=False,
            metavar="DIR",
            callback=not_stdio,
        ),
    ],
    watch: Annotated[
        bool,
        typer.Option(
            "--watch/--once", help="Keep polling every --interval seconds, or one pass and exit."
        ),
    ] = False,
    interval: Annotated[
        float | None,
        typer.Option(help=shown("Seconds between passes with --watch.", DEFAULT_INBOX_INTERVAL)),
    ] = None,
    settle: Annotated[
        float | None,
        typer.Option(help=shown("Seconds a new file must stay unchanged.", DEFAULT_INBOX_SETTLE)),
    ] = None,
    config: ConfigOpt = None,
    profile: ProfileOpt = None,
    default_region: RegionOpt = None,
    capabilities: CapabilitiesOpt = None,
    carrier: CarrierOpt = None,
    callback_url: CallbackOpt = None,
    base_url: BaseUrlOpt = None,
    token_file: TokenFileOpt = None,
    concurrency: ConcurrencyOpt = None,
    rate: RateOpt = None,
    log_format: LogFormatOpt = None,
    notify_url: NotifyUrlOpt = None,
    quiet: QuietOpt = False,
) -> None:
    """Scheduled mode: import each new file dropped in DIR, then exit (or keep watching).

    Files move incoming → processing → done/ (exit 0, 1) or failed/ (2, 3), each with its
    report and JSON summary; a file already imported (same sha256) goes to duplicates/.
    Exit: the highest exit code of the files handled (0 if none), 5 if another run holds
    the inbox's lock.
    """
    flags: dict[str, dict[str, Any]] = {
        "defaults": {
            "default_region": default_region,
            "capabilities": capabilities,
            "carrier_sid": carrier,
            "callback_url": callback_url,
        },
        "api": {"base_url": base_url, "concurrency": concurrency, "rate": rate},
        "inbox": {"interval": interval, "settle": settle},
        "notify": {"url": notify_url},
        "log": {"format": log_format},
    }
    with _stderr_log(log_format, quiet=quiet) as log:
        try:
            settings = _settings(flags, config, token_file=token_file, profile=profile)
            log.configure(settings.log.format, _secrets(settings))
            code = _run_inbox(directory, settings, watch=watch, quiet=quiet)
        except ImporterError as error:
            fail(error)
    raise typer.Exit(code)


def main() -> None:
    """Console-script entry point: an unexpected error is one line and exit 2 or 3."""
    try:
        app()
    except (SystemExit, KeyboardInterrupt, GeneratorExit):
        raise
    except BaseException as error:  # a bug, or a third-party error left untranslated
        sys.exit(unexpected(error, show_traceback=Diagnostics.traceback))


# -- helpers -----------------------------------------------------------------------


def _settings(
    flags: dict[str, dict[str, Any]],
    config: Path | None,
    *,
    token_file: Path | None = None,
    profile: str | None = None,
) -> Settings:
    """Build the settings: flags > environment > config file (or ./did-import.toml)."""
    from importer.config import build_settings, find_config_file

    return build_settings(
        flags,
        config_file=find_config_file(config, os.environ, Path.cwd()),
        environ=os.environ,
        token_file=token_file,
        profile=profile,
    )


def _secrets(settings: Settings) -> tuple[str, ...]:
    from importer.config import secrets_of

    return secrets_of(settings)


@contextmanager
def _stderr_log(log_format: str | None, *, quiet: bool) -> Iterator[StderrHandler]:
    """Log events to stderr (human unless --log-format json) for the command's length."""
    from importer.logs import log_to_stderr

    with log_to_stderr("json" if log_format == "json" else "human", quiet=quiet) as handler:
        yield handler


def _announce(outcome: RunOutcome, settings: Settings) -> None:
    """After a run, with JSON logs: a `run_end` event (the run has notified already)."""
    from importer.logs import describe_counts, event, get_logger
    from importer.run.notify import summary_payload

    summary = outcome.summary
    message = f"{Path(summary.input.file).name}: {describe_counts(summary.counts)}"
    if settings.log.format == "json":  # humans read the one-line summary on stdout instead
        event(get_logger("importer.cli"), "run_end", message, **summary_payload(summary))


def _tty(*, quiet: bool) -> bool:
    """Whether progress is a bar (stderr is a terminal and --quiet is not given)."""
    return not quiet and sys.stderr.isatty()


def _readable_before_sandbox(file: Path) -> None:
    """A missing or unreadable input stops `run --sandbox` before the sandbox creates its
    state file (the loader's own message; piped input is read by the run)."""
    from importer.loader.detect import read_head
    from importer.loader.piped import is_piped

    if not is_piped(file):
        read_head(file)


@contextmanager
def _embedded_sandbox(settings: Settings, state_file: Path | None) -> Iterator[Settings]:
    """With `--sandbox`, serve a local sandbox and point the settings at it."""
    if state_file is None:
        yield settings
        return
    from pydantic import SecretStr

    from importer.errors import ConfigError
    from importer.sandbox import SandboxConfig, SandboxServer

    state_file.parent.mkdir(parents=True, exist_ok=True)
    config = SandboxConfig(state_file=state_file)
    try:  # one state file, one base URL: the journal and saved plans name the API by it
        server = SandboxServer(config, port=sandbox_port(state_file))
    except ConfigError:  # the port is taken: any free one (resume then starts afresh)
        server = SandboxServer(config)
    with server:
        api = settings.api.model_copy(
            update={"base_url": server.base_url, "token": SecretStr(server.token)}
        )
        yield settings.model_copy(update={"api": api})


def sandbox_port(state_file: Path) -> int:
    """The embedded sandbox's port for `state_file`: the same every time (in 20000-39999)."""
    digest = hashlib.sha256(str(state_file.resolve()).encode()).digest()
    return SANDBOX_PORTS[0] + int.from_bytes(digest[:4], "big") % SANDBOX_PORTS[1]


def _run_inbox(directory: Path, settings: Settings, *, watch: bool, quiet: bool) -> int:
    """One pass (or, with `watch`, passes until SIGINT/SIGTERM); the exit code."""
    from importer.inbox import make_runner, process_inbox, stop_on_signals, watch_inbox

    settings.api.require_token("inbox")  # before any file is claimed
    with stop_on_signals() as (stop, switch):
        runner = make_runner(switch=switch, tty=_tty(quiet=quiet))
        if not watch:
            return process_inbox(directory, settings, runner=runner, stop=stop).exit_code
        watch_inbox(directory, settings, stop=stop, runner=runner)
        return 0


# Commands defined in their own modules register themselves on `app` when imported.
from importer.cli import export, sync  # noqa: E402,F401

if __name__ == "__main__":  # pragma: no cover
    main()
