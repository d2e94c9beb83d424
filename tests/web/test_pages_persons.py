"""Personnes, in process: the search is a POST read by the API's search (names, a mobile in
any form, a birth date), a person's page shows the number in national form and its status,
another SPIP's person is « introuvable », every action needs its CSRF token, goes through the
persons service and leaves its audit rows, and the creation warns of likely duplicates."""

from __future__ import annotations

import re
from datetime import date, timedelta

import httpx
import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from app.audit.service import ACCESS_DENIED
from app.auth.passwords import hash_now
from app.models import Agent, AuditEvent, Person, Spip
from app.persons import service as person_service
from tests.conftest import FIXED_NOW
from tests.factories import make_agent, make_appointment, make_person, make_place, make_spip
from tests.web.test_pages import CSRF, PASSWORD, log_in
from tests.web.test_pages import web as web

BIRTH = date(1985, 3, 12)


async def _setup(session: AsyncSession, role: str = "cpip") -> tuple[Spip, Agent, Person]:
    spip = await make_spip(session, timezone="America/Cayenne", phone_region="GF")
    agent = await make_agent(session, spip, role=role, password_hash=hash_now(PASSWORD))
    person = await make_person(
        session,
        spip,
        first_name="Inès",
        last_name="Lefèvre",
        birth_date=BIRTH,
        phone="+594694123456",
        referent_agent_id=agent.id,
    )
    await session.commit()
    return spip, agent, person


async def _token(web: httpx.AsyncClient, path: str = "/personnes") -> str:
    page = await web.get(path)
    assert page.status_code == 200, page.text
    token = CSRF.search(page.text)
    assert token
    return token.group(1)


async def _search(web: httpx.AsyncClient, q: str, **more: str) -> httpx.Response:
    return await web.post("/personnes", data={"csrf": await _token(web), "q": q, **more})


async def _audit(session: AsyncSession, person_id: int) -> list[AuditEvent]:
    stmt = select(AuditEvent).where(
        AuditEvent.entity == "person", AuditEvent.entity_id == person_id
    )
    return list((await session.scalars(stmt.order_by(AuditEvent.id))).all())


async def test_the_search_finds_by_name_phone_in_any_form_and_birth_date(
    web: httpx.AsyncClient, session: AsyncSession
) -> None:
    spip, agent, person = await _setup(session)
    await make_person(session, spip, first_name="Paul", last_name="Martin", phone="+594694999999")
    await session.commit()
    await log_in(web, agent.email)
    for typed in (
        "lefevre",
        "LEFÈVRE ines",
        "0694 12 34 56",
        "+594 694 12 34 56",
        "34 56",
        "12/03/1985",
        "1985-03-12",
    ):
        answer = await _search(web, typed)
        assert answer.status_code == 200, (typed, answer.text)
        assert f'href="/personnes/{person.id}"' in answer.text, typed
        assert "Martin" not in answer.text, typed
        assert "0694 12 34 56" in answer.text  # national form of the territory
        assert "+594694123456" not in answer.text


async def test_the_search_is_a_post_and_a_query_in_the_url_is_ignored(
    web: httpx.AsyncClient, session: AsyncSession
) -> None:
    spip, agent, person = await _setup(session)
    other = await make_person(session, spip, first_name="Paul", last_name="Martin")
    await session.commit()
    await log_in(web, agent.email)
    page = await web.get("/personnes", params={"q": "lefevre", "mes": ""})
    assert re.search(r'<form method="post" action="/personnes" id="recherche-form"', page.text)
    # GET is the list of the service (the CPIP's own, by default): no search from the URL.
    assert 'id="mes" name="mes" value="oui" checked' in page.text
    assert f'href="/personnes/{person.id}"' in page.text
    everyone = await _search(web, "")
    assert f'href="/personnes/{other.id}"' in everyone.text  # unchecked: the whole service
    mine = await _search(web, "", mes="oui")
    assert f'href="/personnes/{other.id}"' not in mine.text
    assert f'href="/personnes/{person.id}"' in mine.text


