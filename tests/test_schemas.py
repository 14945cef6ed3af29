"""The JSON Schemas in schemas/ are generated from the pydantic models and must not drift."""

from __future__ import annotations

import pytest

from importer import schemas


@pytest.mark.parametrize("name", sorted(schemas.MODELS))
def test_schema_file_matches_models(name: str) -> None:
    """schemas/<name> equals what the models generate (run `python -m importer.schemas`)."""
    on_disk = (schemas.SCHEMA_DIR / name).read_text(encoding="utf-8")
    assert on_disk == schemas.generate()[name]
