"""SMS wording: French defaults, placeholders, validation, rendering, storage and look-up.

Placeholders are ``{rdv.date}`` (« lundi 29 mars 2027 »), ``{rdv.heure}`` (« 9h00 »),
``{rdv.lien}`` (the convocation's link to the person's page, ``app.links``), ``{lieu.nom}``,
``{lieu.adresse}``, ``{lieu.telephone}``, ``{lieu.lien_info}`` and ``{spip.nom}``. There is
deliberately no placeholder for the person's name: an SMS can be read by anyone holding the
phone.
A part in square brackets is optional: it disappears when a placeholder inside it has no value
(``[ Infos : {lieu.lien_info}]`` when the place has no information page, ``[ Détails :
{rdv.lien}]`` for a convocation booked before the links, or whose link an agent disabled).

Stored wordings (``MessageTemplate``) have a scope: national (set by national administrators,
inherited by every SPIP), a SPIP's, or a SPIP's for one appointment type. The wording in force
is the most specific one, else the built-in default.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Literal, Protocol, overload

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from app.appointments.errors import UnknownAppointmentType
from app.config import get_settings
from app.core.localtime import zone
from app.links import tokens as link_tokens
from app.models import AppointmentType, MessageTemplate, NotificationKind, Place, Spip
from app.reminders.errors import MalformedTemplate, TemplateTooLong, UnknownPlaceholder
from app.reminders.policies import get_policy
from app.reminders.schemas import NationalTemplateRead, ReminderPolicyBody, TemplateRead
from app.sms.encoding import SmsInfo, analyze, to_gsm_friendly

DAYS = ("lundi", "mardi", "mercredi", "jeudi", "vendredi", "samedi", "dimanche")
MONTHS = (
    "janvier", "février", "mars", "avril", "mai", "juin",
    "juillet", "août", "septembre", "octobre", "novembre", "décembre",
)  # fmt: skip
PLACEHOLDERS = frozenset(
    {
        "rdv.date",
        "rdv.heure",
        "rdv.lien",
        "lieu.nom",
        "lieu.adresse",
        "lieu.telephone",
        "lieu.lien_info",
        "spip.nom",
    }
)
# A Monday morning, for previews without a convocation.
SAMPLE_START = datetime(2027, 3, 29, 7, 0, tzinfo=UTC)
# The longest values a date and an hour can take, for the segment cap.
LONGEST_DATE = "mercredi 29 septembre 2027"
LONGEST_HOUR = "23h30"

DEFAULT_TEMPLATES: dict[NotificationKind, str] = {
    NotificationKind.summons: (
        "{spip.nom} : vous êtes convoqué(e) le {rdv.date} à {rdv.heure}, {lieu.nom}, "
        "{lieu.adresse}.[ Infos : {lieu.lien_info}][ En cas d'empêchement, appelez le "
        "{lieu.telephone}.][ Détails : {rdv.lien}]"
    ),
    NotificationKind.reminder: (
        "Rappel : convocation le {rdv.date} à {rdv.heure}, {lieu.nom}, {lieu.adresse}. "
        "Votre présence est obligatoire.[ Empêchement : appelez le {lieu.telephone}.]"
        "[ Infos : {rdv.lien}]"
    ),
    NotificationKind.cancellation: (
        "{spip.nom} : votre convocation du {rdv.date} à {rdv.heure} est annulée. "
        "Ne vous déplacez pas.[ Questions : {lieu.telephone}.][ Détails : {rdv.lien}]"
    ),
    NotificationKind.reschedule: (
        "{spip.nom} : votre convocation est déplacée au {rdv.date} à {rdv.heure}, {lieu.nom}, "
        "{lieu.adresse}.[ Empêchement : appelez le {lieu.telephone}.][ Détails : {rdv.lien}]"
    ),
    NotificationKind.missed: (
        "{spip.nom} : vous ne vous êtes pas présenté(e) à votre convocation du {rdv.date} à "
        "{rdv.heure}. Contactez votre SPIP rapidement[ au {lieu.telephone}]."
    ),
}

_TOKEN = re.compile(r"\{([^{}]*)\}")
_OPTIONAL = re.compile(r"\[([^\[\]]*)\]")


def french_date(moment: datetime) -> str:
    day = "1er" if moment.day == 1 else str(moment.day)
    return f"{DAYS[moment.weekday()]} {day} {MONTHS[moment.month - 1]} {moment.year}"


def french_hour(moment: datetime) -> str:
    return f"{moment.hour}h{moment.minute:02d}"


def validate(body: str) -> None:
    """Refuse unknown placeholders and unbalanced braces or brackets (422)."""
    unknown = sorted({name for name in _TOKEN.findall(body) if name not in PLACEHOLDERS})
    if unknown:
        allowed = ", ".join("{" + p + "}" for p in sorted(PLACEHOLDERS))
        raise UnknownPlaceholder(
            f"Variable(s) inconnue(s) : {', '.join('{' + u + '}' for u in unknown)}. "
            f"Variables possibles : {allowed}.",
            field="body",
        )
    stripped = _OPTIONAL.sub("", _TOKEN.sub("", body))
    if any(c in stripped for c in "{}[]"):
        raise MalformedTemplate(field="body")


def render(body: str, values: dict[str, str | None], *, gsm7_friendly: bool) -> str:
    def optional(match: re.Match[str]) -> str:
        names = _TOKEN.findall(match.group(1))
        return match.group(1) if all(values.get(n) for n in names) else ""

    text = _OPTIONAL.sub(optional, body)
    text = _TOKEN.sub(lambda m: values.get(m.group(1)) or "", text)
    text = re.sub(r"[ \t]{2,}", " ", text).strip()
    return to_gsm_friendly(text) if gsm7_friendly else text


@dataclass(frozen=True)
class Rendered:
    text: str
    info: SmsInfo


def render_info(body: str, values: dict[str, str | None], *, gsm7_friendly: bool) -> Rendered:
    text = render(body, values, gsm7_friendly=gsm7_friendly)
    return Rendered(text, analyze(text))


ENCODING_LABELS = {"gsm7": "GSM-7", "ucs2": "UCS-2"}


def worst_rendering(
    body: str, longest_values: dict[str, str | None], *, gsm7_friendly: bool
) -> Rendered:
    """The longest rendering of ``body`` with these worst-case values (the segment cap's
    measure, for a template saved as for a policy changed)."""
    values = {
        "rdv.date": LONGEST_DATE,
        "rdv.heure": LONGEST_HOUR,
        "rdv.lien": longest_link(),
    } | longest_values
    return render_info(body, values, gsm7_friendly=gsm7_friendly)


def check_segment_cap(
    body: str, longest_values: dict[str, str | None], *, gsm7_friendly: bool, max_segments: int
) -> Rendered:
    """The longest rendering this SPIP can produce must fit ``max_segments`` SMS."""
    worst = worst_rendering(body, longest_values, gsm7_friendly=gsm7_friendly)
    if worst.info.segments > max_segments:
        raise TemplateTooLong(
            f"Ce modèle peut atteindre {worst.info.segments} SMS "
            f"({ENCODING_LABELS[worst.info.encoding]}) ; "
            f"le maximum pour ce SPIP est {max_segments}.",
            field="body",
        )
    return worst


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


def longest_link() -> str | None:
    """A convocation link as long as the real ones (same public address, a token's length);
    ``None`` when no public address is configured (no SMS then carries a link)."""
    base = get_settings().link_base_url
    return link_tokens.sample_url(base) if base else None


def placeholder_values(
    *, spip_name: str, place: PlaceFacts, starts_at: datetime, link: str | None = None
) -> dict[str, str | None]:
    """``link``: the convocation's live link, ``None`` when it has none (booked before the
    links, disabled): the optional part that holds ``{rdv.lien}`` then disappears."""
    local = starts_at.astimezone(zone(place.timezone))
    return {
        "rdv.date": french_date(local),
        "rdv.heure": french_hour(local),
        "rdv.lien": link,
        "lieu.nom": place.name,
        "lieu.adresse": place.address,
        "lieu.telephone": place.phone,
        "lieu.lien_info": place.info_url,
        "spip.nom": spip_name,
    }


# --- storage and look-up --------------------------------------------------------------------

TemplateSource = Literal["default", "national", "spip", "appointment_type"]


def scope_key(spip_id: int | None, type_code: str | None, kind: NotificationKind) -> str:
    return f"{spip_id or '*'}:{type_code or '*'}:{kind.value}"


@dataclass(frozen=True)
class NationalScope:
    """The national wordings, which every SPIP uses until it sets its own."""

    @property
    def spip_id(self) -> None:
        return None

    @property
    def type_code(self) -> None:
        return None

    def key(self, kind: NotificationKind) -> str:
        return scope_key(None, None, kind)


@dataclass(frozen=True)
class SpipScope:
    """A SPIP's wordings, or (``type_code``) its wordings for one appointment type."""

    spip: Spip
    type_code: str | None = None

    @property
    def spip_id(self) -> int:
        return self.spip.id

    def key(self, kind: NotificationKind) -> str:
        return scope_key(self.spip.id, self.type_code, kind)


