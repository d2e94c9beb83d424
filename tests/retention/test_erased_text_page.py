"""The convocation's page after the retention job erased an old message's text: it says so,
instead of showing today's rendering of the template as if it had been planned."""

from __future__ import annotations

import httpx
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from app.auth.passwords import hash_now
from app.config import Settings
from app.models import Notification
from app.retention import jobs
from tests.conftest import FIXED_NOW
from tests.factories import days, make_agent, make_appointment, make_person, make_place, make_spip
from tests.web.test_pages import PASSWORD, log_in
from tests.web.test_pages import web as web

NOW = FIXED_NOW


async def test_an_erased_text_is_said_erased_on_the_timeline(
    session: AsyncSession,
    sessionmaker: async_sessionmaker[AsyncSession],
    settings: Settings,
    web: httpx.AsyncClient,
) -> None:
    spip = await make_spip(session)
    place = await make_place(session, spip)
    agent = await make_agent(session, spip, role="cpip", password_hash=hash_now(PASSWORD))
    person = await make_person(session, spip, phone="+33612345678")
    ids = {}
    for label, age in (("old", 400), ("new", 200)):
        appointment = await make_appointment(
            session, person, place, starts_at=NOW - days(age), status="honored"
        )
        session.add(
            Notification(
                appointment_id=appointment.id, spip_id=spip.id, kind="reminder", sequence=1,
                idempotency_key=f"t-{label}", status="delivered", planned_at=NOW - days(age + 2),
                send_at=NOW - days(age + 2), send_not_after=NOW - days(age + 1),
                provider="console", provider_message_id=f"p-{label}", segments=1,
                body=f"Rappel envoyé ({label})", sent_at=NOW - days(age + 2),
                delivered_at=NOW - days(age + 2),
            )
        )  # fmt: skip
        ids[label] = appointment.id
    await session.commit()
    await jobs.run_retention(sessionmaker, settings)

    await log_in(web, agent.email)
    old = await web.get(f"/convocations/{ids['old']}")
    assert old.status_code == 200, old.text
    assert "Texte effacé après 12 mois" in old.text
    assert "Rappel envoyé (old)" not in old.text and "Texte prévu" not in old.text
    new = await web.get(f"/convocations/{ids['new']}")
    assert "Rappel envoyé (new)" in new.text and "Texte effacé" not in new.text
