"""Administration du SPIP, in process: places with a zone from the territories' list (a zone
posted by hand refused) and the re-planned reminders counted; agents with their activation
link shown once; role changes and deactivation, the last local administrator kept (page and
API); the sender validated as the API does; the national administrator's SPIPs; the API's
permissions (403 for a CPIP, a secretariat, a manager; 404 for another SPIP's records) and CSRF."""

from __future__ import annotations

import re
from datetime import timedelta
from html import unescape

import httpx
import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from app.auth.passwords import hash_now
from app.models import Agent, AuditEvent, Notification, Place, ReminderPolicy, Spip
from app.reminders import service as reminder_service
from tests.conftest import FIXED_NOW, ClientFactory
from tests.factories import make_agent, make_appointment, make_person, make_place, make_spip
from tests.web.test_pages import CSRF, PASSWORD, log_in
from tests.web.test_pages import web as web

LINK = re.compile(r'value="(https?://[^"]+/activation\?token=[^"]+)"')


async def _admin(session: AsyncSession, role: str = "local_admin") -> tuple[Spip, Agent]:
    spip = await make_spip(session, timezone="America/Cayenne", phone_region="GF")
    agent = await make_agent(session, spip, role=role, password_hash=hash_now(PASSWORD))
    await session.commit()
    return spip, agent


async def _token(web: httpx.AsyncClient, path: str) -> str:
    page = await web.get(path)
    assert page.status_code == 200, page.text
    found = CSRF.search(page.text)
    assert found
    return found.group(1)


async def _post(web: httpx.AsyncClient, path: str, form: str, **data: str) -> httpx.Response:
    return await web.post(path, data={"csrf": await _token(web, form), **data})


# --- Lieux -----------------------------------------------------------------------------------


async def test_a_place_is_created_with_a_zone_from_the_list(
    web: httpx.AsyncClient, session: AsyncSession
) -> None:
    spip, agent = await _admin(session)
    await log_in(web, agent.email)
    form = await web.get("/administration/lieux/nouveau")
    assert '<option value="America/Cayenne" selected>Guyane (Cayenne)</option>' in form.text
    assert '<option value="Pacific/Marquesas">Polynésie française (Marquises)</option>' in form.text
    answer = await _post(
        web,
        "/administration/lieux/nouveau",
        "/administration/lieux/nouveau",
        nom="Antenne de Kourou",
        adresse="2 avenue des Roches, Kourou",
        infos="https://justice.example/kourou",
        telephone="0594 32 00 00",
        fuseau="America/Cayenne",
    )
    assert answer.status_code == 303, answer.text
    place = await session.scalar(select(Place).where(Place.name == "Antenne de Kourou"))
    assert place is not None and place.spip_id == spip.id
    assert place.timezone == "America/Cayenne"
    assert place.info_url == "https://justice.example/kourou"
    page = await web.get(answer.headers["location"])
    assert "Le lieu est enregistré." in page.text
    listing = await web.get("/administration/lieux")
    assert "Antenne de Kourou" in listing.text and "Guyane (Cayenne)" in listing.text


async def test_a_zone_posted_by_hand_is_refused_in_french_and_the_form_kept(
    web: httpx.AsyncClient, session: AsyncSession
) -> None:
    _, agent = await _admin(session)
    await log_in(web, agent.email)
    for zone in ("Europe/London", "Mars/Olympus", ""):
        answer = await _post(
            web,
            "/administration/lieux/nouveau",
            "/administration/lieux/nouveau",
            nom="Antenne de Saint-Laurent",
            fuseau=zone,
            infos="pas une adresse",
        )
        assert answer.status_code == 422, zone
        assert "Choisissez un fuseau dans la liste des territoires français." in answer.text
        assert 'value="Antenne de Saint-Laurent"' in answer.text
        assert 'id="erreurs"' in answer.text and 'href="#fuseau"' in answer.text
        assert 'href="#infos"' in answer.text  # the other fields are checked too
    assert await session.scalar(select(Place).where(Place.name.like("%Saint-Laurent"))) is None