async def test_an_impossible_birth_date_is_a_french_field_error(
    web: httpx.AsyncClient, session: AsyncSession
) -> None:
    _, agent, _ = await _setup(session)
    await log_in(web, agent.email)
    answer = await _search(web, "31/02/1985")
    assert answer.status_code == 422
    assert "Cette date n&#39;existe pas" in answer.text
    assert 'href="#q"' in answer.text and 'value="31/02/1985"' in answer.text


async def test_htmx_answers_the_results_in_place_and_archived_are_hidden_unless_asked(
    web: httpx.AsyncClient, session: AsyncSession
) -> None:
    spip, agent, person = await _setup(session)
    gone = await make_person(session, spip, last_name="Lefèvre", first_name="Ana", archived=True)
    await session.commit()
    await log_in(web, agent.email)
    token = await _token(web)
    answer = await web.post(
        "/personnes", data={"q": "lefevre"}, headers={"HX-Request": "true", "X-CSRF-Token": token}
    )
    assert answer.status_code == 200
    assert 'id="recherche"' in answer.text and f"/personnes/{person.id}" in answer.text
    wrong_date = await web.post(
        "/personnes",
        data={"q": "31/02/1985"},
        headers={"HX-Request": "true", "X-CSRF-Token": token},
    )
    # htmx swaps the field's message in place; a full page answers 422 (test above).
    assert wrong_date.status_code == 200 and 'id="q-message"' in wrong_date.text
    assert f"/personnes/{gone.id}" not in answer.text
    with_archived = await _search(web, "lefevre", archivees="oui")
    assert f"/personnes/{gone.id}" in with_archived.text and "Archivé" in with_archived.text


async def test_the_results_are_paged_by_post(web: httpx.AsyncClient, session: AsyncSession) -> None:
    spip, agent, _ = await _setup(session)
    for n in range(25):
        await make_person(session, spip, last_name=f"Zola{n:02d}", phone=None, phone_status="none")
    await session.commit()
    await log_in(web, agent.email)
    first = await _search(web, "zola")
    assert "25 personnes — page 1 sur 2" in first.text
    assert 'form="recherche-form" name="page" value="2"' in first.text
    second = await _search(web, "zola", page="2")
    assert "page 2 sur 2" in second.text and "ZOLA24" in second.text and "ZOLA00" not in second.text


async def test_the_page_shows_the_national_number_its_status_and_convocations(
    web: httpx.AsyncClient, session: AsyncSession
) -> None:
    spip, agent, person = await _setup(session)
    place = await make_place(session, spip)
    soon = await make_appointment(session, person, place, starts_at=FIXED_NOW + timedelta(days=3))
    before = await make_appointment(
        session, person, place, starts_at=FIXED_NOW - timedelta(days=3), status="honored"
    )
    person.phone_problem = "http:invalid_destination"
    person.phone_problem_at = FIXED_NOW - timedelta(days=1)
    await session.commit()
    await log_in(web, agent.email)
    page = await web.get(f"/personnes/{person.id}")
    assert page.status_code == 200
    assert "0694 12 34 56" in page.text and "Numéro à vérifier" in page.text
    assert "l&#39;opérateur a refusé ce numéro" in page.text
    assert agent.name in page.text
    upcoming = page.text.split('id="a-venir"')[1].split('id="passees"')[0]
    assert f'href="/convocations/{soon.id}"' in upcoming and "À venir" in upcoming
    assert "(heure de Cayenne)" in upcoming
    past = page.text.split('id="passees"')[1]
    assert f'href="/convocations/{before.id}"' in past and "Honorée" in past
    assert f'href="/personnes/{person.id}/convoquer"' in page.text


