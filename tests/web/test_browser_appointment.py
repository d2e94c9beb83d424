"""The « Convocation » page in a real browser, on SQLite and PostgreSQL, with the demo data: a
CPIP of Guyane opens one of their upcoming convocations, reads its SMS, cancels it with the
notice (and sees the notice planned), reschedules another to a new day (and the stored time is
the one typed, in Cayenne time), and without JavaScript the same forms work."""

from __future__ import annotations

import re
from datetime import UTC, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from playwright.async_api import expect
from sqlalchemy import select

from app.models import Agent, Appointment, Notification, Person
from tests.servers import Server
from tests.web.conftest import PageMaker
from tests.web.test_browser import CPIP, assert_accessible, log_in, screenshot

CAYENNE = ZoneInfo("America/Cayenne")


def _utc(value: datetime) -> datetime:
    return value if value.tzinfo else value.replace(tzinfo=UTC)  # SQLite reads naive UTC


async def _reachable_upcoming(engine: Any, email: str) -> list[tuple[int, datetime]]:
    """The CPIP's booked convocations more than a day ahead whose person can receive SMS."""
    async with engine.connect() as conn:
        agent_id = await conn.scalar(select(Agent.id).where(Agent.email == email))
        rows = (
            await conn.execute(
                select(Appointment.id, Appointment.starts_at)
                .join(Person, Person.id == Appointment.person_id)
                .where(
                    Appointment.agent_id == agent_id,
                    Appointment.status == "booked",
                    Appointment.starts_at > datetime.now(UTC) + timedelta(days=1),
                    Person.phone_status == "valid",
                )
                .order_by(Appointment.starts_at)
            )
        ).all()
    return [(i, _utc(at)) for i, at in rows]


async def _open(page: Any, appointment_id: int) -> None:
    await page.goto("/connexion")
    await log_in(page, CPIP)
    await expect(page.get_by_role("heading", level=1)).to_be_visible()
    await page.goto(f"/convocations/{appointment_id}")


async def test_a_cpip_reads_the_timeline_and_cancels_with_the_notice(
    page: Any, web_server: Server
) -> None:
    (appointment_id, starts_at), *_ = await _reachable_upcoming(web_server.engine, CPIP)
    local = starts_at.astimezone(CAYENNE)
    await _open(page, appointment_id)
    heading = page.get_by_role("heading", level=1)
    await expect(heading).to_contain_text(f"à {local.hour}h{local.minute:02d} (heure de Cayenne)")
    timeline = page.locator("#sms")
    await expect(timeline.locator("caption")).to_have_text(
        re.compile(r"^\d+ SMS pour cette convocation \(heures : heure de Cayenne\)$")
    )
    await expect(timeline.locator("tbody tr").first.locator("th")).to_contain_text("Rappel")
    await expect(page.locator("#statut")).to_have_text("À venir")
    await assert_accessible(page)
    await screenshot(page, "convocation")
    # Playwright's full-page screenshot leaves ``style=""`` on the inputs, which htmx's settle
    # would copy onto the swapped ones (refused by the CSP): go on from a fresh load.
    await page.reload()

    await expect(page.get_by_label("Prévenir la personne par SMS", exact=True)).to_be_checked()
    await page.get_by_role("button", name="Annuler la convocation…").click()
    confirm = page.locator("#confirmer-annulation")
    await expect(confirm).to_contain_text("La personne recevra ce SMS")
    await expect(confirm).to_be_focused()
    await assert_accessible(page)
    await page.get_by_role("button", name="Confirmer l'annulation").click()

    await expect(page).to_have_url(re.compile(rf"/convocations/{appointment_id}\?fait=annulee$"))
    await expect(page.locator("#confirmation")).to_contain_text("Convocation annulée")
    await expect(page.locator("#statut")).to_have_text("Annulée")
    notice = timeline.locator("tbody tr", has_text="Avis d'annulation")
    await expect(notice).to_have_count(1)
    await expect(notice.locator(".fr-badge")).to_have_text("Planifié")
    await expect(notice).to_contain_text("Texte qui sera envoyé")
    await expect(page.get_by_role("button", name="Annuler la convocation…")).to_have_count(0)
    await assert_accessible(page)

    async with web_server.engine.connect() as conn:
        status = await conn.scalar(
            select(Appointment.status).where(Appointment.id == appointment_id)
        )
        kinds = (
            await conn.scalars(
                select(Notification.kind).where(
                    Notification.appointment_id == appointment_id,
                    Notification.status == "planned",
                )
            )
        ).all()
    assert status == "cancelled" and list(kinds) == ["cancellation"]


