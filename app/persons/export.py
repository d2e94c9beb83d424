"""A person's data for a right-of-access request (RGPD art. 15), as one JSON document.

One function per section, each reading only what concerns this person: who they are, their
convocations, the SMS sent and received, the links of their convocations, the audit trail about
them. Instants are given in UTC and in the place's local time; no other person's data appears
(the trail gives agents by id only).
"""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from app.audit import service as audit
from app.core.clock import utcnow
from app.models import (
    Agent,
    Appointment,
    AppointmentType,
    AuditEvent,
    ConvocationLink,
    InboundMessage,
    Notification,
    Person,
    Place,
    Spip,
)

EXPORTED_ACTION = "person_exported"
FORMAT_VERSION = 1
ERASED_TEXT = "texte effacé après la durée de conservation"


def _instant(value: datetime | None, zone: str) -> dict[str, str] | None:
    if value is None:
        return None
    return {"utc": value.isoformat(), "local": value.astimezone(ZoneInfo(zone)).isoformat()}


async def build(session: AsyncSession, *, person: Person) -> dict[str, Any]:
    """Everything Convoc holds about ``person``, section by section."""
    spip = await session.get_one(Spip, person.spip_id)
    appointments = list(
        await session.scalars(
            select(Appointment)
            .where(Appointment.person_id == person.id)
            .order_by(Appointment.starts_at, Appointment.id)
        )
    )
    return {
        "format_version": FORMAT_VERSION,
        "generated_at": utcnow().isoformat(),
        "service": {"spip_code": spip.code, "spip_name": spip.name},
        "person": _person(person, spip.timezone),
        "appointments": await _appointments(session, appointments),
        "messages": await _messages(session, appointments),
        "convocation_links": await _links(session, appointments),
        "messages_received": await _received(session, person, spip.timezone),
        "audit": await _audit(session, person, appointments),
    }


def _person(person: Person, zone: str) -> dict[str, Any]:
    return {
        "id": person.id,
        "first_name": person.first_name,
        "last_name": person.last_name,
        "birth_date": person.birth_date.isoformat() if person.birth_date else None,
        "phone": person.phone,
        "phone_status": person.phone_status,
        "phone_problem": person.phone_problem,
        "phone_problem_at": _instant(person.phone_problem_at, zone),
        "sms_refused_at": _instant(person.sms_refused_at, zone),
        "sms_refused_via": person.sms_refused_via,
        "referent_agent_id": person.referent_agent_id,
        "archived": person.archived,
        "archived_at": _instant(person.archived_at, zone),
        "created_at": _instant(person.created_at, zone),
        "updated_at": _instant(person.updated_at, zone),
    }


async def _appointments(
    session: AsyncSession, appointments: list[Appointment]
) -> list[dict[str, Any]]:
    places = {p.id: p for p in await _by_id(session, Place, {a.place_id for a in appointments})}
    types = {
        t.id: t
        for t in await _by_id(
            session, AppointmentType, {a.appointment_type_id for a in appointments}
        )
    }
    found = []
    for a in appointments:
        place, kind = places[a.place_id], types[a.appointment_type_id]
        found.append(
            {
                "id": a.id,
                "type": {"code": kind.code, "label": kind.label},
                "place": {"name": place.name, "address": place.address, "timezone": place.timezone},
                "starts_at": _instant(a.starts_at, place.timezone),
                "duration_minutes": a.duration_minutes,
                "status": a.status,
                "cancel_reason": a.cancel_reason,
                "cancelled_at": _instant(a.cancelled_at, place.timezone),
                "outcome_recorded_at": _instant(a.outcome_recorded_at, place.timezone),
                "agent_id": a.agent_id,
                "rescheduled_from_id": a.rescheduled_from_id,
                "created_at": _instant(a.created_at, place.timezone),
            }
        )
    return found


