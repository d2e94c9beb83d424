"""Hostile input never earns a 500 or a stack trace: a clean 4xx with our JSON body, in French.

Oversized and endless bodies, deep JSON, invalid UTF-8, huge numbers, absurd dates and offsets,
NUL bytes, very long strings, wrong content types, duplicated parameters. Runs on both databases:
PostgreSQL refuses some values SQLite stores (NUL bytes), so both must be asked.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

import httpx
import pytest
from sqlalchemy.ext.asyncio import AsyncSession

from app.core.json_depth import MAX_JSON_DEPTH
from app.models import Person, Place
from tests.factories import make_person, make_place, make_spip

MIB = 1024 * 1024
# What a message must not look like: an English framework message or a leaked trace.
ENGLISH_OR_TRACE = (
    "Traceback",
    'File "',
    "Input should",
    "Field required",
    "There was an error",
    "JSON decode error",
    "Content Too Large",
    "Not Found",
    "Method Not Allowed",
    "Internal Server Error",
)


def assert_clean_4xx(response: httpx.Response, *statuses: int) -> dict[str, Any]:
    """A 4xx (one of ``statuses`` when given) with ``{"error", "detail"}`` in French."""
    assert 400 <= response.status_code < 500, (response.status_code, response.text[:500])
    if statuses:
        assert response.status_code in statuses, (response.status_code, response.text[:500])
    assert response.headers["content-type"].startswith("application/json"), response.headers
    body = response.json()
    assert isinstance(body["error"], str) and body["error"], body
    assert isinstance(body["detail"], str) and body["detail"], body
    texts = [body["detail"], *(f["message"] for f in body.get("fields") or [])]
    for text in texts:
        assert not any(marker in text for marker in ENGLISH_OR_TRACE), body
    return dict(body)


@dataclass
class World:
    place: Place
    person: Person


@pytest.fixture
async def world(session: AsyncSession) -> World:
    spip = await make_spip(session)
    place = await make_place(session, spip)
    person = await make_person(session, spip)
    await session.commit()
    return World(place, person)


def booking(world: World, **overrides: object) -> dict[str, object]:
    return {
        "person_id": world.person.id,
        "place_id": world.place.id,
        "appointment_type": "suivi_spip",
        "starts_at": "2027-03-29T09:00",
    } | overrides


# ------------------------------------------------------------------ sizes


async def test_body_over_the_limit_is_refused_with_413(client: httpx.AsyncClient) -> None:
    big = {"first_name": "A" * (MIB + 10), "last_name": "B", "spip_id": 1}
    body = assert_clean_4xx(await client.post("/persons", json=big), 413)
    assert body["error"] == "payload_too_large"


async def test_endless_chunked_body_is_cut_at_the_limit(client: httpx.AsyncClient) -> None:
    sent = 0

    async def chunks() -> AsyncIterator[bytes]:
        nonlocal sent
        yield b'{"first_name": "'
        for _ in range(64):  # 4 MiB at most, so the test ends even if nothing cuts it
            sent += 1
            yield b"A" * 65536

    response = await client.post(
        "/persons", content=chunks(), headers={"content-type": "application/json"}
    )
    assert assert_clean_4xx(response, 413)["error"] == "payload_too_large"


async def test_declared_large_body_is_refused_even_where_no_body_is_read(
    client: httpx.AsyncClient,
) -> None:
    response = await client.request("GET", "/health", content=b"x" * (MIB + 1))
    assert assert_clean_4xx(response, 413)["error"] == "payload_too_large"


async def test_body_under_the_limit_is_read(client: httpx.AsyncClient, world: World) -> None:
    padded = booking(world) | {"appointment_type": "suivi_spip" + " " * 500_000}
    assert (await client.post("/appointments", json=padded)).status_code == 201


async def test_very_long_strings_are_refused_by_length(
    client: httpx.AsyncClient, world: World
) -> None:
    response = await client.patch(f"/persons/{world.person.id}", json={"first_name": "é" * 100_000})
    assert assert_clean_4xx(response, 422)["fields"][0]["code"] == "string_too_long"
    long_query = await client.get("/persons", params={"q": "x" * 50_000})
    assert_clean_4xx(long_query, 422)
    long_path = await client.get("/persons/" + "9" * 5000)
    assert_clean_4xx(long_path, 422)


# ------------------------------------------------------------------ malformed bodies


@pytest.mark.parametrize(
    "raw",
    [
        b"[" * 100_000 + b"]" * 100_000,  # deeper than the JSON parser's recursion
        b'{"first_name": ' + b"[" * 5_000 + b"]" * 5_000 + b"}",
        b'{"first_name": "\xff\xfe\xfd"}',  # invalid UTF-8
        b"\xef\xbb\xbf{}",  # a byte-order mark
        b'{"first_name": "a", "first_name": "b", "last_name": 1e999}',  # duplicate key, inf
        b'{"spip_id": ' + b"9" * 10_000 + b"}",  # beyond Python's int parsing limit
        b'{"spip_id": NaN, "first_name": -Infinity}',
        b"",
        b"null",
        b"[]",
        b'"a string"',
        b"{not json",
        b'{"first_name": "\\ud800"}',  # a lone surrogate
    ],
    ids=lambda raw: repr(raw[:24]),
)
async def test_malformed_json_bodies(client: httpx.AsyncClient, raw: bytes) -> None:
    response = await client.post(
        "/persons", content=raw, headers={"content-type": "application/json"}
    )
    assert_clean_4xx(response, 400, 422)


def _person_json(spip_id: int) -> str:
    return f'{{"spip_id": {spip_id}, "first_name": "Léa", "last_name": "Martin"}}'


@pytest.mark.parametrize(
    ("encoded", "code"),
    [
        (lambda text: b"\xef\xbb\xbf" + text.encode(), "json_bom"),  # UTF-8 with a BOM
        (lambda text: text.encode("utf-16"), "json_bom"),  # UTF-16 with its BOM
        (lambda text: text.encode("utf-32"), "json_bom"),
        (lambda text: text.encode("utf-16-le"), "json_not_utf8"),  # no BOM, still not UTF-8
        (lambda text: text.encode("utf-32-be"), "json_not_utf8"),
    ],
    ids=["utf-8-bom", "utf-16", "utf-32", "utf-16-le", "utf-32-be"],
)
@pytest.mark.parametrize("content_type", ["application/json", "application/merge-patch+json"])
async def test_valid_json_behind_a_bom_or_not_in_utf8_is_refused(
    client: httpx.AsyncClient, world: World, encoded: Any, code: str, content_type: str
) -> None:
    """What the README promises (RFC 8259: JSON between systems is UTF-8, without a BOM),
    though Python's parser would read all of these."""
    raw = encoded(_person_json(world.person.spip_id))
    response = await client.post("/persons", content=raw, headers={"content-type": content_type})
    body = assert_clean_4xx(response, 400)
    assert body["error"] == code
    if code == "json_bom":
        assert body["detail"] == (
            "Le corps JSON ne doit pas commencer par une marque d'ordre des octets (BOM)."
        )
    total = (await client.get("/persons", params={"spip_id": world.person.spip_id})).json()
    assert total["total"] == 1  # nothing was created