async def test_a_cpip_reschedules_to_a_new_day_in_the_places_time(
    page: Any, web_server: Server
) -> None:
    _, (appointment_id, starts_at), *_ = await _reachable_upcoming(web_server.engine, CPIP)
    new_day = starts_at.astimezone(CAYENNE).date() + timedelta(days=42)
    await _open(page, appointment_id)
    await expect(page.locator("label[for=heure]")).to_contain_text(
        "Nouvelle heure (heure de Cayenne)"
    )
    await page.locator("#date").fill(new_day.isoformat())
    await page.locator("#heure").fill("10:30")
    await page.get_by_role("button", name="Reporter la convocation").click()

    await expect(page).to_have_url(re.compile(r"/convocations/\d+\?fait=deplacee$"))
    await expect(page.locator("#confirmation")).to_contain_text("Convocation reportée")
    await expect(page.get_by_role("heading", level=1)).to_contain_text("à 10h30 (heure de Cayenne)")
    await expect(
        page.locator("#sms tbody tr", has_text="Avis de report").locator(".fr-badge")
    ).to_have_text("Planifié")
    await assert_accessible(page)

    new_id = int(re.search(r"/convocations/(\d+)", page.url).group(1))  # type: ignore[union-attr]
    async with web_server.engine.connect() as conn:
        new_start, moved_from = (
            await conn.execute(
                select(Appointment.starts_at, Appointment.rescheduled_from_id).where(
                    Appointment.id == new_id
                )
            )
        ).one()
        old_status = await conn.scalar(
            select(Appointment.status).where(Appointment.id == appointment_id)
        )
    assert moved_from == appointment_id and old_status == "cancelled"
    assert _utc(new_start) == datetime.combine(new_day, time(10, 30), CAYENNE).astimezone(UTC)

    # A fresh load of the page reads the same, and the old one says where it went.
    await page.goto(f"/convocations/{new_id}")
    await expect(page.locator("#date-heure")).to_contain_text("à 10h30 (heure de Cayenne)")
    await page.goto(f"/convocations/{appointment_id}")
    await expect(page.locator("#statut")).to_have_text("Déplacée")
    await page.get_by_role("link", name="voir la nouvelle convocation").click()
    await expect(page).to_have_url(re.compile(rf"/convocations/{new_id}$"))


async def test_a_past_date_comes_back_filled_with_the_error_focused(
    page: Any, web_server: Server
) -> None:
    *_, (appointment_id, _) = await _reachable_upcoming(web_server.engine, CPIP)
    await _open(page, appointment_id)
    await page.locator("#date").fill("2020-01-06")
    await page.get_by_role("button", name="Reporter la convocation").click()
    summary = page.locator("#erreurs")
    await expect(summary).to_contain_text("La date de convocation est déjà passée.")
    await expect(summary).to_be_focused()
    await expect(page.locator("#date")).to_have_value("2020-01-06")
    await assert_accessible(page)


async def test_without_javascript_the_cancel_still_asks_and_works(
    pages: PageMaker, web_server: Server
) -> None:
    *_, (appointment_id, _), _ = await _reachable_upcoming(web_server.engine, CPIP)
    page = await pages(web_server, java_script_enabled=False)
    await _open(page, appointment_id)
    await page.locator("label[for=annuler-prevenir]").click()  # DSFR: the label covers the box
    await expect(page.get_by_label("Prévenir la personne par SMS", exact=True)).not_to_be_checked()
    await page.get_by_role("button", name="Annuler la convocation…").click()
    await expect(page.locator("#confirmer-annulation")).to_contain_text(
        "La personne ne sera pas prévenue par SMS."
    )
    await page.get_by_role("button", name="Confirmer l'annulation").click()
    await expect(page).to_have_url(re.compile(rf"/convocations/{appointment_id}\?fait=annulee$"))
    await expect(page.locator("#confirmation")).to_contain_text(
        "La personne n'est pas prévenue par SMS."
    )
    await expect(page.locator("#sms tbody tr", has_text="Avis d'annulation")).to_have_count(0)