async def _messages(session: AsyncSession, appointments: list[Appointment]) -> list[dict[str, Any]]:
    zones = await _zones(session, appointments)
    rows = await session.scalars(
        select(Notification)
        .where(Notification.appointment_id.in_([a.id for a in appointments]))
        .order_by(Notification.send_at, Notification.id)
    )
    return [
        {
            "id": n.id,
            "appointment_id": n.appointment_id,
            "kind": n.kind,
            "status": n.status,
            "reason": n.reason,
            "planned_at": _instant(n.planned_at, zones[n.appointment_id]),
            "send_at": _instant(n.send_at, zones[n.appointment_id]),
            "sent_at": _instant(n.sent_at, zones[n.appointment_id]),
            "delivered_at": _instant(n.delivered_at, zones[n.appointment_id]),
            "provider": n.provider,
            "segments": n.segments,
            # Texts are erased after the retention period; the message's facts stay.
            "body": n.body,
            "body_erased": n.body is None and n.sent_at is not None,
        }
        for n in rows
    ]


async def _links(session: AsyncSession, appointments: list[Appointment]) -> list[dict[str, Any]]:
    """The link each convocation's SMS carried: when issued, whether revoked. The token is
    not held (only its hash, which says nothing), so it cannot be given back."""
    zones = await _zones(session, appointments)
    rows = await session.scalars(
        select(ConvocationLink)
        .where(ConvocationLink.appointment_id.in_([a.id for a in appointments]))
        .order_by(ConvocationLink.id)
    )
    return [
        {
            "appointment_id": link.appointment_id,
            "created_at": _instant(link.created_at, zones[link.appointment_id]),
            "revoked_at": _instant(link.revoked_at, zones[link.appointment_id]),
        }
        for link in rows
    ]


async def _received(session: AsyncSession, person: Person, zone: str) -> list[dict[str, Any]]:
    """The SMS the person sent (replies, STOP), with their text when it is still kept."""
    rows = await session.scalars(
        select(InboundMessage)
        .where(InboundMessage.person_id == person.id)
        .order_by(InboundMessage.received_at, InboundMessage.id)
    )
    return [
        {
            "received_at": _instant(m.received_at, zone),
            "kind": m.kind,
            "from": m.sender_phone,
            "appointment_id": m.appointment_id,
            "text": m.body,
            "read_at": _instant(m.read_at, zone),
        }
        for m in rows
    ]


async def _audit(
    session: AsyncSession, person: Person, appointments: list[Appointment]
) -> list[dict[str, Any]]:
    """The trail's events about the person and their convocations: what, when, which agent
    (by id: an agent's name is not the person's data), and which fields changed (no values)."""
    about = or_(
        (AuditEvent.entity == "person") & (AuditEvent.entity_id == person.id),
        (AuditEvent.entity == "appointment")
        & AuditEvent.entity_id.in_([a.id for a in appointments]),
    )
    rows = await session.scalars(select(AuditEvent).where(about).order_by(AuditEvent.id))
    return [
        {
            "occurred_at": e.occurred_at.isoformat(),
            "action": e.action,
            "entity": e.entity,
            "entity_id": e.entity_id,
            "agent_id": e.agent_id,
            "fields": sorted(e.changes) if isinstance(e.changes, dict) else [],
        }
        for e in rows
    ]


async def _zones(session: AsyncSession, appointments: list[Appointment]) -> dict[int, str]:
    places = {p.id: p for p in await _by_id(session, Place, {a.place_id for a in appointments})}
    return {a.id: places[a.place_id].timezone for a in appointments}


async def _by_id(session: AsyncSession, model: Any, ids: set[int]) -> list[Any]:
    if not ids:
        return []
    return list(await session.scalars(select(model).where(model.id.in_(ids))))


async def export_person(session: AsyncSession, *, person: Person, agent: Agent) -> dict[str, Any]:
    """The document, and the trail's line saying who exported it (flushed with the request)."""
    document = await build(session, person=person)
    audit.record(session, EXPORTED_ACTION, "person", person.id, agent=agent, spip_id=person.spip_id)
    await session.flush()
    return document


def as_json(document: dict[str, Any]) -> bytes:
    """The document as the file a person is handed (UTF-8, readable: accents kept, indented)."""
    return json.dumps(document, ensure_ascii=False, indent=2).encode()


def filename(person_id: int) -> str:
    return f"convoc-personne-{person_id}.json"


def download_headers(person_id: int) -> dict[str, str]:
    """A download, never kept by a cache (the file holds personal data)."""
    return {
        "Content-Disposition": f'attachment; filename="{filename(person_id)}"',
        "Cache-Control": "no-store",
    }
