"""Previewing an SMS: a template (the one in force, or a draft) rendered with a real place of
the SPIP and a real date, measured against the SPIP's segment cap."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncSession

from app.core.localtime import to_utc, zone
from app.models import NotificationKind, Spip
from app.reminders import templates
from app.reminders.policies import get_policy
from app.reminders.schemas import PreviewRead, PreviewRequest
from app.spips import service as spip_service


async def preview_template(
    session: AsyncSession, *, spip: Spip, request: PreviewRequest
) -> PreviewRead:
    """The text as the person would read it: the draft ``request.body`` (validated) or the
    wording in force, at the place asked for (else the SPIP's first, else a sample) and at
    ``request.starts_at`` in that place's time (else a sample Monday morning)."""
    policy = await get_policy(session, spip.id)
    if request.body is not None:
        templates.validate(request.body)
        body = request.body
    else:
        body, _ = await templates.effective_template(
            session, spip_id=spip.id, kind=request.kind, type_code=request.appointment_type
        )
    place = await spip_service.preview_place(session, spip=spip, place_id=request.place_id)
    starts_at = (
        to_utc(request.starts_at, zone(place.timezone))
        if request.starts_at is not None
        else templates.SAMPLE_START
    )
    rendered = templates.render_info(
        body,
        templates.placeholder_values(
            spip_name=spip.name, place=place, starts_at=starts_at, link=templates.longest_link()
        ),
        gsm7_friendly=policy.body.gsm7_friendly,
    )
    return PreviewRead(
        text=rendered.text,
        encoding=rendered.info.encoding,
        segments=rendered.info.segments,
        characters=len(rendered.text),
        max_segments=policy.body.max_segments,
    )


async def render_planned(
    session: AsyncSession,
    *,
    spip: Spip,
    place: templates.PlaceFacts,
    type_code: str,
    kind: NotificationKind,
    starts_at: datetime,
) -> templates.Rendered:
    """A planned message's text as the dispatcher will render it (same template look-up, same
    placeholders, same encoding rule; the convocation link a sample of its real length, not
    the person's own)."""
    policy = await get_policy(session, spip.id)
    body, _ = await templates.effective_template(
        session, spip_id=spip.id, kind=kind, type_code=type_code
    )
    return templates.render_info(
        body,
        templates.placeholder_values(
            spip_name=spip.name, place=place, starts_at=starts_at, link=templates.longest_link()
        ),
        gsm7_friendly=policy.body.gsm7_friendly,
    )
