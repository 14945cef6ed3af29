"""Settings are built once: flags > environment > config file > defaults."""

from __future__ import annotations

import zipfile
from pathlib import Path

import httpx
import pytest
from pydantic import SecretStr

from importer.api import run_import
from importer.config import (
    DEFAULT_BASE_URL,
    DEFAULT_CONCURRENCY,
    ReportSettings,
    Settings,
    build_settings,
    find_config_file,
    redact,
)
from importer.errors import ConfigError

REPO = Path(__file__).resolve().parent.parent
SAMPLE = REPO / "sample_data" / "partner_numbers.csv"
EXAMPLE = REPO / "examples" / "did-import.toml"


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
    token_file.chmod(0o600)
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


# -- profiles, environment, token files, redaction (issue 8) -------------------------------

PROFILES = """
[defaults]
default_region = "US"
capabilities = 3

[api]
concurrency = 4

[profiles.acme.defaults]
capabilities = 27
callback_url = "https://acme.example/sms"

[profiles.acme.columns]
phonenumber = "Mobile #"

[profiles.globex.api]
concurrency = 2
rate = 5
"""


@pytest.fixture
def profiles_file(tmp_path: Path) -> Path:
    path = tmp_path / "did-import.toml"
    path.write_text(PROFILES, encoding="utf-8")
    return path


def test_profile_tables_override_the_top_level(profiles_file: Path) -> None:
    """[profiles.acme] keys replace the file's top-level ones; the rest still applies."""
    acme = build_settings(config_file=profiles_file, profile="acme")
    assert acme.defaults.capabilities == 27
    assert acme.defaults.default_region == "US"
    assert acme.defaults.callback_url == "https://acme.example/sms"
    assert acme.input.columns == {"phonenumber": "Mobile #"}
    assert acme.api.concurrency == 4
    plain = build_settings(config_file=profiles_file)
    assert (plain.defaults.capabilities, plain.input.columns) == (3, {})


def test_profile_from_the_environment(profiles_file: Path) -> None:
    """CARRIERX_PROFILE picks the profile when --profile is not given; the flag wins."""
    environ = {"CARRIERX_PROFILE": "globex"}
    assert build_settings(config_file=profiles_file, environ=environ).api.rate == 5
    chosen = build_settings(config_file=profiles_file, environ=environ, profile="acme")
    assert chosen.api.rate is None


@pytest.mark.parametrize(
    ("config", "profile", "expected"),
    [
        (True, "nope", "no profile 'nope' (profiles: acme, globex)"),
        (False, "acme", "profile 'acme' needs a config file"),
    ],
)
def test_unknown_profile_is_one_line_config_error(
    profiles_file: Path, config: bool, profile: str, expected: str
) -> None:
    """An unknown profile, or a profile without a config file, stops before anything runs."""
    with pytest.raises(ConfigError) as caught:
        build_settings(config_file=profiles_file if config else None, profile=profile)
    assert expected in str(caught.value)
    assert "\n" not in str(caught.value)


@pytest.mark.parametrize(
    ("variable", "section", "key", "value"),
    [
        ("CARRIERX_CONCURRENCY", "api", "concurrency", 9),
        ("CARRIERX_RATE", "api", "rate", 2.5),
        ("CARRIERX_TIMEOUT", "api", "timeout", 7.0),
        ("CARRIERX_MAX_ATTEMPTS", "api", "max_attempts", 2),
        ("CARRIERX_DEFAULT_REGION", "defaults", "default_region", "GB"),
        ("CARRIERX_NOTIFY_URL", "notify", "url", "https://hooks.example/x"),
        ("CARRIERX_LOG_FORMAT", "log", "format", "json"),
        ("CARRIERX_REPORT_DIR", "report", "report_dir", Path("/tmp/r")),
    ],
)
def test_environment_overrides_the_file_and_flags_override_both(
    profiles_file: Path, variable: str, section: str, key: str, value: object
) -> None:
    """Each CARRIERX_* variable beats the config file (and its profile); a flag beats it."""
    settings = build_settings(
        config_file=profiles_file, environ={variable: str(value)}, profile="globex"
    )
    assert getattr(getattr(settings, section), key) == value
    flagged = build_settings(
        {"api": {"concurrency": 11}}, config_file=profiles_file, environ={variable: str(value)}
    )
    assert flagged.api.concurrency == 11


def test_bad_environment_value_names_the_variable(profiles_file: Path) -> None:
    """CARRIERX_CONCURRENCY=lots is a one-line error naming the variable, not the file."""
    with pytest.raises(ConfigError, match=r"^CARRIERX_CONCURRENCY: invalid setting api\.conc"):
        build_settings(config_file=profiles_file, environ={"CARRIERX_CONCURRENCY": "lots"})


def token_at(path: Path, token: str, mode: int = 0o600) -> Path:
    """Write a token file with `mode`."""
    path.write_text(token + "\n", encoding="utf-8")
    path.chmod(mode)
    return path


