"""All models, imported here so Alembic's autogenerate sees every table."""

from app.models.agenda import Agenda, Slot, SlotType
from app.models.agent import Agent, Role
from app.models.appointment import (
    Appointment,
    AppointmentStatus,
    AppointmentType,
    CancelReason,
    has_status,
)
from app.models.audit import AuditEvent
from app.models.auth import AccessToken, ActivationToken, LoginThrottle
from app.models.base import Base
from app.models.court import Court, court_spip
from app.models.inbound import InboundKind, InboundMessage
from app.models.link import ConvocationLink
from app.models.notification import (
    PLANNED,
    RESENDABLE,
    SENDING,
    SENT_STATUSES,
    UNSENT,
    MessageTemplate,
    Notification,
    NotificationAttempt,
    NotificationKind,
    NotificationPart,
    NotificationStatus,
    PartStatus,
    PendingReceipt,
    ReminderPolicy,
)
from app.models.operations import DispatchTick, SendingPause
from app.models.person import Person, PhoneStatus, RefusalChannel
from app.models.report import (
    AttendanceMonthly,
    AttendanceMonthRefresh,
    AttendancePurged,
    SmsDelayMonthly,
    SmsDelayPurged,
    SmsMonthly,
    SmsPurged,
)
from app.models.spip import Place, Spip

__all__ = [
    "PLANNED",
    "RESENDABLE",
    "SENDING",
    "SENT_STATUSES",
    "UNSENT",
    "AccessToken",
    "ActivationToken",
    "Agenda",
    "Agent",
    "Appointment",
    "AppointmentStatus",
    "AppointmentType",
    "AttendanceMonthRefresh",
    "AttendanceMonthly",
    "AttendancePurged",
    "AuditEvent",
    "Base",
    "CancelReason",
    "ConvocationLink",
    "Court",
    "DispatchTick",
    "InboundKind",
    "InboundMessage",
    "LoginThrottle",
    "MessageTemplate",
    "Notification",
    "NotificationAttempt",
    "NotificationKind",
    "NotificationPart",
    "NotificationStatus",
    "PartStatus",
    "PendingReceipt",
    "Person",
    "PhoneStatus",
    "Place",
    "RefusalChannel",
    "ReminderPolicy",
    "Role",
    "SendingPause",
    "Slot",
    "SlotType",
    "SmsDelayMonthly",
    "SmsDelayPurged",
    "SmsMonthly",
    "SmsPurged",
    "Spip",
    "court_spip",
    "has_status",
]
