"""Followed persons through the API: phone normalisation per territory, status, search."""

from __future__ import annotations

import httpx
import pytest
from sqlalchemy.ext.asyncio import AsyncSession

from tests.factories import make_agent, make_person, make_spip

TERRITORIES = [
    ("FR", "Europe/Paris", "06 12 34 56 78", "+33612345678"),
    ("GF", "America/Cayenne", "0694 12 34 56", "+594694123456"),
    ("RE", "Indian/Reunion", "0692 12 34 56", "+262692123456"),
    ("GF", "America/Cayenne", "06 12 34 56 78", "+33612345678"),
    ("RE", "Indian/Reunion", "+594 694 12 34 56", "+594694123456"),
    ("FR", "Europe/Paris", "00594694123456", "+594694123456"),
    ("FR", "Europe/Paris", "0694.12.34.56", "+594694123456"),
    ("MQ", "America/Martinique", "0696 12 34 56", "+596696123456"),
    ("GP", "America/Guadeloupe", "0690 12 34 56", "+590690123456"),
    ("PF", "Pacific/Tahiti", "87 12 34 56", "+68987123456"),
    ("NC", "Pacific/Noumea", "75 12 34", "+687751234"),
]


@pytest.mark.parametrize(("region", "tz", "typed", "stored"), TERRITORIES)
async def test_phone_is_stored_in_e164_for_each_territory(
    client: httpx.AsyncClient, session: AsyncSession, region: str, tz: str, typed: str, stored: str
) -> None:
    spip = await make_spip(session, phone_region=region, timezone=tz)
    await session.commit()
    response = await client.post(
        "/persons",
        json={"spip_id": spip.id, "first_name": "Jo", "last_name": "Doe", "phone": typed},
    )
    assert response.status_code == 201, response.text
    assert response.json()["phone"] == stored
    assert response.json()["phone_status"] == "valid"


async def test_landline_is_refused_with_its_own_code(
    client: httpx.AsyncClient, session: AsyncSession
) -> None:
    spip = await make_spip(session)
    await session.commit()
    body = {"spip_id": spip.id, "first_name": "Jo", "last_name": "Doe", "phone": "01 23 45 67 89"}
    response = await client.post("/persons", json=body)
    assert response.status_code == 422
    assert response.json()["error"] == "phone_not_mobile"
    assert "SMS" in response.json()["detail"]
    junk = await client.post("/persons", json=body | {"phone": "06 12"})
    assert junk.status_code == 422
    assert junk.json()["error"] == "invalid_phone"
    listed = await client.get("/persons", params={"spip_id": spip.id})
    assert listed.json()["total"] == 0  # nothing stored


async def test_phone_status_rules(client: httpx.AsyncClient, session: AsyncSession) -> None:
    spip = await make_spip(session)
    await session.commit()
    base = {"spip_id": spip.id, "first_name": "Jo", "last_name": "Doe"}
    no_phone = await client.post("/persons", json=base)
    assert no_phone.json()["phone_status"] == "none"
    refused = await client.post("/persons", json=base | {"phone_status": "refused"})
    assert refused.json()["phone_status"] == "refused"
    need = await client.post("/persons", json=base | {"phone_status": "valid"})
    assert need.status_code == 422
    assert need.json()["error"] == "phone_required"
    contradiction = await client.post(
        "/persons", json=base | {"phone": "0612345678", "phone_status": "none"}
    )
    assert contradiction.status_code == 422
    assert contradiction.json()["error"] == "phone_status_conflict"


async def test_patch_phone_keeps_refusal_and_clears_number(
    client: httpx.AsyncClient, session: AsyncSession
) -> None:
    spip = await make_spip(session)
    person = await make_person(session, spip, phone=None, phone_status="refused")
    await session.commit()
    changed = await client.patch(f"/persons/{person.id}", json={"phone": "07 81 23 45 67"})
    assert changed.json()["phone"] == "+33781234567"
    assert changed.json()["phone_status"] == "refused"  # a new number does not undo a refusal
    accepted = await client.patch(f"/persons/{person.id}", json={"phone_status": "valid"})
    assert accepted.json()["phone_status"] == "valid"
    cleared = await client.patch(f"/persons/{person.id}", json={"phone": None})
    assert cleared.json() | {} == cleared.json()
    assert cleared.json()["phone"] is None
    assert cleared.json()["phone_status"] == "none"
    bad = await client.patch(f"/persons/{person.id}", json={"phone": "01 23 45 67 89"})
    assert bad.json()["error"] == "phone_not_mobile"
    assert (await client.get(f"/persons/{person.id}")).json()["phone"] is None