@pytest.mark.parametrize("mode", [0o644, 0o640, 0o604, 0o660])
def test_token_file_open_to_others_is_refused(tmp_path: Path, mode: int) -> None:
    """A token file group or others can read is refused with a one-line hint to chmod 600."""
    path = token_at(tmp_path / "token", "abc-123-secret", mode)
    with pytest.raises(ConfigError) as caught:
        build_settings(token_file=path)
    assert f"mode {mode:o}" in str(caught.value)
    assert "chmod 600" in str(caught.value)
    assert "abc-123-secret" not in str(caught.value)


def test_token_precedence(tmp_path: Path) -> None:
    """--token-file > CARRIERX_TOKEN > CARRIERX_TOKEN_FILE > the config file's token_file."""
    (tmp_path / "secrets").mkdir()
    token_at(tmp_path / "secrets" / "from-config", "config-token")
    config = tmp_path / "did-import.toml"
    config.write_text('[api]\ntoken_file = "secrets/from-config"\n', encoding="utf-8")
    env_file = token_at(tmp_path / "env-file", "env-file-token")
    flag_file = token_at(tmp_path / "flag-file", "flag-token")
    layers: list[tuple[dict[str, str], Path | None, str]] = [
        ({}, None, "config-token"),
        ({"CARRIERX_TOKEN_FILE": str(env_file)}, None, "env-file-token"),
        ({"CARRIERX_TOKEN_FILE": str(env_file), "CARRIERX_TOKEN": "env-token"}, None, "env-token"),
        ({"CARRIERX_TOKEN": "env-token"}, flag_file, "flag-token"),
    ]
    for environ, token_file, expected in layers:
        settings = build_settings(config_file=config, environ=environ, token_file=token_file)
        assert settings.api.token is not None
        assert settings.api.token.get_secret_value() == expected


def test_a_token_written_in_the_config_file_is_refused(tmp_path: Path) -> None:
    """The token never sits in a config file: only a token_file path may."""
    path = tmp_path / "c.toml"
    path.write_text('[profiles.x.api]\ntoken = "abc"\n', encoding="utf-8")
    with pytest.raises(ConfigError, match="token does not belong in a config file"):
        build_settings(config_file=path, profile="x")


def test_find_config_file(tmp_path: Path) -> None:
    """--config, else CARRIERX_CONFIG, else ./did-import.toml if present, else none."""
    assert find_config_file(None, {}, tmp_path) is None
    (tmp_path / "did-import.toml").write_text("", encoding="utf-8")
    assert find_config_file(None, {}, tmp_path) == tmp_path / "did-import.toml"
    assert find_config_file(None, {"CARRIERX_CONFIG": "/etc/d.toml"}, tmp_path) == Path(
        "/etc/d.toml"
    )
    assert find_config_file(Path("x.toml"), {"CARRIERX_CONFIG": "/e"}, tmp_path) == Path("x.toml")


@pytest.mark.parametrize(
    ("text", "secrets", "expected"),
    [
        ("401: bad token abcdef123 given", ["abcdef123"], "401: bad token [redacted] given"),
        ("no secret here", ["abcdef123"], "no secret here"),
        ("short t is kept", ["t"], "short t is kept"),
        ("x abcdef123 y", [SecretStr("abcdef123"), None], "x [redacted] y"),
    ],
)
def test_redact(text: str, secrets: list[str | SecretStr | None], expected: str) -> None:
    """redact replaces each secret; secrets too short to be tokens are left alone."""
    assert redact(text, secrets) == expected


def test_an_api_echoing_the_token_is_redacted_everywhere(tmp_path: Path) -> None:
    """A 401 body that repeats our token: the stop reason, summary and report never show it."""
    token = "echoed-token-9f8e7d6c"

    def echo(request: httpx.Request) -> httpx.Response:
        sent = request.headers["Authorization"]
        return httpx.Response(401, json={"message": f"token refused: {sent}", "errors": []})

    settings = build_settings(
        {"api": {"base_url": "https://api.example/v2", "token": token, "max_attempts": 1}}
    ).model_copy(update={"report": ReportSettings(report_dir=tmp_path)})
    outcome = run_import(SAMPLE, settings, transport=httpx.MockTransport(echo))
    assert outcome.exit_code == 3
    assert "[redacted]" in str(outcome.stopped_by)
    assert token not in str(outcome.stopped_by)
    assert token not in outcome.summary.model_dump_json()
    with zipfile.ZipFile(outcome.report_path) as report:
        assert all(token.encode() not in report.read(name) for name in report.namelist())


@pytest.mark.parametrize("profile", [None, "acme", "globex"])
def test_the_shipped_example_config_is_valid(profile: str | None) -> None:
    """examples/did-import.toml loads, on its own and with each of its profiles."""
    settings = build_settings(config_file=EXAMPLE, profile=profile)
    assert settings.api.token is None
