"""Agents through the API."""

from __future__ import annotations

import httpx
from sqlalchemy.ext.asyncio import AsyncSession

from tests.factories import make_spip


async def test_create_agent_and_email_uniqueness(
    client: httpx.AsyncClient, session: AsyncSession
) -> None:
    spip = await make_spip(session)
    await session.commit()
    body = {
        "spip_id": spip.id,
        "name": "Camille Martin",
        "email": "Camille.Martin@Justice.fr",
        "role": "cpip",
    }
    created = await client.post("/agents", json=body)
    assert created.status_code == 201, created.text
    assert created.json()["email"] == "camille.martin@justice.fr"
    again = await client.post("/agents", json=body | {"email": "camille.martin@justice.fr"})
    assert again.status_code == 409
    assert again.json()["error"] == "email_taken"


async def test_agent_validation(client: httpx.AsyncClient, session: AsyncSession) -> None:
    spip = await make_spip(session)
    await session.commit()
    body = {"spip_id": spip.id, "name": "A", "email": "not-an-email", "role": "cpip"}
    assert (await client.post("/agents", json=body)).status_code == 422
    body |= {"email": "a@justice.fr", "role": "boss"}
    response = await client.post("/agents", json=body)
    assert response.status_code == 422
    assert response.json()["fields"][0]["field"] == "body.role"
    missing_spip = await client.post("/agents", json=body | {"role": "cpip", "spip_id": 999999})
    assert missing_spip.status_code == 404


async def test_list_get_patch_agents(client: httpx.AsyncClient, session: AsyncSession) -> None:
    spip = await make_spip(session)
    other = await make_spip(session)
    await session.commit()
    for i, s in enumerate((spip, other)):
        await client.post(
            "/agents",
            json={"spip_id": s.id, "name": f"N{i}", "email": f"n{i}@justice.fr", "role": "manager"},
        )
    listed = (await client.get("/agents", params={"spip_id": spip.id})).json()
    assert [a["spip_id"] for a in listed] == [spip.id]
    agent_id = listed[0]["id"]
    patched = await client.patch(
        f"/agents/{agent_id}", json={"role": "local_admin", "active": False}
    )
    assert patched.json()["role"] == "local_admin"
    assert (await client.get(f"/agents/{agent_id}")).json()["active"] is False
    assert (await client.get("/agents/999999")).status_code == 404
