"""Settings: pydantic models built once (flags > environment > config file > defaults).

No stage reads the environment or the command line itself; `build_settings` does, and
the resulting `Settings` is passed down. The token is a `SecretStr`: it never appears
in a `repr`, a log line, a report or a summary.
"""

from __future__ import annotations

import tomllib
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, SecretStr, ValidationError

from importer.errors import ConfigError

DEFAULT_BASE_URL = "https://api.carrierx.com/core/v2"
DEFAULT_TIMEOUT = 30.0
DEFAULT_CONCURRENCY = 16
DEFAULT_MAX_ATTEMPTS = 5
DEFAULT_BACKOFF_BASE = 0.5
DEFAULT_BACKOFF_MAX = 30.0
DEFAULT_REPORT_DIR = Path("reports")

ENV_BASE_URL = "CARRIERX_BASE_URL"
ENV_TOKEN = "CARRIERX_TOKEN"  # noqa: S105 - the variable's name, not a token


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


class ReportSettings(_Section):
    """Where the results workbook and the JSON summary go."""

    report_path: Path | None = None
    summary_json: Path | None = None
    report_dir: Path = DEFAULT_REPORT_DIR


class Settings(_Section):
    """Everything a run needs, built once and passed down."""

    input: InputSettings = Field(default_factory=InputSettings)
    defaults: RowDefaults = Field(default_factory=RowDefaults)
    api: ApiSettings = Field(default_factory=ApiSettings)
    report: ReportSettings = Field(default_factory=ReportSettings)


def build_settings(
    flags: Mapping[str, Mapping[str, Any]] | None = None,
    *,
    config_file: Path | None = None,
    environ: Mapping[str, str] | None = None,
    token_file: Path | None = None,
) -> Settings:
    """Merge defaults < config file < environment < flags into one `Settings`.

    `flags` is nested by section (`{"api": {"concurrency": 8}}`); `None` values are
    ignored, so an option the user did not give never hides a lower layer.
    """
    merged: dict[str, dict[str, Any]] = {}
    if config_file is not None:
        _merge(merged, read_config_file(config_file))
    _merge(merged, _from_environment(environ or {}))
    if token_file is not None:
        _merge(merged, {"api": {"token": read_token_file(token_file)}})
    _merge(merged, flags or {})
    try:
        return Settings.model_validate(merged)
    except ValidationError as error:
        raise ConfigError(_one_line(error, config_file)) from None


def read_config_file(path: Path) -> dict[str, dict[str, Any]]:
    """Read the TOML config; a top-level `[columns]` table is the column mapping."""
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except OSError as error:
        raise ConfigError(f"{path}: cannot read config file ({error.strerror})") from None
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as error:
        raise ConfigError(f"{path}: not valid TOML ({error})") from None
    columns = data.pop("columns", None)
    if columns is not None:
        data.setdefault("input", {})["columns"] = columns
    return data


def read_token_file(path: Path) -> str:
    """Read a token from a file (first line, whitespace stripped)."""
    try:
        token = path.read_text(encoding="utf-8").strip()
    except (OSError, UnicodeDecodeError):
        raise ConfigError(f"{path}: cannot read token file") from None
    if not token:
        raise ConfigError(f"{path}: token file is empty")
    return token


def _from_environment(environ: Mapping[str, str]) -> dict[str, dict[str, Any]]:
    api: dict[str, Any] = {}
    if environ.get(ENV_BASE_URL):
        api["base_url"] = environ[ENV_BASE_URL]
    if environ.get(ENV_TOKEN):
        api["token"] = environ[ENV_TOKEN]
    return {"api": api}


def _merge(into: dict[str, dict[str, Any]], layer: Mapping[str, Mapping[str, Any]]) -> None:
    for section, values in layer.items():
        if not isinstance(values, Mapping):
            raise ConfigError(f"config: [{section}] must be a table")
        target = into.setdefault(section, {})
        target.update({key: value for key, value in values.items() if value is not None})


def _one_line(error: ValidationError, config_file: Path | None) -> str:
    first = error.errors()[0]
    where = ".".join(str(part) for part in first["loc"])
    origin = f"{config_file}: " if config_file else ""
    return f"{origin}invalid setting {where}: {first['msg']}"
