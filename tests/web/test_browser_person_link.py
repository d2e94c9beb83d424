"""The followed person's page in a real browser on a phone-sized screen (360×640), on SQLite and
PostgreSQL: a Guyane convocation read in Cayenne time, nothing wider than the screen, axe-core
on the page, the STOP confirmation and the unknown link's page; « ne plus recevoir de SMS »
done with the keyboard alone."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from playwright.async_api import expect
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from app.config import get_settings
from app.links import tokens
from app.models import Appointment, AppointmentType, ConvocationLink, Person, Place, Spip
from tests.servers import Server
from tests.web.conftest import PageMaker
from tests.web.test_browser import assert_accessible, screenshot

CAYENNE = ZoneInfo("America/Cayenne")
PHONE = {"width": 360, "height": 640}


@dataclass(frozen=True)
class Link:
    token: str
    person_id: int
    local_start: datetime


@pytest.fixture
async def link(web_server: Server) -> AsyncIterator[Link]:
    """A convocation in six days at 9h00 (Cayenne) for a Guyane person who receives SMS, with
    its link issued as a booking does (the server's secret: the same settings as this process)."""
    local = datetime.combine(datetime.now(CAYENNE).date() + timedelta(days=6), time(9), CAYENNE)
    async with AsyncSession(web_server.engine, expire_on_commit=False) as session:
        spip = await session.scalar(select(Spip).where(Spip.name == "SPIP de la Guyane"))
        assert spip is not None
        place = await session.scalar(
            select(Place).where(Place.spip_id == spip.id, Place.active.is_(True)).limit(1)
        )
        person = await session.scalar(
            select(Person)
            .where(
                Person.spip_id == spip.id,
                Person.phone_status == "valid",
                Person.archived.is_(False),
            )
            .limit(1)
        )
        kind = await session.scalar(
            select(AppointmentType).where(AppointmentType.code == "suivi_spip")
        )
        assert place is not None and person is not None and kind is not None
        appointment = Appointment(
            spip_id=spip.id,
            person_id=person.id,
            place_id=place.id,
            appointment_type_id=kind.id,
            starts_at=local.astimezone(UTC),
            duration_minutes=45,
            status="booked",
        )
        session.add(appointment)
        await session.flush()
        nonce = tokens.new_nonce()
        token = tokens.token_for(get_settings().secret_key, nonce)
        session.add(
            ConvocationLink(
                appointment_id=appointment.id, nonce=nonce, token_hash=tokens.token_hash(token)
            )
        )
        await session.commit()
        yield Link(token, person.id, local)


async def _fits_the_screen(page: Any) -> None:
    width = await page.evaluate("document.documentElement.scrollWidth")
    assert width <= PHONE["width"], f"la page déborde : {width} px"


async def _tab_to(page: Any, name: str, limit: int = 40) -> None:
    """Press Tab until the focused element reads ``name`` (the keyboard's way there)."""
    for _ in range(limit):
        await page.keyboard.press("Tab")
        focused = await page.evaluate("document.activeElement?.textContent?.trim() ?? ''")
        if focused == name:
            return
    raise AssertionError(f"« {name} » n'est pas atteignable au clavier")


async def test_the_person_reads_the_convocation_and_stops_the_sms_by_keyboard(
    pages: PageMaker, web_server: Server, link: Link
) -> None:
    page = await pages(web_server, viewport=PHONE, is_mobile=True, has_touch=True)
    response = await page.goto(f"/c/{link.token}")
    assert response is not None and response.status == 200
    assert response.headers["x-robots-tag"] == "noindex, nofollow"
    await expect(page.get_by_role("heading", level=1)).to_have_text("Votre convocation")
    when = page.locator("main .fr-text--lead")
    await expect(when).to_contain_text(re.compile(r" à 9h00, heure de Cayenne$"))
    await expect(page.get_by_role("link", name="Ajouter à mon agenda")).to_be_visible()
    await expect(page.locator('meta[name="robots"]')).to_have_attribute(
        "content", "noindex, nofollow"
    )
    await _fits_the_screen(page)
    await assert_accessible(page)
    await screenshot(page, "lien-convocation")

    await _tab_to(page, "Ne plus recevoir de SMS")
    await page.keyboard.press("Enter")
    await expect(page).to_have_url(re.compile(rf"/c/{link.token}/stop$"))
    warning = page.get_by_role("heading", level=2, name="Vos convocations restent obligatoires")
    await expect(warning).to_be_visible()
    await _fits_the_screen(page)
    await assert_accessible(page)
    await screenshot(page, "lien-convocation-stop")

    await _tab_to(page, "Confirmer : ne plus recevoir de SMS")
    await page.keyboard.press("Enter")
    await expect(page).to_have_url(re.compile(rf"/c/{link.token}\?info=stop$"))
    alert = page.get_by_role("status")
    await expect(alert).to_contain_text("Vous ne recevrez plus de SMS")
    await expect(alert).to_contain_text("Votre convocation reste obligatoire")
    await expect(page.get_by_role("link", name="Ne plus recevoir de SMS")).to_have_count(0)
    await assert_accessible(page)
    async with AsyncSession(web_server.engine) as session:
        person = await session.get_one(Person, link.person_id)
        assert (person.phone_status, person.sms_refused_via) == ("refused", "link")


async def test_an_unknown_link_is_a_plain_accessible_page(
    pages: PageMaker, web_server: Server
) -> None:
    page = await pages(web_server, viewport=PHONE, is_mobile=True)
    response = await page.goto(f"/c/{tokens.token_for('inconnu', tokens.new_nonce())}")
    assert response is not None and response.status == 404
    await expect(page.get_by_role("heading", level=1)).to_have_text(
        "Ce lien n'est pas ou plus actif"
    )
    await _fits_the_screen(page)
    await assert_accessible(page)
