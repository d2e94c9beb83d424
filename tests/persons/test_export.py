"""Right of access (RGPD art. 15): a person's data as one JSON file, for administrators only,
audited, with nothing of anyone else."""

from __future__ import annotations

import json
from typing import Any

import httpx
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from app.auth.passwords import hash_now
from app.models import AuditEvent, ConvocationLink, InboundMessage, Notification, Person
from app.persons.export import EXPORTED_ACTION
from tests.conftest import FIXED_NOW, ClientFactory
from tests.factories import days, make_agent, make_appointment, make_person, make_place, make_spip
from tests.web.test_pages import PASSWORD, log_in
from tests.web.test_pages import web as web

NOW = FIXED_NOW


async def _world(session: AsyncSession) -> dict[str, Any]:
    spip = await make_spip(session, timezone="America/Cayenne", phone_region="GF")
    other_spip = await make_spip(session)
    place = await make_place(session, spip, name="Antenne de Kourou", timezone="America/Cayenne")
    person = await make_person(
        session, spip, first_name="Inès", last_name="Lefèvre", phone="+594694123456"
    )
    someone_else = await make_person(session, spip, first_name="Zébulon", last_name="Autre")
    appointment = await make_appointment(
        session, person, place, starts_at=NOW + days(3), status="booked"
    )
    await make_appointment(session, someone_else, place, starts_at=NOW + days(4))
    session.add(
        Notification(
            appointment_id=appointment.id, spip_id=spip.id, kind="summons", sequence=1,
            idempotency_key=f"x-{appointment.id}", status="delivered", planned_at=NOW,
            send_at=NOW, send_not_after=NOW + days(1), provider="console", segments=1,
            body="Vous êtes convoquée lundi.", sent_at=NOW, delivered_at=NOW,
        )
    )  # fmt: skip
    session.add(ConvocationLink(appointment_id=appointment.id, nonce="n" * 32, token_hash="h" * 64))
    session.add(
        InboundMessage(
            provider="http", provider_message_id="in-1", received_at=NOW,
            sender_phone="+594694123456", person_id=person.id, appointment_id=appointment.id,
            spip_id=spip.id, kind="reply", body="Je serai là",
        )
    )  # fmt: skip
    agents = {
        role: await make_agent(session, spip, role=role, password_hash=hash_now(PASSWORD))
        for role in ("local_admin", "cpip", "manager", "secretariat")
    }
    agents["admin"] = await make_agent(session, None, role="admin")
    agents["other_local_admin"] = await make_agent(session, other_spip, role="local_admin")
    await session.commit()
    return {"person": person, "appointment": appointment, "agents": agents, "spip": spip}


async def test_the_export_holds_the_person_their_convocations_messages_and_trail(
    session: AsyncSession, client_for: ClientFactory
) -> None:
    world = await _world(session)
    person_id = world["person"].id
    local_admin = world["agents"]["local_admin"]
    async with client_for(world["agents"]["cpip"]) as cpip:
        changed = await cpip.patch(f"/persons/{person_id}", json={"first_name": "Inès-Marie"})
        assert changed.status_code == 200, changed.text
    async with client_for(local_admin) as client:
        response = await client.get(f"/persons/{person_id}/export")
    assert response.status_code == 200, response.text
    assert response.headers["content-disposition"] == (
        f'attachment; filename="convoc-personne-{person_id}.json"'
    )
    assert response.headers["cache-control"] == "no-store"
    document = json.loads(response.content)
    assert set(document) >= {"person", "appointments", "messages", "audit"}
    who = document["person"]
    assert (who["first_name"], who["last_name"], who["phone"]) == (
        "Inès-Marie", "Lefèvre", "+594694123456",
    )  # fmt: skip
    assert "sms_refused_at" in who and "sms_refused_via" in who
    [convocation] = document["appointments"]
    assert convocation["id"] == world["appointment"].id
    assert convocation["place"]["name"] == "Antenne de Kourou"
    assert convocation["type"]["code"] == "suivi_spip"
    starts = convocation["starts_at"]
    assert starts["utc"].endswith("+00:00") and starts["local"].endswith("-03:00")
    [message] = document["messages"]
    assert (message["kind"], message["status"]) == ("summons", "delivered")
    assert message["body"] == "Vous êtes convoquée lundi."
    [reply] = document["messages_received"]
    assert (reply["kind"], reply["text"], reply["from"]) == (
        "reply",
        "Je serai là",
        "+594694123456",
    )
    assert reply["appointment_id"] == world["appointment"].id
    [link] = document["convocation_links"]
    assert link["appointment_id"] == world["appointment"].id and link["revoked_at"] is None
    assert "token" not in json.dumps(link)  # only its hash is held: nothing to give back
    # The trail says who changed what (fields, never values), by agent id.
    updates = [e for e in document["audit"] if e["action"] == "update"]
    assert updates and updates[-1]["agent_id"] == world["agents"]["cpip"].id
    assert updates[-1]["fields"] == ["first_name"]
    assert "Inès-Marie" not in json.dumps(document["audit"])
    # Nobody else's data.
    assert "Zébulon" not in response.text and "Autre" not in response.text
    # Audited: who exported whom.
    event = await session.scalar(
        select(AuditEvent).where(AuditEvent.action == EXPORTED_ACTION).order_by(AuditEvent.id)
    )
    assert event is not None
    assert (event.entity, event.entity_id, event.agent_id, event.spip_id) == (
        "person", person_id, local_admin.id, world["spip"].id,
    )  # fmt: skip