async def test_another_spips_person_is_introuvable(
    web: httpx.AsyncClient, session: AsyncSession
) -> None:
    _, agent, _ = await _setup(session)
    elsewhere = await make_person(session, await make_spip(session))
    await session.commit()
    await log_in(web, agent.email)
    for path in ("", "/modifier"):
        answer = await web.get(f"/personnes/{elsewhere.id}{path}")
        assert answer.status_code == 404
        assert "introuvable" in answer.text
    token = await _token(web)
    refused = await web.post(
        f"/personnes/{elsewhere.id}/sms", data={"csrf": token, "choix": "refus"}
    )
    assert refused.status_code == 404
    await session.refresh(elsewhere)
    assert elsewhere.phone_status == "valid"
    # As for the API, the attempt is in the trail (of the person's SPIP).
    denied = await session.scalars(
        select(AuditEvent).where(
            AuditEvent.action == ACCESS_DENIED, AuditEvent.entity_id == elsewhere.id
        )
    )
    assert {(d.entity, d.agent_id) for d in denied} == {("person", agent.id)}
    assert "Lefèvre" not in (await _search(web, "personne")).text


async def test_forms_without_their_csrf_token_are_refused(
    web: httpx.AsyncClient, session: AsyncSession
) -> None:
    _, agent, person = await _setup(session)
    await log_in(web, agent.email)
    assert (await web.post("/personnes", data={"q": "lefevre"})).status_code == 403
    refused = await web.post(f"/personnes/{person.id}/sms", data={"choix": "refus"})
    assert refused.status_code == 403 and "Formulaire refusé" in refused.text
    wrong = await web.post(
        "/personnes/nouvelle", data={"csrf": "0" * 64, "prenom": "A", "nom": "B"}
    )
    assert wrong.status_code == 403
    await session.refresh(person)
    assert person.phone_status == "valid"
    assert (await session.scalars(select(Person).where(Person.last_name == "B"))).first() is None


async def test_refusal_of_sms_and_its_undoing_are_recorded_and_audited(
    web: httpx.AsyncClient, session: AsyncSession
) -> None:
    _, agent, person = await _setup(session)
    await log_in(web, agent.email)
    token = await _token(web, f"/personnes/{person.id}")
    refused = await web.post(f"/personnes/{person.id}/sms", data={"csrf": token, "choix": "refus"})
    assert refused.status_code == 303
    assert refused.headers["location"] == f"/personnes/{person.id}?ok=refus"
    page = await web.get(refused.headers["location"])
    assert "fr-alert--success" in page.text and "Le refus des SMS est enregistré" in page.text
    assert "Refus des SMS" in page.text and "Annuler le refus des SMS" in page.text
    await session.refresh(person)
    assert person.phone_status == "refused" and person.phone == "+594694123456"
    undone = await web.post(f"/personnes/{person.id}/sms", data={"csrf": token, "choix": "accord"})
    assert undone.status_code == 303
    await session.refresh(person)
    assert person.phone_status == "valid"
    rows = await _audit(session, person.id)
    changes = [r.changes for r in rows if r.action == "update"]
    assert changes == [
        {"phone_status": {"old": "valid", "new": "refused"}},
        {"phone_status": {"old": "refused", "new": "valid"}},
    ]
    assert all(r.agent_id == agent.id for r in rows)


async def test_editing_comes_back_filled_on_an_invalid_phone_then_saves(
    web: httpx.AsyncClient, session: AsyncSession
) -> None:
    _, agent, person = await _setup(session)
    await log_in(web, agent.email)
    token = await _token(web, f"/personnes/{person.id}/modifier")
    form = {"csrf": token, "prenom": "Inès", "nom": "Lefèvre-Martin", "naissance": "12/03/1985"}
    bad = await web.post(f"/personnes/{person.id}/modifier", data=form | {"telephone": "06 12"})
    assert bad.status_code == 422
    assert "Numéro de téléphone invalide" in bad.text and 'href="#telephone"' in bad.text
    assert 'value="Lefèvre-Martin"' in bad.text and 'value="06 12"' in bad.text
    await session.refresh(person)
    assert person.last_name == "Lefèvre"
    good = await web.post(
        f"/personnes/{person.id}/modifier", data=form | {"telephone": "0694 22 33 45"}
    )
    assert good.status_code == 303
    await session.refresh(person)
    assert (person.last_name, person.phone) == ("Lefèvre-Martin", "+594694223345")
    rows = await _audit(session, person.id)
    assert rows[-1].changes == {"last_name": {"changed": True}, "phone": {"changed": True}}


