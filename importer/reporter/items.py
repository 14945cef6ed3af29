"""The `Summary` sheet as (item, value) pairs, pure: counts, input facts, mapping, options.

`summary_items` lists the headline first (`headline`), then the counts under the
`Rows by status` heading, each named by its bare status (the chart points at them), in
the order of the run's mode (`summary.ordered_counts`), then the input facts, the
mapping with column letters, the options that were set (`report_options`: never a
token, URLs redacted) and the run, its times as `2026-12-02 17:06:37 UTC` (the JSON
summary keeps ISO 8601).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from urllib.parse import urlsplit, urlunsplit

from importer.config import Settings
from importer.mapping import column_letter
from importer.models import Status
from importer.reporter.flatten import Cell, Item
from importer.reporter.headline import headline
from importer.reporter.summary import RunSummary, ordered_counts

HEADLINE_ITEM = "in short"
STATUS_HEADING = "Rows by status"
"""A heading line (no value); the count lines below it are named by their status."""
STATUS_NAMES = frozenset(status.value for status in Status)
TIME_FORMAT = "%Y-%m-%d %H:%M:%S UTC"

COMPOSED_SUFFIX, COMPOSED_JOIN = " columns", " + "  # how ColumnMapping.describe() composes

_DELIMITER_NAMES = {",": "comma", ";": "semicolon", "\t": "tab", "|": "pipe", " ": "space"}


def summary_items(
    summary: RunSummary,
    mapping: Mapping[str, str] | None = None,
    *,
    header: Sequence[str] = (),
    options: Sequence[Item] = (),
    attention: int | None = None,
) -> list[Item]:
    """The `Summary` sheet as (item, value) pairs; `mapping` overrides the summary's.

    The headline comes first (`attention`: rows needing attention, as `headline` takes
    it), then the counts, in the mode's order (`all_counts`), so a chart can point at
    them. A mapped column is shown with its letter ("Phone Number (column A)") when
    `header` is given. An option that was not set (None or empty) is left out.
    """
    used = summary.input.mapping if mapping is None else mapping
    return [
        (HEADLINE_ITEM, headline(summary, attention)),
        ("rows", sum(summary.counts.values())),
        (STATUS_HEADING, None),
        *all_counts(summary).items(),
        ("mode", summary.mode),
        *_input_items(summary),
        *((f"mapping: {field}", _describe_column(name, header)) for field, name in used.items()),
        *((f"option: {name}", _shown(value)) for name, value in options if _set(value)),
        *_run_items(summary),
    ]


def _set(value: Cell) -> bool:
    """False for an option left unset (None, or empty text)."""
    return value is not None and value != ""


def shown_time(moment: datetime) -> str:
    """A time as a person reads it, in UTC: `2026-12-02 17:06:37 UTC` (naive: taken as UTC)."""
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.astimezone(UTC).strftime(TIME_FORMAT)


def _shown(value: Cell) -> Cell:
    """An option's value; a flag as `true`/`false` text, not as the number 1 or 0."""
    return str(value).lower() if isinstance(value, bool) else value


def all_counts(summary: RunSummary) -> dict[str, int]:
    """Every status (zero when absent) in the mode's order, then any count we do not know."""
    return ordered_counts(summary.counts, summary.mode)


def _input_items(summary: RunSummary) -> list[Item]:
    facts = summary.input
    return [
        ("input: file", facts.file),
        ("input: sha256", facts.sha256),
        ("input: format", facts.format),
        ("input: sheet", facts.sheet),
        ("input: encoding", facts.encoding),
        ("input: encoding detection", facts.encoding_detection),
        ("input: delimiter", describe_delimiter(facts.delimiter)),
        ("input: header row", facts.header_row),
        ("input: data rows", facts.data_rows),
        ("input: blank rows", facts.blank_rows),
    ]


def _run_items(summary: RunSummary) -> list[Item]:
    return [
        ("base url", redact_url(summary.base_url)),
        ("tool", summary.tool),
        ("tool version", summary.tool_version),
        ("phonenumbers version", summary.phonenumbers_version),
        ("started at", shown_time(summary.started_at)),
        ("finished at", shown_time(summary.finished_at)),
        ("duration (s)", round(summary.duration_seconds, 3)),
        ("rows per second", round(summary.rows_per_second, 1)),
        ("exit code", summary.exit_code),
        ("stopped reason", summary.stopped_reason),
    ]


def report_options(settings: Settings, *, sends: bool) -> list[Item]:
    """The options a run used, for the `Summary` sheet; API options only when it `sends`.

    The token is never among them, and a default callback URL is shown redacted.
    """
    columns = ", ".join(f"{field}={name}" for field, name in settings.input.columns.items())
    defaults, report = settings.defaults, settings.report
    items: list[Item] = [
        ("sheet", settings.input.sheet),
        ("encoding", settings.input.encoding),
        ("delimiter", describe_delimiter(settings.input.delimiter)),
        ("columns", columns or None),
        ("default region", defaults.default_region),
        ("capabilities", defaults.capabilities),
        ("carrier sid", defaults.carrier_sid),
        ("callback url", redact_url(defaults.callback_url)),
        ("report format", report.report_format),
        ("workbook row limit", report.workbook_row_limit),
    ]
    if sends:
        items += _api_options(settings)
    return items


def _api_options(settings: Settings) -> list[Item]:
    api = settings.api
    return [
        ("concurrency", api.concurrency),
        ("rate (requests/s)", api.rate),
        ("timeout (s)", api.timeout),
        ("max attempts", api.max_attempts),
        ("backoff base (s)", api.backoff_base),
        ("backoff max (s)", api.backoff_max),
    ]


def _describe_column(name: str, header: Sequence[str]) -> str:
    """Header text with its letter; never the bare text, so no loader takes it for a header."""
    if not header:
        return name
    if name in header:
        return f"{name} (column {column_letter(list(header).index(name))})"
    composed = _composed_columns(name, header)
    if composed:
        return f"{name} ({', '.join(column_letter(index) for index in composed)})"
    return f"{name} (column not found)"


def _composed_columns(name: str, header: Sequence[str]) -> list[int]:
    """Indexes of a composed field's columns ("SMS + MMS columns"), [] if not one."""
    if not name.endswith(COMPOSED_SUFFIX):
        return []
    names = name.removesuffix(COMPOSED_SUFFIX).split(COMPOSED_JOIN)
    if not all(part in header for part in names):
        return []
    return [list(header).index(part) for part in names]


def describe_delimiter(delimiter: str | None) -> str | None:
    """Invisible or ambiguous delimiters named: "semicolon (';')"."""
    if delimiter is None or delimiter not in _DELIMITER_NAMES:
        return delimiter
    return f"{_DELIMITER_NAMES[delimiter]} ({delimiter!r})"


def redact_url(url: str | None) -> str | None:
    """The URL without user, password, query or fragment: nothing secret is reported."""
    if not url:
        return url
    parts = urlsplit(url)
    host = parts.hostname or ""
    netloc = f"{host}:{parts.port}" if parts.port else host
    return urlunsplit((parts.scheme, netloc, parts.path, "", ""))