async def test_only_administrators_may_export_and_only_their_spip(
    session: AsyncSession, client_for: ClientFactory
) -> None:
    world = await _world(session)
    person_id = world["person"].id
    expected = {
        "admin": 200,
        "local_admin": 200,
        "cpip": 403,
        "manager": 403,
        "secretariat": 403,
        "other_local_admin": 404,  # another SPIP's person: its existence is not revealed
    }
    found = {}
    for role, agent in world["agents"].items():
        async with client_for(agent) as client:
            response = await client.get(f"/persons/{person_id}/export")
        found[role] = response.status_code
        if response.status_code != 200:
            assert response.json()["error"] in ("forbidden", "person_not_found"), response.text
    assert found == expected
    async with client_for(None) as anonymous:
        assert (await anonymous.get(f"/persons/{person_id}/export")).status_code == 401
    exports = await session.scalars(
        select(AuditEvent.agent_id).where(AuditEvent.action == EXPORTED_ACTION)
    )
    assert sorted(exports) == sorted(
        [world["agents"]["admin"].id, world["agents"]["local_admin"].id]
    )


async def test_an_unknown_person_is_a_clear_404(
    session: AsyncSession, client_for: ClientFactory
) -> None:
    world = await _world(session)
    async with client_for(world["agents"]["admin"]) as client:
        response = await client.get("/persons/987654/export")
    assert response.status_code == 404
    assert response.json()["error"] == "person_not_found"


async def test_the_person_page_offers_the_export_to_administrators_only(
    session: AsyncSession, web: httpx.AsyncClient
) -> None:
    world = await _world(session)
    person_id = world["person"].id
    await log_in(web, world["agents"]["cpip"].email)
    page = await web.get(f"/personnes/{person_id}")
    assert page.status_code == 200 and "Exporter les données" not in page.text
    assert (await web.get(f"/personnes/{person_id}/export")).status_code == 403
    await web.post("/deconnexion")
    web.cookies.clear()
    await log_in(web, world["agents"]["local_admin"].email)
    page = await web.get(f"/personnes/{person_id}")
    assert "Exporter les données (droit d'accès)" in page.text
    assert f'href="/personnes/{person_id}/export"' in page.text
    download = await web.get(f"/personnes/{person_id}/export")
    assert download.status_code == 200
    assert "attachment" in download.headers["content-disposition"]
    assert json.loads(download.content)["person"]["last_name"] == "Lefèvre"
    # The person's « Historique » says it, in French.
    page = await web.get(f"/personnes/{person_id}")
    assert "Export des données (droit d&#39;accès)" in page.text
    assert await session.scalar(select(Person.id).where(Person.id == person_id)) == person_id
