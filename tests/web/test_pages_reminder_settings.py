"""Règles de rappel and Modèles de SMS, in process: the policy is saved as the API stores it, a
wrong rule comes back in French with the form kept, the example is the planner's and moves with
the rules; a template with an unknown placeholder is refused (text kept), a valid one saved, the
preview gives parts, encoding and the characters forcing UCS-2 with their replacement, « Revenir
au modèle hérité »; national templates for national administrators only; a manager reads both
pages without a form (and may not post); the API's roles and scope; CSRF."""

from __future__ import annotations

import html
import re
from datetime import timedelta
from typing import Any

import httpx
import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from app.auth.passwords import hash_now
from app.models import AuditEvent, MessageTemplate, NotificationKind, ReminderPolicy, Role, Spip
from app.reminders import policies, templates
from app.reminders import service as reminder_service
from app.reminders.schemas import DaysBeforeRule, ReminderPolicyBody
from app.web.reminder_settings import next_monday
from app.web.templating import french_date
from tests.conftest import FIXED_NOW
from tests.factories import make_agent, make_appointment, make_person, make_place, make_spip
from tests.web.test_pages import CSRF, PASSWORD, log_in
from tests.web.test_pages import web as web

POLICY = "/administration/rappels"
REMINDER = "/administration/modeles/reminder"


async def _admin(
    session: AsyncSession, role: Role = Role.local_admin, *, gsm7_friendly: bool = True
) -> tuple[Spip, str]:
    spip = await make_spip(
        session, timezone="America/Cayenne", phone_region="GF", name="SPIP de la Guyane"
    )
    await make_place(session, spip, name="Antenne de Cayenne", phone="0594 12 34 56")
    agent = await make_agent(session, spip, role=role.value, password_hash=hash_now(PASSWORD))
    if not gsm7_friendly:
        await policies.save_policy(session, spip=spip, body=ReminderPolicyBody(gsm7_friendly=False))
    await session.commit()
    return spip, agent.email


async def _token(web: httpx.AsyncClient, path: str) -> str:
    page = await web.get(path)
    assert page.status_code == 200, page.text
    found = CSRF.search(page.text)
    assert found
    return found.group(1)


def _policy_form(token: str, **over: str) -> dict[str, str]:
    return {
        "csrf": token,
        "regle-0-mode": "jours",
        "regle-0-jours": "2",
        "regle-0-heure": "10:00",
        "regle-1-mode": "heures",
        "regle-1-heures": "3",
        "regle-2-mode": "aucun",
        "fenetre_debut": "08:00",
        "fenetre_fin": "20:00",
        "tolere_debut": "07:00",
        "tolere_fin": "22:00",
        "delai": "60",
        "max_sms": "4",
        "gsm7": "oui",
        "emetteur": "SPIP973",
        "exemple_date": "2027-03-29",
        "exemple_heure": "09:00",
        "action": "enregistrer",
    } | over


def _text(page: httpx.Response) -> str:
    return " ".join(html.unescape(re.sub(r"<[^>]+>", " ", page.text)).split())


# --- Règles de rappel ------------------------------------------------------------------------


async def test_policy_is_saved_as_the_api_stores_it(
    web: httpx.AsyncClient, session: AsyncSession
) -> None:
    spip, email = await _admin(session)
    await log_in(web, email)
    first = await web.get(POLICY)
    assert "Le SPIP suit les règles par défaut de Convoc" in first.text
    token = CSRF.search(first.text).group(1)  # type: ignore[union-attr]
    form = _policy_form(token, **{"type-tig-mode": "aucun"})
    answer = await web.post(POLICY, data=form)
    assert answer.status_code == 303, answer.text
    assert answer.headers["location"] == f"{POLICY}?ok=enregistre&replanifies=0"
    stored = await policies.get_policy(session, spip.id)
    assert not stored.is_default
    assert stored.body.rules == [
        DaysBeforeRule(days_before=2, at="10:00"),
        ReminderPolicyBody.model_validate({"rules": [{"hours_before": 3}]}).rules[0],
    ]
    assert stored.body.type_rules == {"tig": []}
    assert stored.body.sender == "SPIP973" and stored.body.gsm7_friendly
    # The audit trail has the change, for this agent, as for the API's PUT.
    events = list(
        await session.scalars(select(AuditEvent).where(AuditEvent.entity == "reminder_policy"))
    )
    assert events and events[-1].spip_id == spip.id
    page = await web.get(answer.headers["location"])
    assert "Les règles de rappel sont enregistrées" in page.text
    assert "Aucun rappel déjà prévu n'a changé" in page.text
    assert "Le SPIP suit les règles par défaut de Convoc" not in page.text
    assert 'value="SPIP973"' in page.text and 'value="3"' in page.text