async def test_the_referent_is_changed_to_an_agent_of_the_spip(
    web: httpx.AsyncClient, session: AsyncSession
) -> None:
    spip, agent, person = await _setup(session)
    colleague = await make_agent(session, spip, name="Nadia Colline")
    outsider = await make_agent(session, await make_spip(session))
    await session.commit()
    await log_in(web, agent.email)
    page = await web.get(f"/personnes/{person.id}")
    assert "Nadia Colline (CPIP)" in page.text and outsider.name not in page.text
    token = CSRF.search(page.text).group(1)  # type: ignore[union-attr]
    moved = await web.post(
        f"/personnes/{person.id}/referent", data={"csrf": token, "referent": str(colleague.id)}
    )
    assert moved.status_code == 303
    await session.refresh(person)
    assert person.referent_agent_id == colleague.id
    refused = await web.post(
        f"/personnes/{person.id}/referent", data={"csrf": token, "referent": str(outsider.id)}
    )
    assert refused.status_code == 422 and "fr-alert--error" in refused.text
    await session.refresh(person)
    assert person.referent_agent_id == colleague.id


async def test_archiving_is_for_administrators_and_says_what_it_does(
    web: httpx.AsyncClient, session: AsyncSession
) -> None:
    spip, cpip, person = await _setup(session)
    boss = await make_agent(session, spip, role="local_admin", password_hash=hash_now(PASSWORD))
    await session.commit()
    await log_in(web, cpip.email)
    assert "Archiver le dossier" not in (await web.get(f"/personnes/{person.id}")).text
    assert (await web.get(f"/personnes/{person.id}/archiver")).status_code == 403
    web.cookies.clear()
    await log_in(web, boss.email)
    confirm = await web.get(f"/personnes/{person.id}/archiver")
    assert confirm.status_code == 200
    assert "les SMS planifiés de ses convocations" in confirm.text
    token = CSRF.search(confirm.text).group(1)  # type: ignore[union-attr]
    done = await web.post(
        f"/personnes/{person.id}/archiver", data={"csrf": token, "archiver": "oui"}
    )
    assert done.status_code == 303
    page = await web.get(done.headers["location"])
    assert "Le dossier est archivé." in page.text and "Dossier archivé" in page.text
    assert f'href="/personnes/{person.id}/convoquer"' not in page.text
    await session.refresh(person)
    assert person.archived and person.archived_at is not None
    back = await web.post(
        f"/personnes/{person.id}/archiver", data={"csrf": token, "archiver": "non"}
    )
    assert back.status_code == 303
    await session.refresh(person)
    assert not person.archived
    changes = [r.changes for r in await _audit(session, person.id) if r.action == "update"]
    assert [c["archived"]["new"] for c in changes if c and "archived" in c] == [True, False]


async def test_deletion_of_a_person_entered_by_mistake_is_for_administrators(
    web: httpx.AsyncClient, session: AsyncSession
) -> None:
    spip, cpip, person = await _setup(session)
    boss = await make_agent(session, spip, role="local_admin", password_hash=hash_now(PASSWORD))
    await session.commit()
    person_id = person.id
    delete = f'href="/personnes/{person_id}/supprimer"'
    await log_in(web, cpip.email)
    assert delete not in (await web.get(f"/personnes/{person_id}")).text
    assert (await web.get(f"/personnes/{person_id}/supprimer")).status_code == 403
    token = await _token(web, f"/personnes/{person_id}")
    refused = await web.post(f"/personnes/{person_id}/supprimer", data={"csrf": token})
    assert refused.status_code == 403
    web.cookies.clear()
    await log_in(web, boss.email)
    fiche = await web.get(f"/personnes/{person_id}")
    assert delete in fiche.text and "Supprimer cette personne" in fiche.text
    confirm = await web.get(f"/personnes/{person_id}/supprimer")
    assert confirm.status_code == 200
    assert "La suppression est définitive" in confirm.text
    assert "saisie par erreur" in confirm.text and "son dossier s'archive" in confirm.text
    assert f'action="/personnes/{person_id}/supprimer"' in confirm.text
    assert f'class="fr-btn fr-btn--secondary" href="/personnes/{person_id}">Annuler' in confirm.text
    token = CSRF.search(confirm.text).group(1)  # type: ignore[union-attr]
    # Without its CSRF token (or with a wrong one) the form is refused, the person kept.
    assert (await web.post(f"/personnes/{person_id}/supprimer")).status_code == 403
    wrong = await web.post(f"/personnes/{person_id}/supprimer", data={"csrf": "0" * 64})
    assert wrong.status_code == 403
    assert await session.get(Person, person_id) is not None
    done = await web.post(f"/personnes/{person_id}/supprimer", data={"csrf": token})
    assert done.status_code == 303 and done.headers["location"] == "/personnes?ok=supprimee"
    listed = await web.get(done.headers["location"])
    assert "fr-alert--success" in listed.text and "La personne est supprimée." in listed.text
    session.expunge_all()
    assert await session.get(Person, person_id) is None
    assert (await web.get(f"/personnes/{person_id}")).status_code == 404
    # The API's trail: who deleted which person, ids only (no name, no value).
    rows = [r for r in await _audit(session, person_id) if r.action == "delete"]
    assert [(r.agent_id, r.spip_id, r.changes) for r in rows] == [(boss.id, spip.id, None)]


