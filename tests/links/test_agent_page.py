"""The link on the agent's convocation page, in process: its state in words, « Désactiver le
lien de la convocation » (CSRF, POST/redirect/GET, audited), then « Créer un nouveau lien »."""

from __future__ import annotations

import httpx
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from app.auth.passwords import hash_now
from app.models import AuditEvent
from tests.factories import make_agent
from tests.links.support import book, open_page, text_of, token_of
from tests.reminders.conftest import World
from tests.web.test_pages import CSRF, PASSWORD, log_in
from tests.web.test_pages import web as web


async def test_the_agent_disables_the_link_then_makes_a_new_one(
    client: httpx.AsyncClient, web: httpx.AsyncClient, session: AsyncSession, world: World
) -> None:
    agent = await make_agent(session, world.spip, password_hash=hash_now(PASSWORD))
    await session.commit()
    appointment = await book(client, world, "2027-01-20T09:00")
    old = await token_of(session, appointment["id"])
    assert (await log_in(web, agent.email)).status_code == 303
    url = f"/convocations/{appointment['id']}"
    page = await web.get(url)
    assert page.status_code == 200, page.text
    assert "La page ne montre ni son nom ni d'autre donnée personnelle." in text_of(page.text)
    assert "Désactiver le lien de la convocation" in page.text
    token = CSRF.search(page.text)
    assert token

    refused = await web.post(f"{url}/lien/desactiver", data={"csrf": "0" * 64})
    assert refused.status_code == 403
    assert (await open_page(client, old)).status_code == 200

    done = await web.post(f"{url}/lien/desactiver", data={"csrf": token.group(1)})
    assert (done.status_code, done.headers["location"]) == (303, f"{url}?fait=lien-desactive")
    after = text_of((await web.get(done.headers["location"])).text)
    assert "Lien de la convocation désactivé" in after
    assert "Le lien de cette convocation a été désactivé" in after
    assert (await open_page(client, old)).status_code == 404
    [event] = await session.scalars(
        select(AuditEvent).where(AuditEvent.action == "convocation_link_revoked")
    )
    assert (event.agent_id, event.entity_id) == (agent.id, appointment["id"])

    renewed = await web.post(f"{url}/lien/nouveau", data={"csrf": token.group(1)})
    assert renewed.headers["location"] == f"{url}?fait=lien-nouveau"
    assert "Nouveau lien créé" in text_of((await web.get(renewed.headers["location"])).text)
    new = await token_of(session, appointment["id"])
    assert new != old
    assert (await open_page(client, new)).status_code == 200
    assert (await open_page(client, old)).status_code == 404