async def test_saving_says_how_many_planned_reminders_moved(
    web: httpx.AsyncClient, session: AsyncSession
) -> None:
    """The default's one reminder (J-2 10:00) stays, an H-3 one is added: one row re-planned,
    and the page says so after saving."""
    spip, email = await _admin(session)
    place = await make_place(session, spip, timezone=spip.timezone)
    person = await make_person(session, spip)
    appointment = await make_appointment(
        session, person, place, starts_at=FIXED_NOW + timedelta(days=20)
    )
    await reminder_service.on_booked(session, appointment=appointment, send_summons=False)
    await session.commit()
    await log_in(web, email)
    answer = await web.post(POLICY, data=_policy_form(await _token(web, POLICY)))
    assert answer.status_code == 303, answer.text
    assert answer.headers["location"] == f"{POLICY}?ok=enregistre&replanifies=1"
    page = _text(await web.get(answer.headers["location"]))
    assert "1 rappel non encore envoyé a été replanifié (annulé ou ajouté)" in page


async def test_a_wrong_rule_comes_back_in_french_with_the_form_kept(
    web: httpx.AsyncClient, session: AsyncSession
) -> None:
    spip, email = await _admin(session)
    await log_in(web, email)
    token = await _token(web, POLICY)
    form = _policy_form(
        token, **{"regle-0-jours": "45", "regle-1-heures": "trois", "fenetre_fin": "07:00"}
    )
    answer = await web.post(POLICY, data=form)
    assert answer.status_code == 422
    text = _text(answer)
    assert "Le formulaire contient 3 erreurs" in text
    assert "Rappel 1 : jours avant : Saisissez un nombre inférieur ou égal à 30." in text
    assert "Rappel 2 : heures : Saisissez un nombre." in text
    assert "La fenêtre d'envoi doit commencer avant de finir" in text
    assert 'value="45"' in answer.text and 'value="trois"' in answer.text
    assert 'aria-invalid="true"' in answer.text
    assert await session.scalar(select(ReminderPolicy.id)) is None  # nothing saved
    assert spip.id


async def test_the_example_is_the_planners_in_cayenne_time_and_moves_with_the_rules(
    web: httpx.AsyncClient, session: AsyncSession
) -> None:
    _, email = await _admin(session)
    await log_in(web, email)
    page = await web.get(POLICY)
    monday = next_monday(FIXED_NOW, "America/Cayenne")
    assert monday.weekday() == 0 and f'value="{monday.isoformat()}"' in page.text
    token = CSRF.search(page.text).group(1)  # type: ignore[union-attr]
    shown = await web.post(POLICY, data=_policy_form(token, action="exemple"))
    assert shown.status_code == 200
    text = _text(shown)
    assert "Pour une convocation le lundi 29 mars 2027 à 9h00 (heure de Cayenne)" in text
    assert "le samedi 27 mars 2027 à 10h00 (heure de Cayenne)" in text  # J-2 10:00
    assert "le lundi 29 mars 2027 à 6h00 (heure de Cayenne)" not in text  # H-3 outside 8–20
    assert "le dimanche 28 mars 2027 à 20h00 (heure de Cayenne)" in text  # moved to the window
    # Three days before instead of two: the example moves, nothing is saved.
    moved = await web.post(
        POLICY,
        data=_policy_form(token, action="apercu", **{"regle-0-jours": "3"}),
        headers={"HX-Request": "true"},
    )
    assert moved.status_code == 200
    assert moved.text.lstrip().startswith('<div id="exemple"')
    assert "le vendredi 26 mars 2027 à 10h00 (heure de Cayenne)" in _text(moved)
    assert await session.scalar(select(ReminderPolicy.id)) is None