async def test_a_person_with_a_convocation_is_not_deleted_but_told_in_french(
    web: httpx.AsyncClient, session: AsyncSession
) -> None:
    spip, _, person = await _setup(session)
    boss = await make_agent(session, spip, role="local_admin", password_hash=hash_now(PASSWORD))
    await session.commit()
    person_id = person.id
    await log_in(web, boss.email)
    confirm = await web.get(f"/personnes/{person_id}/supprimer")
    token = CSRF.search(confirm.text).group(1)  # type: ignore[union-attr]
    # Booked while the administrator read the confirmation (a cancelled one counts too).
    place = await make_place(session, spip)
    await make_appointment(
        session, person, place, starts_at=FIXED_NOW + timedelta(days=2), status="cancelled"
    )
    await session.commit()
    fiche = await web.get(f"/personnes/{person_id}")
    assert f'href="/personnes/{person_id}/supprimer"' not in fiche.text
    assert f'href="/personnes/{person_id}/archiver"' in fiche.text
    refused = await web.post(f"/personnes/{person_id}/supprimer", data={"csrf": token})
    assert refused.status_code == 409
    assert "Suppression impossible" in refused.text
    assert "Cette personne a des convocations : archivez-la plutôt" in refused.text
    assert f'href="/personnes/{person_id}/archiver"' in refused.text
    assert "Supprimer définitivement" not in refused.text
    session.expunge_all()
    kept = await session.get(Person, person_id)
    assert kept is not None and kept.last_name == "Lefèvre"
    assert not [r for r in await _audit(session, person_id) if r.action == "delete"]


