"""Each claim of SECURITY.md, pinned.

The token: never an argument, never in output, files, exception text or a `repr`
(the scheduled-mode twin of the leak test is tests/test_inbox.py); TLS verified by
default, plain http:// refused beyond loopback unless --allow-insecure; the sandbox on
loopback; reports readable by their owner only; no eval/pickle of anything; every
dependency bounded above. Hostile input files are pinned by tests/test_hostile.py and
formula injection into reports by tests/test_reporter_pipeline.py.
"""

from __future__ import annotations

import asyncio
import datetime
import ipaddress
import os
import re
import ssl
import stat
import threading
import tomllib
from collections.abc import Callable, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
import typer.main
from pydantic import SecretStr
from test_inbox import drop, everything_written, make_settings
from typer.testing import CliRunner

from importer.cli import app
from importer.config import ApiSettings, build_settings, is_loopback
from importer.errors import ApiUnreachableError, ConfigError
from importer.inbox import process_inbox
from importer.reporter.files import REPORT_MODE
from importer.reporter.lines import ReportLines
from importer.reporter.spool import ResultsSpool
from importer.sandbox import DEFAULT_CARRIER_SID, Partner, SandboxConfig, SandboxServer
from importer.sandbox.server import DEFAULT_HOST
from importer.send import Executor
from importer.send.client import make_client
from importer.send.operations.preflight import preflight

REPO = Path(__file__).parent.parent
SAMPLE = REPO / "sample_data" / "partner_numbers.csv"
TOKEN = "tok-SECURITY-5d1e8a7b3c9f"  # distinctive, to grep for
FORBIDDEN = re.compile(
    r"\beval\(|\bexec\(|\bpickle\b|\bmarshal\b|\bshelve\b|yaml\.load|shell=True|__import__\("
)


def _commands() -> Iterator[tuple[str, Any]]:
    """(name, click command) of each did-import command (typer's own click)."""
    commands: dict[str, Any] = getattr(typer.main.get_command(app), "commands", {})
    assert commands
    yield from commands.items()


# -- the token is never an argument, never written, never shown --------------------------------


def test_no_command_takes_a_token_on_the_command_line() -> None:
    """No option carries the token itself (argv is visible in `ps`): only --token-file."""
    options = {opt for _, command in _commands() for p in command.params for opt in p.opts}
    assert {opt for opt in options if "token" in opt} == {"--token-file"}


def test_settings_repr_and_dumps_hide_the_token() -> None:
    """repr, str and the JSON dump of the settings show the token masked."""
    settings = build_settings({"api": {"token": TOKEN}})
    shown = [repr(settings), str(settings), settings.model_dump_json(), repr(settings.api)]
    assert all(TOKEN not in text for text in shown)
    assert settings.api.token is not None
    assert settings.api.token.get_secret_value() == TOKEN


def test_exception_text_never_holds_the_token() -> None:
    """A settings error raised beside the token does not quote it."""
    with pytest.raises(ConfigError) as refused:
        build_settings({"api": {"token": TOKEN, "concurrency": 0}})
    assert TOKEN not in str(refused.value)
    assert TOKEN not in repr(refused.value)
    with pytest.raises(ConfigError) as insecure:
        build_settings({"api": {"token": TOKEN, "base_url": "http://api.example.com/core/v2"}})
    assert TOKEN not in str(insecure.value)


@pytest.mark.parametrize("command", ["run", "validate"])
def test_the_token_is_nowhere_after_a_cli_run(
    make_sandbox: Callable[..., SandboxServer], tmp_path: Path, command: str
) -> None:
    """stdout, stderr, report, CSV twins, summary and journal of a run: no token anywhere."""
    partner = Partner(
        name="partner-s",
        partner_sid="5e1c2d3a-4b5c-4d6e-8f70-1a2b3c4d5e6f",
        tokens={TOKEN: frozenset({"phonenumber.manage"})},
        default_carrier_sid=DEFAULT_CARRIER_SID,
    )
    sandbox = make_sandbox(SandboxConfig(partners=[partner]))
    env = {"CARRIERX_BASE_URL": sandbox.base_url, "CARRIERX_TOKEN": TOKEN}
    args = [command, str(SAMPLE), "--report", str(tmp_path / "out" / "r.xlsx")]
    args += ["--summary-json", str(tmp_path / "out" / "s.json")]
    args += ["--journal", str(tmp_path / "j.sqlite")] if command == "run" else ["--check-remote"]
    result = CliRunner().invoke(app, args, env=env)
    assert result.exit_code in (0, 1), result.output
    written = [("output", result.output.encode())]
    written += list(everything_written(tmp_path))
    assert len(written) > 3
    assert [where for where, data in written if TOKEN.encode() in data] == []