NATIONAL = NationalScope()
TemplateScope = NationalScope | SpipScope

# Generous worst cases for a template that any SPIP may use.
NATIONAL_LONGEST: dict[str, str | None] = {
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


@dataclass(frozen=True)
class _Limits:
    """What a wording of this scope must fit: its worst-case values and its SMS settings."""

    longest: dict[str, str | None]
    gsm7_friendly: bool
    max_segments: int


async def _limits(session: AsyncSession, scope: TemplateScope) -> _Limits:
    """A national wording must fit the default policy with generous values; a SPIP's, its
    policy with its longest place texts."""
    if isinstance(scope, NationalScope):
        defaults = ReminderPolicyBody()
        return _Limits(NATIONAL_LONGEST, defaults.gsm7_friendly, defaults.max_segments)
    policy = await get_policy(session, scope.spip.id)
    return _Limits(
        await longest_values(session, scope.spip),
        policy.body.gsm7_friendly,
        policy.body.max_segments,
    )


async def _type_id(session: AsyncSession, code: str | None) -> int | None:
    if code is None:
        return None
    type_id = await session.scalar(select(AppointmentType.id).where(AppointmentType.code == code))
    if type_id is None:
        raise UnknownAppointmentType(field="appointment_type")
    return type_id


async def _first_stored(
    session: AsyncSession, kind: NotificationKind, candidates: list[tuple[str, TemplateSource]]
) -> tuple[str, TemplateSource]:
    """The first candidate scope that has a stored wording, else the built-in default."""
    rows = {
        t.scope_key: t.body
        for t in await session.scalars(
            select(MessageTemplate).where(MessageTemplate.scope_key.in_([k for k, _ in candidates]))
        )
    }
    for key, source in candidates:
        if key in rows:
            return rows[key], source
    return DEFAULT_TEMPLATES[kind], "default"


async def effective_template(
    session: AsyncSession, *, spip_id: int, kind: NotificationKind, type_code: str | None
) -> tuple[str, TemplateSource]:
    """The wording in force and where it comes from, most specific first: the SPIP's for this
    appointment type, the SPIP's, the national one (set by national administrators), the
    built-in default."""
    candidates: list[tuple[str, TemplateSource]] = [
        (scope_key(spip_id, None, kind), "spip"),
        (NATIONAL.key(kind), "national"),
    ]
    if type_code:
        candidates.insert(0, (scope_key(spip_id, type_code, kind), "appointment_type"))
    return await _first_stored(session, kind, candidates)


@overload
async def read_template(
    session: AsyncSession, *, scope: NationalScope, kind: NotificationKind
) -> NationalTemplateRead: ...
@overload
async def read_template(
    session: AsyncSession, *, scope: SpipScope, kind: NotificationKind
) -> TemplateRead: ...
async def read_template(
    session: AsyncSession, *, scope: TemplateScope, kind: NotificationKind
) -> NationalTemplateRead | TemplateRead:
    """The wording in force for this scope, where it comes from, and its longest rendering."""
    if isinstance(scope, NationalScope):
        body, source = await _first_stored(session, kind, [(scope.key(kind), "national")])
    else:
        await _type_id(session, scope.type_code)
        body, source = await effective_template(
            session, spip_id=scope.spip.id, kind=kind, type_code=scope.type_code
        )
    limits = await _limits(session, scope)
    worst = worst_rendering(body, limits.longest, gsm7_friendly=limits.gsm7_friendly)
    measure = {
        "kind": kind,
        "body": body,
        "source": source,
        "max_segments": limits.max_segments,
        "encoding": worst.info.encoding,
        "segments": worst.info.segments,
    }
    if isinstance(scope, NationalScope):
        return NationalTemplateRead.model_validate(measure)
    return TemplateRead.model_validate(
        measure | {"spip_id": scope.spip.id, "appointment_type": scope.type_code}
    )


@overload
async def save_template(
    session: AsyncSession,
    *,
    scope: NationalScope,
    kind: NotificationKind,
    body: str,
    agent_id: int | None = None,
) -> NationalTemplateRead: ...
@overload
async def save_template(
    session: AsyncSession,
    *,
    scope: SpipScope,
    kind: NotificationKind,
    body: str,
    agent_id: int | None = None,
) -> TemplateRead: ...
async def save_template(
    session: AsyncSession,
    *,
    scope: TemplateScope,
    kind: NotificationKind,
    body: str,
    agent_id: int | None = None,
) -> NationalTemplateRead | TemplateRead:
    """Store the wording of this scope (the national one: national administrators only),
    refused when it has an unknown placeholder or its longest rendering exceeds the cap."""
    validate(body)
    limits = await _limits(session, scope)
    check_segment_cap(
        body,
        limits.longest,
        gsm7_friendly=limits.gsm7_friendly,
        max_segments=limits.max_segments,
    )
    key = scope.key(kind)
    row = await session.scalar(select(MessageTemplate).where(MessageTemplate.scope_key == key))
    if row is None:
        row = MessageTemplate(
            scope_key=key,
            spip_id=scope.spip_id,
            appointment_type_id=await _type_id(session, scope.type_code),
            kind=kind.value,
            body=body,
        )
        session.add(row)
    row.body, row.updated_by_id = body, agent_id
    await session.flush()
    return await read_template(session, scope=scope, kind=kind)


@overload
async def delete_template(
    session: AsyncSession, *, scope: NationalScope, kind: NotificationKind
) -> NationalTemplateRead: ...
@overload
async def delete_template(
    session: AsyncSession, *, scope: SpipScope, kind: NotificationKind
) -> TemplateRead: ...
async def delete_template(
    session: AsyncSession, *, scope: TemplateScope, kind: NotificationKind
) -> NationalTemplateRead | TemplateRead:
    """Drop the scope's own wording: the next one down is in force again."""
    row = await session.scalar(
        select(MessageTemplate).where(MessageTemplate.scope_key == scope.key(kind))
    )
    if row is not None:
        await session.delete(row)
        await session.flush()
    return await read_template(session, scope=scope, kind=kind)
