"""A change of a SPIP's reminder policy: refused when a wording in force would no longer fit
its segment cap, and followed by a re-plan of only the reminders whose time it moves."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from app.models import AppointmentType, MessageTemplate, NotificationKind, Spip
from app.reminders import policies, service, templates
from app.reminders.errors import TemplateExceedsPolicy
from app.reminders.schemas import ReminderPolicyBody
from app.reminders.unsent import KIND_PHRASE


@dataclass(frozen=True)
class Wording:
    """One wording in force for a SPIP: its kind, where it comes from and, for a wording of
    one appointment type, that type."""

    kind: NotificationKind
    source: templates.TemplateSource
    body: str
    type_code: str | None = None
    type_label: str | None = None

    @property
    def description(self) -> str:
        """« le modèle de convocation (modèle par défaut) »."""
        origin = {
            "default": "modèle par défaut",
            "national": "modèle national",
            "spip": "modèle du SPIP",
            "appointment_type": f"modèle du SPIP pour le type « {self.type_label} »",
        }[self.source]
        return f"le modèle {KIND_PHRASE[self.kind.value]} ({origin})"


async def wordings_in_force(session: AsyncSession, spip_id: int) -> list[Wording]:
    """Every wording the SPIP's messages may use: for each kind, the SPIP's own, else the
    national one, else the built-in default; and each of its wordings for one appointment
    type. Two queries."""
    national_keys = [templates.scope_key(None, None, kind) for kind in NotificationKind]
    rows = {
        t.scope_key: t.body
        for t in await session.scalars(
            select(MessageTemplate).where(
                (MessageTemplate.spip_id == spip_id) | MessageTemplate.scope_key.in_(national_keys)
            )
        )
    }
    wordings: list[Wording] = []
    for kind in NotificationKind:
        own, national = (
            templates.scope_key(spip_id, None, kind),
            templates.scope_key(None, None, kind),
        )
        if own in rows:
            wordings.append(Wording(kind, "spip", rows[own]))
        elif national in rows:
            wordings.append(Wording(kind, "national", rows[national]))
        else:
            wordings.append(Wording(kind, "default", templates.DEFAULT_TEMPLATES[kind]))
    typed = await session.execute(
        select(
            MessageTemplate.kind, MessageTemplate.body, AppointmentType.code, AppointmentType.label
        )
        .join(AppointmentType, AppointmentType.id == MessageTemplate.appointment_type_id)
        .where(MessageTemplate.spip_id == spip_id)
        .order_by(AppointmentType.code, MessageTemplate.kind)
    )
    for kind_value, body, code, label in typed:
        wordings.append(
            Wording(NotificationKind(kind_value), "appointment_type", body, code, label)
        )
    return wordings


async def check_wordings_fit(
    session: AsyncSession, *, spip: Spip, body: ReminderPolicyBody
) -> None:
    """Refuse a policy under which a wording in force would exceed the segment cap (422
    ``template_exceeds_policy``, one field error per wording): measured as a template is when
    saved (``templates.worst_rendering``), with the new cap and transliteration."""
    longest = await templates.longest_values(session, spip)
    errors: list[dict[str, str]] = []
    for wording in await wordings_in_force(session, spip.id):
        worst = templates.worst_rendering(wording.body, longest, gsm7_friendly=body.gsm7_friendly)
        if worst.info.segments <= body.max_segments:
            continue
        field = "body.max_segments"
        if not body.gsm7_friendly:
            friendly = templates.worst_rendering(wording.body, longest, gsm7_friendly=True)
            if friendly.info.segments <= body.max_segments:
                field = "body.gsm7_friendly"  # the transliteration is what made it fit
        message = (
            f"Avec cette politique, {wording.description} atteindrait {worst.info.segments} "
            f"SMS ({templates.ENCODING_LABELS[worst.info.encoding]}) ; le maximum demandé est "
            f"{body.max_segments}."
        )
        errors.append({"field": field, "code": TemplateExceedsPolicy.code, "message": message})
    if len(errors) == 1:
        raise TemplateExceedsPolicy(
            errors[0]["message"] + " Raccourcissez ce modèle d'abord, ou gardez un maximum "
            "plus élevé.",
            fields=errors,
        )
    if errors:
        raise TemplateExceedsPolicy(
            f"Avec cette politique, {len(errors)} modèles en vigueur dépasseraient le nombre "
            "maximal de SMS (détail par modèle ci-dessous) : raccourcissez-les d'abord, ou "
            "gardez un maximum plus élevé.",
            fields=errors,
        )


# What decides when a reminder goes; the segment cap, the transliteration and the sender only
# change how a text is rendered, at send time.
TIMING_FIELDS = {
    "rules",
    "type_rules",
    "send_window",
    "tolerated_window",
    "min_lead_minutes",
    "avoid_closed_days",
}


def timing_changed(old: ReminderPolicyBody, new: ReminderPolicyBody) -> bool:
    return old.model_dump(include=TIMING_FIELDS) != new.model_dump(include=TIMING_FIELDS)


@dataclass(frozen=True)
class PolicyChanged:
    policy: policies.SpipPolicy
    replanned: int  # unsent reminders cancelled or added because their moment moved


async def change_policy(
    session: AsyncSession, *, spip: Spip, body: ReminderPolicyBody
) -> PolicyChanged:
    """Replace the SPIP's policy. Refused (422) when a wording in force would exceed the new
    segment cap; when the timing changes, the reminders whose moment moves are planned again
    (the others keep their row); otherwise no planned message is touched."""
    await check_wordings_fit(session, spip=spip, body=body)
    old = await policies.get_policy(session, spip.id)
    saved = await policies.save_policy(session, spip=spip, body=body)
    replanned = 0
    if timing_changed(old.body, body):
        replanned = await service.replan_spip(session, spip.id)
    return PolicyChanged(saved, replanned)