# -- TLS, and plain http only to loopback -----------------------------------------------------


def test_the_client_verifies_certificates_by_default() -> None:
    """make_client's transport checks the certificate chain and the host name."""
    client = make_client(ApiSettings(token=SecretStr(TOKEN)))
    context = client._transport.ssl_context  # type: ignore[attr-defined]
    assert context.verify_mode == ssl.CERT_REQUIRED
    assert context.check_hostname is True
    asyncio.run(client.aclose())


class _TlsServer:
    """An HTTPS server on loopback with a self-signed certificate; records requests."""

    def __init__(self, folder: Path) -> None:
        self.seen: list[str] = []
        certificate, key = _self_signed(folder)
        seen = self.seen

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                seen.append(self.headers.get("Authorization", ""))
                self.send_response(200)
                self.end_headers()

            def log_message(self, *args: object) -> None:
                """Quiet."""

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        context.load_cert_chain(certificate, key)
        self.server.socket = context.wrap_socket(self.server.socket, server_side=True)
        self.url = f"https://127.0.0.1:{self.server.server_port}/core/v2"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()


def _self_signed(folder: Path) -> tuple[Path, Path]:
    """A self-signed certificate for 127.0.0.1 (cryptography), as PEM files."""
    x509 = pytest.importorskip("cryptography.x509")
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(x509.oid.NameOID.COMMON_NAME, "127.0.0.1")])
    now = datetime.datetime.now(datetime.UTC)
    alt = x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))])
    certificate = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=1))
        .not_valid_after(now + datetime.timedelta(hours=1))
        .add_extension(alt, critical=False)
        .sign(key, hashes.SHA256())
    )
    cert_path, key_path = folder / "cert.pem", folder / "key.pem"
    cert_path.write_bytes(certificate.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    return cert_path, key_path


def test_an_untrusted_certificate_stops_before_the_token_is_sent(tmp_path: Path) -> None:
    """A self-signed server is refused (exit-3 error) and never receives the token."""
    server = _TlsServer(tmp_path)
    settings = ApiSettings(base_url=server.url, token=SecretStr(TOKEN), timeout=5)

    async def attempt() -> None:
        async with make_client(settings) as client:
            await preflight(Executor(client, settings))

    try:
        with pytest.raises(ApiUnreachableError) as refused:
            asyncio.run(attempt())
    finally:
        server.server.shutdown()
        server.server.server_close()
    assert "certificate" in str(refused.value).lower()
    assert server.seen == []


@pytest.mark.parametrize(
    "url",
    [
        "http://127.0.0.1:8765/core/v2",
        "http://127.3.4.5/core/v2",
        "http://[::1]:8765/core/v2",
        "http://localhost:8765/core/v2",
        "https://api.carrierx.com/core/v2",
    ],
)
def test_https_and_loopback_http_are_accepted(url: str) -> None:
    """https:// anywhere, and plain http:// to 127.0.0.0/8, ::1 or localhost."""
    assert build_settings({"api": {"base_url": url}}).api.base_url == url


@pytest.mark.parametrize(
    ("url", "message"),
    [
        ("http://api.example.com/core/v2", "refusing plain http:// API URL"),
        ("http://10.0.0.5:8080/core/v2", "refusing plain http:// API URL"),
        ("http://127.0.0.1.example.com/x", "refusing plain http:// API URL"),
        ("ftp://api.example.com/core/v2", "is not an https:// URL"),
        ("api.carrierx.com/core/v2", "is not an https:// URL"),
    ],
)
def test_plain_http_beyond_loopback_is_refused(url: str, message: str) -> None:
    """Any other http:// URL, or another scheme, is a ConfigError naming the fix."""
    with pytest.raises(ConfigError, match=re.escape(message)):
        build_settings({"api": {"base_url": url}})


def test_is_loopback_knows_the_whole_loopback_range() -> None:
    """127.0.0.0/8, ::1 and localhost are loopback; the rest is not."""
    assert all(map(is_loopback, ["127.0.0.1", "127.255.0.9", "::1", "LOCALHOST"]))
    assert not any(map(is_loopback, ["10.0.0.1", "::2", "localhost.example", "0.0.0.0"]))


@pytest.mark.parametrize("command", ["validate", "run"])
def test_cli_refuses_plain_http_in_one_line_and_allow_insecure_overrides(
    command: str, tmp_path: Path
) -> None:
    """`CARRIERX_BASE_URL=http://remote` is exit 2 with one line; --allow-insecure lets it by."""
    env = {"CARRIERX_BASE_URL": "http://api.example.com/core/v2", "CARRIERX_TOKEN": TOKEN}
    args = [command, str(SAMPLE), "--report", str(tmp_path / "r.xlsx")]
    refused = CliRunner().invoke(app, args, env=env)
    assert refused.exit_code == 2
    assert refused.stderr.count("\n") == 1
    assert "refusing plain http:// API URL http://api.example.com/core/v2" in refused.stderr
    assert TOKEN not in refused.output
    if command == "validate":
        allowed = CliRunner().invoke(app, [*args, "--allow-insecure"], env=env)
        assert allowed.exit_code in (0, 1), allowed.output
    else:
        assert "--allow-insecure" in {o for p in dict(_commands())["run"].params for o in p.opts}


def test_allow_insecure_from_a_config_file(tmp_path: Path) -> None:
    """`[api] allow_insecure = true` in the config file is the same switch."""
    config = tmp_path / "did-import.toml"
    config.write_text(
        '[api]\nbase_url = "http://api.internal/core/v2"\nallow_insecure = true\n',
        encoding="utf-8",
    )
    assert build_settings(config_file=config).api.base_url == "http://api.internal/core/v2"


# -- the sandbox stays on loopback ------------------------------------------------------------


def test_the_sandbox_binds_to_loopback_by_default() -> None:
    """SandboxServer and `did-import sandbox` listen on 127.0.0.1 unless told otherwise."""
    assert DEFAULT_HOST == "127.0.0.1"
    with SandboxServer() as server:
        assert server.host == "127.0.0.1"
    (host,) = [p for p in dict(_commands())["sandbox"].params if p.name == "host"]
    assert host.default == "127.0.0.1"


# -- reports readable by their owner only ------------------------------------------------------


def test_reports_are_private_whatever_the_umask(tmp_path: Path) -> None:
    """Workbook, CSV twins and JSON summary are mode 0600 even under umask 000."""
    out = tmp_path / "out"
    old = os.umask(0)
    try:
        result = CliRunner().invoke(
            app,
            [
                *("validate", str(SAMPLE), "--report", str(out / "r.xlsx")),
                *("--summary-json", str(out / "s.json"), "--report-format", "both"),
            ],
        )
    finally:
        os.umask(old)
    assert result.exit_code in (0, 1), result.output
    files = sorted(out.iterdir())
    assert [p.name for p in files] == ["r.errors.csv", "r.results.csv", "r.xlsx", "s.json"]
    assert {stat.S_IMODE(p.stat().st_mode) for p in files} == {REPORT_MODE} == {0o600}


def test_journal_and_ledger_are_private_whatever_the_umask(tmp_path: Path) -> None:
    """The journal and the inbox ledger (and SQLite's -wal/-shm twins) are mode 0600."""
    from importer.inbox import Ledger
    from importer.journal import Journal

    old = os.umask(0)
    try:
        with Journal(tmp_path / "journal.sqlite"):
            pass
        Ledger(tmp_path / "ledger.sqlite").close()
    finally:
        os.umask(old)
    modes = {p.name: stat.S_IMODE(p.stat().st_mode) for p in tmp_path.iterdir()}
    assert modes["journal.sqlite"] == modes["ledger.sqlite"] == 0o600
    assert set(modes.values()) == {0o600}, modes


def test_inbox_files_are_private_whatever_the_umask(sandbox: SandboxServer, tmp_path: Path) -> None:
    """Every file an inbox pass writes (reports, summary, error and duplicate notes) is 0600."""
    inbox = tmp_path / "inbox"
    inbox.mkdir()
    settings = make_settings(sandbox, tmp_path)
    old = os.umask(0)
    try:
        drop(inbox, "good.csv")
        drop(inbox, "no_phone.csv")
        process_inbox(inbox, settings)
        drop(inbox, "good.csv", "again.csv")
        process_inbox(inbox, settings)
    finally:
        os.umask(old)
    partner_files = {"good.csv", "no_phone.csv", "again.csv"}
    ours = [
        path
        for home in ("done", "failed", "duplicates")
        for path in (inbox / home).rglob("*")
        if path.is_file() and path.name not in partner_files
    ]
    assert {path.suffix for path in ours} == {".xlsx", ".csv", ".json"}
    assert {path.name.split(".", 2)[2] for path in ours if path.suffix == ".json"} == {
        "summary.json",
        "error.json",
        "duplicate.json",
    }
    assert {path.name: stat.S_IMODE(path.stat().st_mode) for path in ours} == {
        path.name: 0o600 for path in ours
    }


def test_a_results_spool_is_private_while_it_is_written(tmp_path: Path) -> None:
    """The hidden CSV spools of a large run are 0600 from their creation, not only once moved."""
    old = os.umask(0)
    try:
        lines = ReportLines(("Phone",), {}, ",")
        spool = ResultsSpool(tmp_path / "r.results.csv", tmp_path / "e", lines)
    finally:
        os.umask(old)
    modes = {stat.S_IMODE(path.stat().st_mode) for path in (spool.path, spool.errors_path)}
    spool.discard()
    assert modes == {0o600}


# -- nothing from the input is ever executed ---------------------------------------------------


def test_no_eval_exec_pickle_or_shell_in_the_package() -> None:
    """The package never evaluates, unpickles or shells out anything (source grep)."""
    hits = [
        f"{path.relative_to(REPO)}:{number}: {line.strip()}"
        for path in sorted((REPO / "importer").rglob("*.py"))
        for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1)
        if FORBIDDEN.search(line) and not line.lstrip().startswith("#")
    ]
    assert hits == []


