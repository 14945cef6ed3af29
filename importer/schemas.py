"""JSON Schemas generated from the pydantic models: `python -m importer.schemas` rewrites them.

`schemas/` holds the input row (the register request body), the config file and the
JSON run summary; a test fails when a file there drifts from what this module generates.
The config file's schema is `Settings` as the TOML file writes it (`config_file_schema`),
so an editor can check a `did-import.toml`, profiles and all.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, field_validator

from importer.config import Settings
from importer.plan.saved import SavedPlan
from importer.reporter.summary import RunSummary
from importer.validate.capabilities import ALLOWED_MASKS, MAX_MASK
from importer.validate.checks import UUID_PATTERN
from importer.validate.rows import CALLBACK_URL_MAX, TEXT_MAX

_UUID = f"^{UUID_PATTERN}$"

SCHEMA_DIR = Path(__file__).resolve().parent.parent / "schemas"


class ExternalDidRow(BaseModel):
    """One validated row, as sent to `POST /phonenumber/external_dids` (see `validation`)."""

    model_config = ConfigDict(extra="forbid", title="External DID registration row")

    phonenumber: str = Field(pattern=r"^[1-9][0-9]{6,14}$", description="E.164 digits, no '+'")
    capabilities: int = Field(
        ge=1,
        le=MAX_MASK,
        description="SMS in 1, SMS out 2, MMS in 8, MMS out 16; never voice (4)",
        json_schema_extra={"enum": list(ALLOWED_MASKS)},
    )
    underlying_carrier_sid: str | None = Field(
        default=None, pattern=_UUID, description="UUID of the carrier, lower case"
    )
    callback_url: str | None = Field(
        default=None,
        max_length=CALLBACK_URL_MAX,
        pattern=r"^[Hh][Tt][Tt][Pp][Ss]?://[^\s/]+\S*$",
        description="absolute http(s) URL without spaces (plain http warns)",
    )
    name: str | None = Field(default=None, max_length=TEXT_MAX)
    attributes: dict[str, Any] | None = None
    string_key_1: str | None = Field(default=None, max_length=TEXT_MAX)
    string_key_2: str | None = Field(default=None, max_length=TEXT_MAX)

    @field_validator("capabilities")
    @classmethod
    def _allowed_mask(cls, mask: int) -> int:
        if mask not in ALLOWED_MASKS:
            raise ValueError(f"{mask} is not an External DID mask (voice, or no messaging)")
        return mask


def config_file_schema() -> dict[str, Any]:
    """The schema of the TOML config file (`config.read_config_file` reads it).

    It is `Settings` with three differences: `[columns]` is a top-level table (the
    model's `input.columns`); `[api]` names a `token_file`, never a `token`; and each
    `[profiles.NAME]` holds the same tables again.
    """
    schema = Settings.model_json_schema()
    definitions, tables = schema["$defs"], schema["properties"]
    api = definitions["ApiSettings"]["properties"]
    del api["token"]
    api["token_file"] = {
        "type": "string",
        "title": "Token File",
        "description": "file holding the API token (relative to the config file; chmod 600)",
    }
    tables["columns"] = {
        **definitions["InputSettings"]["properties"]["columns"],
        "description": "canonical field = the header text in the partner's sheet",
    }
    definitions["Profile"] = {
        "type": "object",
        "title": "Profile",
        "description": "A partner's tables; a key here replaces the same top-level key.",
        "properties": dict(tables),
        "additionalProperties": False,
    }
    tables["profiles"] = {
        "type": "object",
        "title": "Profiles",
        "description": "[profiles.NAME] tables, chosen with --profile NAME",
        "additionalProperties": {"$ref": "#/$defs/Profile"},
    }
    return schema


SCHEMAS: dict[str, Callable[[], dict[str, Any]]] = {
    "external_did_row.schema.json": ExternalDidRow.model_json_schema,
    "config.schema.json": config_file_schema,
    "run_summary.schema.json": RunSummary.model_json_schema,
    "plan.schema.json": SavedPlan.model_json_schema,
}


def generate() -> dict[str, str]:
    """File name → schema text, exactly as written to `schemas/`."""
    return {
        name: json.dumps(schema(), indent=2, sort_keys=True) + "\n"
        for name, schema in SCHEMAS.items()
    }


def write(directory: Path = SCHEMA_DIR) -> list[Path]:
    """Write every schema into `directory`; return the paths written."""
    directory.mkdir(parents=True, exist_ok=True)
    written = []
    for name, text in generate().items():
        path = directory / name
        path.write_text(text, encoding="utf-8")
        written.append(path)
    return written


if __name__ == "__main__":
    for path in write():
        print(path)
