"""One look for every command: the usage line, the help's layout, usage errors, `--version`.

typer's defaults, compared with sqlite-utils, csvkit and httpie, read oddly to a
newcomer; the two classes here (given to `typer.Typer(cls=CliGroup)` and to each
`app.command(cls=CliCommand)`) change only how the command line presents itself:

- the usage line names arguments as `FILE`, not `{file}`;
- a flag is shown as a flag, without a `<bool>` value placeholder;
- help panels come in one order in every command (`PANELS`);
- a usage error is the product's error line, `did-import: <what is wrong>`, then one
  hint line naming the command's `--help`, exit 2 (not a box of several lines); one
  JSON `error` event when JSON logs are asked for;
- the program is called `did-import` even when started as `python -m importer.cli`;
- under `NO_COLOR` the help has no escape codes at all.
"""

from __future__ import annotations

import itertools
import os
import sys
from collections.abc import Sequence
from typing import Any, NoReturn

import typer
from typer._click.core import Context, Parameter
from typer._click.exceptions import ClickException, NoArgsIsHelpError
from typer.core import TyperArgument, TyperCommand, TyperGroup, TyperOption

# typer (0.2x) carries its own copy of click as `typer._click`: its exceptions and
# classes are those, not the `click` package's.

PROG_NAME = "did-import"
PANELS = ("Input", "Row defaults", "Plan", "API", "Output")
"""The help's option panels, in this order in every command (after Arguments and Options)."""

_FALSE_OR_TRUE = {"true", "false", "yes", "no", "1", "0", "on", "off"}


def _rank(param: Parameter) -> int:
    """Where a parameter's panel comes: unnamed ones first, then `PANELS` in order."""
    panel = getattr(param, "rich_help_panel", None)
    if panel is None:
        return 0
    return PANELS.index(panel) + 1 if panel in PANELS else len(PANELS) + 1


def _present(params: list[Parameter]) -> list[Parameter]:
    """Flags without a value placeholder; arguments named in capitals (`FILE`)."""
    for param in params:
        if isinstance(param, TyperOption) and param.is_flag and param.metavar is None:
            param.metavar = ""  # the help's type column stays empty for a flag
        elif isinstance(param, TyperArgument) and param.metavar is None and param.name:
            param.metavar = param.name.upper()
    return params


class CliCommand(TyperCommand):
    """A did-import command: panels in `PANELS` order, flags as flags, `FILE` in usage."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.params.sort(key=_rank)  # stable: arguments keep their order

    def get_params(self, ctx: Context) -> list[Parameter]:
        return _present(super().get_params(ctx))

    def collect_usage_pieces(self, ctx: Context) -> list[str]:
        pieces = [self.options_metavar] if self.options_metavar else []
        for param in self.get_params(ctx):
            if isinstance(param, TyperArgument):
                name = param.metavar or (param.name or "").upper()
                name = name if param.required else f"[{name}]"
                pieces.append(name + ("..." if param.nargs != 1 else ""))
        return pieces


class CliGroup(TyperGroup):
    """The `did-import` group: its options shown like a command's, usage errors on one line."""

    def get_params(self, ctx: Context) -> list[Parameter]:
        return _present(super().get_params(ctx))

    def main(  # type: ignore[override]
        self,
        args: Sequence[str] | None = None,
        prog_name: str | None = None,
        complete_var: str | None = None,
        standalone_mode: bool = True,
        **extra: Any,
    ) -> Any:
        """As typer's, but a usage error is `did-import: …` and a hint (`usage_error`)."""
        prog_name = prog_name or PROG_NAME
        _no_color_means_no_style()
        if not standalone_mode:
            return super().main(args, prog_name, complete_var, False, **extra)
        argv = list(sys.argv[1:] if args is None else args)
        try:
            code = super().main(argv, prog_name, complete_var, False, **extra)
        except NoArgsIsHelpError:
            sys.exit(2)  # the help is shown already
        except ClickException as error:
            command = argv[0] if argv and argv[0] in self.commands else None
            usage_error(error, argv, " ".join(filter(None, [prog_name, command])))
        except typer.Abort:
            typer.echo(f"{PROG_NAME}: aborted", err=True)
            sys.exit(1)
        sys.exit(code if isinstance(code, int) else 0)


def _no_color_means_no_style() -> None:
    """Under `NO_COLOR` the help is plain text: rich alone drops colours but keeps bold
    and dim, which are escape codes too (https://no-color.org: "no ANSI colour")."""
    if os.environ.get("NO_COLOR"):
        from typer import rich_utils

        rich_utils.COLOR_SYSTEM = None


def usage_error(
    error: ClickException, argv: Sequence[str] = (), command_path: str = PROG_NAME
) -> NoReturn:
    """Print a usage error as the product prints its errors (then a hint naming the
    command's `--help`), and exit with its code (2). Asked for JSON logs (`--log-format
    json`, `CARRIERX_LOG_FORMAT=json`), it is one JSON `error` event with the hint in it."""
    ctx: Context | None = getattr(error, "ctx", None)
    path = ctx.command_path if ctx is not None else command_path
    message, hint = _explain(error, argv), f"try '{path} --help' for its options and examples"
    if _json_asked(argv, ctx):
        from importer.logs import error_line, log_to_stderr

        with log_to_stderr("json"):
            line = error_line(message, exit_code=error.exit_code, hint=hint)
        typer.echo(line, err=True)
    else:
        typer.echo(f"{PROG_NAME}: {message}", err=True)
        typer.echo(hint, err=True)
    sys.exit(error.exit_code)


def _json_asked(argv: Sequence[str], ctx: Context | None) -> bool:
    """Whether the command line or the environment asks a command that logs JSON for it
    (a config file cannot be read before the command line is understood)."""
    if ctx is not None and all(param.name != "log_format" for param in ctx.command.params):
        return False
    given = "--log-format=json" in argv or any(
        flag == "--log-format" and value == "json" for flag, value in itertools.pairwise(argv)
    )
    return given or os.environ.get("CARRIERX_LOG_FORMAT") == "json"


def _explain(error: ClickException, argv: Sequence[str]) -> str:
    """click's message in the product's voice: lower case, no final full stop; a value
    given to a flag (`--quiet true`) says that the flag takes none."""
    message = error.format_message().rstrip(".")
    for flag, value in itertools.pairwise(argv):
        if value.lower() in _FALSE_OR_TRUE and f"({value})" in message and _is_flag(error, flag):
            return f"{flag} is a flag and takes no value: give {flag} alone, not {flag} {value}"
    if message[:1].isupper() and message[1:2].islower():
        message = message[0].lower() + message[1:]
    return message.replace("(Possible options:", "(possible options:")


def _is_flag(error: ClickException, option: str) -> bool:
    ctx: Context | None = getattr(error, "ctx", None)
    if ctx is None or not option.startswith("-"):
        return False
    return any(
        isinstance(param, TyperOption) and param.is_flag and option in param.opts
        for param in ctx.command.get_params(ctx)
    )


def version_option(value: bool) -> None:
    """`--version`: print `did-import <version>` and exit 0."""
    if value:
        from importer import __version__

        typer.echo(f"{PROG_NAME} {__version__}")
        raise typer.Exit()
