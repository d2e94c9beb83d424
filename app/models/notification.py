from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import JSON, ForeignKey, Index, String, Text, UniqueConstraint, false, text
from sqlalchemy.orm import Mapped, mapped_column

from app.core.types import UtcDateTime
from app.models.base import Base, IdMixin, TimestampMixin, enum_check
from app.reminders.references import new_nonce
from app.sms.base import AttemptOutcome


class NotificationKind(StrEnum):
    summons = "summons"
    reminder = "reminder"
    cancellation = "cancellation"
    reschedule = "reschedule"
    missed = "missed"


class NotificationStatus(StrEnum):
    planned = "planned"
    sending = "sending"
    sent = "sent"
    delivered = "delivered"
    undelivered = "undelivered"
    failed = "failed"
    cancelled = "cancelled"
    skipped = "skipped"
    expired = "expired"


# The status sets the code asks about, written once here.
PLANNED = NotificationStatus.planned.value
SENDING = NotificationStatus.sending.value
# Not gone yet: waiting for its moment, or claimed by a worker right now.
UNSENT = (PLANNED, SENDING)
# Handed to a provider, whatever its receipts said since.
SENT_STATUSES = (
    NotificationStatus.sent.value,
    NotificationStatus.delivered.value,
    NotificationStatus.undelivered.value,
)
# What an agent may send again (``POST /notifications/{id}/resend``).
RESENDABLE = (
    NotificationStatus.failed.value,
    NotificationStatus.skipped.value,
    NotificationStatus.undelivered.value,
)


class Notification(IdMixin, TimestampMixin, Base):
    """One SMS to send for a convocation. The table is the schedule.

    ``idempotency_key`` (appointment, kind, sequence) makes planning the same message twice
    impossible; ``lease_*`` lets any number of workers claim due rows without sending one twice.
    """

    __tablename__ = "notification"
    __table_args__ = (
        enum_check("kind", NotificationKind),
        enum_check("status", NotificationStatus),
        # The claim query: due planned rows, and rows whose worker died (lease ran out).
        Index(
            "ix_notification_planned_send_at",
            "send_at",
            postgresql_where=text("status = 'planned'"),
            sqlite_where=text("status = 'planned'"),
        ),
        Index(
            "ix_notification_sending_lease",
            "lease_expires_at",
            postgresql_where=text("status = 'sending'"),
            sqlite_where=text("status = 'sending'"),
        ),
        Index("ix_notification_appointment_id_kind", "appointment_id", "kind"),
        # The SMS report of a SPIP over a period (the dashboard's current month is live data).
        Index("ix_notification_spip_id_send_at", "spip_id", "send_at"),
        # No index on (provider, provider_message_id): receipts find their message through
        # notification_part; one index fewer to maintain on every claim and every send.
    )

    appointment_id: Mapped[int] = mapped_column(ForeignKey("appointment.id", ondelete="CASCADE"))
    # Denormalised from the convocation (which never changes SPIP) so that a SPIP's messages of a
    # period are one index range, not every convocation of the SPIP probed for its messages.
    spip_id: Mapped[int] = mapped_column(ForeignKey("spip.id", ondelete="RESTRICT"))
    kind: Mapped[str] = mapped_column(String(20))
    sequence: Mapped[int]
    idempotency_key: Mapped[str] = mapped_column(String(80), unique=True)
    # Makes our reference to providers unique across installations (app.reminders.references);
    # NULL on rows planned before it existed, which keep their bare id as reference.
    reference_nonce: Mapped[str | None] = mapped_column(String(32), default=new_nonce)
    status: Mapped[str] = mapped_column(String(12))
    reason: Mapped[str | None] = mapped_column(String(40))  # why skipped / cancelled / failed
    rule: Mapped[str | None] = mapped_column(String(40))  # "J-2 10:00", "H-3"… for the timeline
    planned_at: Mapped[datetime] = mapped_column(UtcDateTime())  # first planned sending time
    send_at: Mapped[datetime] = mapped_column(UtcDateTime())  # next attempt
    send_not_after: Mapped[datetime] = mapped_column(UtcDateTime())
    attempts: Mapped[int] = mapped_column(default=0)
    lease_owner: Mapped[str | None] = mapped_column(String(64))
    lease_expires_at: Mapped[datetime | None] = mapped_column(UtcDateTime())
    provider: Mapped[str | None] = mapped_column(String(30))
    provider_message_id: Mapped[str | None] = mapped_column(String(100))
    encoding: Mapped[str | None] = mapped_column(String(5))
    segments: Mapped[int | None]
    body: Mapped[str | None] = mapped_column(Text)  # as sent
    sent_at: Mapped[datetime | None] = mapped_column(UtcDateTime())
    delivered_at: Mapped[datetime | None] = mapped_column(UtcDateTime())
    last_error: Mapped[str | None] = mapped_column(String(200))
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("agent.id", ondelete="SET NULL"))


