"""The JSON Schemas in schemas/ are generated from the pydantic models and must not drift."""

from __future__ import annotations

import json
import tomllib
from pathlib import Path

import pytest
from pydantic import ValidationError

from importer import schemas
from importer.config import RowDefaults, build_settings, read_config_file
from importer.errors import ConfigError
from importer.mapping import build_mapping
from importer.models import RawRow
from importer.validate.rows import validate_rows


@pytest.mark.parametrize("name", sorted(schemas.SCHEMAS))
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
EXAMPLE_CONFIG = Path(__file__).resolve().parent.parent / "examples" / "did-import.toml"


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
    assert sorted(path.name for path in written) == sorted(schemas.SCHEMAS)
    generated = schemas.generate()
    for path in written:
        assert path.read_text(encoding="utf-8") == generated[path.name]


def _config_schema() -> dict[str, object]:
    loaded: dict[str, object] = json.loads(
        (schemas.SCHEMA_DIR / "config.schema.json").read_text(encoding="utf-8")
    )
    return loaded


def test_the_example_config_satisfies_the_config_schema() -> None:
    """examples/did-import.toml, profiles and all, is valid against schemas/config.schema.json."""
    import jsonschema

    example = tomllib.loads(EXAMPLE_CONFIG.read_text(encoding="utf-8"))
    assert set(example["profiles"]) == {"acme", "globex"}
    jsonschema.validate(example, _config_schema())
    for profile in example["profiles"]:
        read_config_file(EXAMPLE_CONFIG, profile=profile)  # and the reader takes it too


@pytest.mark.parametrize(
    "text",
    [
        '[api]\ntoken = "secret"',
        "[profiles.acme.nonsense]\nkey = 1",
        "[profiles.acme.profiles.inner.api]\nrate = 1",
        "[columns]\nphonenumber = 1",
        "[report]\nworkbook_row_limit = 0",
    ],
)
def test_config_schema_refuses_what_the_config_reader_refuses(text: str, tmp_path: Path) -> None:
    """A token in the file, an unknown table, nested profiles, a bad value: both refuse."""
    import jsonschema

    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate(tomllib.loads(text), _config_schema())
    config = tmp_path / "did-import.toml"
    config.write_text(text, encoding="utf-8")
    with pytest.raises(ConfigError):
        build_settings(config_file=config, profile="acme" if "profiles" in text else None)
