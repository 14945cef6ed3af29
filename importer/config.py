"""Settings: pydantic models built once (flags > environment > config file > defaults).

No stage reads the environment or the command line itself; `build_settings` does, and
the resulting `Settings` is passed down. The token is a `SecretStr`: it never appears
in a `repr`, a log line, a report or a summary.
"""

from __future__ import annotations

import ipaddress
import os
import tomllib
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any, Literal
from urllib.parse import urlsplit

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    SecretStr,
    ValidationError,
    field_validator,
    model_validator,
)

from importer.defaults import (
    DEFAULT_BASE_URL,
    DEFAULT_CONCURRENCY,
    DEFAULT_INBOX_INTERVAL,
    DEFAULT_INBOX_SETTLE,
    DEFAULT_MAX_ATTEMPTS,
    DEFAULT_MAX_ERROR_RATE,
    DEFAULT_MAX_WAIT,
    DEFAULT_TIMEOUT,
)
from importer.errors import ConfigError

DEFAULT_BACKOFF_BASE = 0.5
DEFAULT_BACKOFF_MAX = 30.0
DEFAULT_REPORT_DIR = Path("reports")
DEFAULT_WORKBOOK_ROW_LIMIT = 200_000
EXCEL_MAX_ROWS = 1_048_576

ENV_BASE_URL = "CARRIERX_BASE_URL"
ENV_TOKEN = "CARRIERX_TOKEN"  # noqa: S105 - the variable's name, not a token
ENV_TOKEN_FILE = "CARRIERX_TOKEN_FILE"  # noqa: S105 - the variable's name, not a token
ENV_PROFILE = "CARRIERX_PROFILE"
ENV_CONFIG = "CARRIERX_CONFIG"
CONFIG_FILE_NAME = "did-import.toml"
DEFAULT_NOTIFY_TIMEOUT = 10.0
DEFAULT_NOTIFY_ATTEMPTS = 3
DEFAULT_PROGRESS_EVERY = 10.0
REDACTED = "[redacted]"
MIN_SECRET_CHARS = 6

# `CARRIERX_<NAME>` → (section, key); each overrides the config file (see build_settings).
ENV_SETTINGS: dict[str, tuple[str, str]] = {
    ENV_BASE_URL: ("api", "base_url"),
    "CARRIERX_CONCURRENCY": ("api", "concurrency"),
    "CARRIERX_RATE": ("api", "rate"),
    "CARRIERX_TIMEOUT": ("api", "timeout"),
    "CARRIERX_MAX_ATTEMPTS": ("api", "max_attempts"),
    "CARRIERX_DEFAULT_REGION": ("defaults", "default_region"),
    "CARRIERX_CARRIER_SID": ("defaults", "carrier_sid"),
    "CARRIERX_CALLBACK_URL": ("defaults", "callback_url"),
    "CARRIERX_REPORT_DIR": ("report", "report_dir"),
    "CARRIERX_NOTIFY_URL": ("notify", "url"),
    "CARRIERX_LOG_FORMAT": ("log", "format"),
}