async def test_a_place_takes_its_own_public_holidays_or_its_spips(
    web: httpx.AsyncClient, session: AsyncSession
) -> None:
    spip, agent = await _admin(session)
    spip.holiday_territory = "973"
    await session.commit()
    await log_in(web, agent.email)
    form = await web.get("/administration/lieux/nouveau")
    assert '<label class="fr-label" for="feries">Jours fériés' in form.text
    assert '<option value="" selected>Ceux du SPIP (Guyane)</option>' in form.text
    assert '<option value="57">Moselle</option>' in form.text
    assert '<option value="974">La Réunion</option>' in form.text
    # A refused form keeps the choice.
    kept = await _post(
        web,
        "/administration/lieux/nouveau",
        "/administration/lieux/nouveau",
        nom="Antenne de Metz",
        fuseau="Mars/Olympus",
        feries="57",
    )
    assert kept.status_code == 422
    assert '<option value="57" selected>Moselle</option>' in kept.text
    by_hand = await _post(
        web,
        "/administration/lieux/nouveau",
        "/administration/lieux/nouveau",
        nom="Antenne de Metz",
        fuseau="Europe/Paris",
        feries="67",
    )
    assert by_hand.status_code == 422
    assert "Territoire de jours fériés inconnu" in unescape(by_hand.text)
    assert 'href="#feries"' in by_hand.text
    created = await _post(
        web,
        "/administration/lieux/nouveau",
        "/administration/lieux/nouveau",
        nom="Antenne de Metz",
        fuseau="Europe/Paris",
        feries="57",
    )
    assert created.status_code == 303, created.text
    place = await session.scalar(select(Place).where(Place.name == "Antenne de Metz"))
    assert place is not None and place.holiday_territory == "57"
    page = await web.get(f"/administration/lieux/{place.id}")
    assert '<option value="57" selected>Moselle</option>' in page.text
    # Back to the SPIP's.
    edit = f"/administration/lieux/{place.id}"
    back = await _post(
        web, edit, edit, nom="Antenne de Metz", fuseau="Europe/Paris", feries="", actif="oui"
    )
    assert back.status_code == 303, back.text
    await session.refresh(place)
    assert place.holiday_territory is None


async def test_a_new_zone_replans_the_unsent_reminders_and_says_how_many(
    web: httpx.AsyncClient, session: AsyncSession
) -> None:
    spip, agent = await _admin(session)
    place = await make_place(session, spip, timezone="Europe/Paris")
    person = await make_person(session, spip, phone="+594694123456")
    appointment = await make_appointment(
        session, person, place, starts_at=FIXED_NOW + timedelta(days=10)
    )
    assert await reminder_service.replan(session, appointment) > 0
    appointment_id, place_id, place_name = appointment.id, place.id, place.name
    await session.commit()
    before = set(
        await session.scalars(
            select(Notification.send_at).where(
                Notification.appointment_id == appointment_id, Notification.status == "planned"
            )
        )
    )
    await log_in(web, agent.email)
    path = f"/administration/lieux/{place_id}"
    fields = {"nom": place_name, "adresse": "1 rue de la Paix", "actif": "oui"}
    same = await _post(web, path, path, fuseau="Europe/Paris", **fields)
    assert same.status_code == 303
    assert "Aucun SMS planifié n'a changé." in unescape(
        (await web.get(same.headers["location"])).text
    )
    moved = await _post(web, path, path, fuseau="America/Cayenne", **fields)
    assert moved.status_code == 303
    count = int(moved.headers["location"].rsplit("=", 1)[1])
    assert count >= 2  # the old reminder cancelled, the new one planned
    page = await web.get(moved.headers["location"])
    assert f"{count} SMS de rappel replanifiés" in page.text
    session.expire_all()
    after = set(
        await session.scalars(
            select(Notification.send_at).where(
                Notification.appointment_id == appointment_id, Notification.status == "planned"
            )
        )
    )
    assert after and after != before
    assert (await session.get_one(Place, place_id)).timezone == "America/Cayenne"


