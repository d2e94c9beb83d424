"""OPTIONS, 405 and HEAD tell the truth: every method of every route of a path."""

from __future__ import annotations

import re
from collections import defaultdict

import httpx
import pytest
from fastapi.routing import APIRoute
from starlette.routing import Route

from app.config import Settings
from app.health.router import router as health_router
from app.main import API_PREFIX, API_ROUTERS, create_app
from tests.conftest import ClientFactory

SAMPLE_VALUES = {"kind": "reminder", "provider": "http", "token": "jeton"}


def _route_table() -> dict[str, set[str]]:
    """Path template → methods declared for it, over every route of the application."""
    table: dict[str, set[str]] = defaultdict(set)
    for prefix, routers in ((API_PREFIX, API_ROUTERS), ("", (health_router,))):
        for router in routers:
            for route in router.routes:
                assert isinstance(route, APIRoute)
                table[prefix + route.path_format] |= route.methods
    app = create_app(Settings(env="test", secret_key="x" * 40))
    for route in app.routes:
        if isinstance(route, Route):  # the OpenAPI document and its viewers
            table[route.path_format] |= route.methods or set()
    return table


TABLE = _route_table()


def concrete(template: str) -> str:
    return re.sub(r"{(\w+)}", lambda m: SAMPLE_VALUES.get(m.group(1), "1"), template)


def expected_allow(methods: set[str]) -> set[str]:
    allowed = set(methods) | {"OPTIONS"}
    if "GET" in allowed:
        allowed.add("HEAD")
    return allowed


def allow_of(response: httpx.Response) -> set[str]:
    return {m.strip() for m in response.headers["allow"].split(",")}


@pytest.fixture(scope="module")
def anonymous() -> httpx.AsyncClient:
    app = create_app(Settings(env="test", secret_key="x" * 40))
    transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
    return httpx.AsyncClient(transport=transport, base_url="http://test")


@pytest.mark.parametrize("template", sorted(TABLE))
async def test_options_lists_every_method_of_the_path(
    anonymous: httpx.AsyncClient, template: str
) -> None:
    response = await anonymous.options(concrete(template))
    assert response.status_code == 204, response.text
    assert allow_of(response) == expected_allow(TABLE[template])
    assert response.content == b""


@pytest.mark.parametrize("template", sorted(TABLE))
async def test_405_lists_every_method_of_the_path(
    anonymous: httpx.AsyncClient, template: str
) -> None:
    unserved = [m for m in ("GET", "POST", "PUT", "PATCH", "DELETE") if m not in TABLE[template]]
    if not unserved:
        pytest.skip("every method is served")
    response = await anonymous.request(unserved[0], concrete(template))
    assert response.status_code == 405, response.text
    assert response.json()["error"] == "method_not_allowed"
    assert allow_of(response) == expected_allow(TABLE[template])


async def test_options_on_an_unknown_path_is_a_404(anonymous: httpx.AsyncClient) -> None:
    response = await anonymous.options("/api/v1/nulle-part")
    assert response.status_code == 404 and response.json()["error"] == "not_found"


async def test_head_answers_like_get_without_the_body(client: httpx.AsyncClient) -> None:
    get = await client.get("/spips")
    head = await client.head("/spips")
    assert (head.status_code, head.content) == (200, b"")
    assert head.headers["content-length"] == get.headers["content-length"]


async def test_head_is_checked_like_get(client_for: ClientFactory) -> None:
    async with client_for(None) as anonymous:
        protected = await anonymous.head("/persons")
    assert protected.status_code == 401 and protected.content == b""


@pytest.mark.parametrize("method", ["GET", "PUT", "DELETE"])
async def test_template_preview_is_not_taken_for_a_template_kind(
    anonymous: httpx.AsyncClient, method: str
) -> None:
    """``/templates/preview`` only answers POST; ``/templates/{kind}`` is a kind only."""
    response = await anonymous.request(method, "/api/v1/templates/preview")
    assert response.status_code == 405, response.text
    assert allow_of(response) == {"POST", "OPTIONS"}


async def test_template_kinds_still_answer(client: httpx.AsyncClient) -> None:
    assert (await client.get("/templates/reminder")).status_code == 200
    unknown = await client.get("/templates/preview-x")
    assert unknown.status_code == 404 and unknown.json()["error"] == "not_found"