async def test_a_bom_in_a_chunked_body_split_before_it_ends(
    client: httpx.AsyncClient, world: World
) -> None:
    async def chunks() -> AsyncIterator[bytes]:
        yield b"\xef"
        yield b"\xbb\xbf" + _person_json(world.person.spip_id).encode()

    response = await client.post(
        "/persons", content=chunks(), headers={"content-type": "application/json"}
    )
    assert assert_clean_4xx(response, 400)["error"] == "json_bom"


async def test_the_same_json_without_a_bom_is_accepted(
    client: httpx.AsyncClient, world: World
) -> None:
    raw = _person_json(world.person.spip_id).encode()
    response = await client.post(
        "/persons", content=raw, headers={"content-type": "application/json"}
    )
    assert response.status_code == 201, response.text


@pytest.mark.parametrize("depth", [MAX_JSON_DEPTH + 1, 100, 5000])
async def test_json_nested_deeper_than_the_limit_is_refused_on_every_route(
    client: httpx.AsyncClient, world: World, depth: int
) -> None:
    """The receipts' limit holds for the API too: 100 levels used to reach pydantic (a 422
    after a recursive walk), 5,000 the parser's recursion limit."""
    nested = '{"a": ' * (depth - 1) + "1" + "}" * (depth - 1)
    raw = f'{{"spip_id": {world.person.spip_id}, "first_name": {nested}, "last_name": "M"}}'
    for method, path in (("POST", "/persons"), ("PATCH", f"/persons/{world.person.id}")):
        response = await client.request(
            method, path, content=raw.encode(), headers={"content-type": "application/json"}
        )
        body = assert_clean_4xx(response, 400)
        assert body["error"] == "json_too_deep"
        assert f"plus de {MAX_JSON_DEPTH} niveaux" in body["detail"]