async def test_the_api_says_how_many_reminders_a_new_zone_replanned(
    client_for: ClientFactory, session: AsyncSession
) -> None:
    spip, agent = await _admin(session)
    place = await make_place(session, spip, timezone="Europe/Paris")
    person = await make_person(session, spip, phone="+594694123456")
    appointment = await make_appointment(
        session, person, place, starts_at=FIXED_NOW + timedelta(days=10)
    )
    await reminder_service.replan(session, appointment)
    place_id = place.id
    await session.commit()
    async with client_for(agent) as api:
        same = await api.patch(f"/places/{place_id}", json={"phone": "0594 00 00 00"})
        assert same.status_code == 200 and same.json()["replanned_notifications"] == 0
        moved = await api.patch(f"/places/{place_id}", json={"timezone": "America/Cayenne"})
        assert moved.status_code == 200, moved.text
        assert moved.json()["replanned_notifications"] >= 2
        assert moved.json()["timezone"] == "America/Cayenne"


async def test_another_spips_place_is_introuvable(
    web: httpx.AsyncClient, session: AsyncSession
) -> None:
    _, agent = await _admin(session)
    other = await make_spip(session)
    place = await make_place(session, other)
    await session.commit()
    await log_in(web, agent.email)
    page = await web.get(f"/administration/lieux/{place.id}")
    assert page.status_code == 404 and "introuvable" in page.text
    token = await _token(web, "/administration/lieux")
    post = await web.post(
        f"/administration/lieux/{place.id}",
        data={"csrf": token, "nom": "X", "fuseau": "Europe/Paris"},
    )
    assert post.status_code == 404
    assert (await web.get(f"/administration/lieux?spip={other.id}")).status_code == 404


# --- Agents ----------------------------------------------------------------------------------


async def _create_agent(web: httpx.AsyncClient, **fields: str) -> httpx.Response:
    path = "/administration/agents/nouveau"
    return await _post(web, path, path, **fields)


async def test_an_agent_is_created_and_the_link_shown_once(
    web: httpx.AsyncClient, session: AsyncSession, caplog: pytest.LogCaptureFixture
) -> None:
    spip, agent = await _admin(session)
    await log_in(web, agent.email)
    answer = await _create_agent(
        web, nom="Camille Martin", email="Camille.Martin@justice.fr", role="cpip"
    )
    assert answer.status_code == 200, answer.text
    link = LINK.search(answer.text)
    assert link, answer.text
    assert "Copier le lien" in answer.text and "convoc/copier.js" in answer.text
    token = link.group(1).split("token=")[1]
    assert token not in caplog.text
    created = await session.scalar(select(Agent).where(Agent.email == "camille.martin@justice.fr"))
    assert created is not None and created.spip_id == spip.id and created.role == "cpip"
    again = await web.get(f"/administration/agents/{created.id}")
    assert again.status_code == 200 and token not in again.text and not LINK.search(again.text)
    listing = await web.get("/administration/agents")
    assert "Camille Martin" in listing.text and token not in listing.text
    # The link activates the account (the page of app.web.pages.auth).
    activation = await web.get(f"/activation?token={token}")
    assert activation.status_code == 200
    # A new link, shown once too; the first one is another token.
    path = f"/administration/agents/{created.id}"
    fresh = await _post(web, f"{path}/lien", path)
    new_link = LINK.search(fresh.text)
    assert new_link and token not in new_link.group(1)


async def test_a_refused_agent_form_comes_back_filled_in_french(
    web: httpx.AsyncClient, session: AsyncSession
) -> None:
    _, agent = await _admin(session)
    await log_in(web, agent.email)
    bad = await _create_agent(web, nom="", email="pas-une-adresse", role="cpip")
    assert bad.status_code == 422
    assert 'value="pas-une-adresse"' in bad.text and 'href="#email"' in bad.text
    assert 'href="#nom"' in bad.text
    # A local administrator cannot make a national administrator (the API's rule).
    national = await _create_agent(web, nom="Paul Roi", email="paul@justice.fr", role="admin")
    assert national.status_code == 422 and "Choisissez un rôle" in national.text
    taken = await _create_agent(web, nom="Double", email=agent.email, role="cpip")
    assert taken.status_code == 422
    assert "Un agent utilise déjà cette adresse électronique." in taken.text
    assert 'id="email-message"' in taken.text


