"""Request booleans are JSON ``true``/``false`` only: ``0``, ``1`` or ``"no"`` are refused."""

from __future__ import annotations

import httpx
import pytest
from pydantic import BaseModel, ValidationError
from sqlalchemy.ext.asyncio import AsyncSession

import app.main  # noqa: F401 - imports every router, hence every request schema
from app.core.schemas import InputModel, boolean_fields
from tests.factories import make_person, make_spip

LOOSE = [0, 1, "true", "false", "no", "on", 0.0]


def _request_models() -> list[type[BaseModel]]:
    seen: list[type[BaseModel]] = []
    todo: list[type[BaseModel]] = [InputModel]
    while todo:
        for sub in todo.pop().__subclasses__():
            seen.append(sub)
            todo.append(sub)
    return seen


BOOLEANS = [(m, f) for m in _request_models() for f in sorted(boolean_fields(m))]


def test_every_request_schema_with_a_boolean_is_covered() -> None:
    names = {f"{m.__name__}.{f}" for m, f in BOOLEANS}
    assert {"PersonUpdate.archived", "AgentUpdate.active"} <= names


@pytest.mark.parametrize(("model", "field"), BOOLEANS, ids=lambda v: getattr(v, "__name__", v))
@pytest.mark.parametrize("value", LOOSE, ids=repr)
def test_loose_booleans_are_refused(model: type[BaseModel], field: str, value: object) -> None:
    with pytest.raises(ValidationError) as caught:
        model.model_validate({field: value})
    assert any(e["loc"] == (field,) and e["type"] == "bool_type" for e in caught.value.errors())


async def test_archived_zero_is_refused_with_a_french_message(
    client: httpx.AsyncClient, session: AsyncSession
) -> None:
    person = await make_person(session, await make_spip(session))
    await session.commit()
    response = await client.patch(f"/persons/{person.id}", json={"archived": 0})
    assert response.status_code == 422, response.text
    body = response.json()
    assert body["fields"] == [
        {
            "field": "body.archived",
            "code": "bool_type",
            "message": "Booléen attendu (true ou false).",
        }
    ]
    assert (await client.get(f"/persons/{person.id}")).json()["archived"] is False
    accepted = await client.patch(f"/persons/{person.id}", json={"archived": True})
    assert accepted.status_code == 200 and accepted.json()["archived"] is True


async def test_query_string_booleans_keep_the_form_conventions(
    client: httpx.AsyncClient, session: AsyncSession
) -> None:
    """A query string has no types: ``?archived=1`` / ``0`` (HTML forms) stay accepted."""
    spip = await make_spip(session)
    await make_person(session, spip, archived=True)
    await session.commit()
    for value, expected in (("1", 1), ("true", 1), ("0", 0), ("false", 0)):
        response = await client.get("/persons", params={"spip_id": spip.id, "archived": value})
        assert response.status_code == 200 and response.json()["total"] == expected
    assert (await client.get("/persons", params={"archived": "peut-être"})).status_code == 422