async def test_a_type_with_its_own_rules_is_saved_and_its_errors_named(
    web: httpx.AsyncClient, session: AsyncSession
) -> None:
    spip, email = await _admin(session)
    await log_in(web, email)
    token = await _token(web, POLICY)
    own = {"type-tig-mode": "propres", "type-tig-0-mode": "heures", "type-tig-0-heures": "0"}
    answer = await web.post(POLICY, data=_policy_form(token, **own))
    assert answer.status_code == 422
    assert (
        "Travail d'intérêt général (TIG), rappel 1 : heures : Saisissez un nombre supérieur à 0."
        in _text(answer)
    )
    assert 'aria-controls="type-tig-propres"' in answer.text
    assert 'aria-expanded="true" aria-controls="type-tig-propres"' in answer.text
    empty = await web.post(POLICY, data=_policy_form(token, **{"type-tig-mode": "propres"}))
    assert empty.status_code == 422 and "Indiquez au moins un rappel propre" in empty.text
    own["type-tig-0-heures"] = "4,5"
    assert (await web.post(POLICY, data=_policy_form(token, **own))).status_code == 303
    stored = await policies.get_policy(session, spip.id)
    assert stored.body.model_dump()["type_rules"] == {"tig": [{"hours_before": 4.5}]}


async def test_a_cap_that_a_wording_in_force_exceeds_is_refused_on_its_field(
    web: httpx.AsyncClient, session: AsyncSession
) -> None:
    _, email = await _admin(session)
    await log_in(web, email)
    token = await _token(web, POLICY)
    answer = await web.post(POLICY, data=_policy_form(token, max_sms="1"))
    assert answer.status_code == 422
    assert "Nombre maximal de SMS par message : Avec cette politique" in _text(answer)


# --- Modèles de SMS --------------------------------------------------------------------------


async def test_the_list_says_where_each_wording_comes_from(
    web: httpx.AsyncClient, session: AsyncSession
) -> None:
    spip, email = await _admin(session)
    session.add(
        MessageTemplate(scope_key="*:*:summons", kind="summons", body="National {rdv.date}")
    )
    await session.commit()
    await log_in(web, email)
    page = await web.get("/administration/modeles")
    assert page.status_code == 200
    text = _text(page)
    assert "Convocation Modifier le modèle Convocation du SPIP modèle national" in text
    assert "Rappel Modifier le modèle Rappel du SPIP modèle par défaut de Convoc" in text
    assert f"{REMINDER}?type=tig" in page.text
    assert spip.id


async def test_an_unknown_placeholder_is_refused_in_french_and_the_text_kept(
    web: httpx.AsyncClient, session: AsyncSession
) -> None:
    _, email = await _admin(session)
    await log_in(web, email)
    token = await _token(web, REMINDER)
    typed = "Rappel {rdv.date} à {rdv.heure}, {personne.nom}"
    answer = await web.post(REMINDER, data={"csrf": token, "texte": typed})
    assert answer.status_code == 422
    assert "Variable(s) inconnue(s) : {personne.nom}" in _text(answer)
    assert f">{html.escape(typed, quote=False)}</textarea>" in answer.text
    assert await session.scalar(select(MessageTemplate.id)) is None


async def test_a_valid_wording_is_saved_then_reverted_to_the_inherited_one(
    web: httpx.AsyncClient, session: AsyncSession
) -> None:
    spip, email = await _admin(session)
    await log_in(web, email)
    token = await _token(web, f"{REMINDER}?type=tig")
    typed = "TIG : rappel le {rdv.date} à {rdv.heure}, {lieu.nom}."
    answer = await web.post(f"{REMINDER}?type=tig", data={"csrf": token, "texte": typed})
    assert answer.status_code == 303, answer.text
    assert answer.headers["location"] == f"{REMINDER}?type=tig&ok=enregistre"
    row = await session.scalar(select(MessageTemplate))
    assert row is not None and row.body == typed and row.scope_key == f"{spip.id}:tig:reminder"
    page = await web.get(answer.headers["location"])
    text = _text(page)
    assert "Le modèle est enregistré." in text
    assert "En vigueur : modèle du SPIP pour ce type de convocation" in text
    assert "Sans ce modèle, le SMS prendrait le modèle par défaut de Convoc" in text
    assert "Revenir au modèle hérité" in text
    asked = await web.post(f"{REMINDER}?type=tig", data={"csrf": token, "action": "revenir"})
    assert asked.status_code == 200 and "Revenir au modèle hérité ?" in asked.text
    assert await session.scalar(select(MessageTemplate.id)) is not None  # not yet
    reverted = await web.post(f"{REMINDER}?type=tig", data={"csrf": token, "action": "retablir"})
    assert reverted.status_code == 303
    session.expire_all()
    assert await session.scalar(select(MessageTemplate.id)) is None
    page = await web.get(reverted.headers["location"])
    assert "Le modèle hérité est rétabli." in page.text
    assert "Revenir au modèle hérité" not in page.text


