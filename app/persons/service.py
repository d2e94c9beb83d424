"""Followed persons (personnes suivies) and their SMS reachability."""

from __future__ import annotations

from sqlalchemy import Select, false, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from app.agents import service as agent_service
from app.core.clock import utcnow
from app.core.pagination import PageParams
from app.core.repository import apply_changes, get_or_raise, paginate
from app.models import Appointment, Person, PhoneStatus, RefusalChannel, Spip
from app.persons.duplicates import likely_duplicates
from app.persons.errors import (
    PersonHasAppointments,
    PersonLikelyDuplicate,
    PersonNotFound,
    PhoneRequired,
    PhoneStatusConflict,
)
from app.persons.phones import normalize_mobile
from app.persons.refusal import refusal_changes
from app.persons.schemas import PersonCreate, PersonUpdate
from app.persons.search import parse_query, phone_match
from app.spips import service as spip_service


async def get_person(session: AsyncSession, person_id: int) -> Person:
    return await get_or_raise(session, Person, person_id, PersonNotFound)


async def list_persons(
    session: AsyncSession,
    *,
    page: PageParams,
    spip_id: int | None = None,
    q: str | None = None,
    referent_agent_id: int | None = None,
    archived: bool | None = False,
) -> tuple[list[Person], int]:
    stmt: Select[Person] = select(Person).order_by(Person.last_name, Person.first_name, Person.id)
    if spip_id is not None:
        stmt = stmt.where(Person.spip_id == spip_id)
    if referent_agent_id is not None:
        stmt = stmt.where(Person.referent_agent_id == referent_agent_id)
    if archived is not None:
        stmt = stmt.where(Person.archived.is_(archived))
    stmt = await _apply_search(session, stmt, q=q, spip_id=spip_id)
    return await paginate(session, stmt, limit=page.limit, offset=page.offset)


async def _apply_search(
    session: AsyncSession, stmt: Select[Person], *, q: str | None, spip_id: int | None
) -> Select[Person]:
    """Filter by the search box: folded names, a birth date, a mobile number (``search``)."""
    query = parse_query(q, today=utcnow().date())
    if query.matches_nothing:
        return stmt.where(false())
    for word in query.words:
        # Substring match on the folded names (``Person.search_name``), the same on both
        # databases; the (spip_id, search_name) index lets PostgreSQL scan one SPIP's keys only.
        stmt = stmt.where(Person.search_name.like(f"%{_escape_like(word)}%", escape="\\"))
    if query.birth_date is not None:
        stmt = stmt.where(Person.birth_date == query.birth_date)
    if query.phone_text is not None:
        region = await _phone_region(session, spip_id)
        match = phone_match(query.phone_text, region=region)
        if match.exact is not None:
            stmt = stmt.where(Person.phone == match.exact)
        elif match.suffix is not None:
            stmt = stmt.where(Person.phone.like(f"%{match.suffix}"))
        else:
            stmt = stmt.where(false())
    return stmt


async def _phone_region(session: AsyncSession, spip_id: int | None) -> str:
    """The region national numbers are read in: the SPIP's, or France (then the DOM) for all."""
    region = None
    if spip_id is not None:
        region = await session.scalar(select(Spip.phone_region).where(Spip.id == spip_id))
    return region or "FR"


def _escape_like(text: str) -> str:
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


def resolve_phone(
    *, spip: Spip, raw_phone: str | None, status: PhoneStatus | None
) -> tuple[str | None, PhoneStatus]:
    """The stored (E.164) number and status from what the agent typed.

    Without an explicit status the number decides: a number makes it ``valid``, none makes it
    ``none``. ``refused`` is the person's choice and may keep a number the agent can still call.
    """
    phone = normalize_mobile(raw_phone, spip.phone_region) if raw_phone else None
    if status is None:
        status = PhoneStatus.valid if phone else PhoneStatus.none
    if status is PhoneStatus.valid and phone is None:
        raise PhoneRequired(field="phone")
    if status is PhoneStatus.none and phone is not None:
        raise PhoneStatusConflict(field="phone_status")
    return phone, status


async def create_person(session: AsyncSession, *, data: PersonCreate) -> Person:
    spip = await spip_service.get_spip(session, data.spip_id)
    if data.referent_agent_id is not None:
        await agent_service.get_agent_in_spip(
            session, data.referent_agent_id, spip_id=spip.id, field="referent_agent_id"
        )
    phone, status = resolve_phone(spip=spip, raw_phone=data.phone, status=data.phone_status)
    if not data.allow_duplicate:
        candidates = await likely_duplicates(
            session,
            spip_id=spip.id,
            first_name=data.first_name,
            last_name=data.last_name,
            birth_date=data.birth_date,
            phone=phone,
        )
        if candidates:
            raise PersonLikelyDuplicate([c.id for c in candidates])
    person = Person(
        spip_id=spip.id,
        referent_agent_id=data.referent_agent_id,
        first_name=data.first_name,
        last_name=data.last_name,
        birth_date=data.birth_date,
        phone=phone,
        phone_status=status.value,
    )
    if status is PhoneStatus.refused:
        person.sms_refused_at = utcnow()
        person.sms_refused_via = RefusalChannel.agent.value
    session.add(person)
    await session.flush()
    return person


async def update_person(session: AsyncSession, *, person: Person, data: PersonUpdate) -> Person:
    changes = data.patch_values(nullable=frozenset({"referent_agent_id", "birth_date", "phone"}))
    if changes.get("referent_agent_id") is not None:
        await agent_service.get_agent_in_spip(
            session, changes["referent_agent_id"], spip_id=person.spip_id, field="referent_agent_id"
        )
    if "phone" in changes or "phone_status" in changes:
        changes.update(await _phone_changes(session, person, data))
        if changes.get("phone", person.phone) != person.phone:
            # A new (or no) number: a provider's refusal of the old one no longer applies.
            changes.update(phone_problem=None, phone_problem_at=None)
    changes.update(refusal_changes(person, changes.get("phone_status")))
    if "archived" in changes:
        changes["archived_at"] = utcnow() if changes["archived"] else None
        if changes["archived"] == person.archived:
            del changes["archived_at"]
    apply_changes(person, changes)
    await session.flush()
    return person


async def _phone_changes(
    session: AsyncSession, person: Person, data: PersonUpdate
) -> dict[str, str | None]:
    status = data.phone_status
    if status is None and person.phone_status == PhoneStatus.refused.value:
        # A new number does not undo the person's refusal of SMS.
        status = PhoneStatus.refused
    if "phone" not in data.model_fields_set:
        # Only the status changes: the stored number is already normalised.
        assert status is not None
        if status is PhoneStatus.none:
            return {"phone": None, "phone_status": status.value}
        if status is PhoneStatus.valid and person.phone is None:
            raise PhoneRequired(field="phone")
        return {"phone_status": status.value}
    spip = await spip_service.get_spip(session, person.spip_id)
    phone, new_status = resolve_phone(spip=spip, raw_phone=data.phone, status=status)
    return {"phone": phone, "phone_status": new_status.value}


async def appointment_count(session: AsyncSession, person_id: int) -> int:
    """All the person's convocations, whatever their status (cancelled and moved included)."""
    count = await session.scalar(
        select(func.count()).select_from(Appointment).where(Appointment.person_id == person_id)
    )
    return count or 0


async def delete_person(session: AsyncSession, *, person: Person) -> None:
    """Only for a person entered by mistake: one with convocations is archived instead."""
    if await appointment_count(session, person.id):
        raise PersonHasAppointments()
    await session.delete(person)
    await session.flush()