async def test_json_at_the_depth_limit_reaches_the_route(
    client: httpx.AsyncClient, world: World
) -> None:
    nested = '{"a": ' * (MAX_JSON_DEPTH - 2) + "1" + "}" * (MAX_JSON_DEPTH - 2)
    raw = f'{{"spip_id": {world.person.spip_id}, "first_name": {nested}, "last_name": "M"}}'
    response = await client.post(
        "/persons", content=raw.encode(), headers={"content-type": "application/json"}
    )
    assert assert_clean_4xx(response, 422)["fields"][0]["field"] == "body.first_name"


@pytest.mark.parametrize(
    ("content_type", "raw"),
    [
        ("text/plain", b'{"first_name": "A"}'),
        ("application/x-www-form-urlencoded", b"first_name=A&last_name=B"),
        ("multipart/form-data; boundary=xyz", b"--xyz--"),
        ("application/xml", b"<person/>"),
        ("application/json; charset=latin-1", b'{"first_name": "\xe9"}'),
        ("", b'{"first_name": "A"}'),
    ],
)
async def test_wrong_content_types(
    client: httpx.AsyncClient, content_type: str, raw: bytes
) -> None:
    headers = {"content-type": content_type} if content_type else {}
    response = await client.post("/persons", content=raw, headers=headers)
    assert_clean_4xx(response, 400, 415, 422)


async def test_json_sent_to_the_login_form(client: httpx.AsyncClient) -> None:
    response = await client.post("/auth/token", json={"username": "a@b.fr", "password": "x"})
    assert_clean_4xx(response, 422)


# ------------------------------------------------------------------ numbers


@pytest.mark.parametrize(
    "value",
    [10**40, -(10**40), 2**31, 0, -1, 1.5, 1e308, "x", None, [], {}],
    ids=repr,
)
async def test_absurd_ids_in_bodies(client: httpx.AsyncClient, world: World, value: object) -> None:
    assert_clean_4xx(await client.post("/appointments", json=booking(world, person_id=value)), 422)


@pytest.mark.parametrize("value", ["99999999999999999999", "-1", "0", "1e3", "0x10", "١٢"])
async def test_absurd_ids_in_paths_and_queries(client: httpx.AsyncClient, value: str) -> None:
    assert_clean_4xx(await client.get(f"/appointments/{value}"), 404, 422)
    assert_clean_4xx(await client.get("/appointments", params={"person_id": value}), 422)
    assert_clean_4xx(await client.get("/persons", params={"limit": value + "0" * 30}), 422)


# ------------------------------------------------------------------ dates


@pytest.mark.parametrize(
    "starts_at",
    [
        "0000-01-01T09:00",
        "0001-01-01T00:00:00+23:59",  # before year 1 once in UTC
        "9999-12-31T23:59:59-23:59",  # after year 9999 once in UTC
        "9999-12-31T23:30",  # local time near the end of the calendar
        "99999-01-01T09:00",
        "2027-02-30T09:00",
        "2027-13-01T09:00",
        "2027-03-29T25:00",
        "2027-03-29T09:00+25:00",
        "2027-03-29T09:00+24:00",
        "1e10",
        "",
        "   ",
        "2027-03-29T09:00\u0000",
    ],
)
async def test_absurd_dates_when_booking(
    client: httpx.AsyncClient, world: World, starts_at: str
) -> None:
    response = await client.post("/appointments", json=booking(world, starts_at=starts_at))
    assert_clean_4xx(response, 422)


@pytest.mark.parametrize("epoch", [10**15, -(10**15), 1e300])
async def test_numeric_dates(client: httpx.AsyncClient, world: World, epoch: float) -> None:
    response = await client.post("/appointments", json=booking(world, starts_at=epoch))
    assert_clean_4xx(response, 422)


@pytest.mark.parametrize(
    "bound",
    [
        "0001-01-01",
        "9999-12-31",
        "0001-01-01T00:00:00+23:59",
        "9999-12-31T23:59:59-23:59",
        "2027-02-30",
        "2027-03-29T09:00+25:00",
        "99999-01-01",
    ],
)
async def test_absurd_period_bounds(client: httpx.AsyncClient, world: World, bound: str) -> None:
    """Listing filters and reports: refused or answered, never a 500."""
    spip_id = world.place.spip_id
    calls = [
        ("/appointments", {"from": bound}),
        ("/appointments", {"to": bound}),
        ("/appointments", {"spip_id": spip_id, "from": bound, "to": bound}),
        ("/audit", {"from": bound, "to": bound}),
        ("/reports/attendance", {"from": bound, "to": bound}),
        ("/reports/attendance", {"spip_id": spip_id, "from": bound}),
        ("/reports/sms", {"from": bound, "to": bound}),
        ("/reports/unrecorded", {"spip_id": spip_id, "from": bound, "to": bound}),
    ]
    for path, params in calls:
        response = await client.get(path, params=params)
        if response.status_code != 200:
            assert_clean_4xx(response, 400, 404, 422)