async def test_a_convocation_booked_during_the_deletion_is_the_same_french_refusal(
    web: httpx.AsyncClient, session: AsyncSession, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The service counted none, the booking landed before the row went: the database's
    restriction (the convocation's foreign key) is the service's refusal, not a 500."""
    spip, _, person = await _setup(session)
    boss = await make_agent(session, spip, role="local_admin", password_hash=hash_now(PASSWORD))
    place = await make_place(session, spip)
    await make_appointment(session, person, place, starts_at=FIXED_NOW + timedelta(days=2))
    await session.commit()
    person_id = person.id
    await log_in(web, boss.email)
    token = await _token(web, f"/personnes/{person_id}")

    async def none_seen(*_: object) -> int:
        return 0

    monkeypatch.setattr(person_service, "appointment_count", none_seen)
    refused = await web.post(f"/personnes/{person_id}/supprimer", data={"csrf": token})
    assert refused.status_code == 409
    assert "Cette personne a des convocations : archivez-la plutôt" in refused.text
    session.expunge_all()
    assert await session.get(Person, person_id) is not None


async def test_creation_stores_the_guyane_number_in_e164_and_opens_the_page(
    web: httpx.AsyncClient, session: AsyncSession
) -> None:
    spip, agent, _ = await _setup(session)
    await log_in(web, agent.email)
    token = await _token(web, "/personnes/nouvelle")
    form = {
        "csrf": token,
        "prenom": "Léa",
        "nom": "Durand",
        "naissance": "02/04/1990",
        "telephone": "0694 22 33 44",
        "referent": str(agent.id),
    }
    created = await web.post("/personnes/nouvelle", data=form)
    assert created.status_code == 303, created.text
    stored = (await session.scalars(select(Person).where(Person.last_name == "Durand"))).one()
    assert created.headers["location"] == f"/personnes/{stored.id}?ok=creee"
    assert (stored.phone, stored.birth_date, stored.spip_id) == (
        "+594694223344",
        date(1990, 4, 2),
        spip.id,
    )
    page = await web.get(created.headers["location"])
    assert "La personne est enregistrée." in page.text and "0694 22 33 44" in page.text
    assert [r.action for r in await _audit(session, stored.id)] == ["create"]


async def test_a_failed_creation_comes_back_filled_with_french_messages(
    web: httpx.AsyncClient, session: AsyncSession
) -> None:
    _, agent, _ = await _setup(session)
    await log_in(web, agent.email)
    token = await _token(web, "/personnes/nouvelle")
    form = {
        "csrf": token,
        "prenom": "Léa",
        "nom": "",
        "naissance": "31/02/1990",
        "telephone": "01 23 45 67 89",
        "refus": "oui",
    }
    answer = await web.post("/personnes/nouvelle", data=form)
    assert answer.status_code == 422
    assert "Saisissez le nom." in answer.text and "Saisissez une date qui existe" in answer.text
    assert 'value="Léa"' in answer.text and 'value="31/02/1990"' in answer.text
    assert 'id="refus" name="refus" value="oui" checked' in answer.text
    fixed = await web.post("/personnes/nouvelle", data=form | {"nom": "X", "naissance": ""})
    assert fixed.status_code == 422
    assert "ce numéro n&#39;est pas un numéro de mobile" in fixed.text.lower()
    assert 'value="01 23 45 67 89"' in fixed.text
    assert (await session.scalars(select(Person).where(Person.first_name == "Léa"))).first() is None


async def test_a_likely_duplicate_is_shown_then_created_on_confirmation(
    web: httpx.AsyncClient, session: AsyncSession
) -> None:
    _, agent, person = await _setup(session)
    await log_in(web, agent.email)
    token = await _token(web, "/personnes/nouvelle")
    form = {
        "csrf": token,
        "prenom": "INES",
        "nom": "lefevre",
        "naissance": "12/03/1985",
        "telephone": "",
        "referent": str(agent.id),
    }
    warned = await web.post("/personnes/nouvelle", data=form)
    assert warned.status_code == 200
    assert "Cette personne est peut-être déjà enregistrée" in warned.text
    assert f'href="/personnes/{person.id}"' in warned.text and "Créer quand même" in warned.text
    assert 'value="INES"' in warned.text and 'value="12/03/1985"' in warned.text
    count = len((await session.scalars(select(Person))).all())
    assert count == 1
    confirmed = await web.post("/personnes/nouvelle", data=form | {"doublon": "oui"})
    assert confirmed.status_code == 303
    assert len((await session.scalars(select(Person))).all()) == 2


async def test_a_manager_reads_the_page_but_may_not_change_the_person(
    web: httpx.AsyncClient, session: AsyncSession
) -> None:
    """The API's permissions: a DPIP reads persons and convokes, but does not edit them."""
    spip, _, person = await _setup(session)
    manager = await make_agent(session, spip, role="manager", password_hash=hash_now(PASSWORD))
    await session.commit()
    await log_in(web, manager.email)
    page = await web.get(f"/personnes/{person.id}")
    assert page.status_code == 200 and "0694 12 34 56" in page.text
    assert "Enregistrer le refus des SMS" not in page.text and "/modifier" not in page.text
    assert f'href="/personnes/{person.id}/convoquer"' in page.text
    token = CSRF.search(page.text).group(1)  # type: ignore[union-attr]
    refused = await web.post(f"/personnes/{person.id}/sms", data={"csrf": token, "choix": "refus"})
    assert refused.status_code == 403
    assert (await web.get("/personnes/nouvelle")).status_code == 403
    await session.refresh(person)
    assert person.phone_status == "valid"


def _history(text: str) -> str:
    """The « Historique » section of a page (fails when the page has none)."""
    found = re.search(r'<section class="fr-accordion[^>]*>.*?Historique.*?</section>', text, re.S)
    assert found, "no « Historique » section"
    return found.group(0)


async def test_the_history_says_who_changed_which_fields_never_the_values(
    web: httpx.AsyncClient, session: AsyncSession
) -> None:
    """After an edit through the page: « Modification » by the agent, the fields in French,
    neither the old nor the new values; closed by default; denials are not in it."""
    spip, agent, person = await _setup(session)
    agent.name = "Rémi Vasseur"
    session.add(
        AuditEvent(
            occurred_at=FIXED_NOW - timedelta(days=2),
            spip_id=spip.id,
            action=ACCESS_DENIED,
            entity="person",
            entity_id=person.id,
        )
    )
    await session.commit()
    await log_in(web, agent.email)
    token = await _token(web, f"/personnes/{person.id}/modifier")
    form = {"csrf": token, "prenom": "Inès", "nom": "Quintard", "naissance": "12/03/1985"}
    done = await web.post(
        f"/personnes/{person.id}/modifier", data=form | {"telephone": "0694 22 33 45"}
    )
    assert done.status_code == 303
    page = await web.get(f"/personnes/{person.id}")
    history = _history(page.text)
    assert 'aria-expanded="false" aria-controls="historique"' in history
    assert "Historique (1)" in history and "1 événement, les plus récents d'abord" in history
    assert "<td>Rémi Vasseur</td>" in history and "<td>Modification</td>" in history
    assert "<td>Nom, Téléphone</td>" in history
    assert "vendredi 15 janvier 2027 à 7h00" in history  # FIXED_NOW, 10:00 UTC, in Cayenne
    for value in ("Quintard", "Lefèvre", "0694", "694", "22 33 45", "Inès", "1985"):
        assert value not in history, value
    assert "Accès refusé" not in history
    assert "journal" not in history  # a CPIP does not read the audit trail


async def test_an_administrator_follows_the_history_to_the_journal(
    web: httpx.AsyncClient, session: AsyncSession
) -> None:
    spip, _, person = await _setup(session)
    admin = await make_agent(session, spip, role="local_admin", password_hash=hash_now(PASSWORD))
    session.add(
        AuditEvent(
            occurred_at=FIXED_NOW - timedelta(days=1),
            spip_id=spip.id,
            action="update",
            entity="person",
            entity_id=person.id,
            changes={"last_name": {"changed": True}},
        )
    )
    await session.commit()
    await log_in(web, admin.email)
    history = _history((await web.get(f"/personnes/{person.id}")).text)
    link = re.search(r'href="(/administration/journal\?[^"]+)"', history)
    assert link, history
    journal = await web.get(link.group(1).replace("&amp;", "&"))
    assert journal.status_code == 200
    assert f"Personne n° {person.id}" in journal.text and "1 événement" in journal.text


async def test_the_history_shows_the_latest_twenty_of_the_total_and_the_system(
    web: httpx.AsyncClient, session: AsyncSession
) -> None:
    spip, agent, person = await _setup(session, role="secretariat")
    session.add_all(
        AuditEvent(
            occurred_at=FIXED_NOW - timedelta(hours=n),
            spip_id=spip.id,
            action="update",
            entity="person",
            entity_id=person.id,
            changes={"phone_status": {"old": "valid", "new": "invalid"}},
        )
        for n in range(1, 58)
    )
    await session.commit()
    await log_in(web, agent.email)
    history = _history((await web.get(f"/personnes/{person.id}")).text)
    assert "Historique (57)" in history and "20 derniers sur 57" in history
    assert history.count("<tr>") == 1 + 20
    assert "<td>Système</td>" in history and "<td>Statut du téléphone</td>" in history
    first = history.split("<tbody>")[1].split("</tr>")[0]
    assert "vendredi 15 janvier 2027 à 6h00" in first  # the latest first (an hour before now)
