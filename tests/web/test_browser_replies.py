"""Replies by SMS in a real browser, on SQLite and PostgreSQL: the demo's Guyane CPIP finds a
person's reply on the home page (« Réponses reçues »), follows it to the person's page, marks it
read there by keyboard, and sees it in the convocation's SMS timeline; axe-core on every page."""

from __future__ import annotations

import re
from datetime import timedelta
from typing import Any

from playwright.async_api import expect
from sqlalchemy import insert, select
from sqlalchemy.ext.asyncio import AsyncEngine

from app.core.clock import utcnow
from app.models import Agent, Appointment, InboundMessage, Person
from tests.web.test_browser import CPIP, assert_accessible, log_in, screenshot

REPLY = "Bonjour, je viendrai avec mon attestation de formation"


async def _seed_reply(engine: AsyncEngine) -> tuple[int, int]:
    """A reply of one of the CPIP's persons, to one of that person's convocations."""
    async with engine.begin() as conn:
        agent_id = await conn.scalar(select(Agent.id).where(Agent.email == CPIP))
        row = (
            await conn.execute(
                select(Person.id, Person.spip_id, Appointment.id)
                .join(Appointment, Appointment.person_id == Person.id)
                .where(Person.referent_agent_id == agent_id, Person.archived.is_(False))
                .order_by(Appointment.starts_at.desc())
                .limit(1)
            )
        ).first()
        assert row is not None
        person_id, spip_id, appointment_id = row
        now = utcnow()
        await conn.execute(
            insert(InboundMessage).values(
                provider="http",
                provider_message_id=f"browser-{now.timestamp()}",
                received_at=now - timedelta(minutes=5),
                sender_phone="+594694000000",
                person_id=person_id,
                appointment_id=appointment_id,
                spip_id=spip_id,
                kind="reply",
                body=REPLY,
                created_at=now,
            )
        )
    return person_id, appointment_id


async def test_the_referent_reads_a_reply_and_marks_it_read(
    page: Any, web_engine: AsyncEngine
) -> None:
    person_id, appointment_id = await _seed_reply(web_engine)
    await page.goto("/")
    await log_in(page, CPIP)
    box = page.locator("#reponses-recues")
    await expect(box.get_by_role("heading", name="Réponses reçues")).to_be_visible()
    await expect(box).to_contain_text(f"« {REPLY} »")
    await assert_accessible(page)

    await box.locator(f"a[href^='/personnes/{person_id}#reponse-']").first.click()
    await expect(page).to_have_url(re.compile(rf"/personnes/{person_id}#reponse-\d+$"))
    replies = page.locator("#reponses")
    await expect(replies).to_contain_text("Réponse reçue le")
    await expect(replies).to_contain_text(f"« {REPLY} »")
    await expect(replies.get_by_text("Non lue").first).to_be_visible()
    await assert_accessible(page)
    await screenshot(page, "personne-reponse")

    button = replies.get_by_role("button", name=re.compile("^Marquer comme lue"))
    await button.first.focus()
    await page.keyboard.press("Enter")
    await expect(page.locator(".fr-alert--success")).to_have_text(
        re.compile("La réponse est marquée comme lue.")
    )
    await expect(page.locator("#reponses")).to_contain_text(f"« {REPLY} »")
    await assert_accessible(page)

    await page.goto(f"/convocations/{appointment_id}")
    timeline = page.locator("#reponses-recues")
    await expect(timeline).to_contain_text("Réponse reçue le")
    await expect(timeline).to_contain_text(f"« {REPLY} »")
    await assert_accessible(page)