# -- dependencies bounded ------------------------------------------------------------------------


def test_every_dependency_has_an_upper_bound() -> None:
    """Each requirement in pyproject.toml, runtime and extras, has a `<` bound."""
    project = tomllib.loads((REPO / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    requirements = list(project["dependencies"])
    for extra in project.get("optional-dependencies", {}).values():
        requirements += extra
    assert len(requirements) >= 10
    assert [r for r in requirements if "<" not in r] == []


def test_the_readme_service_runs_with_a_private_umask() -> None:
    """The README's systemd unit sets UMask=0077, so the journal and ledger stay private."""
    readme = (REPO / "README.md").read_text(encoding="utf-8")
    unit = readme[readme.index("[Service]") : readme.index("[Timer]")]
    assert "UMask=0077" in unit


def test_every_claim_of_security_md_names_a_test_that_exists() -> None:
    """Each [`test_...`] cited in SECURITY.md is a test function in the suite."""
    text = (REPO / "SECURITY.md").read_text(encoding="utf-8")
    cited = set(re.findall(r"`(?:tests/\w+\.py::)?(test_\w+)`", text))
    sources = "".join(p.read_text(encoding="utf-8") for p in (REPO / "tests").glob("test_*.py"))
    assert len(cited) >= 12
    assert sorted(name for name in cited if f"def {name}(" not in sources) == []