async def test_role_change_deactivation_and_the_last_local_admin(
    web: httpx.AsyncClient, session: AsyncSession, client_for: ClientFactory
) -> None:
    spip, agent = await _admin(session)
    cpip = await make_agent(session, spip, role="cpip")
    agent_id, cpip_id = agent.id, cpip.id
    await session.commit()
    await log_in(web, agent.email)
    path = f"/administration/agents/{cpip_id}"
    promoted = await _post(web, f"{path}/role", path, role="manager")
    assert promoted.status_code == 303
    assert "Le rôle est modifié." in (await web.get(promoted.headers["location"])).text
    off = await _post(web, f"{path}/etat", path, actif="non")
    assert off.status_code == 303
    session.expire_all()
    changed = await session.get_one(Agent, cpip_id)
    assert changed.role == "manager" and not changed.active
    on = await _post(web, f"{path}/etat", path, actif="oui")
    assert on.status_code == 303
    # The last active local administrator can be neither demoted nor deactivated.
    own = f"/administration/agents/{agent_id}"
    demoted = await _post(web, f"{own}/role", own, role="cpip")
    assert demoted.status_code == 409
    assert "dernier administrateur local actif" in demoted.text
    locked = await _post(web, f"{own}/etat", own, actif="non")
    assert locked.status_code == 409
    session.expire_all()
    me = await session.get_one(Agent, agent_id)
    assert me.role == "local_admin" and me.active
    async with client_for(agent) as api:
        refused = await api.patch(f"/agents/{agent_id}", json={"role": "cpip"})
        assert refused.status_code == 409 and refused.json()["error"] == "last_local_admin"


async def test_an_agents_name_and_email_are_corrected_through_the_patch_service(
    web: httpx.AsyncClient, session: AsyncSession
) -> None:
    """« Nom et adresse électronique »: stored (the e-mail lowered, as the API does), audited,
    said; an e-mail already taken or invalid comes back on its field in French, typed kept."""
    spip, agent = await _admin(session)
    cpip = await make_agent(session, spip, role="cpip", name="Camile Martn")
    colleague = await make_agent(session, spip, role="cpip", email="nadia.colline@justice.fr")
    cpip_id, colleague_email, admin_id = cpip.id, colleague.email, agent.id
    await session.commit()
    await log_in(web, agent.email)
    path = f"/administration/agents/{cpip_id}"
    page = await web.get(path)
    assert "Nom et adresse électronique" in page.text
    assert f'action="{path}/identite"' in page.text and 'value="Camile Martn"' in page.text
    done = await _post(
        web, f"{path}/identite", path, nom="Camille Martin", email="Camille.Martin@Justice.fr"
    )
    assert done.status_code == 303 and done.headers["location"] == f"{path}?ok=identite"
    shown = await web.get(done.headers["location"])
    assert "Le nom et l&#39;adresse électronique sont enregistrés." in shown.text
    session.expire_all()
    stored = await session.get_one(Agent, cpip_id)
    assert (stored.name, stored.email) == ("Camille Martin", "camille.martin@justice.fr")
    event = await session.scalar(
        select(AuditEvent)
        .where(AuditEvent.entity == "agent", AuditEvent.entity_id == cpip_id)
        .order_by(AuditEvent.id.desc())
    )
    assert event is not None and event.agent_id == admin_id and event.action == "update"
    assert set(event.changes or {}) == {"name", "email"}

    taken = await _post(web, f"{path}/identite", path, nom="Camille Dupont", email=colleague_email)
    assert taken.status_code == 409
    assert 'href="#email"' in taken.text and 'id="email-message"' in taken.text
    assert "Un agent utilise déjà cette adresse électronique." in taken.text
    assert 'value="Camille Dupont"' in taken.text and f'value="{colleague_email}"' in taken.text
    bad = await _post(web, f"{path}/identite", path, nom="", email="pas-une-adresse")
    assert bad.status_code == 422
    assert 'href="#nom"' in bad.text and 'href="#email"' in bad.text
    assert 'value="pas-une-adresse"' in bad.text
    session.expire_all()
    stored = await session.get_one(Agent, cpip_id)
    assert (stored.name, stored.email) == ("Camille Martin", "camille.martin@justice.fr")


