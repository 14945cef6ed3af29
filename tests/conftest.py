"""Shared fixtures: a real CarrierX sandbox on loopback, fresh for each test; scripted
hostile HTTP servers (`hostile`, tests/hostile_server.py); the reporter tests' sample
input file, results and summary. Every test runs in its own empty working directory, so
the default `reports/` (reports, the journal) is its own."""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from pathlib import Path

import httpx
import pytest
from hostile_server import HostileFactory, HostileServer, Routes
from reporter_samples import sample_results, sample_summary

from importer.models import RowResult
from importer.reporter.summary import RunSummary
from importer.sandbox import SandboxConfig, SandboxServer

SandboxFactory = Callable[..., SandboxServer]
REPO = Path(__file__).resolve().parent.parent


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption(
        "--run-slow", action="store_true", help="also run the `slow` soak and million-row tests"
    )


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """`slow` tests are skipped unless --run-slow is given (CI does not give it)."""
    if config.getoption("--run-slow"):
        return
    skip = pytest.mark.skip(reason="slow: run with --run-slow")
    for item in items:
        if "slow" in item.keywords:
            item.add_marker(skip)


@pytest.fixture(autouse=True)
def private_working_directory(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """Each test runs in a fresh folder: nothing lands in the checkout's reports/ journal.

    Child processes started from there still import this checkout (PYTHONPATH).
    """
    folder = tmp_path_factory.mktemp("cwd")
    with pytest.MonkeyPatch.context() as patch:
        patch.chdir(folder)
        paths = [str(REPO), *filter(None, [os.environ.get("PYTHONPATH")])]
        patch.setenv("PYTHONPATH", os.pathsep.join(paths))  # `python -m importer…` children
        yield folder


@pytest.fixture
def make_sandbox() -> Iterator[SandboxFactory]:
    """Start sandboxes from a `SandboxConfig` and/or switch keywords; all stop at teardown."""
    servers: list[SandboxServer] = []

    def start(config: SandboxConfig | None = None, **switches: object) -> SandboxServer:
        if switches:
            base = (config or SandboxConfig()).model_dump()
            config = SandboxConfig.model_validate(base | switches)
        server = SandboxServer(config)
        servers.append(server)
        server.start()
        return server

    yield start
    for server in servers:
        server.stop()


@pytest.fixture
def sandbox(make_sandbox: SandboxFactory) -> SandboxServer:
    """A fresh sandbox with the default configuration (partner-a's token: `sandbox.token`)."""
    return make_sandbox()


@pytest.fixture
def hostile() -> Iterator[HostileFactory]:
    """Start scripted hostile HTTP servers on loopback (tests/hostile_server.py); all stop
    at teardown. `hostile(routes={("POST", f"{API}/phonenumber/external_dids"): Drip(b"{}")})`.
    """
    servers: list[HostileServer] = []

    def start(routes: Routes | None = None) -> HostileServer:
        server = HostileServer(routes)
        servers.append(server)
        return server.start()

    yield start
    for server in servers:
        server.stop()


@pytest.fixture
def sandbox_client(sandbox: SandboxServer) -> Iterator[httpx.Client]:
    """An httpx client on the default sandbox, sending partner-a's Bearer token."""
    headers = {"Authorization": f"Bearer {sandbox.token}"}
    with httpx.Client(base_url=sandbox.base_url, headers=headers, timeout=10) as client:
        yield client


@pytest.fixture
def input_file(tmp_path: Path) -> Path:
    path = tmp_path / "partner.csv"
    path.write_text("Phone Number;Capabilities\n+12059051025;3\n", encoding="utf-8")
    return path


@pytest.fixture
def results() -> list[RowResult]:
    return sample_results()


@pytest.fixture
def summary(input_file: Path, results: list[RowResult]) -> RunSummary:
    return sample_summary(input_file, results)