class _Section(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class InputSettings(_Section):
    """How to read the file: sheet, CSV encoding and delimiter, column overrides."""

    sheet: str | None = None
    encoding: str | None = None
    delimiter: str | None = Field(default=None, min_length=1, max_length=1)
    columns: dict[str, str] = Field(default_factory=dict)


class RowDefaults(_Section):
    """Values used for rows whose own cell is empty."""

    default_region: str | None = Field(default=None, min_length=2, max_length=2)
    capabilities: int | None = None
    carrier_sid: str | None = None
    callback_url: str | None = None


NumberKind = Literal[
    "fixed_line",
    "mobile",
    "fixed_line_or_mobile",
    "toll_free",
    "premium_rate",
    "shared_cost",
    "voip",
    "personal_number",
    "pager",
    "uan",
    "voicemail",
]
# Number types (libphonenumber's) that warn `phonenumber.sms_unlikely`. Landlines, VoIP
# and toll-free numbers are left out on purpose: texting them is what External DIDs are for.
DEFAULT_SMS_INCAPABLE: tuple[NumberKind, ...] = (
    "premium_rate",
    "shared_cost",
    "personal_number",
    "pager",
    "uan",
    "voicemail",
)


class ValidationSettings(_Section):
    """Partner-specific rules on top of the fixed ones (empty lists allow everything)."""

    allowed_countries: tuple[str, ...] = Field(
        default=(), description="ISO 3166 alpha-2 regions, e.g. ['US', 'CA']"
    )
    allowed_prefixes: tuple[str, ...] = Field(
        default=(), description="E.164 digit prefixes without '+', e.g. ['1205', '1312']"
    )
    sms_incapable_types: tuple[NumberKind, ...] = DEFAULT_SMS_INCAPABLE
    has_default_carrier: bool = Field(
        default=True, description="false: rows need underlying_carrier_sid (or --carrier)"
    )

    @field_validator("allowed_countries")
    @classmethod
    def _upper_countries(cls, values: tuple[str, ...]) -> tuple[str, ...]:
        return tuple(value.strip().upper() for value in values)

    @field_validator("allowed_prefixes")
    @classmethod
    def _digit_prefixes(cls, values: tuple[str, ...]) -> tuple[str, ...]:
        prefixes = tuple(value.strip().removeprefix("+") for value in values)
        for prefix in prefixes:
            if not (prefix.isascii() and prefix.isdigit()):
                raise ValueError(f"prefix {prefix!r} must be digits, e.g. '1205'")
        return prefixes


class ApiSettings(_Section):
    """Where and how fast to talk to the CarrierX API."""

    base_url: str = DEFAULT_BASE_URL
    token: SecretStr | None = None
    timeout: float = Field(default=DEFAULT_TIMEOUT, gt=0)
    concurrency: int = Field(default=DEFAULT_CONCURRENCY, ge=1, le=1024)
    rate: float | None = Field(default=None, gt=0)
    max_attempts: int = Field(default=DEFAULT_MAX_ATTEMPTS, ge=1, le=100)
    backoff_base: float = Field(default=DEFAULT_BACKOFF_BASE, ge=0)
    backoff_max: float = Field(default=DEFAULT_BACKOFF_MAX, ge=0)
    max_wait: float = Field(
        default=DEFAULT_MAX_WAIT,
        ge=0,
        description="the longest wait (Retry-After) sat through; a row asked to wait longer"
        " is left for the next run",
    )
    second_pass: bool = Field(
        default=True,
        description="rows out of attempts on transient faults get one more pass at the end",
    )
    max_error_rate: float = Field(
        default=DEFAULT_MAX_ERROR_RATE,
        gt=0,
        le=1,
        description="stop (exit 4) when this share of recent requests fail; 1 = never",
    )
    canary: int = Field(default=0, ge=0, description="send this many rows first, then judge")
    verify: bool = Field(default=False, description="GET each new record after registering")
    enable_messaging: Literal["a2p", "p2p"] | None = Field(
        default=None, description="enable messaging on each number (billed per number)"
    )
    campaign_sid: str | None = Field(default=None, description="campaign for a2p messaging")
    allow_insecure: bool = Field(
        default=False, description="allow a plain http:// base_url that is not loopback"
    )

    def require_token(self, what: str) -> SecretStr:
        """The token; `ConfigError` (exit 2, nothing sent) naming `what` needs it if none."""
        if self.token is None:
            raise ConfigError(
                f"{what} needs an API token: set CARRIERX_TOKEN or CARRIERX_TOKEN_FILE"
                " (or give --token-file; from Python, the api.token setting)"
            )
        return self.token

    @model_validator(mode="after")
    def _a2p_needs_campaign(self) -> ApiSettings:
        if self.enable_messaging == "a2p" and not self.campaign_sid:
            raise ValueError("enable_messaging a2p needs a campaign_sid (--campaign-sid)")
        return self


ReportFormat = Literal["xlsx", "csv", "both"]


class JournalSettings(_Section):
    """The run journal (SQLite): where it lives, and whether to discard an unfinished run."""

    path: Path | None = Field(
        default=None, description="default: <report_dir>/journal.sqlite (reports/journal.sqlite)"
    )
    fresh: bool = Field(default=False, description="discard an unfinished run of the same file")


class PlanSettings(_Section):
    """Keeping the account in step with the sheet (`plan`, `apply`, `delete`)."""

    prune: bool = Field(
        default=False, description="delete the account's numbers that the sheet does not hold"
    )
    allow_replace: bool = Field(
        default=False,
        description="delete and register again a number whose capabilities or carrier differ",
    )
    empty_clears: bool = Field(
        default=False, description="an empty cell clears the field (else it is left alone)"
    )
    out: Path | None = Field(default=None, description="`plan`: save the plan to this JSON file")


class ReportSettings(_Section):
    """Where the results workbook and the JSON summary go, and in which formats.

    `report_format` None means the workbook, plus CSV twins when the input is CSV.
    Above `workbook_row_limit` rows the per-row results go to the CSV twin only, and
    the workbook's Errors sheet shows its first `workbook_row_limit` lines (all are in
    the errors CSV).
    """

    report_path: Path | None = None
    summary_json: Path | None = None
    report_dir: Path = DEFAULT_REPORT_DIR
    report_format: ReportFormat | None = None
    workbook_row_limit: int = Field(default=DEFAULT_WORKBOOK_ROW_LIMIT, ge=1, lt=EXCEL_MAX_ROWS)


class NotifySettings(_Section):
    """Where to POST the JSON summary when a run ends, and how hard to try."""

    url: str | None = Field(default=None, description="http(s) URL; the token is never sent")
    timeout: float = Field(default=DEFAULT_NOTIFY_TIMEOUT, gt=0)
    attempts: int = Field(default=DEFAULT_NOTIFY_ATTEMPTS, ge=1, le=10)

    @field_validator("url")
    @classmethod
    def _http_url(cls, value: str | None) -> str | None:
        if value is not None and not value.startswith(("http://", "https://")):
            raise ValueError("must be an http:// or https:// URL")
        return value


class InboxSettings(_Section):
    """`did-import inbox`: how often `--watch` looks, how long a new file must stay still."""

    interval: float = Field(default=DEFAULT_INBOX_INTERVAL, gt=0, description="seconds")
    settle: float = Field(
        default=DEFAULT_INBOX_SETTLE, ge=0, description="seconds between two looks at a file"
    )


class LogSettings(_Section):
    """Log lines on stderr: human sentences or one JSON object per event."""

    format: Literal["human", "json"] = "human"
    progress_every: float = Field(
        default=DEFAULT_PROGRESS_EVERY, gt=0, description="seconds between progress lines"
    )


class Settings(_Section):
    """Everything a run needs, built once and passed down."""

    input: InputSettings = Field(default_factory=InputSettings)
    defaults: RowDefaults = Field(default_factory=RowDefaults)
    validation: ValidationSettings = Field(default_factory=ValidationSettings)
    api: ApiSettings = Field(default_factory=ApiSettings)
    report: ReportSettings = Field(default_factory=ReportSettings)
    journal: JournalSettings = Field(default_factory=JournalSettings)
    plan: PlanSettings = Field(default_factory=PlanSettings)
    notify: NotifySettings = Field(default_factory=NotifySettings)
    inbox: InboxSettings = Field(default_factory=InboxSettings)
    log: LogSettings = Field(default_factory=LogSettings)


def build_settings(
    flags: Mapping[str, Mapping[str, Any]] | None = None,
    *,
    config_file: Path | None = None,
    environ: Mapping[str, str] | None = None,
    token_file: Path | None = None,
    profile: str | None = None,
) -> Settings:
    """Merge defaults < config file (its profile over its top level) < environment < flags.

    `flags` is nested by section (`{"api": {"concurrency": 8}}`); `None` values are
    ignored, so an option the user did not give never hides a lower layer. `profile`
    (else `CARRIERX_PROFILE`) picks the config file's `[profiles.NAME]` tables. The token
    comes from `token_file` (the `--token-file` flag), else `CARRIERX_TOKEN`, else
    `CARRIERX_TOKEN_FILE`, else the config file's `[api] token_file`.
    """
    environ = environ or {}
    profile = profile or environ.get(ENV_PROFILE) or None
    if profile is not None and config_file is None:
        raise ConfigError(
            f"profile {profile!r} needs a config file (--config or ./{CONFIG_FILE_NAME})"
        )
    merged: dict[str, dict[str, Any]] = {}
    if config_file is not None:
        _merge(merged, read_config_file(config_file, profile=profile))
    file_token = merged.get("api", {}).pop("token_file", None)
    _merge(merged, _from_environment(environ))
    token = resolve_token(token_file, environ, file_token)
    _merge(merged, {"api": {"token": token}})
    _merge(merged, flags or {})
    try:
        settings = Settings.model_validate(merged)
    except ValidationError as error:
        raise ConfigError(_one_line(error, config_file, environ)) from None
    refuse_insecure_url(settings.api)
    return settings


def refuse_insecure_url(api: ApiSettings) -> None:
    """Raise `ConfigError` unless the token would travel encrypted, or only over loopback.

    https:// is always fine; plain http:// only to 127.0.0.0/8, ::1 or localhost (the
    sandbox), or with `allow_insecure` (`--allow-insecure`). Any other scheme is refused.
    """
    try:
        parts = urlsplit(api.base_url)
        host, port = parts.hostname, parts.port
    except ValueError:
        raise ConfigError("invalid setting api.base_url: not a valid URL") from None
    shown = f"{parts.scheme}://{host or ''}{f':{port}' if port else ''}{parts.path}"
    if parts.scheme == "https" and host:
        return
    if parts.scheme != "http" or not host:
        raise ConfigError(f"invalid setting api.base_url: {shown!r} is not an https:// URL")
    if not (is_loopback(host) or api.allow_insecure):
        raise ConfigError(
            f"refusing plain http:// API URL {shown}: the token would cross the network"
            " unencrypted; use https://, or --allow-insecure on a network you trust"
        )


def is_loopback(host: str) -> bool:
    """True for localhost, 127.0.0.0/8 and ::1."""
    if host.lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def find_config_file(explicit: Path | None, environ: Mapping[str, str], cwd: Path) -> Path | None:
    """`--config`, else `CARRIERX_CONFIG`, else `./did-import.toml` when there is one."""
    if explicit is not None:
        return explicit
    if environ.get(ENV_CONFIG):
        return Path(environ[ENV_CONFIG])
    candidate = cwd / CONFIG_FILE_NAME
    return candidate if candidate.is_file() else None


def read_config_file(path: Path, *, profile: str | None = None) -> dict[str, dict[str, Any]]:
    """Read the TOML config: its top-level sections, then `[profiles.<profile>]` over them.

    A `[columns]` table is the column mapping; a key in the profile replaces the same key
    at the top level. `[api] token_file` is resolved against the file's folder; a token
    written in the file itself is refused.
    """
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except OSError as error:
        raise ConfigError(f"{path}: cannot read config file ({error.strerror})") from None
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as error:
        raise ConfigError(f"{path}: not valid TOML ({error})") from None
    profiles = data.pop("profiles", {})
    layer: dict[str, dict[str, Any]] = {}
    _merge(layer, _sections(data))
    if profile is not None:
        _merge(layer, _sections(_profile_table(path, profiles, profile)))
    api = layer.get("api", {})
    if "token" in api:
        raise ConfigError(f"{path}: a token does not belong in a config file; use token_file")
    if "token_file" in api:
        api["token_file"] = path.parent / Path(str(api["token_file"])).expanduser()
    return layer


def _sections(table: dict[str, Any]) -> dict[str, Any]:
    columns = table.pop("columns", None)
    if columns is not None:
        table.setdefault("input", {})["columns"] = columns
    return table


def _profile_table(path: Path, profiles: object, name: str) -> dict[str, Any]:
    if not isinstance(profiles, dict):
        raise ConfigError(f"{path}: [profiles] must be a table of [profiles.NAME] tables")
    table = profiles.get(name)
    if not isinstance(table, dict):
        known = ", ".join(sorted(profiles)) or "none"
        raise ConfigError(f"{path}: no profile {name!r} (profiles: {known})")
    return table


def resolve_token(
    token_file: Path | None, environ: Mapping[str, str], file_token: Path | None
) -> str | None:
    """The token from the highest layer that names one; only that layer's file is read."""
    if token_file is not None:
        return read_token_file(token_file)
    if environ.get(ENV_TOKEN):
        return environ[ENV_TOKEN]
    if environ.get(ENV_TOKEN_FILE):
        return read_token_file(Path(environ[ENV_TOKEN_FILE]))
    return read_token_file(file_token) if file_token is not None else None


def read_token_file(path: Path) -> str:
    """Read a token from a file (whitespace stripped); refuse one others can read."""
    try:
        mode = path.stat().st_mode
    except OSError:
        raise ConfigError(f"{path}: cannot read token file") from None
    if os.name == "posix" and mode & 0o077:
        raise ConfigError(
            f"{path}: token file is open to group or others (mode {mode & 0o777:o});"
            f" run chmod 600 {path}"
        )
    try:
        token = path.read_text(encoding="utf-8").strip()
    except (OSError, UnicodeDecodeError):
        raise ConfigError(f"{path}: cannot read token file") from None
    if not token:
        raise ConfigError(f"{path}: token file is empty")
    return token


def redact(text: str, secrets: Iterable[SecretStr | str | None]) -> str:
    """`text` with every secret replaced by `[redacted]`.

    Secrets shorter than `MIN_SECRET_CHARS` are skipped: they would match ordinary
    words, and no real token is that short.
    """
    for secret in secrets:
        value = secret.get_secret_value() if isinstance(secret, SecretStr) else secret
        if value and len(value) >= MIN_SECRET_CHARS and value in text:
            text = text.replace(value, REDACTED)
    return text


def secrets_of(settings: Settings) -> tuple[str, ...]:
    """The values `redact` must hide for a run with `settings` (the API token)."""
    token = settings.api.token
    return (token.get_secret_value(),) if token is not None else ()


def _from_environment(environ: Mapping[str, str]) -> dict[str, dict[str, Any]]:
    layer: dict[str, dict[str, Any]] = {}
    for name, (section, key) in ENV_SETTINGS.items():
        if environ.get(name):
            layer.setdefault(section, {})[key] = environ[name]
    return layer


def _merge(into: dict[str, dict[str, Any]], layer: Mapping[str, Mapping[str, Any]]) -> None:
    for section, values in layer.items():
        if not isinstance(values, Mapping):
            raise ConfigError(f"config: [{section}] must be a table")
        target = into.setdefault(section, {})
        target.update({key: value for key, value in values.items() if value is not None})


def _one_line(error: ValidationError, config_file: Path | None, environ: Mapping[str, str]) -> str:
    first = error.errors()[0]
    loc = tuple(str(part) for part in first["loc"])
    where = ".".join(loc)
    from_env = [n for n, target in ENV_SETTINGS.items() if target == loc[:2] and environ.get(n)]
    origin = f"{from_env[0]}: " if from_env else f"{config_file}: " if config_file else ""
    return f"{origin}invalid setting {where}: {first['msg']}"