async def test_referent_must_belong_to_the_spip(
    client: httpx.AsyncClient, session: AsyncSession
) -> None:
    spip, other = await make_spip(session), await make_spip(session)
    outsider = await make_agent(session, other)
    referent = await make_agent(session, spip)
    await session.commit()
    base = {"spip_id": spip.id, "first_name": "Jo", "last_name": "Doe"}
    refused = await client.post("/persons", json=base | {"referent_agent_id": outsider.id})
    assert refused.status_code == 422
    assert refused.json()["error"] == "agent_not_in_spip"
    ok = await client.post("/persons", json=base | {"referent_agent_id": referent.id})
    assert ok.status_code == 201
    assert (await client.post("/persons", json=base | {"spip_id": 999999})).status_code == 404


async def test_search_and_filters(client: httpx.AsyncClient, session: AsyncSession) -> None:
    spip, other = await make_spip(session), await make_spip(session)
    agent = await make_agent(session, spip)
    await make_person(
        session, spip, first_name="Inès", last_name="Benali", referent_agent_id=agent.id
    )
    await make_person(session, spip, first_name="Karim", last_name="Dupont")
    await make_person(session, spip, first_name="Ana", last_name="Archivée", archived=True)
    await make_person(session, other, first_name="Inès", last_name="Benali")
    await session.commit()
    found = (await client.get("/persons", params={"spip_id": spip.id, "q": "ben"})).json()
    assert [p["last_name"] for p in found["items"]] == ["Benali"]
    assert found["total"] == 1
    both_words = await client.get("/persons", params={"spip_id": spip.id, "q": "inès ben"})
    assert both_words.json()["total"] == 1
    by_referent = await client.get("/persons", params={"referent_agent_id": agent.id})
    assert by_referent.json()["total"] == 1
    everyone = await client.get("/persons", params={"spip_id": spip.id})
    assert everyone.json()["total"] == 2  # archived persons are hidden by default
    archived = await client.get("/persons", params={"spip_id": spip.id, "archived": "true"})
    assert [p["last_name"] for p in archived.json()["items"]] == ["Archivée"]
    wildcard = await client.get("/persons", params={"spip_id": spip.id, "q": "%"})
    assert wildcard.json()["total"] == 0
    page = await client.get("/persons", params={"spip_id": spip.id, "limit": 1, "offset": 1})
    assert page.json()["total"] == 2 and len(page.json()["items"]) == 1


async def test_archive_person(client: httpx.AsyncClient, session: AsyncSession) -> None:
    spip = await make_spip(session)
    person = await make_person(session, spip)
    await session.commit()
    archived = await client.patch(f"/persons/{person.id}", json={"archived": True})
    assert archived.json()["archived"] is True
    assert archived.json()["archived_at"].endswith("Z")
    restored = await client.patch(f"/persons/{person.id}", json={"archived": False})
    assert restored.json()["archived_at"] is None
    assert (await client.get("/persons/999999")).status_code == 404


async def test_birth_date_must_be_plausible(
    client: httpx.AsyncClient, session: AsyncSession
) -> None:
    spip = await make_spip(session)
    await session.commit()
    body = {"spip_id": spip.id, "first_name": "Jo", "last_name": "Doe", "birth_date": "1850-01-01"}
    response = await client.post("/persons", json=body)
    assert response.status_code == 422
    assert response.json()["error"] == "invalid_birth_date"


async def test_birth_date_can_be_corrected(
    client: httpx.AsyncClient, session: AsyncSession
) -> None:
    """Found by schemathesis: the PATCH handed the date to the database as text (500 on SQLite)."""
    spip = await make_spip(session)
    person = await make_person(session, spip)
    await session.commit()
    response = await client.patch(f"/persons/{person.id}", json={"birth_date": "1990-04-12"})
    assert response.status_code == 200, response.text
    assert response.json()["birth_date"] == "1990-04-12"
    assert (await client.get(f"/persons/{person.id}")).json()["birth_date"] == "1990-04-12"
