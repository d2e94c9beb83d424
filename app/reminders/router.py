from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Query, status
from starlette.convertors import Convertor, register_url_convertor

from app.appointments.dependencies import ScopedAppointment
from app.auth import access
from app.auth.access import Permission as P
from app.auth.dependencies import Allowed
from app.core.responses import error_responses
from app.db import SessionDep
from app.models import Agent, NotificationKind
from app.reminders import (
    place_change,
    policies,
    policy_change,
    preview,
    service,
    spip_change,
    templates,
)
from app.reminders.dependencies import ScopedNotification
from app.reminders.schemas import (
    NationalTemplateRead,
    NotificationRead,
    PreviewRead,
    PreviewRequest,
    ReminderPolicyBody,
    ReminderPolicyRead,
    ReminderPolicyUpdated,
    TemplateBody,
    TemplateRead,
)
from app.spips import service as spip_service
from app.spips.dependencies import ScopedPlace, ScopedSpip
from app.spips.errors import SpipNotFound
from app.spips.schemas import (
    PlaceRead,
    PlaceUpdate,
    PlaceUpdated,
    SpipRead,
    SpipUpdate,
    SpipUpdated,
)

router = APIRouter(tags=["Rappels SMS"])
AUTH = error_responses(401, 403)


class KindConvertor(Convertor[str]):
    """``{kind:notification_kind}`` matches a message kind only, so that ``/templates/preview``
    is never read as a kind: ``PUT /templates/preview`` is a 405, not a 422 about the kind."""

    regex = "|".join(kind.value for kind in NotificationKind)

    def convert(self, value: str) -> str:
        return value

    def to_string(self, value: str) -> str:
        return value


register_url_convertor("notification_kind", KindConvertor())
NATIONAL_TEMPLATE = "/templates/{kind:notification_kind}"

TypeFilter = Annotated[
    str | None,
    Query(max_length=50, description="Code du type de convocation (modèle propre à ce type)"),
]


@router.get(
    "/appointments/{appointment_id}/notifications",
    response_model=list[NotificationRead],
    responses=AUTH | error_responses(404),
)
async def appointment_notifications(
    appointment: ScopedAppointment,
    _: Annotated[Agent, Depends(Allowed(P.appointment_read))],
    session: SessionDep,
) -> list[NotificationRead]:
    """The convocation's SMS timeline: planned, sent, delivered, skipped (and why)."""
    return await service.timeline(session, appointment)


@router.post(
    "/notifications/{notification_id}/resend",
    response_model=NotificationRead,
    status_code=status.HTTP_201_CREATED,
    responses=AUTH | error_responses(404, 409),
)
async def resend_notification(
    notification: ScopedNotification,
    agent: Annotated[Agent, Depends(Allowed(P.notification_resend))],
    session: SessionDep,
) -> NotificationRead:
    return await service.resend(session, notification_id=notification.id, agent_id=agent.id)


def _policy_read(spip_id: int, policy: policies.SpipPolicy) -> ReminderPolicyRead:
    return ReminderPolicyRead(
        spip_id=spip_id, is_default=policy.is_default, **policy.body.model_dump()
    )


@router.get(
    "/spips/{spip_id}/reminder-policy",
    response_model=ReminderPolicyRead,
    responses=AUTH | error_responses(404),
)
async def get_reminder_policy(
    spip: ScopedSpip, _: Annotated[Agent, Depends(Allowed(P.policy_read))], session: SessionDep
) -> ReminderPolicyRead:
    return _policy_read(spip.id, await policies.get_policy(session, spip.id))


@router.put(
    "/spips/{spip_id}/reminder-policy",
    response_model=ReminderPolicyUpdated,
    responses=AUTH | error_responses(404, 422),
)
async def put_reminder_policy(
    spip: ScopedSpip,
    _: Annotated[Agent, Depends(Allowed(P.policy_write))],
    body: ReminderPolicyBody,
    session: SessionDep,
) -> ReminderPolicyUpdated:
    """Replace the policy. Refused when a wording in force would exceed the new segment cap;
    a change of timing re-plans the reminders of future convocations whose moment moves
    (``replanned_notifications``: how many rows were cancelled or added)."""
    change = await policy_change.change_policy(session, spip=spip, body=body)
    read = _policy_read(spip.id, change.policy).model_dump()
    return ReminderPolicyUpdated.model_validate(
        read | {"replanned_notifications": change.replanned}
    )


@router.get(
    "/spips/{spip_id}/templates/{kind}",
    response_model=TemplateRead,
    responses=AUTH | error_responses(404, 422),
)
async def get_template(
    spip: ScopedSpip,
    _: Annotated[Agent, Depends(Allowed(P.policy_read))],
    kind: NotificationKind,
    session: SessionDep,
    appointment_type: TypeFilter = None,
) -> TemplateRead:
    return await templates.read_template(
        session, scope=templates.SpipScope(spip, appointment_type), kind=kind
    )


