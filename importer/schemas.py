"""JSON Schemas generated from the pydantic models: `python -m importer.schemas` rewrites them.

`schemas/` holds the input row (the register request body), the config file and the
JSON run summary; a test fails when a file there drifts from what this module generates.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from importer.config import Settings
from importer.summary import RunSummary

SCHEMA_DIR = Path(__file__).resolve().parent.parent / "schemas"


class ExternalDidRow(BaseModel):
    """One validated row, as sent to `POST /phonenumber/external_dids`."""

    model_config = ConfigDict(extra="forbid", title="External DID registration row")

    phonenumber: str = Field(pattern=r"^[1-9][0-9]{6,14}$", description="E.164 digits, no '+'")
    capabilities: int = Field(ge=1, le=31, description="SMS in 1, SMS out 2, MMS in 8, MMS out 16")
    underlying_carrier_sid: str | None = Field(default=None, description="UUID of the carrier")
    callback_url: str | None = Field(default=None, max_length=2048)
    name: str | None = None
    attributes: dict[str, Any] | None = None
    string_key_1: str | None = None
    string_key_2: str | None = None


MODELS: dict[str, type[BaseModel]] = {
    "external_did_row.schema.json": ExternalDidRow,
    "config.schema.json": Settings,
    "run_summary.schema.json": RunSummary,
}


def generate() -> dict[str, str]:
    """File name → schema text, exactly as written to `schemas/`."""
    return {
        name: json.dumps(model.model_json_schema(), indent=2, sort_keys=True) + "\n"
        for name, model in MODELS.items()
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