async def test_a_cpip_may_not_correct_an_agents_identity(
    web: httpx.AsyncClient, session: AsyncSession
) -> None:
    spip, cpip = await _admin(session, role="cpip")
    colleague = await make_agent(session, spip, role="cpip", name="Nadia Colline")
    colleague_id = colleague.id
    await session.commit()
    await log_in(web, cpip.email)
    token = await _token(web, "/")
    answer = await web.post(
        f"/administration/agents/{colleague_id}/identite",
        data={"csrf": token, "nom": "Pirate", "email": "pirate@justice.fr"},
    )
    assert answer.status_code == 403 and "Action impossible" in answer.text
    session.expire_all()
    assert (await session.get_one(Agent, colleague_id)).name == "Nadia Colline"


async def test_another_spips_agent_is_introuvable(
    web: httpx.AsyncClient, session: AsyncSession
) -> None:
    _, agent = await _admin(session)
    other = await make_spip(session)
    stranger = await make_agent(session, other)
    national = await make_agent(session, None)
    await session.commit()
    await log_in(web, agent.email)
    for target in (stranger, national):
        page = await web.get(f"/administration/agents/{target.id}")
        assert page.status_code == 404 and "introuvable" in page.text


# --- Expéditeur ------------------------------------------------------------------------------


async def test_the_sender_is_validated_as_the_api_does(
    web: httpx.AsyncClient, session: AsyncSession, client_for: ClientFactory
) -> None:
    spip, agent = await _admin(session)
    await log_in(web, agent.email)
    path = "/administration/expediteur"
    for bad in ("SP", "SPIPÉ973", "12345", "SPIP-GUYANE-973"):
        answer = await _post(web, path, path, expediteur=bad)
        assert answer.status_code == 422, bad
        async with client_for(agent) as api:
            refused = await api.put(f"/spips/{spip.id}/reminder-policy", json={"sender": bad})
        message = refused.json()["fields"][0]["message"]
        assert message in unescape(answer.text), (bad, message)
        assert f'value="{bad}"' in answer.text
    saved = await _post(web, path, path, expediteur="SPIP973")
    assert saved.status_code == 303
    assert (
        "Le nom d&#39;expéditeur est enregistré." in (await web.get(saved.headers["location"])).text
    )
    row = await session.scalar(select(ReminderPolicy).where(ReminderPolicy.spip_id == spip.id))
    assert row is not None and row.sender == "SPIP973"


# --- Administration nationale ----------------------------------------------------------------


async def test_the_national_administrator_creates_and_edits_a_spip(
    web: httpx.AsyncClient, session: AsyncSession
) -> None:
    national = await make_agent(session, None, password_hash=hash_now(PASSWORD))
    await session.commit()
    await log_in(web, national.email)
    home = await web.get("/administration")
    assert "Créer un SPIP" in home.text
    path = "/administration/spips/nouveau"
    bad = await _post(web, path, path, code="SPIP-988", nom="SPIP de Nouméa", fuseau="UTC")
    assert bad.status_code == 422 and "liste des territoires" in bad.text
    created = await _post(
        web, path, path, code="spip-988", nom="SPIP de Nouméa", fuseau="Pacific/Noumea", region="NC"
    )
    assert created.status_code == 303, created.text
    spip = await session.scalar(select(Spip).where(Spip.code == "SPIP-988"))
    assert spip is not None and spip.timezone == "Pacific/Noumea" and spip.phone_region == "NC"
    assert spip.holiday_territory is None  # « Métropole (sans particularité locale) »
    taken = await _post(
        web, path, path, code="SPIP-988", nom="Autre", fuseau="Pacific/Noumea", region="NC"
    )
    assert taken.status_code == 422 and "Un SPIP porte déjà ce code." in taken.text
    assert 'id="code-message"' in taken.text  # on its field
    edit = f"/administration/spips/{spip.id}"
    renamed = await _post(
        web,
        edit,
        edit,
        code="SPIP-988",
        nom="SPIP de Nouvelle-Calédonie",
        fuseau="Pacific/Noumea",
        region="NC",
    )
    assert renamed.status_code == 303
    assert "SPIP de Nouvelle-Calédonie" in (await web.get("/administration")).text
    form = await web.get(edit)
    assert '<option value="" selected>Métropole (sans particularité locale)</option>' in form.text
    refused = await _post(
        web, edit, edit, code="SPIP-988", nom="", fuseau="Pacific/Noumea", region="NC", feries="NC"
    )
    assert refused.status_code == 422
    assert '<option value="NC" selected>Nouvelle-Calédonie</option>' in refused.text  # kept
    territory = await _post(
        web,
        edit,
        edit,
        code="SPIP-988",
        nom="SPIP de Nouvelle-Calédonie",
        fuseau="Pacific/Noumea",
        region="NC",
        feries="NC",
    )
    assert territory.status_code == 303, territory.text
    # No convocation yet: the re-plan moved nothing, and the page says so.
    assert territory.headers["location"].endswith("?ok=modifie&replanifies=0")
    notice = unescape((await web.get(territory.headers["location"])).text)
    assert "Le SPIP est modifié. Aucun SMS planifié n'a changé." in notice
    await session.refresh(spip)
    assert spip.holiday_territory == "NC"
    # Its places and agents, through ?spip=.
    places = await web.get(f"/administration/lieux?spip={spip.id}")
    assert places.status_code == 200 and "SPIP de Nouvelle-Calédonie" in places.text
    agents = await web.get("/administration/agents")
    assert national.name in agents.text  # the national agents
    created_admin = await _create_agent(
        web, nom="Nadia Nationale", email="nadia@justice.fr", role="admin"
    )
    assert created_admin.status_code == 200 and LINK.search(created_admin.text)
    nadia = await session.scalar(select(Agent).where(Agent.email == "nadia@justice.fr"))
    assert nadia is not None and nadia.spip_id is None and nadia.role == "admin"
    cpip = await _post(
        web,
        f"/administration/agents/nouveau?spip={spip.id}",
        f"/administration/agents/nouveau?spip={spip.id}",
        nom="Hinano Tepa",
        email="hinano@justice.fr",
        role="cpip",
    )
    assert cpip.status_code == 200 and LINK.search(cpip.text)
    hinano = await session.scalar(select(Agent).where(Agent.email == "hinano@justice.fr"))
    assert hinano is not None and hinano.spip_id == spip.id


