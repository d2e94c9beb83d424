"""The « Convocation » page, in process: the details and the SMS timeline in the place's time,
the success alert after booking, cancel (with or without the notice), reschedule (the new time
stored; a past date or a DST gap comes back filled, explained), resend, another SPIP's
convocation « introuvable », forms without their CSRF token refused."""

from __future__ import annotations

import html
import re
from datetime import UTC, datetime, timedelta

import httpx
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from app.appointments import service as appointment_service
from app.appointments.schemas import AppointmentCreate
from app.auth.passwords import hash_now
from app.models import Agent, Appointment, Notification, NotificationPart, Person
from tests.conftest import FIXED_NOW, FrozenClock
from tests.factories import make_agent, make_person, make_place, make_spip
from tests.web.test_pages import CSRF, PASSWORD, log_in
from tests.web.test_pages import web as web


async def _book(
    session: AsyncSession,
    *,
    tz: str = "America/Cayenne",
    place_tz: str | None = None,
    phone: str | None = "+594694123456",
    local: datetime = datetime(2027, 1, 20, 9, 0),
) -> tuple[Appointment, Agent, Person]:
    """A convocation booked through the service (its SMS planned), and its CPIP."""
    spip = await make_spip(
        session, timezone=tz, phone_region="GF" if tz == "America/Cayenne" else "FR"
    )
    place = await make_place(session, spip, timezone=place_tz or tz, name="Antenne de Kourou")
    agent = await make_agent(session, spip, password_hash=hash_now(PASSWORD), name="Léa CPIP")
    person = await make_person(
        session,
        spip,
        first_name="Camille",
        last_name="Martin",
        phone=phone,
        phone_status="valid" if phone else "none",
    )
    view = await appointment_service.book(
        session,
        data=AppointmentCreate(
            person_id=person.id, place_id=place.id, appointment_type="suivi_spip", starts_at=local
        ),
        created_by_id=agent.id,
        booker_role=agent.role,
    )
    await session.commit()
    return view.appointment, agent, person


async def _token(web: httpx.AsyncClient, appointment_id: int) -> tuple[str, str]:
    page = await web.get(f"/convocations/{appointment_id}")
    assert page.status_code == 200, page.text
    token = CSRF.search(page.text)
    assert token
    return token.group(1), page.text


async def _messages(session: AsyncSession, appointment_id: int) -> list[Notification]:
    return list(
        await session.scalars(
            select(Notification)
            .where(Notification.appointment_id == appointment_id)
            .order_by(Notification.id)
            .execution_options(populate_existing=True)
        )
    )


async def _fresh(session: AsyncSession, appointment_id: int) -> Appointment:
    return await session.get_one(Appointment, appointment_id, populate_existing=True)


