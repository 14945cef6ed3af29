"""How a command ends: its outcome as one line, its errors as one line, its exit code.

`execute` runs a command's job with SIGINT/SIGTERM as stop requests and renders what
it returns (the stop reason, `-v`'s mapping, `one_line_summary`); `fail` prints an
`ImporterError` as one line and exits with its code; `unexpected` is what `main` says of
an exception no stage translated (a bug): one line, exit 2 (3 from the HTTP stack), the
traceback only with `-v` (`Diagnostics.traceback`).
"""

from __future__ import annotations

import traceback
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, NoReturn

import typer

from importer.errors import ImporterError, RunStopped

if TYPE_CHECKING:
    from importer.run.outcome import RunOutcome
    from importer.signals import StopSwitch

__all__ = ["Diagnostics", "execute", "fail", "one_line_summary", "unexpected"]


class Diagnostics:
    """Whether an unexpected error shows its traceback: `-v` given, before the command
    (`did-import -v history`) or after it (`did-import validate FILE -v`)."""

    traceback = False


HTTP_STACK = frozenset({"httpx", "httpcore", "aiohttp", "h11"})
"""Packages whose unexpected exceptions end with exit 3, the API's code, instead of 2."""


def unexpected(error: BaseException, *, show_traceback: bool) -> int:
    """Report an exception no stage translated: one line on stderr (after the traceback
    with `show_traceback`); the exit code, 3 when it came from the HTTP stack, else 2."""
    if show_traceback:
        traceback.print_exception(error)
    text = " ".join(str(error).split()) or "no message"
    hint = "" if show_traceback else " (run again with -v for the traceback)"
    typer.echo(f"did-import: unexpected error: {type(error).__name__}: {text}{hint}", err=True)
    return 3 if _from_http_stack(error) else 2


def _from_http_stack(error: BaseException) -> bool:
    """Whether `error`, or an exception it was raised from or during, is the HTTP stack's."""
    seen: set[int] = set()
    current: BaseException | None = error
    while current is not None and id(current) not in seen:
        if type(current).__module__.partition(".")[0] in HTTP_STACK:
            return True
        seen.add(id(current))
        current = current.__cause__ or current.__context__
    return False


def execute(job: Callable[[StopSwitch], RunOutcome], *, quiet: bool, verbose: bool = False) -> None:
    """Run `job` with SIGINT/SIGTERM as stop requests on its switch; render its outcome."""
    from importer.signals import StopSwitch, stop_on_signals

    Diagnostics.traceback |= verbose
    switch = StopSwitch()
    try:
        with stop_on_signals(switch):
            outcome = job(switch)
    except ImporterError as error:
        fail(error)
    except KeyboardInterrupt:  # only where no handler of ours could be set (not main thread)
        fail(RunStopped("interrupted"))
    from importer.logs import error_line, logs_json

    if outcome.stopped_by is not None:
        typer.echo(error_line(str(outcome.stopped_by), exit_code=outcome.exit_code), err=True)
    if logs_json():  # the `run_end` event is the summary, the mapping in its `input`
        raise typer.Exit(outcome.exit_code)
    if verbose:
        from importer.mapping import mapping_lines

        for line in mapping_lines(outcome.summary.input.mapping):
            typer.echo(f"mapping: {line}")
    if not quiet:
        typer.echo(one_line_summary(outcome))
    raise typer.Exit(outcome.exit_code)


def fail(error: ImporterError) -> NoReturn:
    """`error` as one line on stderr; exit with its code."""
    from importer.logs import error_line

    typer.echo(error_line(str(error), exit_code=error.exit_code), err=True)
    raise typer.Exit(error.exit_code)


def one_line_summary(outcome: RunOutcome) -> str:
    """`file: <headline> · 40 registered, 8 invalid · report: path · exit 1`: the Summary
    sheet's headline (`importer.reporter.headline`), then the count of each status, and
    a detected encoding (`· encoding cp1253 detected, 66% sure`) before the report."""
    from importer.loader.piped import copy_name
    from importer.reporter.headline import headline

    summary = outcome.summary
    counts = ", ".join(f"{n:,} {status}" for status, n in summary.counts.items() if n)
    facts = summary.input
    detected = (
        f" · encoding {facts.encoding} detected, {facts.encoding_confidence:.0%} sure"
        if facts.encoding_confidence is not None
        else ""
    )
    return (
        f"{copy_name(Path(facts.file))}: {headline(summary)}"
        f" · {counts or 'nothing to do'}{detected} · report: {outcome.report_path}"
        f" · exit {outcome.exit_code}"
    )
