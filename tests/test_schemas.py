"""The JSON Schemas in schemas/ are generated from the pydantic models and must not drift."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from pydantic import ValidationError

from importer import schemas
from importer.config import RowDefaults
from importer.mapping import build_mapping
from importer.models import RawRow
from importer.validation import validate_rows


@pytest.mark.parametrize("name", sorted(schemas.MODELS))
def test_schema_file_matches_models(name: str) -> None:
    """schemas/<name> equals what the models generate (run `python -m importer.schemas`)."""
    on_disk = (schemas.SCHEMA_DIR / name).read_text(encoding="utf-8")
    assert on_disk == schemas.generate()[name]


def _payloads() -> list[dict[str, object]]:
    """Validated payloads of rows that use every optional field, at their length limits."""
    mapping = build_mapping(tuple(FIELDS))
    rows = [
        RawRow(2, ("+12059051025", "27", "https://e.com/h", "n" * 255, CARRIER, "{}", "k", "")),
        RawRow(3, ("+12059051026", "sms", "http://e.com/h", "", "", '{"a": [1]}', "", "k" * 255)),
        RawRow(4, ("+12059051027", "1", "", "", "", "", "", "")),
    ]
    results = validate_rows(rows, mapping, RowDefaults())
    return [dict(result.payload or {}) for result in results]


FIELDS = (
    "phonenumber",
    "capabilities",
    "callback_url",
    "name",
    "underlying_carrier_sid",
    "attributes",
    "string_key_1",
    "string_key_2",
)
CARRIER = "61ced070-8dad-43b4-b5e6-f7d61f7aeb65"


@pytest.mark.parametrize("payload", _payloads())
def test_validated_payloads_satisfy_the_row_schema(payload: dict[str, object]) -> None:
    """Every payload validation produces is a valid ExternalDidRow (model and schema file)."""
    schemas.ExternalDidRow.model_validate(payload)
    import jsonschema

    schema = json.loads((schemas.SCHEMA_DIR / "external_did_row.schema.json").read_text())
    jsonschema.validate(payload, schema)


@pytest.mark.parametrize(
    "change",
    [
        {"capabilities": 4},
        {"capabilities": 7},
        {"capabilities": 0},
        {"phonenumber": "+12059051025"},
        {"underlying_carrier_sid": "carrier-42"},
        {"callback_url": "ftp://e.com"},
        {"callback_url": "https://e.com/a b"},
        {"name": "n" * 256},
        {"string_key_2": "k" * 256},
    ],
)
def test_row_schema_refuses_what_validation_refuses(change: dict[str, object]) -> None:
    """Values the validator rejects are rejected by the row schema too."""
    payload = {"phonenumber": "12059051025", "capabilities": 3} | change
    with pytest.raises(ValidationError):
        schemas.ExternalDidRow.model_validate(payload)


def test_write_produces_the_generated_files(tmp_path: Path) -> None:
    """`write` puts exactly the generated text of every schema into the folder it is given."""
    written = schemas.write(tmp_path / "out")
    assert sorted(path.name for path in written) == sorted(schemas.MODELS)
    generated = schemas.generate()
    for path in written:
        assert path.read_text(encoding="utf-8") == generated[path.name]
