"""Every route × every role × own SPIP / other SPIP / no token, generated from the route table.

A route that declares neither a permission (``Allowed``) nor ``PUBLIC`` fails this suite, and so
does a route without a request sample below: new routes cannot slip past the access rules.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import pytest
from fastapi.routing import APIRoute
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from app.auth.access import ROLE_PERMISSIONS, Permission
from app.auth.dependencies import Allowed, Public
from app.main import API_ROUTERS
from app.models import Agent, Appointment, Court, Notification, Role, SendingPause, Spip
from app.reminders import service as reminder_service
from tests.agendas.support import make_agenda, make_slot, make_slot_type
from tests.conftest import ClientFactory
from tests.factories import (
    make_agent,
    make_appointment,
    make_court,
    make_person,
    make_place,
    make_spip,
)


@dataclass
class Side:
    spip: int
    place: int
    agent: int
    person: int
    appointment: int
    notification: int
    agenda: int
    slot_type: int
    slot: int
    court: int = 0  # the court clerks' court, linked to the own side's SPIP only
    pause: int = 0  # a pause of the side's SPIP, already resumed


Request = tuple[str, dict[str, Any] | None, dict[str, Any] | None]  # path, json, query
Sample = Callable[[Side], Request]

# One valid request per route, for a given SPIP's resources. `None` side-independent.
SAMPLES: dict[tuple[str, str], Sample] = {
    ("GET", "/auth/me"): lambda s: ("/auth/me", None, None),
    ("POST", "/auth/logout"): lambda s: ("/auth/logout", None, None),
    ("POST", "/spips"): lambda s: (
        "/spips",
        {"code": "SPIP-NEW", "name": "N", "timezone": "Europe/Paris", "phone_region": "FR"},
        None,
    ),
    ("GET", "/spips"): lambda s: ("/spips", None, None),
    ("GET", "/spips/{spip_id}"): lambda s: (f"/spips/{s.spip}", None, None),
    ("PATCH", "/spips/{spip_id}"): lambda s: (f"/spips/{s.spip}", {"address": "Ici"}, None),
    ("POST", "/spips/{spip_id}/places"): lambda s: (f"/spips/{s.spip}/places", {"name": "L"}, None),
    ("GET", "/spips/{spip_id}/places"): lambda s: (f"/spips/{s.spip}/places", None, None),
    ("GET", "/places/{place_id}"): lambda s: (f"/places/{s.place}", None, None),
    ("PATCH", "/places/{place_id}"): lambda s: (
        f"/places/{s.place}",
        {"phone": "0102030405"},
        None,
    ),
    ("POST", "/agents"): lambda s: (
        "/agents",
        {"spip_id": s.spip, "name": "Nouvel agent", "email": f"new{s.spip}@x.fr", "role": "cpip"},
        None,
    ),
    ("GET", "/agents"): lambda s: ("/agents", None, {"spip_id": s.spip}),
    ("GET", "/agents/{agent_id}"): lambda s: (f"/agents/{s.agent}", None, None),
    ("PATCH", "/agents/{agent_id}"): lambda s: (f"/agents/{s.agent}", {"name": "Renommé"}, None),
    ("POST", "/agents/{agent_id}/activation-token"): lambda s: (
        f"/agents/{s.agent}/activation-token",
        None,
        None,
    ),
    ("POST", "/persons"): lambda s: (
        "/persons",
        {"spip_id": s.spip, "first_name": "A", "last_name": "B"},
        None,
    ),
    ("GET", "/persons"): lambda s: ("/persons", None, {"spip_id": s.spip}),
    ("GET", "/persons/{person_id}"): lambda s: (f"/persons/{s.person}", None, None),
    ("PATCH", "/persons/{person_id}"): lambda s: (
        f"/persons/{s.person}",
        {"first_name": "C"},
        None,
    ),
    ("DELETE", "/persons/{person_id}"): lambda s: (f"/persons/{s.person}", None, None),
    ("GET", "/persons/{person_id}/replies"): lambda s: (f"/persons/{s.person}/replies", None, None),
    ("GET", "/persons/{person_id}/history"): lambda s: (f"/persons/{s.person}/history", None, None),
    ("GET", "/persons/{person_id}/export"): lambda s: (f"/persons/{s.person}/export", None, None),
    ("GET", "/appointment-types"): lambda s: ("/appointment-types", None, None),
    ("POST", "/appointments"): lambda s: (
        "/appointments",
        {
            "person_id": s.person,
            "place_id": s.place,
            "appointment_type": "suivi_spip",
            "starts_at": "2027-02-10T09:00",
        },
        None,
    ),
    ("POST", "/appointments/preview"): lambda s: (
        "/appointments/preview",
        {
            "person_id": s.person,
            "place_id": s.place,
            "appointment_type": "suivi_spip",
            "starts_at": "2027-02-10T09:00",
        },
        None,
    ),
    ("GET", "/appointments"): lambda s: ("/appointments", None, {"spip_id": s.spip}),
    ("GET", "/appointments/{appointment_id}"): lambda s: (
        f"/appointments/{s.appointment}",
        None,
        None,
    ),
    ("POST", "/appointments/{appointment_id}/cancel"): lambda s: (
        f"/appointments/{s.appointment}/cancel",
        {"notify": False},
        None,
    ),
    ("POST", "/appointments/{appointment_id}/link/revoke"): lambda s: (
        f"/appointments/{s.appointment}/link/revoke",
        None,
        None,
    ),
    ("POST", "/appointments/{appointment_id}/link"): lambda s: (
        f"/appointments/{s.appointment}/link",
        None,
        None,
    ),
    ("POST", "/appointments/{appointment_id}/reschedule"): lambda s: (
        f"/appointments/{s.appointment}/reschedule",
        {"starts_at": "2027-02-11T09:00"},
        None,
    ),
    ("POST", "/appointments/{appointment_id}/outcome"): lambda s: (
        f"/appointments/{s.appointment}/outcome",
        {"outcome": "excused"},
        None,
    ),
    ("GET", "/appointments/{appointment_id}/history"): lambda s: (
        f"/appointments/{s.appointment}/history",
        None,
        None,
    ),
    ("GET", "/appointments/{appointment_id}/notifications"): lambda s: (
        f"/appointments/{s.appointment}/notifications",
        None,
        None,
    ),
    ("POST", "/notifications/{notification_id}/resend"): lambda s: (
        f"/notifications/{s.notification}/resend",
        None,
        None,
    ),
    ("GET", "/spips/{spip_id}/reminder-policy"): lambda s: (
        f"/spips/{s.spip}/reminder-policy",
        None,
        None,
    ),
    ("PUT", "/spips/{spip_id}/reminder-policy"): lambda s: (
        f"/spips/{s.spip}/reminder-policy",
        {},
        None,
    ),
    ("GET", "/spips/{spip_id}/templates/{kind}"): lambda s: (
        f"/spips/{s.spip}/templates/reminder",
        None,
        None,
    ),
    ("PUT", "/spips/{spip_id}/templates/{kind}"): lambda s: (
        f"/spips/{s.spip}/templates/reminder",
        {"body": "Rappel le {rdv.date} à {rdv.heure}."},
        None,
    ),
    ("DELETE", "/spips/{spip_id}/templates/{kind}"): lambda s: (
        f"/spips/{s.spip}/templates/reminder",
        None,
        None,
    ),
    ("POST", "/templates/preview"): lambda s: ("/templates/preview", {"spip_id": s.spip}, None),
    ("GET", "/templates/{kind}"): lambda s: ("/templates/reminder", None, None),
    ("PUT", "/templates/{kind}"): lambda s: (
        "/templates/reminder",
        {"body": "Rappel national le {rdv.date} à {rdv.heure}."},
        None,
    ),
    ("DELETE", "/templates/{kind}"): lambda s: ("/templates/reminder", None, None),
    ("POST", "/places/{place_id}/agendas"): lambda s: (
        f"/places/{s.place}/agendas",
        {"name": "Permanence"},
        None,
    ),
    ("GET", "/places/{place_id}/agendas"): lambda s: (f"/places/{s.place}/agendas", None, None),
    ("GET", "/agendas/{agenda_id}"): lambda s: (f"/agendas/{s.agenda}", None, None),
    ("PATCH", "/agendas/{agenda_id}"): lambda s: (f"/agendas/{s.agenda}", {"name": "R"}, None),
    ("POST", "/agendas/{agenda_id}/slot-types"): lambda s: (
        f"/agendas/{s.agenda}/slot-types",
        {
            "weekday": 3,
            "start_time": "10:00",
            "duration_minutes": 30,
            "from_date": "2027-02-01",
            "to_date": "2027-02-28",
        },
        None,
    ),
    ("GET", "/agendas/{agenda_id}/slot-types"): lambda s: (
        f"/agendas/{s.agenda}/slot-types",
        None,
        None,
    ),
    ("DELETE", "/slot-types/{slot_type_id}"): lambda s: (f"/slot-types/{s.slot_type}", None, None),
    ("POST", "/agendas/{agenda_id}/slots"): lambda s: (
        f"/agendas/{s.agenda}/slots",
        {"dates": ["2027-02-12"], "times": ["14:00"], "duration_minutes": 30},
        None,
    ),
    ("GET", "/agendas/{agenda_id}/slots"): lambda s: (f"/agendas/{s.agenda}/slots", None, None),
    ("GET", "/places/{place_id}/slots"): lambda s: (
        f"/places/{s.place}/slots",
        None,
        {"free": "true"},
    ),
    ("GET", "/slots/{slot_id}"): lambda s: (f"/slots/{s.slot}", None, None),
    ("PATCH", "/slots/{slot_id}"): lambda s: (f"/slots/{s.slot}", {"closed": True}, None),
    ("POST", "/courts"): lambda s: ("/courts", {"name": "TJ nouveau", "spip_ids": [s.spip]}, None),
    ("GET", "/courts"): lambda s: ("/courts", None, None),
    ("GET", "/courts/{court_id}"): lambda s: (f"/courts/{s.court}", None, None),
    ("PATCH", "/courts/{court_id}"): lambda s: (f"/courts/{s.court}", {"name": "TJ renommé"}, None),
    ("GET", "/court/agendas"): lambda s: ("/court/agendas", None, None),
    ("GET", "/court/agendas/{agenda_id}/availability"): lambda s: (
        f"/court/agendas/{s.agenda}/availability",
        None,
        {"month": "2027-02"},
    ),
    ("GET", "/court/agendas/{agenda_id}/slots"): lambda s: (
        f"/court/agendas/{s.agenda}/slots",
        None,
        {"day": "2027-02-02"},
    ),
    ("POST", "/court/bookings"): lambda s: (
        "/court/bookings",
        {"slot_id": s.slot, "person": {"first_name": "Dominique", "last_name": "Audience"}},
        None,
    ),
    ("GET", "/court/bookings"): lambda s: ("/court/bookings", None, None),
    ("GET", "/court/bookings/{appointment_id}"): lambda s: (
        f"/court/bookings/{s.appointment}",
        None,
        None,
    ),
    ("GET", "/audit"): lambda s: ("/audit", None, {"spip_id": s.spip}),
    ("GET", "/reports/attendance"): lambda s: ("/reports/attendance", None, {"spip_id": s.spip}),
    ("GET", "/reports/sms"): lambda s: ("/reports/sms", None, {"spip_id": s.spip}),
    ("GET", "/reports/unrecorded"): lambda s: ("/reports/unrecorded", None, {"spip_id": s.spip}),
    ("GET", "/operations/queue"): lambda s: ("/operations/queue", None, None),
    ("POST", "/operations/pauses"): lambda s: (
        "/operations/pauses",
        {"spip_id": s.spip, "reason": "Essai des droits"},
        None,
    ),
    ("POST", "/operations/retries"): lambda s: ("/operations/retries", {"spip_id": s.spip}, None),
    # A pause already resumed: the administrator's answer is 409, anyone else's 403.
    ("POST", "/operations/pauses/{pause_id}/resume"): lambda s: (
        f"/operations/pauses/{s.pause}/resume",
        None,
        None,
    ),
}
# Routes about no SPIP in particular: only "own side" and "no token" apply.
SIDELESS = {
    ("GET", "/auth/me"),
    ("POST", "/auth/logout"),
    ("POST", "/spips"),
    ("GET", "/spips"),
    ("GET", "/appointment-types"),
    ("GET", "/templates/{kind}"),
    ("PUT", "/templates/{kind}"),
    ("DELETE", "/templates/{kind}"),
    ("POST", "/courts"),
    ("GET", "/courts"),
    ("GET", "/courts/{court_id}"),
    ("PATCH", "/courts/{court_id}"),
    ("GET", "/court/agendas"),
    ("GET", "/court/bookings"),
    ("GET", "/operations/queue"),
    ("POST", "/operations/pauses/{pause_id}/resume"),
}


def _marker(route: APIRoute) -> Permission | str | None:
    stack = list(route.dependant.dependencies)
    while stack:
        dep = stack.pop()
        if isinstance(dep.call, Allowed):
            return dep.call.permission
        if isinstance(dep.call, Public):
            return "public"
        stack.extend(dep.dependencies)
    return None


def _routes() -> list[tuple[str, str, Permission | str | None]]:
    found = []
    for router in API_ROUTERS:
        for route in router.routes:
            assert isinstance(route, APIRoute)
            for method in sorted(route.methods):
                found.append((method, route.path_format, _marker(route)))
    return found


ROUTES = _routes()
GUARDED = [(m, p, perm) for m, p, perm in ROUTES if isinstance(perm, Permission)]


def test_every_route_declares_its_rule() -> None:
    missing = [(m, p) for m, p, marker in ROUTES if marker is None]
    assert not missing, f"routes without a permission or PUBLIC: {missing}"


def test_every_guarded_route_has_a_request_sample() -> None:
    missing = [(m, p) for m, p, _ in GUARDED if (m, p) not in SAMPLES]
    assert not missing, f"add a request sample to SAMPLES for: {missing}"


async def _side(session: AsyncSession, code: str) -> Side:
    spip = await make_spip(session, code=code)
    place = await make_place(session, spip)
    agent = await make_agent(session, spip)
    person = await make_person(session, spip)
    appointment = await make_appointment(
        session, person, place, starts_at=datetime(2027, 2, 1, 8, 0, tzinfo=UTC)
    )
    await reminder_service.on_booked(session, appointment=appointment, send_summons=False)
    notification = await session.scalar(
        select(Notification.id).where(Notification.appointment_id == appointment.id)
    )
    # Open to the courts: a court clerk's routes reach it only through a linked court.
    agenda = await make_agenda(session, place, open_to_courts=True)
    slot_type = await make_slot_type(session, agenda)
    slot = await make_slot(session, agenda, starts_at=datetime(2027, 2, 2, 8, 0, tzinfo=UTC))
    moment = datetime(2027, 1, 4, 8, 0, tzinfo=UTC)
    pause = SendingPause(spip_id=spip.id, reason="passée", paused_at=moment, resumed_at=moment)
    session.add(pause)
    await session.commit()
    assert notification is not None
    return Side(
        spip.id,
        place.id,
        agent.id,
        person.id,
        appointment.id,
        notification,
        agenda.id,
        slot_type.id,
        slot.id,
        pause=pause.id,
    )


async def _agent_of(session: AsyncSession, role: Role, spip: Spip, court: Court) -> Agent:
    if role is Role.admin:
        return await make_agent(session, None, role=role.value)
    if role is Role.court_clerk:
        return await make_agent(session, None, role=role.value, court_id=court.id)
    return await make_agent(session, spip, role=role.value)


@pytest.mark.parametrize(
    ("method", "path", "permission"), GUARDED, ids=[f"{m} {p}" for m, p, _ in GUARDED]
)
async def test_route_access(
    method: str,
    path: str,
    permission: Permission,
    session: AsyncSession,
    client_for: ClientFactory,
) -> None:
    own, other = await _side(session, "SPIP-OWN"), await _side(session, "SPIP-OTHER")
    sample = SAMPLES[(method, path)]
    own_spip = await session.get_one(Spip, own.spip)
    court = await make_court(session, own_spip)
    own.court = other.court = court.id
    # The own side's convocation was booked from the court (the clerk may read it).
    (await session.get_one(Appointment, own.appointment)).court_id = court.id
    agents = {role: await _agent_of(session, role, own_spip, court) for role in Role}
    await session.commit()

    async def call(agent: Agent | None, side: Side) -> int:
        url, body, query = sample(side)
        async with client_for(agent) as client:
            response = await client.request(method, url, json=body, params=query)
        assert response.status_code < 500, (method, url, response.text)
        return response.status_code

    assert await call(None, own) == 401
    for role, agent in agents.items():
        granted = permission in ROLE_PERMISSIONS[role]
        status = await call(agent, own)
        if granted:
            assert status not in (401, 403, 404), (role, "own", status)
        else:
            assert status == 403, (role, "own", status)
        if (method, path) in SIDELESS:
            continue
        status = await call(agent, other)
        if role is Role.admin and not granted:
            assert status == 403, (role, "other", status)
        elif role is Role.admin:
            assert status not in (401, 403, 404), (role, "other", status)
        elif path.startswith("/court/") and not granted:
            # A clerk's route checks the role before it looks anything up: nothing to reveal.
            assert status == 403, (role, "other", status)
        elif "{" in path or granted:
            assert status == 404, (role, "other", status)  # never reveal another SPIP's data
        else:
            assert status == 403, (role, "other", status)
