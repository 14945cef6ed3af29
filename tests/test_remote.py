"""The remote-aware dry run: read-only transport, batched lookups, planning, and the sandbox."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest
from pydantic import SecretStr
from typer.testing import CliRunner

from importer.api import validate_file
from importer.cli import app
from importer.config import ApiSettings, Settings, build_settings
from importer.errors import ConfigError
from importer.models import RawRow, RowResult, Status
from importer.sandbox import SandboxServer
from importer.send import remote
from importer.send.remote import WriteRefusedError, check_remote, read_only_client

Handler = Callable[[httpx.Request], httpx.Response]

NEW = "12059051025"
SAME = "12059051026"
DIFFERENT = "12059051027"
SHEET = (
    "phonenumber,capabilities,name\n"
    f"+{NEW},3,new number\n"
    f"+{SAME},3,registered with the same mask\n"
    f"+{DIFFERENT},3,registered with another mask\n"
    "+1 555 010 0123,3,invalid\n"
    f"+{SAME},3,duplicate in the file\n"
)


def api_settings(**changes: object) -> ApiSettings:
    """Settings for a mock API: a token, no real waits between retries."""
    base = {"base_url": "http://api.test/core/v2", "token": "t", "backoff_base": 0.0}
    return ApiSettings.model_validate(base | changes)


def would_register(number: str, mask: int = 3, row: int = 2) -> RowResult:
    """A validated row that a dry run would register."""
    return RowResult(
        row=RawRow(row, (number,)),
        status=Status.WOULD_REGISTER,
        payload={"phonenumber": number, "capabilities": mask},
        normalized_phonenumber=number,
    )


def page(items: list[dict[str, object]], next_url: str | None = None) -> httpx.Response:
    """A list answer in the documented envelope."""
    pagination = {"next": next_url} if next_url else {}
    body = {"items": items, "has_more": next_url is not None, "pagination": pagination}
    return httpx.Response(200, json=body)


def filtered_numbers(request: httpx.Request) -> list[str]:
    """The numbers an `in` filter asks for."""
    text = parse_qs(urlsplit(str(request.url)).query)["filter"][0]
    inside = text.removeprefix("phonenumber in (").removesuffix(")")
    return [part.strip('"') for part in inside.split(",")]


# -- the read-only transport -----------------------------------------------------------


@pytest.mark.parametrize("method", ["POST", "PUT", "PATCH", "DELETE"])
def test_read_only_client_refuses_writes_before_sending(method: str) -> None:
    """Any non-GET request through the read-only client raises and never reaches the network."""
    sent: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        sent.append(request)
        return httpx.Response(200, json={})

    async def attempt() -> None:
        async with read_only_client(api_settings(), transport=httpx.MockTransport(handler)) as c:
            await c.request(method, "/phonenumber/external_dids", json={"phonenumber": NEW})

    with pytest.raises(WriteRefusedError, match=f"refused to send {method}"):
        asyncio.run(attempt())
    assert sent == []


def test_read_only_client_lets_reads_through() -> None:
    """GET requests pass through the read-only transport unchanged, with the token."""
    seen: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return page([])

    async def attempt() -> int:
        async with read_only_client(api_settings(), transport=httpx.MockTransport(handler)) as c:
            return (await c.get("/phonenumber/external_dids")).status_code

    assert asyncio.run(attempt()) == 200
    assert seen[0].headers["Authorization"] == "Bearer t"


# -- batching and planning --------------------------------------------------------------


def test_lookups_are_batched_within_limits() -> None:
    """250 numbers take 3 `in` lookups of at most BATCH_SIZE numbers, each with limit 1000."""
    numbers = [str(12059050000 + n) for n in range(250)]
    requests: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        requests.append(request)
        return page([])

    results = [would_register(number) for number in numbers]
    planned, stopped = check_remote(results, api_settings(), transport=httpx.MockTransport(handler))
    assert stopped is None
    assert [len(filtered_numbers(r)) for r in requests] == [100, 100, 50]
    assert sorted(n for r in requests for n in filtered_numbers(r)) == numbers
    assert all(r.url.params["limit"] == "1000" for r in requests)
    assert max(len(str(r.url)) for r in requests) < 4000
    assert all(result.status is Status.WOULD_REGISTER for result in planned)


def test_pages_are_followed_by_has_more() -> None:
    """A lookup follows `pagination.next` while `has_more` is true."""
    next_url = "http://api.test/core/v2/phonenumber/external_dids?offset=1"

    def handler(request: httpx.Request) -> httpx.Response:
        if request.url.params.get("offset") == "1":
            return page([{"phonenumber": SAME, "capabilities": 3, "external_did_sid": "s2"}])
        return page([{"phonenumber": NEW, "capabilities": 3, "external_did_sid": "s1"}], next_url)

    results = [would_register(NEW), would_register(SAME, row=3)]
    planned, _ = check_remote(results, api_settings(), transport=httpx.MockTransport(handler))
    assert [(r.status, r.external_did_sid) for r in planned] == [
        (Status.ALREADY_REGISTERED, "s1"),
        (Status.ALREADY_REGISTERED, "s2"),
    ]


def test_transient_answers_are_retried() -> None:
    """429 and 503 are retried; the lookup then succeeds."""
    answers = iter([httpx.Response(429, headers={"Retry-After": "0"}), httpx.Response(503)])

    def handler(request: httpx.Request) -> httpx.Response:
        return next(answers, page([]))

    planned, stopped = check_remote(
        [would_register(NEW)], api_settings(), transport=httpx.MockTransport(handler)
    )
    assert stopped is None
    assert planned[0].status is Status.WOULD_REGISTER


def test_in_filter_refused_falls_back_to_eq() -> None:
    """An API that refuses `in` (422 about the filter) is asked number by number with `eq`."""
    filters: list[str] = []

    def handler(request: httpx.Request) -> httpx.Response:
        text = request.url.params["filter"]
        filters.append(text)
        if " in " in text:
            error = {"field": "filter", "message": "unknown filter operator 'in'"}
            return httpx.Response(422, json={"message": "bad", "errors": [error]})
        found = SAME in text
        item = {"phonenumber": SAME, "capabilities": 3, "external_did_sid": "s"}
        return page([item] if found else [])

    results = [would_register(NEW), would_register(SAME, row=3)]
    planned, _ = check_remote(results, api_settings(), transport=httpx.MockTransport(handler))
    assert [r.status for r in planned] == [Status.WOULD_REGISTER, Status.ALREADY_REGISTERED]
    assert sorted(filters[1:]) == [f'phonenumber eq "{NEW}"', f'phonenumber eq "{SAME}"']


def test_only_would_register_rows_are_planned() -> None:
    """Invalid and duplicate rows are neither looked up nor changed."""
    invalid = RowResult(row=RawRow(3, ("x",)), status=Status.INVALID)
    duplicate = RowResult(
        row=RawRow(4, (SAME,)), status=Status.DUPLICATE, normalized_phonenumber=SAME
    )
    record = {"phonenumber": SAME, "capabilities": 3, "external_did_sid": "s"}
    planned = remote.plan([invalid, duplicate], {SAME: record})
    assert planned == [invalid, duplicate]


def test_auth_refusal_stops_and_marks_rows_not_checked() -> None:
    """401 stops the check: rows keep would_register with a remote.not_checked warning."""

    def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(401, json={"message": "unauthorized", "errors": []})

    planned, stopped = check_remote(
        [would_register(NEW)], api_settings(), transport=httpx.MockTransport(handler)
    )
    assert stopped is not None
    assert stopped.exit_code == 3
    assert "401" in str(stopped)
    assert [issue.code for issue in planned[0].issues] == ["remote.not_checked"]


@pytest.mark.parametrize(
    ("answer", "needle"),
    [
        (lambda: httpx.Response(503), "after retries"),
        (lambda: httpx.Response(404, json={"message": "no item error"}), "HTTP 404"),
        (lambda: httpx.Response(200, content=b"<html>"), "not a JSON object"),
        (lambda: httpx.Response(200, json={"count": 0}), "no 'items'"),
    ],
    ids=["5xx-exhausted", "unexpected-status", "not-json", "no-items"],
)
def test_unusable_answers_stop_the_check(answer: Callable[[], httpx.Response], needle: str) -> None:
    """Answers that cannot be used stop the check with a one-line ApiError (exit 3)."""
    calls: list[int] = []

    def handler(request: httpx.Request) -> httpx.Response:
        calls.append(1)
        return answer()

    settings = api_settings(max_attempts=3)
    planned, stopped = check_remote(
        [would_register(NEW)], settings, transport=httpx.MockTransport(handler)
    )
    assert stopped is not None
    assert needle in str(stopped)
    assert "\n" not in str(stopped)
    assert stopped.exit_code == 3
    assert len(calls) == (3 if needle == "after retries" else 1)
    assert planned[0].status is Status.WOULD_REGISTER


def test_unreachable_api_is_retried_then_named() -> None:
    """Connection failures are retried up to max_attempts, then name the base URL."""
    calls: list[int] = []

    def handler(request: httpx.Request) -> httpx.Response:
        calls.append(1)
        raise httpx.ConnectError("connection refused", request=request)

    planned, stopped = check_remote(
        [would_register(NEW)], api_settings(max_attempts=2), transport=httpx.MockTransport(handler)
    )
    assert stopped is not None
    assert "api.test" in str(stopped)
    assert len(calls) == 2
    assert [i.code for i in planned[0].issues] == ["remote.not_checked"]


def test_nothing_to_check_sends_nothing() -> None:
    """With no would_register row, no request is made at all."""

    def handler(request: httpx.Request) -> httpx.Response:
        raise AssertionError("no request expected")

    invalid = RowResult(row=RawRow(2, ("x",)), status=Status.INVALID)
    planned, stopped = check_remote(
        [invalid], api_settings(), transport=httpx.MockTransport(handler)
    )
    assert (planned, stopped) == ([invalid], None)


def test_no_token_is_a_config_error() -> None:
    """Without a token nothing is sent: a ConfigError (exit 2) says how to give one."""
    with pytest.raises(ConfigError, match="CARRIERX_TOKEN"):
        check_remote([would_register(NEW)], ApiSettings())


# -- against the sandbox ----------------------------------------------------------------


def sandbox_settings(server: SandboxServer, tmp_path: Path) -> Settings:
    """Settings pointing at the sandbox, reports in tmp_path."""
    api = {"base_url": server.base_url, "token": server.token}
    return build_settings({"api": api, "report": {"report_dir": tmp_path}})


def register(server: SandboxServer, number: str, mask: int) -> str:
    """Register a number on the sandbox (test setup); return its sid."""
    headers = {"Authorization": f"Bearer {server.token}"}
    body = {"phonenumber": number, "capabilities": mask}
    url = f"{server.base_url}/phonenumber/external_dids"
    response = httpx.post(url, json=body, headers=headers, timeout=10)
    assert response.status_code == 200, response.text
    return str(response.json()["external_did_sid"])


@pytest.fixture
def mixed_file(tmp_path: Path) -> Path:
    """A sheet mixing a new number, two already registered ones, an invalid row and a copy."""
    path = tmp_path / "mixed.csv"
    path.write_text(SHEET, encoding="utf-8")
    return path


@pytest.mark.parametrize("extended_ops", [True, False], ids=["in-filter", "eq-only"])
def test_check_remote_plans_against_the_sandbox_with_gets_only(
    make_sandbox: Callable[..., SandboxServer],
    tmp_path: Path,
    mixed_file: Path,
    extended_ops: bool,
) -> None:
    """New → would_register; existing → already_registered with sid; other mask warns; GETs only."""
    server = make_sandbox(extended_filter_ops=extended_ops)
    same_sid, different_sid = register(server, SAME, 3), register(server, DIFFERENT, 27)
    before = len(server.state.requests)
    outcome = validate_file(mixed_file, sandbox_settings(server, tmp_path), check_remote=True)
    plan = [(r.status, r.external_did_sid, [i.code for i in r.issues]) for r in outcome.results]
    assert plan == [
        (Status.WOULD_REGISTER, None, []),
        (Status.ALREADY_REGISTERED, same_sid, []),
        (Status.ALREADY_REGISTERED, different_sid, ["remote.capabilities_differ"]),
        (Status.INVALID, None, ["phonenumber.invalid"]),
        (Status.DUPLICATE, None, ["row.duplicate"]),
    ]
    warning = outcome.results[2].issues[0]
    assert different_sid in warning.message
    assert "27" in warning.message
    log = server.state.requests[before:]
    assert log
    assert {entry["method"] for entry in log} == {"GET"}
    assert len(server.state.records) == 2
    assert outcome.exit_code == 1


def test_check_remote_bad_token_is_exit_3_with_report(
    sandbox: SandboxServer, tmp_path: Path, mixed_file: Path
) -> None:
    """A refused token stops the remote check: exit 3, report written, rows not_checked."""
    settings = sandbox_settings(sandbox, tmp_path)
    bad = settings.model_copy(
        update={"api": settings.api.model_copy(update={"token": SecretStr("wrong")})}
    )
    outcome = validate_file(mixed_file, bad, check_remote=True)
    assert outcome.exit_code == 3
    assert outcome.report_path.exists()
    assert "remote.not_checked" in [i.code for i in outcome.results[0].issues]
    assert {entry["method"] for entry in sandbox.state.requests} <= {"GET"}


def test_cli_check_remote_against_the_sandbox(
    sandbox: SandboxServer, tmp_path: Path, mixed_file: Path
) -> None:
    """`validate --check-remote` with --base-url and --token-file plans already_registered."""
    register(sandbox, SAME, 3)
    before = len(sandbox.state.requests)
    token_file = tmp_path / "token"
    token_file.write_text(sandbox.token, encoding="utf-8")
    token_file.chmod(0o600)
    args = [
        "validate",
        str(mixed_file),
        "--check-remote",
        "--base-url",
        sandbox.base_url,
        "--token-file",
        str(token_file),
        "--report",
        str(tmp_path / "out.xlsx"),
    ]
    result = CliRunner().invoke(app, args, env={"CARRIERX_TOKEN": "", "CARRIERX_BASE_URL": ""})
    assert result.exit_code == 1, result.output
    assert "1 already_registered" in result.stdout
    assert "2 would_register" in result.stdout
    assert sandbox.token not in result.output
    assert {e["method"] for e in sandbox.state.requests[before:]} == {"GET"}


def test_cli_check_remote_without_token_is_exit_2(tmp_path: Path, mixed_file: Path) -> None:
    """--check-remote without any token: exit 2, one line, nothing sent."""
    args = ["validate", str(mixed_file), "--check-remote", "--report", str(tmp_path / "o.xlsx")]
    result = CliRunner().invoke(app, args, env={"CARRIERX_TOKEN": ""})
    assert result.exit_code == 2, result.output
    assert "needs an API token" in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1


def test_validate_without_check_remote_sends_nothing(
    sandbox: SandboxServer, tmp_path: Path, mixed_file: Path
) -> None:
    """Plain validate never contacts the API, even with a base URL and token configured."""
    outcome = validate_file(mixed_file, sandbox_settings(sandbox, tmp_path))
    assert sandbox.state.requests == []
    assert outcome.summary.counts["would_register"] == 3
