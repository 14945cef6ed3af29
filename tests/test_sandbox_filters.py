"""The list endpoint's filter and order languages: the parser alone, then over HTTP."""

from __future__ import annotations

import contextlib
from collections.abc import Callable
from typing import Any

import httpx
import pytest
from hypothesis import given
from hypothesis import strategies as st

from importer.sandbox import SandboxServer
from importer.sandbox.filters import FilterError, parse_filter, parse_order, sort_records

SandboxFactory = Callable[..., SandboxServer]
COLLECTION = "/phonenumber/external_dids"
RECORDS: list[dict[str, Any]] = [
    {"phonenumber": "12059051025", "capabilities": 3, "name": "Alpha", "attributes": {"t": "x"}},
    {"phonenumber": "12059051026", "capabilities": 24, "name": "beta", "attributes": {}},
    {"phonenumber": "442079460000", "capabilities": 27, "name": None, "attributes": {}},
]


def matching(expression: str) -> list[str]:
    """The numbers of RECORDS that the filter expression selects."""
    condition = parse_filter(expression)
    return [r["phonenumber"] for r in RECORDS if condition.matches(r)]


@pytest.mark.parametrize(
    ("expression", "expected"),
    [
        ('phonenumber eq "12059051025"', ["12059051025"]),
        ("phonenumber eq '12059051025'", ["12059051025"]),
        ("phonenumber eq 12059051025", ["12059051025"]),
        ("capabilities ne 3", ["12059051026", "442079460000"]),
        ("capabilities gt 3", ["12059051026", "442079460000"]),
        ("capabilities ge 24", ["12059051026", "442079460000"]),
        ("capabilities lt 24", ["12059051025"]),
        ("capabilities le 24", ["12059051025", "12059051026"]),
        ('phonenumber like "1205%"', ["12059051025", "12059051026"]),
        ('phonenumber like "1205905102_"', ["12059051025", "12059051026"]),
        ('name like "a%"', []),
        ('name ilike "a%"', ["12059051025"]),
        ("capabilities in (3, 27)", ["12059051025", "442079460000"]),
        ("capabilities in 3,24", ["12059051025", "12059051026"]),
        ("capabilities notin (3)", ["12059051026", "442079460000"]),
        ("name eq null", ["442079460000"]),
        ("name gt 'a'", ["12059051026"]),
        ('capabilities ge 3 and phonenumber like "44%"', ["442079460000"]),
        (
            "capabilities gt 1 AND capabilities lt 27 and name ne null",
            ["12059051025", "12059051026"],
        ),
        ("attributes.t eq x", ["12059051025"]),
        ('name eq "and"', []),
    ],
)
def test_filter_operators(expression: str, expected: list[str]) -> None:
    """Each operator, quoting style and 'and' chain selects the right records."""
    assert matching(expression) == expected


@pytest.mark.parametrize(
    "expression",
    [
        "",
        "phonenumber",
        "phonenumber eq",
        "phonenumber equals 1",
        "colour eq red",
        "phonenumber eq 1 or phonenumber eq 2",
        "(phonenumber eq 1)",
        "phonenumber eq 1 and",
        "capabilities eq three",
        'phonenumber eq "unterminated',
        "capabilities in (3, 4",
        "capabilities in (3,)",
        '"phonenumber" eq 1',
    ],
)
def test_bad_filters_raise(expression: str) -> None:
    """'or', parentheses, unknown fields or operators and broken syntax are FilterErrors."""
    with pytest.raises(FilterError):
        parse_filter(expression)


@pytest.mark.parametrize("op", ["le", "ilike", "in", "notin"])
def test_assumed_operators_can_be_switched_off(op: str) -> None:
    """With extended_ops off only the documented operators parse."""
    with pytest.raises(FilterError):
        parse_filter(f"name {op} x", extended_ops=False)
    assert parse_filter(f"name {op} x", extended_ops=True).conditions[0].op == op


@given(st.text(max_size=40))
def test_parser_never_fails_other_than_filter_error(text: str) -> None:
    """Any text either parses or raises FilterError, never anything else."""
    with contextlib.suppress(FilterError):
        parse_filter(text)


def test_order_sorts_by_several_keys_with_nulls_first() -> None:
    """order=<field> asc|desc, comma-separated keys, nulls first when ascending."""
    by_name = sort_records(RECORDS, parse_order("name asc"))
    assert [r["name"] for r in by_name] == [None, "Alpha", "beta"]
    by_caps = sort_records(RECORDS, parse_order("capabilities desc, name"))
    assert [r["capabilities"] for r in by_caps] == [27, 24, 3]


@pytest.mark.parametrize("text", ["name sideways", "colour asc", "name asc extra", ""])
def test_bad_order_raises(text: str) -> None:
    """An unknown field or direction is a FilterError."""
    with pytest.raises(FilterError):
        parse_order(text)


# -- over HTTP --------------------------------------------------------------------------


@pytest.fixture
def api(sandbox: SandboxServer, sandbox_client: httpx.Client) -> httpx.Client:
    """partner-a's client, with RECORDS registered."""
    for record in RECORDS:
        fields = {key: value for key, value in record.items() if value is not None}
        assert sandbox_client.post(COLLECTION, json=fields).status_code == 200
    return sandbox_client


def numbers(response: httpx.Response) -> list[str]:
    """The phonenumbers of a list page."""
    assert response.status_code == 200, response.text
    return [item["phonenumber"] for item in response.json()["items"]]


def test_filter_eq_over_http(api: httpx.Client) -> None:
    """The documented example filter=phonenumber eq "12059051025" finds the number."""
    response = api.get(COLLECTION, params={"filter": 'phonenumber eq "12059051025"'})
    assert numbers(response) == ["12059051025"]
    assert numbers(api.get(COLLECTION, params={"filter": 'phonenumber eq "19999999999"'})) == []


def test_order_over_http(api: httpx.Client) -> None:
    """order=capabilities desc reverses the registration order here."""
    response = api.get(COLLECTION, params={"order": "capabilities desc"})
    assert numbers(response) == ["442079460000", "12059051026", "12059051025"]


@pytest.mark.parametrize(
    ("param", "value"),
    [("filter", "phonenumber eq 1 or capabilities eq 3"), ("filter", "bad"), ("order", "x y z")],
)
def test_bad_filter_or_order_is_422(api: httpx.Client, param: str, value: str) -> None:
    """An 'or', a parse error or a bad order is a 422 naming the parameter."""
    response = api.get(COLLECTION, params={param: value})
    assert response.status_code == 422
    assert response.json()["errors"][0]["field"] == param


@pytest.mark.parametrize(("extended", "status"), [(True, 200), (False, 422)])
def test_extended_filter_ops_switch(
    make_sandbox: SandboxFactory, extended: bool, status: int
) -> None:
    """le/ilike/in/notin are served, or refused with 422, per extended_filter_ops."""
    server = make_sandbox(extended_filter_ops=extended)
    with httpx.Client(
        base_url=server.base_url, headers={"Authorization": f"Bearer {server.token}"}
    ) as api:
        for expression in (
            "capabilities le 3",
            "name ilike 'a%'",
            "capabilities in (3)",
            "capabilities notin (3)",
        ):
            assert api.get(COLLECTION, params={"filter": expression}).status_code == status
