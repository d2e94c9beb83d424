"""The notification a route's path names, checked against the SPIP of its convocation."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request

from app.auth.dependencies import CurrentAgent, ensure_scope
from app.core.schemas import IdPath
from app.db import SessionDep
from app.models import Appointment, Notification
from app.reminders.errors import NotificationNotFound


async def scoped_notification(
    request: Request, notification_id: IdPath, agent: CurrentAgent, session: SessionDep
) -> Notification:
    notification = await session.get(Notification, notification_id)
    if notification is None:
        raise NotificationNotFound()
    appointment = await session.get_one(Appointment, notification.appointment_id)
    ensure_scope(
        request,
        agent,
        appointment.spip_id,
        NotificationNotFound,
        entity="notification",
        entity_id=notification.id,
    )
    return notification


ScopedNotification = Annotated[Notification, Depends(scoped_notification)]
