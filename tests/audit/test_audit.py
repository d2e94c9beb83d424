"""The audit trail: every mutation recorded, no personal values, append-only, scoped reading."""

from __future__ import annotations

import json
from typing import Any

import httpx
import pytest
from sqlalchemy import select, text
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncSession

from app.models import Agent, AuditEvent
from tests.factories import make_agent, make_place, make_spip


async def events(session: AsyncSession, **filters: Any) -> list[AuditEvent]:
    stmt = select(AuditEvent).order_by(AuditEvent.id).execution_options(populate_existing=True)
    for name, value in filters.items():
        stmt = stmt.where(getattr(AuditEvent, name) == value)
    return list(await session.scalars(stmt))


async def test_mutations_are_audited_without_personal_values(
    client: httpx.AsyncClient, session: AsyncSession, admin: Agent
) -> None:
    spip = await make_spip(session)
    place = await make_place(session, spip)
    await session.commit()
    person = (
        await client.post(
            "/persons",
            json={
                "spip_id": spip.id,
                "first_name": "Inès",
                "last_name": "Benali",
                "birth_date": "1990-04-02",
                "phone": "06 12 34 56 78",
            },
        )
    ).json()
    await client.patch(
        f"/persons/{person['id']}", json={"last_name": "Benali-Martin", "phone": "07 81 23 45 67"}
    )
    appointment = (
        await client.post(
            "/appointments",
            json={
                "person_id": person["id"],
                "place_id": place.id,
                "appointment_type": "suivi_spip",
                "starts_at": "2027-02-01T09:00",
            },
        )
    ).json()
    await client.post(f"/appointments/{appointment['id']}/cancel", json={"notify": False})

    person_events = await events(session, entity="person", entity_id=person["id"])
    assert [e.action for e in person_events] == ["create", "update"]
    assert all(e.agent_id == admin.id and e.spip_id == spip.id for e in person_events)
    update = person_events[1].changes or {}
    assert update["last_name"] == {"changed": True}
    assert update["phone"] == {"changed": True}
    trail = json.dumps([e.changes for e in await events(session)], ensure_ascii=False)
    # "ines benali" is the folded search key (person.search_name): names too, never in the trail.
    assert "search_name" not in update
    for secret in ("Inès", "Benali", "1990-04-02", "+33612345678", "+33781234567", "0612"):
        assert secret.casefold() not in trail.casefold()
    assert "ines" not in trail
    appointment_events = await events(session, entity="appointment", entity_id=appointment["id"])
    assert [e.action for e in appointment_events] == ["create", "update"]
    assert (appointment_events[1].changes or {})["status"] == {"old": "booked", "new": "cancelled"}

    history = await client.get(f"/persons/{person['id']}/history")
    assert [e["action"] for e in history.json()["items"]] == ["update", "create"]
    by_entity = await client.get(
        "/audit", params={"entity": "appointment", "entity_id": appointment["id"]}
    )
    assert by_entity.json()["total"] == 2


async def test_audit_is_append_only(client: httpx.AsyncClient, session: AsyncSession) -> None:
    spip = await make_spip(session)
    await session.commit()
    await client.patch(f"/spips/{spip.id}", json={"name": "Nouveau nom"})
    [event] = await events(session, entity="spip", entity_id=spip.id)
    for statement in ("UPDATE audit_event SET action = 'x'", "DELETE FROM audit_event"):
        with pytest.raises(DBAPIError, match="append-only"):
            async with session.begin_nested():
                await session.execute(text(statement))
    assert (await events(session, entity="spip", entity_id=spip.id))[0].action == event.action


async def test_audit_reading_is_scoped_and_for_administrators(
    client_for: Any, session: AsyncSession
) -> None:
    spip, other = await make_spip(session), await make_spip(session)
    local_admin = await make_agent(session, spip, role="local_admin")
    cpip = await make_agent(session, spip, role="cpip")
    other_admin = await make_agent(session, other, role="local_admin")
    await session.commit()
    async with client_for(other_admin) as client:
        await client.patch(f"/spips/{other.id}", json={"address": "Ailleurs"})
    async with client_for(local_admin) as client:
        await client.patch(f"/spips/{spip.id}", json={"address": "Ici"})
        mine = await client.get("/audit")
        assert {e["spip_id"] for e in mine.json()["items"]} == {spip.id}
        assert (await client.get("/audit", params={"spip_id": other.id})).status_code == 404
    async with client_for(cpip) as client:
        assert (await client.get("/audit")).status_code == 403
