"""The page « Exploitation », in process, both databases: national administrators only (a CPIP,
a local administrator: 403); the blocks with what is due, late and failed; pausing a SPIP and
resuming it (POST/redirect/GET, audited), a bad form back with its error summary; CSRF; the
retry of a failed batch with its confirmation and its result."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from html import unescape

import httpx
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from app.auth.passwords import hash_now
from app.models import Agent, AuditEvent, DispatchTick, Notification, SendingPause
from app.operations.retry import RetryResult, summary
from app.reminders import service as reminder_service
from tests.factories import make_agent, make_appointment, make_person, make_place, make_spip
from tests.web.test_pages import CSRF, PASSWORD, log_in
from tests.web.test_pages import web as web

PAGE = "/administration/exploitation"
# FIXED_NOW is Friday 15 January 2027, 10:00 UTC; the convocation is next Wednesday.
START = datetime(2027, 1, 20, 8, 0, tzinfo=UTC)


async def _admin(session: AsyncSession) -> Agent:
    admin = await make_agent(session, None, password_hash=hash_now(PASSWORD))
    await session.commit()
    return admin


async def _token(web: httpx.AsyncClient, path: str = PAGE) -> str:
    page = await web.get(path)
    found = CSRF.search(page.text)
    assert found, page.text
    return found.group(1)


async def test_only_national_administrators_see_the_page(
    web: httpx.AsyncClient, session: AsyncSession
) -> None:
    spip = await make_spip(session)
    for role in ("cpip", "local_admin", "manager"):
        agent = await make_agent(session, spip, role=role, password_hash=hash_now(PASSWORD))
        await session.commit()
        await log_in(web, agent.email)
        answer = await web.get(PAGE)
        assert answer.status_code == 403, (role, answer.status_code)
        web.cookies.clear()
    admin = await _admin(session)
    await log_in(web, admin.email)
    assert f'href="{PAGE}"' in (await web.get("/administration")).text
    page = await web.get(PAGE)
    assert page.status_code == 200
    text = unescape(page.text)
    for block in (
        "Pauses de l'envoi",
        "La file d'envoi",
        "Les fournisseurs",
        "Derniers passages du répartiteur",
        "Échecs et expirations",
    ):
        assert block in text


async def test_the_page_shows_late_messages_ticks_and_failures(
    web: httpx.AsyncClient, session: AsyncSession
) -> None:
    spip = await make_spip(session, name="SPIP du Nord")
    place = await make_place(session, spip)
    person = await make_person(session, spip)
    appointment = await make_appointment(session, person, place, starts_at=START)
    await reminder_service.on_booked(session, appointment=appointment, send_summons=True)
    rows = list(
        await session.scalars(
            select(Notification).where(Notification.appointment_id == appointment.id)
        )
    )
    now = datetime(2027, 1, 15, 10, 0, tzinfo=UTC)
    late, failed = rows[0], rows[-1]
    late.status, late.send_at = "planned", now - timedelta(minutes=30)
    failed.status, failed.reason = "failed", "retries_exhausted"
    session.add(
        DispatchTick(worker_id="worker-1:42", started_at=now, duration_ms=12, claimed=3, sent=3)
    )
    admin = await _admin(session)
    await log_in(web, admin.email)
    text = unescape((await web.get(PAGE)).text)
    assert "1 message en retard" in text
    assert "SPIP du Nord" in text
    assert "worker-1:42" in text
    assert "échecs répétés chez le fournisseur" in text
    assert f'href="/convocations/{appointment.id}"' in text


async def test_pausing_and_resuming_a_spip_from_the_page(
    web: httpx.AsyncClient, session: AsyncSession
) -> None:
    spip = await make_spip(session, name="SPIP du Var")
    admin = await _admin(session)
    await log_in(web, admin.email)
    bad = await web.post(
        f"{PAGE}/pauses", data={"csrf": await _token(web), "perimetre": str(spip.id), "motif": ""}
    )
    assert bad.status_code == 422
    assert "Le formulaire contient 1 erreur" in unescape(bad.text)
    # No scope chosen: nothing is paused by default, not even the whole service.
    unchosen = await web.post(
        f"{PAGE}/pauses", data={"csrf": await _token(web), "perimetre": "", "motif": "Incident"}
    )
    assert unchosen.status_code == 422 and "Choisissez un SPIP" in unescape(unchosen.text)
    done = await web.post(
        f"{PAGE}/pauses",
        data={"csrf": await _token(web), "perimetre": str(spip.id), "motif": "Incident opérateur"},
    )
    assert done.status_code == 303 and done.headers["location"] == f"{PAGE}?ok=pause"
    page = unescape((await web.get(done.headers["location"])).text)
    assert "L'envoi est en pause" in page and "Incident opérateur" in page
    pause = await session.scalar(select(SendingPause).where(SendingPause.spip_id == spip.id))
    assert pause is not None and pause.resumed_at is None
    again = await web.post(
        f"{PAGE}/pauses",
        data={"csrf": await _token(web), "perimetre": str(spip.id), "motif": "Encore"},
    )
    assert again.status_code == 409 and "déjà en pause" in unescape(again.text)
    resumed = await web.post(f"{PAGE}/pauses/{pause.id}/reprise", data={"csrf": await _token(web)})
    assert resumed.status_code == 303 and resumed.headers["location"] == f"{PAGE}?ok=reprise"
    await session.refresh(pause)
    assert pause.resumed_at is not None and pause.resumed_by_id == admin.id
    actions = await session.scalars(
        select(AuditEvent.action).where(AuditEvent.action.like("sending_%"))
    )
    assert sorted(actions) == ["sending_paused", "sending_resumed"]


async def test_the_actions_need_their_csrf_token(
    web: httpx.AsyncClient, session: AsyncSession
) -> None:
    await make_spip(session)
    admin = await _admin(session)
    await log_in(web, admin.email)
    for token in ("", "0" * 64):
        answer = await web.post(
            f"{PAGE}/pauses", data={"csrf": token, "perimetre": "national", "motif": "Essai"}
        )
        assert answer.status_code == 403 and "Formulaire refusé" in answer.text
        answer = await web.post(f"{PAGE}/renvoi", data={"csrf": token})
        assert answer.status_code == 403
    assert await session.scalar(select(SendingPause)) is None


async def test_retrying_the_failures_asks_then_says_how_many(
    web: httpx.AsyncClient, session: AsyncSession
) -> None:
    spip = await make_spip(session)
    place = await make_place(session, spip)
    person = await make_person(session, spip)
    appointment = await make_appointment(session, person, place, starts_at=START)
    await reminder_service.on_booked(session, appointment=appointment, send_summons=True)
    row = await session.scalar(
        select(Notification)
        .where(Notification.appointment_id == appointment.id)
        .order_by(Notification.id)
    )
    assert row is not None
    row.status, row.reason = "failed", "retries_exhausted"
    admin = await _admin(session)
    await log_in(web, admin.email)
    confirm = unescape((await web.get(f"{PAGE}/renvoi?motif=retries_exhausted")).text)
    assert "1 message en échec depuis 24 heures sera renvoyé" in confirm
    token = CSRF.search(confirm)
    assert token
    done = await web.post(
        f"{PAGE}/renvoi", data={"csrf": token.group(1), "motif": "retries_exhausted"}
    )
    assert done.status_code == 303
    page = unescape((await web.get(done.headers["location"])).text)
    assert "1 message replanifié." in page
    nothing = unescape((await web.get(f"{PAGE}/renvoi")).text)
    assert "Aucun message en échec" in nothing  # sent again already: not twice


def test_the_result_names_what_could_not_be_sent_again() -> None:
    result = RetryResult(replanned=3)
    result.refused["too_late"] = 2
    result.messages["too_late"] = "Il est trop tard pour envoyer ce message avant la convocation."
    assert summary(result) == (
        "3 messages replanifiés, 2 non renvoyables "
        "(2 : Il est trop tard pour envoyer ce message avant la convocation)."
    )


async def test_the_result_is_rebuilt_from_codes_never_from_text_in_the_address(
    web: httpx.AsyncClient, session: AsyncSession
) -> None:
    admin = await _admin(session)
    await log_in(web, admin.email)
    page = unescape((await web.get(f"{PAGE}?ok=renvoi&n=2&refus=too_late:1,evil:3")).text)
    assert "2 messages replanifiés, 1 non renvoyable (1 : Il est trop tard" in page
    assert "evil" not in page
    spoofed = unescape((await web.get(f"{PAGE}?ok=renvoi&n=Appelez le 0800")).text)
    assert "Appelez" not in spoofed