# --- Accès -----------------------------------------------------------------------------------

ADMIN_PAGES = (
    "/administration",
    "/administration/lieux",
    "/administration/lieux/nouveau",
    "/administration/agents",
    "/administration/agents/nouveau",
    "/administration/expediteur",
    "/administration/journal",
)


@pytest.mark.parametrize("role", ["cpip", "secretariat", "manager"])
async def test_other_roles_get_the_french_403_everywhere(
    web: httpx.AsyncClient, session: AsyncSession, role: str
) -> None:
    spip, agent = await _admin(session, role=role)
    place = await make_place(session, spip)
    await session.commit()
    await log_in(web, agent.email)
    home = await web.get("/")
    assert 'href="/administration"' not in home.text
    for path in (
        *ADMIN_PAGES,
        f"/administration/lieux/{place.id}",
        f"/administration/agents/{agent.id}",
        "/administration/spips/nouveau",
    ):
        page = await web.get(path)
        assert page.status_code == 403, path
        assert "<h1>Action impossible</h1>" in page.text, path
    token = await _token(web, "/")
    post = await web.post(
        "/administration/lieux/nouveau",
        data={"csrf": token, "nom": "X", "fuseau": "Europe/Paris"},
    )
    assert post.status_code == 403


async def test_the_menu_shows_administration_to_administrators(
    web: httpx.AsyncClient, session: AsyncSession
) -> None:
    _, agent = await _admin(session)
    await log_in(web, agent.email)
    page = await web.get("/administration")
    assert '<a class="fr-nav__link" href="/administration" aria-current="page">' in page.text
    assert "Règles de rappel" in page.text and 'href="/administration/modeles"' in page.text
    assert f'href="/administration/spips/{agent.spip_id}"' in page.text  # PATCH /spips/{id}
    other = await make_spip(session)
    await session.commit()
    assert (await web.get(f"/administration/spips/{other.id}")).status_code == 404
    assert (await web.get("/administration/spips/nouveau")).status_code == 403