def _text(page: str) -> str:
    return html.unescape(re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", page)))


async def test_the_page_shows_the_places_time_and_the_sms_timeline(
    web: httpx.AsyncClient, session: AsyncSession
) -> None:
    # A Paris SPIP's convocation in a Cayenne place: the zone is said.
    appointment, agent, person = await _book(session, tz="Europe/Paris", place_tz="America/Cayenne")
    await log_in(web, agent.email)
    _, page = await _token(web, appointment.id)
    text = _text(page)
    assert "Convocation du mercredi 20 janvier 2027 à 9h00 (heure de Cayenne)" in text
    assert f'href="/personnes/{person.id}"' in page and "MARTIN Camille" in text
    assert "Antenne de Kourou" in text and "Léa CPIP" in text and "À venir" in text
    assert "Créée le vendredi 15 janvier 2027 à 7h00 par Léa CPIP" in text  # 10:00 UTC, Cayenne
    # The reminder, J-2 at 10:00 in the place's time, with the text the dispatcher will send.
    reminder = next(n for n in await _messages(session, appointment.id) if n.kind == "reminder")
    row = _text(page.split(f'id="sms-{reminder.id}"')[1].split("</tr>")[0])
    assert "Rappel" in row and "lundi 18 janvier 2027 à 10h00" in row and "Planifié" in row
    assert "Texte qui sera envoyé" in row and "20 janvier 2027" in row
    assert re.search(r"\d SMS \((GSM-7|UCS-2)\)", row), row
    assert "Aucun SMS ne partira" not in text


async def test_after_booking_the_page_says_it_is_stored_and_what_sms_go(
    web: httpx.AsyncClient, session: AsyncSession
) -> None:
    appointment, agent, _ = await _book(session)
    await log_in(web, agent.email)
    page = await web.get(f"/convocations/{appointment.id}?nouvelle=1")
    text = _text(page.text)
    assert "fr-alert--success" in page.text and "Convocation enregistrée" in text
    assert "Rappel par SMS prévu le lundi 18 janvier 2027 à 10h00." in text
    plain = await web.get(f"/convocations/{appointment.id}")
    assert "Convocation enregistrée" not in plain.text


async def test_without_a_phone_the_agent_is_told_no_sms_will_go(
    web: httpx.AsyncClient, session: AsyncSession
) -> None:
    appointment, agent, _ = await _book(session, phone=None)
    await log_in(web, agent.email)
    text = _text((await web.get(f"/convocations/{appointment.id}?nouvelle=1")).text)
    assert "Aucun SMS ne partira : la personne n'a pas de numéro de portable valide." in text
    assert "Ne partira pas : la personne n'a pas de numéro de portable valide." in text
    # Skipped at send time for that reason: resending would be refused (resend_pointless).
    reminder = next(n for n in await _messages(session, appointment.id) if n.kind == "reminder")
    reminder.status, reminder.reason = "skipped", "no_phone"
    await session.commit()
    page = (await web.get(f"/convocations/{appointment.id}")).text
    assert "Pourquoi : la personne n'a pas de numéro de portable valide" in _text(page)
    assert f"/sms/{reminder.id}/renvoyer" not in page


async def test_cancel_asks_confirmation_then_stores_the_cancel_and_plans_the_notice(
    web: httpx.AsyncClient, session: AsyncSession
) -> None:
    appointment, agent, _ = await _book(session)
    await log_in(web, agent.email)
    token, _ = await _token(web, appointment.id)
    url = f"/convocations/{appointment.id}/annuler"
    asked = await web.post(url, data={"csrf": token, "prevenir": "oui", "etape": "confirmer"})
    assert asked.status_code == 200
    text = _text(asked.text)
    assert "Confirmer l'annulation ?" in text and "La personne recevra ce SMS" in text
    assert (await _fresh(session, appointment.id)).status == "booked"

    done = await web.post(url, data={"csrf": token, "prevenir": "oui", "etape": "annuler"})
    assert done.status_code == 303
    assert done.headers["location"] == f"/convocations/{appointment.id}?fait=annulee"
    stored = await _fresh(session, appointment.id)
    assert stored.status == "cancelled" and stored.cancel_reason == "cancelled"
    messages = await _messages(session, appointment.id)
    notice = [n for n in messages if n.kind == "cancellation"]
    assert len(notice) == 1 and notice[0].status == "planned"
    assert all(n.status == "cancelled" for n in messages if n.kind == "reminder")
    page = _text((await web.get(done.headers["location"])).text)
    assert "Convocation annulée" in page and "Avis d'annulation par SMS prévu le" in page
    assert "Annulée" in page and "Annuler la convocation" not in page


async def test_cancel_without_notice_plans_no_sms(
    web: httpx.AsyncClient, session: AsyncSession
) -> None:
    appointment, agent, _ = await _book(session)
    await log_in(web, agent.email)
    token, _ = await _token(web, appointment.id)
    url = f"/convocations/{appointment.id}/annuler"
    asked = await web.post(url, data={"csrf": token, "etape": "confirmer"})
    assert "La personne ne sera pas prévenue par SMS." in _text(asked.text)
    done = await web.post(url, data={"csrf": token, "etape": "annuler"})
    assert done.status_code == 303
    assert (await _fresh(session, appointment.id)).status == "cancelled"
    assert not [n for n in await _messages(session, appointment.id) if n.kind == "cancellation"]
    page = _text((await web.get(done.headers["location"])).text)
    assert "La personne n'est pas prévenue par SMS." in page


async def test_cancelling_twice_is_a_french_error_not_a_500(
    web: httpx.AsyncClient, session: AsyncSession
) -> None:
    appointment, agent, _ = await _book(session)
    await log_in(web, agent.email)
    token, _ = await _token(web, appointment.id)
    url = f"/convocations/{appointment.id}/annuler"
    await web.post(url, data={"csrf": token, "etape": "annuler"})
    again = await web.post(url, data={"csrf": token, "etape": "annuler"})
    assert again.status_code == 409
    assert "fr-alert--error" in again.text
    assert "Seule une convocation programmée peut être annulée" in _text(again.text)


async def test_reschedule_stores_the_new_time_in_the_places_zone_and_notifies(
    web: httpx.AsyncClient, session: AsyncSession
) -> None:
    appointment, agent, _ = await _book(session)
    await log_in(web, agent.email)
    token, page = await _token(web, appointment.id)
    assert 'value="2027-01-20"' in page and 'value="09:00"' in page  # filled with the current
    assert "Nouvelle heure (heure de Cayenne)" in _text(page)
    form = {
        "csrf": token,
        "lieu": str(appointment.place_id),
        "date": "2027-01-22",
        "heure": "14:30",
        "prevenir": "oui",
    }
    done = await web.post(f"/convocations/{appointment.id}/reporter", data=form)
    assert done.status_code == 303, done.text
    new = await session.scalar(
        select(Appointment)
        .where(Appointment.rescheduled_from_id == appointment.id)
        .execution_options(populate_existing=True)
    )
    assert new is not None
    assert done.headers["location"] == f"/convocations/{new.id}?fait=deplacee"
    assert new.starts_at == datetime(2027, 1, 22, 17, 30, tzinfo=UTC)  # 14:30 in Cayenne
    old = await _fresh(session, appointment.id)
    assert old.status == "cancelled" and old.cancel_reason == "rescheduled"
    assert [n.kind for n in await _messages(session, new.id)].count("reschedule") == 1
    text = _text((await web.get(done.headers["location"])).text)
    assert "Convocation reportée" in text
    assert "Nouvelle date : le vendredi 22 janvier 2027 à 14h30 (heure de Cayenne)." in text
    assert "Avis de report (changement de date) par SMS prévu le" in text
    assert f'href="/convocations/{appointment.id}"' in text or "convocation déplacée" in text
    moved = _text((await web.get(f"/convocations/{appointment.id}")).text)
    assert "Déplacée" in moved and "voir la nouvelle convocation" in moved


async def test_a_past_date_comes_back_filled_with_the_field_error(
    web: httpx.AsyncClient, session: AsyncSession
) -> None:
    appointment, agent, _ = await _book(session)
    await log_in(web, agent.email)
    token, _ = await _token(web, appointment.id)
    form = {"csrf": token, "lieu": str(appointment.place_id), "date": "2027-01-10"}
    answer = await web.post(
        f"/convocations/{appointment.id}/reporter", data=form | {"heure": "09:15"}
    )
    assert answer.status_code == 422
    assert (
        'href="#date"' in answer.text and "La date de convocation est déjà passée." in answer.text
    )
    assert 'value="2027-01-10"' in answer.text and 'value="09:15"' in answer.text
    assert (await _fresh(session, appointment.id)).status == "booked"
    empty = await web.post(f"/convocations/{appointment.id}/reporter", data={"csrf": token})
    assert empty.status_code == 422 and "Saisissez la date au format jj/mm/aaaa." in empty.text


async def test_a_time_in_the_spring_gap_is_explained_in_words(
    web: httpx.AsyncClient, session: AsyncSession
) -> None:
    appointment, agent, _ = await _book(session, tz="Europe/Paris", phone="+33612345678")
    await log_in(web, agent.email)
    token, _ = await _token(web, appointment.id)
    form = {"csrf": token, "lieu": str(appointment.place_id), "date": "2027-03-28"}
    answer = await web.post(
        f"/convocations/{appointment.id}/reporter", data=form | {"heure": "02:30"}
    )
    assert answer.status_code == 422
    assert (
        "2h30 n'existe pas le dimanche 28 mars 2027 à Paris : cette nuit-là, les horloges "
        "passent directement de 2h00 à 3h00" in _text(answer.text)
    )
    assert 'value="02:30"' in answer.text


async def test_a_time_that_happens_twice_in_autumn_is_explained(
    web: httpx.AsyncClient, session: AsyncSession
) -> None:
    appointment, agent, _ = await _book(session, tz="Europe/Paris", phone="+33612345678")
    await log_in(web, agent.email)
    token, _ = await _token(web, appointment.id)
    form = {"csrf": token, "lieu": str(appointment.place_id), "date": "2027-10-31"}
    answer = await web.post(
        f"/convocations/{appointment.id}/reporter", data=form | {"heure": "02:30"}
    )
    assert answer.status_code == 422
    assert "2h30 existe deux fois le dimanche 31 octobre 2027 à Paris" in _text(answer.text)


async def test_a_failed_sms_is_resent_and_the_resend_shows_in_the_timeline(
    web: httpx.AsyncClient, session: AsyncSession
) -> None:
    appointment, agent, _ = await _book(session)
    reminder = next(n for n in await _messages(session, appointment.id) if n.kind == "reminder")
    reminder.status, reminder.reason = "failed", "permanent_error"
    reminder.send_at = reminder.planned_at = FIXED_NOW - timedelta(hours=1)
    await session.commit()
    await log_in(web, agent.email)
    token, page = await _token(web, appointment.id)
    assert f"/sms/{reminder.id}/renvoyer" in page
    assert "refusé par le fournisseur ou l'opérateur" in _text(page)
    done = await web.post(
        f"/convocations/{appointment.id}/sms/{reminder.id}/renvoyer", data={"csrf": token}
    )
    assert done.status_code == 303
    assert done.headers["location"] == f"/convocations/{appointment.id}?fait=renvoye"
    again = [n for n in await _messages(session, appointment.id) if n.rule == "renvoi"]
    assert len(again) == 1 and again[0].status == "planned"
    text = _text((await web.get(done.headers["location"])).text)
    assert "SMS renvoyé" in text and "renvoi" in text
    # A planned message is not resendable: no button, and the API's refusal in French.
    planned = again[0]
    assert f"/sms/{planned.id}/renvoyer" not in (await web.get(done.headers["location"])).text
    refused = await web.post(
        f"/convocations/{appointment.id}/sms/{planned.id}/renvoyer", data={"csrf": token}
    )
    assert refused.status_code == 409 and "fr-alert--error" in refused.text
    assert "Seul un message en échec, non envoyé ou non distribué" in _text(refused.text)


async def test_another_spips_convocation_is_introuvable(
    web: httpx.AsyncClient, session: AsyncSession
) -> None:
    mine, agent, _ = await _book(session)
    elsewhere, _, _ = await _book(session)
    await log_in(web, agent.email)
    token, _ = await _token(web, mine.id)
    page = await web.get(f"/convocations/{elsewhere.id}")
    assert page.status_code == 404 and "Convocation introuvable." in page.text
    for action in ("annuler", "reporter"):
        answer = await web.post(
            f"/convocations/{elsewhere.id}/{action}", data={"csrf": token, "etape": "annuler"}
        )
        assert answer.status_code == 404 and "introuvable" in answer.text
    assert (await _fresh(session, elsewhere.id)).status == "booked"
    assert (await web.get("/convocations/999999")).status_code == 404


async def test_forms_without_their_csrf_token_are_refused(
    web: httpx.AsyncClient, session: AsyncSession
) -> None:
    appointment, agent, _ = await _book(session)
    await log_in(web, agent.email)
    for action, data in (
        ("annuler", {"etape": "annuler"}),
        ("reporter", {"date": "2027-01-22", "heure": "10:00"}),
    ):
        answer = await web.post(f"/convocations/{appointment.id}/{action}", data=data)
        assert answer.status_code == 403 and "Formulaire refusé" in answer.text
    assert (await _fresh(session, appointment.id)).status == "booked"


async def test_once_started_the_outcome_goes_through_the_home_pages_action_and_back(
    web: httpx.AsyncClient, session: AsyncSession, clock: FrozenClock
) -> None:
    appointment, agent, _ = await _book(session)
    appointment_id = appointment.id
    await log_in(web, agent.email)
    token, page = await _token(web, appointment_id)
    assert f'action="/convocations/{appointment_id}/issue"' not in page  # not started yet
    assert "L'issue pourra être saisie après le début" in _text(page)
    clock.set(datetime(2027, 1, 20, 12, 5, tzinfo=UTC))  # 9h05 in Cayenne
    token, page = await _token(web, appointment_id)
    assert f'action="/convocations/{appointment_id}/issue"' in page
    assert f'name="retour" value="/convocations/{appointment_id}?fait=issue"' in page
    assert "Annuler la convocation" not in page and "Reporter la convocation" not in page
    done = await web.post(
        f"/convocations/{appointment_id}/issue",
        data={"csrf": token, "issue": "missed", "sms": "oui", "retour": f"/convocations/"
              f"{appointment_id}?fait=issue"},
    )  # fmt: skip
    assert done.status_code == 303
    text = _text((await web.get(done.headers["location"])).text)
    assert "Issue enregistrée : Non honorée" in text
    assert "Avis « non honorée » (absence constatée)" in text  # the missed SMS, planned
    assert (await _fresh(session, appointment_id)).status == "missed"
    # Recorded by mistake: withdrawn through the same action, and said so.
    token, page = await _token(web, appointment_id)
    assert 'value="booked"' in page and "Retirer l'issue" in _text(page)
    back = await web.post(
        f"/convocations/{appointment_id}/issue",
        data={
            "csrf": token,
            "issue": "booked",
            "retour": f"/convocations/{appointment_id}?fait=issue",
        },
    )
    assert "Issue retirée" in _text((await web.get(back.headers["location"])).text)
    assert (await _fresh(session, appointment_id)).status == "booked"


async def test_with_htmx_a_failed_form_answers_the_page_and_a_success_reloads_it(
    web: httpx.AsyncClient, session: AsyncSession
) -> None:
    appointment, agent, _ = await _book(session)
    appointment_id, place_id = appointment.id, appointment.place_id
    await log_in(web, agent.email)
    token, _ = await _token(web, appointment_id)
    hx = {"HX-Request": "true", "X-CSRF-Token": token}
    url = f"/convocations/{appointment_id}/reporter"
    failed = await web.post(url, data={"lieu": str(place_id), "date": "x"}, headers=hx)
    assert failed.status_code == 200 and 'id="fiche"' in failed.text
    assert "Saisissez la date au format jj/mm/aaaa." in failed.text
    asked = await web.post(
        f"/convocations/{appointment_id}/annuler", data={"prevenir": "oui"}, headers=hx
    )
    assert asked.status_code == 200 and "Confirmer l'annulation ?" in _text(asked.text)
    form = {"lieu": str(place_id), "date": "2027-01-25", "heure": "10:00"}
    done = await web.post(url, data=form, headers=hx)
    assert done.status_code == 204
    assert re.fullmatch(r"/convocations/\d+\?fait=deplacee", done.headers["hx-redirect"])


async def test_a_number_refused_by_a_provider_is_to_be_checked(
    web: httpx.AsyncClient, session: AsyncSession
) -> None:
    appointment, agent, person = await _book(session)
    person.phone_problem, person.phone_problem_at = "http:invalid_destination", FIXED_NOW
    await session.commit()
    await log_in(web, agent.email)
    _, page = await _token(web, appointment.id)
    assert (
        "Numéro à vérifier : un SMS vers ce numéro a été refusé définitivement le vendredi "
        "15 janvier 2027." in _text(page)
    )
    assert "invalid_destination" not in page  # the provider's code is not the agent's business


async def test_a_path_that_is_not_an_id_is_left_to_other_pages(
    web: httpx.AsyncClient, session: AsyncSession
) -> None:
    """``/convocations/impression`` (another page's) never reaches this one, whatever the order
    of the routers: the path's convertor only matches digits."""
    _, agent, _ = await _book(session)
    await log_in(web, agent.email)
    from app.web.pages import appointment as page

    paths = [getattr(r, "path", "") for r in page.router.routes]
    assert paths and all("{appointment_id:int}" in p for p in paths), paths
    answer = await web.get("/convocations/impression")
    assert answer.status_code in (200, 404) and "Convocation introuvable" not in answer.text


async def test_delivery_receipts_and_the_text_as_sent_are_in_words(
    web: httpx.AsyncClient, session: AsyncSession
) -> None:
    appointment, agent, _ = await _book(session)
    reminder = next(n for n in await _messages(session, appointment.id) if n.kind == "reminder")
    sent_at = FIXED_NOW - timedelta(minutes=30)
    reminder.status, reminder.sent_at, reminder.body = "undelivered", sent_at, "Texte tel qu'envoyé"
    reminder.segments, reminder.encoding, reminder.provider = 1, "gsm7", "http"
    reminder.reason = "network_expired"
    for n, status in enumerate(("sent", "undelivered")):
        session.add(
            NotificationPart(
                notification_id=reminder.id,
                provider="http",
                provider_message_id=f"m-{reminder.id}-{n}",
                status=status,
                status_at=sent_at + timedelta(minutes=n),
                updated_at=sent_at,
            )
        )
    await session.commit()
    await log_in(web, agent.email)
    _, page = await _token(web, appointment.id)
    row = _text(page.split(f'id="sms-{reminder.id}"')[1].split("</tr>")[0])
    assert "Non délivré" in row and "Texte envoyé : Texte tel qu'envoyé" in row
    assert "1 SMS (GSM-7)" in row
    assert "Accusé : accepté par l'opérateur" in row and "Accusé : non distribué" in row
    assert "vendredi 15 janvier 2027 à 6h30" in row  # sent 9:30 UTC, read in Cayenne
    assert "le réseau a abandonné la distribution" in row
    assert f"/sms/{reminder.id}/renvoyer" in page  # undelivered: the API resends it


def _history(text: str) -> str:
    """The « Historique » section of a page (fails when the page has none)."""
    found = re.search(r'<section class="fr-accordion[^>]*>.*?Historique.*?</section>', text, re.S)
    assert found, "no « Historique » section"
    return found.group(0)


async def test_the_history_shows_a_cancel_and_a_reschedule_by_their_agent(
    web: httpx.AsyncClient, session: AsyncSession
) -> None:
    """The convocation page's « Historique »: the changes made through its forms, by whom,
    the fields in French, in the SPIP's time."""
    appointment, agent, _ = await _book(session)
    await log_in(web, agent.email)
    token, page = await _token(web, appointment.id)
    assert "Historique (0)" in _history(page) and "Aucun événement enregistré." in page
    form = {
        "csrf": token,
        "lieu": str(appointment.place_id),
        "date": "2027-01-22",
        "heure": "14:30",
        "prevenir": "oui",
    }
    done = await web.post(f"/convocations/{appointment.id}/reporter", data=form)
    assert done.status_code == 303, done.text
    new_id = int(done.headers["location"].split("/")[-1].split("?")[0])
    old = _history((await web.get(f"/convocations/{appointment.id}")).text)
    assert "Historique (1)" in old and "<td>Léa CPIP</td>" in old
    assert "<td>Modification</td>" in old and "Statut" in old and "Motif d&#39;annulation" in old
    assert "vendredi 15 janvier 2027 à 7h00" in old  # FIXED_NOW in Cayenne
    new = _history((await web.get(f"/convocations/{new_id}")).text)
    assert "<td>Création</td>" in new and "Date et heure" in new and "Convocation déplacée" in new

    token, _ = await _token(web, new_id)
    cancelled = await web.post(
        f"/convocations/{new_id}/annuler", data={"csrf": token, "etape": "annuler"}
    )
    assert cancelled.status_code == 303
    again = _history((await web.get(f"/convocations/{new_id}")).text)
    assert "Historique (2)" in again
    rows = again.split("<tbody>")[1].split("</tr>")
    assert "<td>Modification</td>" in rows[0] and "Date d&#39;annulation" in rows[0]
    assert "<td>Création</td>" in rows[1]