async def test_preview_counts_parts_and_shows_what_forces_ucs2_with_its_replacement(
    web: httpx.AsyncClient, session: AsyncSession
) -> None:
    _, email = await _admin(session, gsm7_friendly=False)
    await log_in(web, email)
    token = await _token(web, REMINDER)
    typed = "Rappel : votre rendez-vous le {rdv.date} à {rdv.heure}, {lieu.nom} — sœur…"
    answer = await web.post(
        REMINDER,
        data={"csrf": token, "texte": typed, "action": "apercu"},
        headers={"HX-Request": "true"},
    )
    assert answer.status_code == 200
    assert answer.text.lstrip().startswith('<div id="apercu"')
    text = _text(answer)
    assert "lundi 29 mars 2027 à 9h00, Antenne de Cayenne" in text  # the renderer's text
    assert "UCS-2 2 SMS" in text
    assert "<mark>œ</mark>" in answer.text and "<mark>…</mark>" in answer.text
    assert "« œ » → remplacez par « oe »" in text
    assert "« … » → remplacez par « ... »" in text
    assert "« — » → remplacez par « - »" in text
    # Replaced, the same text is GSM-7 and one SMS.
    plain = typed.replace("—", "-").replace("œ", "oe").replace("…", "...")
    answer = await web.post(
        REMINDER, data={"csrf": token, "texte": plain, "action": "previsualiser"}
    )
    assert answer.status_code == 200
    assert "GSM-7 1 SMS" in _text(answer) and "<mark>" not in answer.text


# --- National templates ------------------------------------------------------------------------


async def test_national_templates_are_for_national_administrators_only(
    web: httpx.AsyncClient, session: AsyncSession
) -> None:
    _, email = await _admin(session)
    national = await make_agent(session, None, password_hash=hash_now(PASSWORD))
    await session.commit()
    await log_in(web, email)
    assert (await web.get("/administration/modeles-nationaux/reminder")).status_code == 403
    token = await _token(web, POLICY)
    refused = await web.post(
        "/administration/modeles-nationaux/reminder", data={"csrf": token, "texte": "Rappel"}
    )
    assert refused.status_code == 403 and "Action impossible" in refused.text
    web.cookies.clear()
    await log_in(web, national.email)
    assert (await web.get("/administration/modeles-nationaux")).status_code == 200
    path = "/administration/modeles-nationaux/reminder"
    token = await _token(web, path)
    bad = await web.post(path, data={"csrf": token, "texte": "Rappel {nom}"})
    assert bad.status_code == 422 and "Variable(s) inconnue(s) : {nom}" in _text(bad)
    saved = await web.post(path, data={"csrf": token, "texte": "Rappel national {rdv.date}"})
    assert saved.status_code == 303
    row = await session.scalar(select(MessageTemplate))
    assert row is not None and row.scope_key == "*:*:reminder" and row.spip_id is None
    asked = await web.post(path, data={"csrf": token, "action": "revenir"})
    assert "Revenir au modèle hérité ?" in asked.text and "modèle par défaut" in asked.text
    done = await web.post(path, data={"csrf": token, "action": "retablir"})
    assert done.headers["location"] == f"{path}?ok=retabli"
    session.expire_all()
    assert await session.scalar(select(MessageTemplate.id)) is None


# --- Access --------------------------------------------------------------------------------------


@pytest.mark.parametrize("role", [Role.cpip, Role.secretariat])
async def test_other_roles_get_the_french_403_page(
    web: httpx.AsyncClient, session: AsyncSession, role: Role
) -> None:
    _, email = await _admin(session, role)
    await log_in(web, email)
    for path in (POLICY, "/administration/modeles", REMINDER):
        page = await web.get(path)
        assert page.status_code == 403, path
        assert "Action impossible" in page.text
    home = await web.get("/")
    assert 'href="/administration/rappels"' not in home.text  # not in their menu
    token = CSRF.search(home.text).group(1)  # type: ignore[union-attr]
    for path, data in ((POLICY, _policy_form(token)), (REMINDER, {"csrf": token, "texte": "x"})):
        assert (await web.post(path, data=data)).status_code == 403, path
    assert await session.scalar(select(ReminderPolicy.id)) is None


# --- Read only: the service's managers ----------------------------------------------------------

READ_ONLY = "Vous consultez ces règles. Seul un administrateur du SPIP peut les modifier."


def _main(page: httpx.Response) -> str:
    """The page's content, without the header (its « Se déconnecter » form)."""
    return page.text.split('<main id="contenu"', 1)[1].split("</main>", 1)[0]