async def test_every_admin_form_needs_its_csrf_token(
    web: httpx.AsyncClient, session: AsyncSession
) -> None:
    spip, agent = await _admin(session)
    place = await make_place(session, spip)
    cpip = await make_agent(session, spip)
    cpip_id = cpip.id
    await session.commit()
    await log_in(web, agent.email)
    for path, data in (
        ("/administration/lieux/nouveau", {"nom": "X", "fuseau": "Europe/Paris"}),
        (f"/administration/lieux/{place.id}", {"nom": "X", "fuseau": "Europe/Paris"}),
        ("/administration/agents/nouveau", {"nom": "X", "email": "x@x.fr", "role": "cpip"}),
        (f"/administration/agents/{cpip_id}/role", {"role": "manager"}),
        (f"/administration/agents/{cpip_id}/identite", {"nom": "X", "email": "x@x.fr"}),
        (f"/administration/agents/{cpip_id}/etat", {"actif": "non"}),
        (f"/administration/agents/{cpip_id}/lien", {}),
        ("/administration/expediteur", {"expediteur": "SPIP973"}),
    ):
        answer = await web.post(path, data=data | {"csrf": "0" * 64})
        assert answer.status_code == 403, path
        assert "Formulaire refusé" in answer.text, path
    session.expire_all()
    assert (await session.get_one(Agent, cpip_id)).active


# --- Journal d'audit -------------------------------------------------------------------------


async def test_the_audit_trail_filters_pages_and_shows_no_personal_value(
    web: httpx.AsyncClient, session: AsyncSession
) -> None:
    spip, agent = await _admin(session)
    other = await make_spip(session)
    person = await make_person(session, spip, first_name="Zéphyrine", last_name="Quasimodo")
    session.add_all(
        AuditEvent(
            occurred_at=FIXED_NOW - timedelta(days=40, minutes=n),
            agent_id=agent.id,
            spip_id=spip.id,
            action="update",
            entity="place",
            entity_id=n,
            changes={"phone": {"old": "1", "new": "2"}},
        )
        for n in range(60)
    )
    session.add(
        AuditEvent(
            occurred_at=FIXED_NOW - timedelta(days=1),
            agent_id=agent.id,
            spip_id=spip.id,
            action="update",
            entity="person",
            entity_id=person.id,
            changes={"last_name": {"changed": True}},
        )
    )
    session.add(
        AuditEvent(
            occurred_at=FIXED_NOW, spip_id=other.id, action="login", entity="agent", entity_id=1
        )
    )
    person_id, agent_id = person.id, agent.id
    await session.commit()
    await log_in(web, agent.email)  # a login row of its own, at FIXED_NOW
    page = await web.get("/administration/journal")
    assert page.status_code == 200
    assert "62 événements" in page.text  # 60 + the person + the login; not the other SPIP's
    assert 'aria-label="Pagination"' in page.text
    assert "Quasimodo" not in page.text and "Zéphyrine" not in page.text
    assert f'href="/personnes/{person_id}">Personne n° {person_id}</a>' in page.text
    assert "<td>Nom</td>" in page.text  # the field's name in French, never its value
    assert "last_name" not in page.text and "<td>Téléphone</td>" in page.text
    second = await web.get("/administration/journal?page=2")
    assert second.status_code == 200 and second.text.count("<tr>") == 1 + 12
    by_entity = await web.get("/administration/journal?entite=person")
    assert "1 événement" in by_entity.text and f"Personne n° {person_id}" in by_entity.text
    by_action = await web.get("/administration/journal?action=login")
    assert "1 événement" in by_action.text and "Connexion" in by_action.text
    by_agent = await web.get(f"/administration/journal?agent_id={agent_id}&action=update")
    assert "61 événements" in by_agent.text
    one = await web.get("/administration/journal?entite=place&numero=7")
    assert "1 événement" in one.text and "Lieu n° 7" in one.text
    assert re.search(r'id="numero"[^>]*value="7"|value="7"[^>]*id="numero"', one.text)  # kept
    dated = await web.get("/administration/journal?du=2027-01-14&au=14/01/2027")
    assert "1 événement" in dated.text  # the person's change only (the SPIP's local day)
    for query, field in (
        ("du=31/02/2027", "#du"),
        ("agent_id=999999", "#agent_id"),
        ("action=drop", "#action"),
        ("du=2027-01-14&au=2027-01-01", "#au"),
        ("numero=7", "#numero"),  # a number says nothing without its type
        ("entite=person&numero=7x", "#numero"),
    ):
        bad = await web.get(f"/administration/journal?{query}")
        assert bad.status_code == 422, query
        assert f'href="{field}"' in bad.text and "Aucun événement." in bad.text, query
