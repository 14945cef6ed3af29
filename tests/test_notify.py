"""Notifications: the JSON summary is POSTed when a run ends; failing to notify changes nothing."""

from __future__ import annotations

import json
import logging
import socket
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import httpx
import pytest

from importer.api import validate_file
from importer.config import NotifySettings, build_settings
from importer.run.notify import notify, safe_url, summary_payload

SAMPLES = Path(__file__).resolve().parent.parent / "sample_data"
SECRET = "secret-token-abcdef"  # a test value, distinctive to grep for


class Receiver:
    """A loopback HTTP endpoint: answers each POST from `statuses` (then 204) and records it."""

    def __init__(self, statuses: list[int]) -> None:
        self.statuses = statuses
        self.requests: list[tuple[dict[str, str], bytes]] = []
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
                receiver.requests.append((dict(self.headers), body))
                self.send_response(receiver.statuses.pop(0) if receiver.statuses else 204)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args: object) -> None:
                """Quiet."""

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_port}/hooks/T0KEN-IN-PATH?key=q"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self) -> None:
        """Stop serving and free the port."""
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def receiver(request: pytest.FixtureRequest) -> Iterator[Receiver]:
    """A receiver; parametrize indirectly with the statuses it should answer first."""
    server = Receiver(list(getattr(request, "param", [])))
    yield server
    server.close()


@pytest.fixture
def dead_url() -> str:
    """A loopback URL where nothing listens (a port just freed)."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    return f"http://127.0.0.1:{port}/hook"


def settings(url: str, attempts: int = 3) -> NotifySettings:
    """Notify settings with a short timeout."""
    return NotifySettings(url=url, timeout=2, attempts=attempts)


def test_posts_the_payload_as_json_without_credentials(receiver: Receiver) -> None:
    """One POST: the payload as JSON, JSON content type, no Authorization header."""
    delivery = notify({"exit_code": 1, "counts": {"registered": 3}}, settings(receiver.url))
    assert delivery is not None
    assert (delivery.delivered, delivery.attempts) == (True, 1)
    ((headers, body),) = receiver.requests
    assert json.loads(body) == {"exit_code": 1, "counts": {"registered": 3}}
    assert headers["Content-Type"] == "application/json"
    assert "Authorization" not in headers


@pytest.mark.parametrize("receiver", [[503, 429]], indirect=True)
def test_retries_server_errors_with_backoff(receiver: Receiver) -> None:
    """5xx and 429 are retried after the policy's backoff (full jitter); the third gets through."""
    waits: list[float] = []
    delivery = notify({"n": 1}, settings(receiver.url), sleep=waits.append)
    assert delivery is not None
    assert (delivery.delivered, delivery.attempts) == (True, 3)
    assert len(receiver.requests) == 3
    assert len(waits) == 2
    assert 0 <= waits[0] <= 0.5
    assert 0 <= waits[1] <= 1.0


@pytest.mark.parametrize("receiver", [[400]], indirect=True)
def test_a_client_error_is_not_retried(
    receiver: Receiver, caplog: pytest.LogCaptureFixture
) -> None:
    """A 4xx other than 408/425/429 will not change: one attempt, then a warning."""
    delivery = notify({"n": 1}, settings(receiver.url), sleep=lambda _: None)
    assert delivery is not None
    assert (delivery.delivered, delivery.attempts, delivery.detail) == (False, 1, "HTTP 400")
    assert [r.levelno for r in caplog.records] == [logging.WARNING]


def test_server_down_is_a_warning_never_an_exception(
    dead_url: str, caplog: pytest.LogCaptureFixture
) -> None:
    """Nobody listening: every attempt fails, a warning is logged, nothing is raised."""
    delivery = notify({"n": 1}, settings(dead_url, attempts=2), sleep=lambda _: None)
    assert delivery is not None
    assert (delivery.delivered, delivery.attempts) == (False, 2)
    (record,) = caplog.records
    assert record.levelno == logging.WARNING
    assert record.event == "notify_failed"  # type: ignore[attr-defined]
    assert "outcome is unchanged" in record.getMessage()


def test_the_webhook_path_and_query_stay_out_of_the_log(
    receiver: Receiver, caplog: pytest.LogCaptureFixture
) -> None:
    """Webhook URLs carry secrets in their path or query: logs show scheme, host and port."""
    caplog.set_level(logging.INFO, logger="importer")
    notify({"n": 1}, settings(receiver.url))
    (line,) = [r.getMessage() for r in caplog.records if r.name.startswith("importer")]
    assert "T0KEN-IN-PATH" not in line
    assert "key=q" not in line
    assert safe_url(receiver.url) in line


def test_secrets_are_redacted_from_the_body(receiver: Receiver) -> None:
    """Whatever the payload holds, a secret never leaves in a notification."""
    notify({"stopped_reason": f"bad token {SECRET}"}, settings(receiver.url), secrets=[SECRET])
    ((_, body),) = receiver.requests
    assert SECRET.encode() not in body
    assert json.loads(body)["stopped_reason"] == "bad token [redacted]"


def test_no_url_sends_nothing() -> None:
    """Without a URL, notify does nothing and says so with None."""
    assert notify({"n": 1}, NotifySettings()) is None


def test_timeout_is_a_failed_delivery(caplog: pytest.LogCaptureFixture) -> None:
    """A read timeout counts as a failed attempt (the transport raises, notify does not)."""

    def slow(request: httpx.Request) -> httpx.Response:
        raise httpx.ReadTimeout("timed out", request=request)

    transport = httpx.MockTransport(slow)
    delivery = notify(
        {"n": 1}, settings("http://hooks.example/x"), transport=transport, sleep=lambda _: None
    )
    assert delivery is not None
    assert (delivery.delivered, delivery.attempts) == (False, 3)
    assert "ReadTimeout" in delivery.detail


def test_summary_payload_is_the_summary_json(tmp_path: Path) -> None:
    """The body of a run's notification is its JSON summary, base URL without credentials."""
    flags = {"report": {"report_dir": tmp_path}, "api": {"base_url": "https://u:p@api.example/v2"}}
    outcome = validate_file(SAMPLES / "partner_numbers.csv", build_settings(flags))
    payload = summary_payload(outcome.summary)
    assert payload["counts"] == outcome.summary.counts
    assert payload["exit_code"] == 1
    assert payload["input"]["sha256"] == outcome.summary.input.sha256
    assert "u:p" not in json.dumps(payload)


@pytest.mark.parametrize(
    ("url", "safe"),
    [
        ("https://hooks.example.com/services/T0/B1/XYZ?x=1", "https://hooks.example.com"),
        ("http://user:pw@127.0.0.1:8080/a#f", "http://127.0.0.1:8080"),
    ],
)
def test_safe_url(url: str, safe: str) -> None:
    """safe_url keeps only the scheme, host and port."""
    assert safe_url(url) == safe


def test_a_webhook_asking_for_a_long_wait_is_not_waited() -> None:
    """A 429 with Retry-After: 290 is not sat through after the run: one try, a warning."""
    waits: list[float] = []

    def busy(request: httpx.Request) -> httpx.Response:
        return httpx.Response(429, headers={"Retry-After": "290"})

    transport = httpx.MockTransport(busy)
    delivery = notify(
        {"n": 1}, settings("http://hooks.example/x"), transport=transport, sleep=waits.append
    )
    assert delivery is not None
    assert (delivery.delivered, delivery.attempts) == (False, 1)
    assert all(wait <= 8.0 for wait in waits)