class NotificationAttempt(IdMixin, Base):
    """Every try at a provider: which, how it went, how long it took.

    ``outcome`` is one of ``app.sms.base.AttemptOutcome`` (accepted, temporary, throttled,
    permanent, skipped); ``latency_ms`` is wire time only.
    """

    __tablename__ = "notification_attempt"
    __table_args__ = (
        enum_check("outcome", AttemptOutcome),
        # The providers' health of the last 24 h (the operations page).
        Index("ix_notification_attempt_created_at", "created_at"),
    )

    notification_id: Mapped[int] = mapped_column(
        ForeignKey("notification.id", ondelete="CASCADE"), index=True
    )
    provider: Mapped[str] = mapped_column(String(30))
    outcome: Mapped[str] = mapped_column(String(20))
    error_code: Mapped[str | None] = mapped_column(String(60))
    latency_ms: Mapped[int | None]
    created_at: Mapped[datetime] = mapped_column(UtcDateTime())


class PartStatus(StrEnum):
    """Delivery status of one provider message, as its receipts tell it."""

    sent = "sent"  # accepted, no news yet (and forever, with a provider that gives no receipt)
    delivered = "delivered"
    undelivered = "undelivered"
    expired = "expired"  # the network gave up (phone off for days…)
    failed = "failed"  # rejected by the provider or the network


class NotificationPart(IdMixin, Base):
    """One provider message id of a notification: receipts find their message through it.

    A provider may answer one id for the whole text (http, Brevo, Twilio) or one per SMS part
    (LINK Mobility); either way every id is a row, and the notification's status is folded from
    its rows (the worst part wins).
    """

    __tablename__ = "notification_part"
    __table_args__ = (
        enum_check("status", PartStatus),
        UniqueConstraint(
            "provider", "provider_message_id", name="uq_notification_part_provider_message_id"
        ),
    )

    notification_id: Mapped[int] = mapped_column(
        ForeignKey("notification.id", ondelete="CASCADE"), index=True
    )
    provider: Mapped[str] = mapped_column(String(30))
    provider_message_id: Mapped[str] = mapped_column(String(100))
    status: Mapped[str] = mapped_column(String(12))
    error_code: Mapped[str | None] = mapped_column(String(60))
    # When the status happened (the provider's event time if it gave one, else when we heard).
    status_at: Mapped[datetime] = mapped_column(UtcDateTime())
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime())


class PendingReceipt(IdMixin, Base):
    """A verified receipt whose message id is not recorded yet (the receipt beat the dispatcher's
    write). Applied, then deleted, as soon as the id appears; dropped after a retention period.
    """

    __tablename__ = "pending_receipt"
    __table_args__ = (
        enum_check("status", PartStatus),
        Index("ix_pending_receipt_provider_message_id", "provider", "provider_message_id"),
    )

    provider: Mapped[str] = mapped_column(String(30))
    provider_message_id: Mapped[str | None] = mapped_column(String(100))
    # Our reference (the notification id) when the receipt carries no provider id; no foreign
    # key: it is the provider's word until a part confirms it.
    notification_id: Mapped[int | None] = mapped_column(index=True)
    status: Mapped[str] = mapped_column(String(12))
    error_code: Mapped[str | None] = mapped_column(String(60))
    occurred_at: Mapped[datetime | None] = mapped_column(UtcDateTime())
    received_at: Mapped[datetime] = mapped_column(UtcDateTime())


class ReminderPolicy(IdMixin, TimestampMixin, Base):
    """A SPIP's reminder settings; absent means the national defaults."""

    __tablename__ = "reminder_policy"

    spip_id: Mapped[int] = mapped_column(ForeignKey("spip.id", ondelete="CASCADE"), unique=True)
    rules: Mapped[list[dict[str, Any]]] = mapped_column(JSON)
    # Per appointment type code: its own rules (an empty list means no reminder for that type).
    type_rules: Mapped[dict[str, list[dict[str, Any]]]] = mapped_column(JSON, default=dict)
    window_start: Mapped[str] = mapped_column(String(5))  # "08:00", local time
    window_end: Mapped[str] = mapped_column(String(5))
    # Wider local hours for a message that cannot wait for the window (contains it).
    tolerated_start: Mapped[str] = mapped_column(String(5))  # "07:00"
    tolerated_end: Mapped[str] = mapped_column(String(5))  # "22:00"
    min_lead_minutes: Mapped[int]
    max_segments: Mapped[int]
    gsm7_friendly: Mapped[bool]
    # Reminders move off Sundays and the place's public holidays (to the previous open day).
    avoid_closed_days: Mapped[bool] = mapped_column(default=False, server_default=false())
    sender: Mapped[str | None] = mapped_column(String(11))


class MessageTemplate(IdMixin, TimestampMixin, Base):
    """The wording of one kind of SMS: national (no SPIP), or a SPIP's, optionally for one
    appointment type only."""

    __tablename__ = "message_template"

    # "<spip_id or *>:<type code or *>:<kind>": unique and portable (NULLs never collide).
    scope_key: Mapped[str] = mapped_column(String(100), unique=True)
    spip_id: Mapped[int | None] = mapped_column(
        ForeignKey("spip.id", ondelete="CASCADE"), index=True
    )
    appointment_type_id: Mapped[int | None] = mapped_column(
        ForeignKey("appointment_type.id", ondelete="CASCADE")
    )
    kind: Mapped[str] = mapped_column(String(20))
    body: Mapped[str] = mapped_column(Text)
    updated_by_id: Mapped[int | None] = mapped_column(ForeignKey("agent.id", ondelete="SET NULL"))
