"""Settings are built once: flags > environment > config file > defaults."""

from __future__ import annotations

from pathlib import Path

import pytest

from importer.config import DEFAULT_BASE_URL, DEFAULT_CONCURRENCY, Settings, build_settings
from importer.errors import ConfigError


@pytest.fixture
def config_file(tmp_path: Path) -> Path:
    path = tmp_path / "did-import.toml"
    path.write_text(
        '[api]\nbase_url = "https://file.example/core/v2"\nconcurrency = 4\n'
        '[defaults]\ndefault_region = "US"\ncapabilities = 3\n'
        '[columns]\nphonenumber = "Mobile #"\n',
        encoding="utf-8",
    )
    return path


def test_defaults_without_any_layer() -> None:
    """With nothing given, every setting has its named default."""
    settings = build_settings()
    assert settings == Settings()
    assert settings.api.base_url == DEFAULT_BASE_URL
    assert settings.api.concurrency == DEFAULT_CONCURRENCY
    assert settings.api.token is None


def test_config_file_values_and_columns_table(config_file: Path) -> None:
    """The config file sets values, and its [columns] table becomes the column mapping."""
    settings = build_settings(config_file=config_file)
    assert settings.api.concurrency == 4
    assert settings.defaults.default_region == "US"
    assert settings.input.columns == {"phonenumber": "Mobile #"}


def test_precedence_flags_over_environment_over_file(config_file: Path) -> None:
    """A flag beats the environment, which beats the config file."""
    environ = {"CARRIERX_BASE_URL": "https://env.example/core/v2", "CARRIERX_TOKEN": "t0k"}
    from_env = build_settings(config_file=config_file, environ=environ)
    assert from_env.api.base_url == "https://env.example/core/v2"
    flags = {"api": {"base_url": "https://flag.example/core/v2", "concurrency": None}}
    from_flag = build_settings(flags, config_file=config_file, environ=environ)
    assert from_flag.api.base_url == "https://flag.example/core/v2"
    assert from_flag.api.concurrency == 4, "a flag left as None must not hide the file's value"


def test_token_is_never_in_repr() -> None:
    """The token is a secret: repr and str of the settings never show it."""
    settings = build_settings(environ={"CARRIERX_TOKEN": "very-secret-token"})
    assert settings.api.token is not None
    assert settings.api.token.get_secret_value() == "very-secret-token"
    assert "very-secret-token" not in repr(settings)
    assert "very-secret-token" not in str(settings)
    assert "very-secret-token" not in settings.model_dump_json()


def test_token_file_is_read_and_stripped(tmp_path: Path) -> None:
    """--token-file reads the token from a file, surrounding whitespace removed."""
    token_file = tmp_path / "token"
    token_file.write_text("  abc-123\n", encoding="utf-8")
    settings = build_settings(token_file=token_file)
    assert settings.api.token is not None
    assert settings.api.token.get_secret_value() == "abc-123"


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("[api]\nconcurrency = 0\n", "invalid setting api.concurrency"),
        ("[api]\nbogus = 1\n", "invalid setting api.bogus"),
        ("[api\n", "not valid TOML"),
        ("api = 3\n", "[api] must be a table"),
    ],
)
def test_bad_config_file_is_one_line_config_error(tmp_path: Path, text: str, expected: str) -> None:
    """A bad config file is a one-line ConfigError (exit 2) naming the file."""
    path = tmp_path / "bad.toml"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(ConfigError) as caught:
        build_settings(config_file=path)
    assert expected in str(caught.value)
    assert "\n" not in str(caught.value)
    assert caught.value.exit_code == 2


@pytest.mark.parametrize("content", [None, ""])
def test_unusable_token_file_is_config_error(tmp_path: Path, content: str | None) -> None:
    """A missing or empty token file stops before anything is sent."""
    path = tmp_path / "token"
    if content is not None:
        path.write_text(content, encoding="utf-8")
    with pytest.raises(ConfigError, match="token file"):
        build_settings(token_file=path)
