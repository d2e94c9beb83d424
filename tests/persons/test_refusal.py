"""When and how a refusal of SMS was recorded: by an agent through the API, or by the person
(``record_refusal_by_person``, used by the convocation link and by STOP replies)."""

from __future__ import annotations

import httpx
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from app.models import AuditEvent, Person, RefusalChannel
from app.persons.refusal import AUDIT_ACTION, record_refusal_by_person
from app.web.persons import phone_view
from tests.factories import make_person, make_spip


async def test_an_agents_refusal_is_dated_and_cleared_when_sms_are_allowed_again(
    client: httpx.AsyncClient, session: AsyncSession
) -> None:
    spip = await make_spip(session)
    person = await make_person(session, spip, phone="+33612345678", phone_status="valid")
    await session.commit()
    refused = await client.patch(f"/persons/{person.id}", json={"phone_status": "refused"})
    assert refused.status_code == 200, refused.text
    assert refused.json()["sms_refused_via"] == "agent"
    assert refused.json()["sms_refused_at"] is not None
    allowed = await client.patch(f"/persons/{person.id}", json={"phone_status": "valid"})
    assert allowed.json()["sms_refused_via"] is None
    assert allowed.json()["sms_refused_at"] is None


async def test_a_refusal_at_creation_is_the_agents(
    client: httpx.AsyncClient, session: AsyncSession
) -> None:
    spip = await make_spip(session)
    await session.commit()
    created = await client.post(
        "/persons",
        json={"spip_id": spip.id, "first_name": "Jo", "last_name": "Doe",
              "phone": "06 12 34 56 78", "phone_status": "refused"},
    )  # fmt: skip
    assert created.status_code == 201, created.text
    assert created.json()["sms_refused_via"] == "agent"


async def test_the_persons_own_refusal_is_audited_without_an_agent_and_shown_to_the_referent(
    session: AsyncSession,
) -> None:
    spip = await make_spip(session)
    person = await make_person(session, spip, phone="+33612345678", phone_status="valid")
    await session.commit()
    assert record_refusal_by_person(session, person, via=RefusalChannel.sms)
    await session.commit()
    assert not record_refusal_by_person(session, person, via=RefusalChannel.link)  # once
    await session.commit()

    stored = await session.get(Person, person.id)
    assert stored is not None
    assert (stored.phone_status, stored.sms_refused_via) == ("refused", "sms")
    events = (
        await session.scalars(select(AuditEvent).where(AuditEvent.action == AUDIT_ACTION))
    ).all()
    assert len(events) == 1
    event = events[0]
    assert (event.agent_id, event.spip_id, event.entity_id) == (None, spip.id, person.id)
    assert event.client == "person:sms"
    assert "+33612345678" not in str(event.changes)
    view = phone_view(stored)
    assert view.label == "Refus des SMS"
    assert "elle-même, en répondant STOP par SMS" in (view.explanation or "")