@router.put(
    "/spips/{spip_id}/templates/{kind}",
    response_model=TemplateRead,
    responses=AUTH | error_responses(404, 422),
)
async def put_template(
    spip: ScopedSpip,
    agent: Annotated[Agent, Depends(Allowed(P.template_write))],
    kind: NotificationKind,
    body: TemplateBody,
    session: SessionDep,
    appointment_type: TypeFilter = None,
) -> TemplateRead:
    return await templates.save_template(
        session,
        scope=templates.SpipScope(spip, appointment_type),
        kind=kind,
        body=body.body,
        agent_id=agent.id,
    )


@router.delete(
    "/spips/{spip_id}/templates/{kind}",
    response_model=TemplateRead,
    responses=AUTH | error_responses(404, 422),
)
async def delete_template(
    spip: ScopedSpip,
    _: Annotated[Agent, Depends(Allowed(P.template_write))],
    kind: NotificationKind,
    session: SessionDep,
    appointment_type: TypeFilter = None,
) -> TemplateRead:
    """Go back to the SPIP-wide (or default) wording."""
    return await templates.delete_template(
        session, scope=templates.SpipScope(spip, appointment_type), kind=kind
    )


@router.get(
    NATIONAL_TEMPLATE,
    response_model=NationalTemplateRead,
    responses=AUTH | error_responses(404, 422),
)
async def get_national_template(
    kind: NotificationKind,
    _: Annotated[Agent, Depends(Allowed(P.policy_read))],
    session: SessionDep,
) -> NationalTemplateRead:
    """The national wording (or the built-in default) that SPIPs inherit."""
    return await templates.read_template(session, scope=templates.NATIONAL, kind=kind)


@router.put(
    NATIONAL_TEMPLATE,
    response_model=NationalTemplateRead,
    responses=AUTH | error_responses(404, 422),
)
async def put_national_template(
    kind: NotificationKind,
    body: TemplateBody,
    agent: Annotated[Agent, Depends(Allowed(P.national_template_write))],
    session: SessionDep,
) -> NationalTemplateRead:
    return await templates.save_template(
        session, scope=templates.NATIONAL, kind=kind, body=body.body, agent_id=agent.id
    )


@router.delete(
    NATIONAL_TEMPLATE,
    response_model=NationalTemplateRead,
    responses=AUTH | error_responses(404, 422),
)
async def delete_national_template(
    kind: NotificationKind,
    _: Annotated[Agent, Depends(Allowed(P.national_template_write))],
    session: SessionDep,
) -> NationalTemplateRead:
    """Go back to the built-in default."""
    return await templates.delete_template(session, scope=templates.NATIONAL, kind=kind)


@router.post(
    "/templates/preview", response_model=PreviewRead, responses=AUTH | error_responses(404, 422)
)
async def preview_template(
    data: PreviewRequest,
    session: SessionDep,
    agent: Annotated[Agent, Depends(Allowed(P.policy_read))],
) -> PreviewRead:
    """Render a template (the one in force, or a draft) with a real place and date."""
    spip = await spip_service.get_spip(session, data.spip_id)
    access.ensure_scope(agent, spip.id, SpipNotFound)
    return await preview.preview_template(session, spip=spip, request=data)


@router.patch(
    "/places/{place_id}",
    response_model=PlaceUpdated,
    responses=AUTH | error_responses(404, 422),
    tags=["SPIP et lieux"],
)
async def update_place(
    place: ScopedPlace,
    _: Annotated[Agent, Depends(Allowed(P.place_write))],
    data: PlaceUpdate,
    session: SessionDep,
) -> PlaceUpdated:
    """Change a place; a new time zone re-plans the unsent reminders of its future
    convocations (``replanned_notifications``: how many rows were cancelled or added)."""
    change = await place_change.change_place(session, place=place, data=data)
    read = PlaceRead.model_validate(change.place).model_dump()
    return PlaceUpdated.model_validate(read | {"replanned_notifications": change.replanned})


@router.patch(
    "/spips/{spip_id}",
    response_model=SpipUpdated,
    responses=AUTH | error_responses(404, 409, 422),
    tags=["SPIP et lieux"],
)
async def update_spip(
    spip: ScopedSpip,
    _: Annotated[Agent, Depends(Allowed(P.spip_update))],
    data: SpipUpdate,
    session: SessionDep,
) -> SpipUpdated:
    """Change a SPIP; a new public holidays' territory re-plans the unsent reminders of its
    future convocations (``replanned_notifications``: how many rows were cancelled or added)."""
    change = await spip_change.change_spip(session, spip=spip, data=data)
    read = SpipRead.model_validate(change.spip).model_dump()
    return SpipUpdated.model_validate(read | {"replanned_notifications": change.replanned})