async def test_absurd_birth_date(client: httpx.AsyncClient, world: World) -> None:
    for birth_date in ("0000-00-00", "2027-02-30", "99999-01-01", "-0001-01-01"):
        response = await client.patch(
            f"/persons/{world.person.id}", json={"birth_date": birth_date}
        )
        assert_clean_4xx(response, 422)


# ------------------------------------------------------------------ NUL bytes and odd text


async def test_nul_bytes_in_a_body_are_refused(client: httpx.AsyncClient, world: World) -> None:
    response = await client.patch(f"/persons/{world.person.id}", json={"first_name": "Jean\u0000"})
    body = assert_clean_4xx(response, 422)
    assert body["fields"][0]["field"] == "body.first_name"
    booking_response = await client.post(
        "/appointments", json=booking(world, appointment_type="suivi\u0000")
    )
    assert_clean_4xx(booking_response, 422)


async def test_nul_bytes_in_queries_and_paths_are_refused(client: httpx.AsyncClient) -> None:
    assert_clean_4xx(await client.get("/persons", params={"q": "Du\u0000pont"}), 400, 422)
    assert_clean_4xx(await client.get("/audit", params={"entity": "\u0000"}), 400, 422)
    assert_clean_4xx(await client.get("/persons/1%00"), 400, 404, 422)


async def test_nul_bytes_in_a_login_are_refused(client: httpx.AsyncClient) -> None:
    response = await client.post(
        "/auth/token", data={"username": "a\u0000@b.fr", "password": "x\u0000"}
    )
    assert_clean_4xx(response, 400, 401, 422)


async def test_control_and_bidi_characters_do_not_break_storage(
    client: httpx.AsyncClient, world: World
) -> None:
    odd = "\u202eetnoD\u200b\U0001f600\ufeff\x1b[31m"
    response = await client.patch(f"/persons/{world.person.id}", json={"last_name": odd})
    assert response.status_code in (200, 422), response.text
    if response.status_code == 422:
        assert_clean_4xx(response)


# ------------------------------------------------------------------ parameters and routing


async def test_duplicate_query_parameters(client: httpx.AsyncClient) -> None:
    response = await client.get("/persons?limit=10&limit=20&offset=0&offset=x")
    assert_clean_4xx(response, 422)
    twice = await client.get("/appointments?status=booked&status=cancelled&limit=1&limit=2")
    assert twice.status_code == 200, twice.text


async def test_unknown_parameters_and_fields(client: httpx.AsyncClient, world: World) -> None:
    response = await client.post("/appointments", json=booking(world, start_at="2027-03-29T09:00"))
    assert assert_clean_4xx(response, 422)["fields"][0]["code"] == "extra_forbidden"


async def test_unknown_routes_and_methods(client: httpx.AsyncClient) -> None:
    assert assert_clean_4xx(await client.get("/nope"), 404)["error"] == "not_found"
    assert assert_clean_4xx(await client.delete("/appointments"), 405)["error"] == (
        "method_not_allowed"
    )
    assert_clean_4xx(await client.get("/persons/%ff%fe"), 404, 422)


async def test_hostile_authorization_headers(client_for: Any) -> None:
    async with client_for(None) as anonymous:
        for value in (
            "Bearer",
            "Bearer " + "x" * 100_000,
            "Basic Zm9vOmJhcg==",
            "Bearer \u00e9t\u00e9".encode("latin-1"),
        ):
            response = await anonymous.get("/auth/me", headers={"Authorization": value})
            assert_clean_4xx(response, 401)


@pytest.mark.parametrize("stamp", ["0.0", "1e10", "1700000000"])
async def test_unix_timestamps_are_not_dates(
    client: httpx.AsyncClient, world: World, stamp: str
) -> None:
    """Found by schemathesis: pydantic read "0.0" as 1970-01-01 where the document says date."""
    spip_id = world.place.spip_id
    for path, params in [
        ("/reports/attendance", {"to": stamp}),
        ("/reports/sms", {"from": stamp}),
        ("/appointments", {"spip_id": spip_id, "from": stamp}),
        ("/audit", {"to": stamp}),
    ]:
        assert_clean_4xx(await client.get(path, params=params), 422)