def _no_editing(page: httpx.Response) -> None:
    main = _main(page)
    for tag in ("<form", "<input", "<textarea", "<select", '<button type="submit"'):
        assert tag not in main, tag
    assert "Enregistrer" not in main and "Revenir au modèle hérité" not in main


async def test_a_manager_reads_the_rules_in_force_without_a_form(
    web: httpx.AsyncClient, session: AsyncSession
) -> None:
    """A DPIP sees what their service's reminders are and when they go (the planner's example),
    as text; the menu leads there; saving stays the administrators'."""
    spip, email = await _admin(session, Role.manager)
    body = ReminderPolicyBody.model_validate(
        {
            "rules": [{"days_before": 2, "at": "10:00"}, {"hours_before": 3}],
            "type_rules": {"tig": [{"hours_before": 4.5}]},
            "sender": "SPIP973",
            "min_lead_minutes": 90,
        }
    )
    await policies.save_policy(session, spip=spip, body=body)
    await session.commit()
    await log_in(web, email)
    page = await web.get(POLICY)
    assert page.status_code == 200, page.text
    text = _text(page)
    assert READ_ONLY in text
    assert "Rappel 1 : 2 jours avant, à 10h00 Rappel 2 : 3 heures avant" in text
    assert "Travail d'intérêt général (TIG) Rappels propres : 4,5 heures avant" in text
    assert "Fenêtre d'envoi de 8h00 à 20h00 Plage tolérée de 7h00 à 22h00" in text
    assert "Délai minimal avant la convocation 90 minutes" in text
    assert "Émetteur des SMS SPIP973" in text
    monday = french_date(next_monday(FIXED_NOW, "America/Cayenne"))
    assert f"Pour une convocation le {monday} à 9h00 (heure de Cayenne)" in text
    assert "avec les règles en vigueur" in text
    _no_editing(page)
    # The menu offers the two pages (no « Administration », which a manager may not open).
    assert 'href="/administration/rappels" aria-current="page">Règles de rappel' in page.text
    assert 'href="/administration/modeles">Modèles de SMS' in page.text
    assert 'href="/administration"' not in page.text
    # Saving is still refused, and nothing changes.
    token = CSRF.search(page.text).group(1)  # type: ignore[union-attr]
    refused = await web.post(POLICY, data=_policy_form(token, **{"regle-0-jours": "5"}))
    assert refused.status_code == 403 and "Action impossible" in refused.text
    spip_id = spip.id
    session.expire_all()
    stored = await policies.get_policy(session, spip_id)
    assert stored.body == body


async def test_a_manager_reads_the_templates_with_their_preview_without_an_editor(
    web: httpx.AsyncClient, session: AsyncSession
) -> None:
    spip, email = await _admin(session, Role.manager, gsm7_friendly=False)
    wording = "TIG : rappel le {rdv.date} à {rdv.heure}, {lieu.nom} — sœur"
    await templates.save_template(
        session,
        scope=templates.SpipScope(spip, "tig"),
        kind=NotificationKind.reminder,
        body=wording,
    )
    await session.commit()
    await log_in(web, email)
    listing = await web.get("/administration/modeles")
    assert listing.status_code == 200
    text = _text(listing)
    assert "Vous consultez ces modèles. Seul un administrateur du SPIP peut les modifier." in text
    assert "Rappel Consulter le modèle Rappel du SPIP modèle par défaut de Convoc" in text
    assert "Modifier" not in _main(listing)
    _no_editing(listing)
    page = await web.get(f"{REMINDER}?type=tig")
    assert page.status_code == 200, page.text
    text = _text(page)
    assert "Vous consultez ce modèle. Seul un administrateur du SPIP peut le modifier." in text
    assert "En vigueur : modèle du SPIP pour ce type de convocation" in text
    assert "Sans ce modèle, le SMS prendrait le modèle par défaut de Convoc" in text
    assert html.escape(wording, quote=False) in page.text
    assert "lundi 29 mars 2027 à 9h00, Antenne de Cayenne" in text  # the renderer's text
    assert "UCS-2" in text and "<mark>œ</mark>" in page.text
    assert "« œ » → équivalent en GSM-7 : « oe »" in text
    _no_editing(page)
    inherited = _text(await web.get(REMINDER))
    assert "Le SPIP n'a pas de modèle propre : ce SMS utilise le modèle par défaut" in inherited
    token = CSRF.search(page.text).group(1)  # type: ignore[union-attr]
    for action in ("enregistrer", "revenir", "retablir", "apercu"):
        data = {"csrf": token, "texte": "Rappel {rdv.date}", "action": action}
        refused = await web.post(f"{REMINDER}?type=tig", data=data)
        assert refused.status_code == 403, action
    session.expire_all()
    row = await session.scalar(select(MessageTemplate))
    assert row is not None and row.body == wording


