"""A SPIP's reminder policy and its SMS templates (with national defaults)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Literal, Protocol

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from app.appointments.errors import UnknownAppointmentType
from app.core.localtime import zone
from app.models import (
    AppointmentType,
    MessageTemplate,
    NotificationKind,
    Place,
    ReminderPolicy,
    Spip,
)
from app.reminders import planning, templates
from app.reminders.schemas import (
    DaysBeforeRule,
    HoursBeforeRule,
    NationalTemplateRead,
    ReminderPolicyBody,
    TemplateRead,
    parse_hhmm,
)


@dataclass(frozen=True)
class SpipPolicy:
    """The policy in force for a SPIP, as stored (or the defaults)."""

    body: ReminderPolicyBody
    is_default: bool

    @property
    def window(self) -> planning.Window:
        w = self.body.send_window
        return planning.Window(parse_hhmm(w.start), parse_hhmm(w.end))

    @property
    def tolerated(self) -> planning.Window:
        w = self.body.tolerated_window
        return planning.Window(parse_hhmm(w.start), parse_hhmm(w.end))

    def for_type(self, type_code: str) -> planning.Policy:
        rules = self.body.type_rules.get(type_code, self.body.rules)
        return planning.Policy(
            rules=tuple(_rule(r) for r in rules),
            window=self.window,
            min_lead=timedelta(minutes=self.body.min_lead_minutes),
            tolerated=self.tolerated,
        )


def _rule(rule: DaysBeforeRule | HoursBeforeRule) -> planning.Rule:
    if isinstance(rule, DaysBeforeRule):
        return planning.DaysBefore(rule.days_before, parse_hhmm(rule.at))
    return planning.HoursBefore(rule.hours_before)


async def get_policy(session: AsyncSession, spip_id: int) -> SpipPolicy:
    row = await session.scalar(select(ReminderPolicy).where(ReminderPolicy.spip_id == spip_id))
    return policy_from_row(row)


def policy_from_row(row: ReminderPolicy | None) -> SpipPolicy:
    """The policy a stored row sets, or the defaults when the SPIP has none (for callers that
    load the row with other data, in one query)."""
    if row is None:
        return SpipPolicy(ReminderPolicyBody(), is_default=True)
    body = ReminderPolicyBody.model_validate(
        {
            "rules": row.rules,
            "type_rules": row.type_rules,
            "send_window": {"start": row.window_start, "end": row.window_end},
            "tolerated_window": {"start": row.tolerated_start, "end": row.tolerated_end},
            "min_lead_minutes": row.min_lead_minutes,
            "max_segments": row.max_segments,
            "gsm7_friendly": row.gsm7_friendly,
            "sender": row.sender,
        }
    )
    return SpipPolicy(body, is_default=False)


async def save_policy(session: AsyncSession, *, spip: Spip, body: ReminderPolicyBody) -> SpipPolicy:
    await _check_type_codes(session, list(body.type_rules))
    row = await session.scalar(select(ReminderPolicy).where(ReminderPolicy.spip_id == spip.id))
    if row is None:
        row = ReminderPolicy(spip_id=spip.id)
        session.add(row)
    dumped = body.model_dump(mode="json")
    row.rules = dumped["rules"]
    row.type_rules = dumped["type_rules"]
    row.window_start = body.send_window.start
    row.window_end = body.send_window.end
    row.tolerated_start = body.tolerated_window.start
    row.tolerated_end = body.tolerated_window.end
    row.min_lead_minutes = body.min_lead_minutes
    row.max_segments = body.max_segments
    row.gsm7_friendly = body.gsm7_friendly
    row.sender = body.sender
    await session.flush()
    return SpipPolicy(body, is_default=False)


async def _check_type_codes(session: AsyncSession, codes: list[str]) -> None:
    if not codes:
        return
    known = set(
        await session.scalars(select(AppointmentType.code).where(AppointmentType.code.in_(codes)))
    )
    unknown = sorted(set(codes) - known)
    if unknown:
        raise UnknownAppointmentType(
            f"Type(s) de convocation inconnu(s) : {', '.join(unknown)}.", field="type_rules"
        )


# --- templates ------------------------------------------------------------------------------


def scope_key(spip_id: int | None, type_code: str | None, kind: NotificationKind) -> str:
    return f"{spip_id or '*'}:{type_code or '*'}:{kind.value}"


TemplateSource = Literal["default", "national", "spip", "appointment_type"]


async def _type_id(session: AsyncSession, code: str | None) -> int | None:
    if code is None:
        return None
    type_id = await session.scalar(select(AppointmentType.id).where(AppointmentType.code == code))
    if type_id is None:
        raise UnknownAppointmentType(field="appointment_type")
    return type_id


async def effective_template(
    session: AsyncSession, *, spip_id: int, kind: NotificationKind, type_code: str | None
) -> tuple[str, TemplateSource]:
    """The wording in force and where it comes from, most specific first: the SPIP's for this
    appointment type, the SPIP's, the national one (set by national administrators), the
    built-in default."""
    candidates: list[tuple[str, TemplateSource]] = [
        (scope_key(spip_id, None, kind), "spip"),
        (scope_key(None, None, kind), "national"),
    ]
    if type_code:
        candidates.insert(0, (scope_key(spip_id, type_code, kind), "appointment_type"))
    rows = {
        t.scope_key: t.body
        for t in await session.scalars(
            select(MessageTemplate).where(MessageTemplate.scope_key.in_([k for k, _ in candidates]))
        )
    }
    for key, source in candidates:
        if key in rows:
            return rows[key], source
    return templates.DEFAULT_TEMPLATES[kind], "default"


async def national_template(session: AsyncSession, kind: NotificationKind) -> NationalTemplateRead:
    stored = await session.scalar(
        select(MessageTemplate.body).where(MessageTemplate.scope_key == scope_key(None, None, kind))
    )
    body = stored or templates.DEFAULT_TEMPLATES[kind]
    worst = templates.render_info(
        body, NATIONAL_LONGEST, gsm7_friendly=ReminderPolicyBody().gsm7_friendly
    )
    return NationalTemplateRead(
        kind=kind,
        body=body,
        source="national" if stored else "default",
        max_segments=ReminderPolicyBody().max_segments,
        encoding=worst.info.encoding,
        segments=worst.info.segments,
    )


async def save_national_template(
    session: AsyncSession, *, kind: NotificationKind, body: str, agent_id: int | None
) -> NationalTemplateRead:
    """The wording every SPIP uses until it sets its own (national administrators only)."""
    templates.validate(body)
    templates.check_segment_cap(
        body,
        NATIONAL_LONGEST,
        gsm7_friendly=ReminderPolicyBody().gsm7_friendly,
        max_segments=ReminderPolicyBody().max_segments,
    )
    key = scope_key(None, None, kind)
    row = await session.scalar(select(MessageTemplate).where(MessageTemplate.scope_key == key))
    if row is None:
        row = MessageTemplate(scope_key=key, spip_id=None, kind=kind.value, body=body)
        session.add(row)
    row.body, row.updated_by_id = body, agent_id
    await session.flush()
    return await national_template(session, kind)


async def delete_national_template(
    session: AsyncSession, kind: NotificationKind
) -> NationalTemplateRead:
    row = await session.scalar(
        select(MessageTemplate).where(MessageTemplate.scope_key == scope_key(None, None, kind))
    )
    if row is not None:
        await session.delete(row)
        await session.flush()
    return await national_template(session, kind)


# Generous worst cases for a template that any SPIP may use.
NATIONAL_LONGEST: dict[str, str | None] = {
    "rdv.date": templates.LONGEST_DATE,
    "rdv.heure": templates.LONGEST_HOUR,
    "lieu.nom": "x" * 40,
    "lieu.adresse": "x" * 70,
    "lieu.telephone": "x" * 14,
    "lieu.lien_info": "x" * 40,
    "spip.nom": "x" * 40,
}


async def longest_values(session: AsyncSession, spip: Spip) -> dict[str, str | None]:
    """The longest place texts of this SPIP, for the segment cap of its templates."""
    lengths = (
        await session.execute(
            select(
                func.max(func.length(Place.name)),
                func.max(func.length(Place.address)),
                func.max(func.length(Place.phone)),
                func.max(func.length(Place.info_url)),
            ).where(Place.spip_id == spip.id)
        )
    ).one()
    name, address, phone, url = (n or 0 for n in lengths)
    # Worst case in characters; "é" keeps GSM-7 honest, a UCS-2 address is caught at send time.
    return {
        "lieu.nom": "x" * max(name, 30),
        "lieu.adresse": "x" * max(address, 60),
        "lieu.telephone": "x" * max(phone, 14),
        "lieu.lien_info": "x" * max(url, 0) or None,
        "spip.nom": spip.name,
    }


async def template_read(
    session: AsyncSession, *, spip: Spip, kind: NotificationKind, type_code: str | None
) -> TemplateRead:
    await _type_id(session, type_code)
    body, source = await effective_template(
        session, spip_id=spip.id, kind=kind, type_code=type_code
    )
    policy = await get_policy(session, spip.id)
    values: dict[str, str | None] = {
        "rdv.date": templates.LONGEST_DATE,
        "rdv.heure": templates.LONGEST_HOUR,
    }
    worst = templates.render_info(
        body,
        values | await longest_values(session, spip),
        gsm7_friendly=policy.body.gsm7_friendly,
    )
    return TemplateRead(
        spip_id=spip.id,
        kind=kind,
        appointment_type=type_code,
        body=body,
        source=source,
        max_segments=policy.body.max_segments,
        encoding=worst.info.encoding,
        segments=worst.info.segments,
    )


async def save_template(
    session: AsyncSession,
    *,
    spip: Spip,
    kind: NotificationKind,
    type_code: str | None,
    body: str,
    agent_id: int | None = None,
) -> TemplateRead:
    templates.validate(body)
    policy = await get_policy(session, spip.id)
    templates.check_segment_cap(
        body,
        await longest_values(session, spip),
        gsm7_friendly=policy.body.gsm7_friendly,
        max_segments=policy.body.max_segments,
    )
    key = scope_key(spip.id, type_code, kind)
    row = await session.scalar(select(MessageTemplate).where(MessageTemplate.scope_key == key))
    if row is None:
        row = MessageTemplate(
            scope_key=key,
            spip_id=spip.id,
            appointment_type_id=await _type_id(session, type_code),
            kind=kind.value,
            body=body,
        )
        session.add(row)
    row.body = body
    row.updated_by_id = agent_id
    await session.flush()
    return await template_read(session, spip=spip, kind=kind, type_code=type_code)


async def delete_template(
    session: AsyncSession, *, spip: Spip, kind: NotificationKind, type_code: str | None
) -> TemplateRead:
    key = scope_key(spip.id, type_code, kind)
    row = await session.scalar(select(MessageTemplate).where(MessageTemplate.scope_key == key))
    if row is not None:
        await session.delete(row)
        await session.flush()
    return await template_read(session, spip=spip, kind=kind, type_code=type_code)


class PlaceFacts(Protocol):
    """What a message says about the place: a ``Place``, or the same columns read alone."""

    @property
    def name(self) -> str: ...
    @property
    def address(self) -> str | None: ...
    @property
    def phone(self) -> str | None: ...
    @property
    def info_url(self) -> str | None: ...
    @property
    def timezone(self) -> str: ...


def placeholder_values(
    *, spip_name: str, place: PlaceFacts, starts_at: datetime
) -> dict[str, str | None]:
    local = starts_at.astimezone(zone(place.timezone))
    return {
        "rdv.date": templates.french_date(local),
        "rdv.heure": templates.french_hour(local),
        "lieu.nom": place.name,
        "lieu.adresse": place.address,
        "lieu.telephone": place.phone,
        "lieu.lien_info": place.info_url,
        "spip.nom": spip_name,
    }