async def test_an_administrator_keeps_the_editors(
    web: httpx.AsyncClient, session: AsyncSession
) -> None:
    _, email = await _admin(session)
    await log_in(web, email)
    for path in (POLICY, "/administration/modeles", REMINDER):
        page = await web.get(path)
        assert page.status_code == 200, path
        assert "Vous consultez" not in page.text, path
    assert '<form method="post" action="/administration/rappels"' in _main(await web.get(POLICY))
    assert '<textarea class="fr-input" id="texte"' in _main(await web.get(REMINDER))
    assert "Modifier<span" in (await web.get("/administration/modeles")).text


async def test_another_spip_is_introuvable(web: httpx.AsyncClient, session: AsyncSession) -> None:
    _, email = await _admin(session)
    other = await make_spip(session)
    await session.commit()
    await log_in(web, email)
    for path in (f"{POLICY}?spip={other.id}", f"{REMINDER}?spip={other.id}"):
        page = await web.get(path)
        assert page.status_code == 404, path
        assert "Page introuvable" in page.text


async def test_a_national_administrator_picks_the_spip(
    web: httpx.AsyncClient, session: AsyncSession
) -> None:
    spip, _ = await _admin(session)
    national = await make_agent(session, None, password_hash=hash_now(PASSWORD))
    await session.commit()
    await log_in(web, national.email)
    for path in (POLICY, "/administration/modeles"):
        choice = await web.get(path)  # which SPIP?
        assert choice.status_code == 200 and f'href="{path}?spip={spip.id}"' in choice.text
    assert (await web.get(REMINDER)).status_code == 404
    page = await web.get(f"{POLICY}?spip={spip.id}")
    assert page.status_code == 200 and "SPIP de la Guyane" in page.text
    token = CSRF.search(page.text).group(1)  # type: ignore[union-attr]
    answer = await web.post(f"{POLICY}?spip={spip.id}", data=_policy_form(token))
    assert answer.headers["location"] == f"{POLICY}?spip={spip.id}&ok=enregistre&replanifies=0"


async def test_forms_without_the_csrf_token_are_refused(
    web: httpx.AsyncClient, session: AsyncSession
) -> None:
    _, email = await _admin(session)
    await log_in(web, email)
    data: dict[str, Any] = _policy_form("0" * 64)
    assert (await web.post(POLICY, data=data)).status_code == 403
    answer = await web.post(REMINDER, data={"texte": "Rappel {rdv.date}"})
    assert answer.status_code == 403
    assert await session.scalar(select(MessageTemplate.id)) is None
    assert await session.scalar(select(ReminderPolicy.id)) is None


async def test_avoiding_sundays_and_holidays_moves_the_example_and_is_saved(
    web: httpx.AsyncClient, session: AsyncSession
) -> None:
    """Friday 11 June 2027 in Guyane: its J-1 reminder falls on 10 June, a local holiday."""
    spip, email = await _admin(session)
    spip.holiday_territory = "973"
    await session.commit()
    await log_in(web, email)
    token = await _token(web, POLICY)
    one_rule = {
        "regle-0-jours": "1",
        "regle-1-mode": "aucun",
        "exemple_date": "2027-06-11",
        "action": "exemple",
    }
    plain = _text(await web.post(POLICY, data=_policy_form(token, **one_rule)))
    assert "le jeudi 10 juin 2027 à 10h00 (heure de Cayenne)" in plain
    avoiding = _text(
        await web.post(POLICY, data=_policy_form(token, **one_rule, jours_fermes="oui"))
    )
    assert "le mercredi 9 juin 2027 à 10h00 (heure de Cayenne)" in avoiding
    assert "le jeudi 10 juin 2027" not in avoiding
    saved = await web.post(
        POLICY,
        data=_policy_form(token, **(one_rule | {"action": "enregistrer"}), jours_fermes="oui"),
    )
    assert saved.status_code == 303, saved.text
    assert (await policies.get_policy(session, spip.id)).body.avoid_closed_days
    page = await web.get(POLICY)
    assert re.search(r'id="jours_fermes"[^>]*checked', page.text)
