from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, Index, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from app.core.types import UtcDateTime
from app.models.base import Base, IdMixin


class AttendanceMonthly(IdMixin, Base):
    """Monthly attendance counts per SPIP × appointment type × outcome × reminder outcome.

    Kept apart from the convocations so that purging personal data never erases the statistics;
    rebuilt by a daily job and by ``python -m app reports rebuild``.
    """

    __tablename__ = "attendance_monthly"
    __table_args__ = (
        UniqueConstraint(
            "spip_id", "month", "appointment_type_id", "outcome", "reminder_outcome",
            name="uq_attendance_monthly_cell",
        ),
    )  # fmt: skip

    spip_id: Mapped[int] = mapped_column(ForeignKey("spip.id", ondelete="CASCADE"))
    month: Mapped[str] = mapped_column(String(7))  # "2027-03", in the SPIP's local calendar
    appointment_type_id: Mapped[int] = mapped_column(
        ForeignKey("appointment_type.id", ondelete="CASCADE")
    )
    outcome: Mapped[str] = mapped_column(String(12))
    reminder_outcome: Mapped[str] = mapped_column(String(20))
    count: Mapped[int]
    refreshed_at: Mapped[datetime] = mapped_column(UtcDateTime())


class SmsMonthly(IdMixin, Base):
    """Monthly SMS counts per SPIP × provider × kind × status, by the local month of sending.

    Built with the attendance aggregates, for the same reasons: the dashboard's year reads a
    few hundred rows instead of every message, and the figures outlive the messages' purge.
    """

    __tablename__ = "sms_monthly"
    __table_args__ = (Index("ix_sms_monthly_month_spip_id", "month", "spip_id"),)

    spip_id: Mapped[int] = mapped_column(ForeignKey("spip.id", ondelete="CASCADE"))
    month: Mapped[str] = mapped_column(String(7))
    provider: Mapped[str | None] = mapped_column(String(30))  # none: never handed to one
    kind: Mapped[str] = mapped_column(String(20))
    status: Mapped[str] = mapped_column(String(12))
    messages: Mapped[int]
    segments: Mapped[int]


class SmsDelayMonthly(IdMixin, Base):
    """How many delivered messages took each whole number of seconds from acceptance to receipt.

    A histogram, not an average, so that the median of any run of months is exact (to the
    second) however the months are combined with live data.
    """

    __tablename__ = "sms_delay_monthly"
    __table_args__ = (Index("ix_sms_delay_monthly_month_spip_id", "month", "spip_id"),)

    spip_id: Mapped[int] = mapped_column(ForeignKey("spip.id", ondelete="CASCADE"))
    month: Mapped[str] = mapped_column(String(7))
    provider: Mapped[str] = mapped_column(String(30))
    seconds: Mapped[int]
    messages: Mapped[int]


class AttendanceMonthRefresh(IdMixin, Base):
    """Which months the aggregates cover, and when they were last rebuilt.

    ``sms_refreshed_at`` is empty for months rebuilt before the SMS aggregates existed: their
    SMS figures come from live data until the next rebuild.
    """

    __tablename__ = "attendance_month_refresh"

    month: Mapped[str] = mapped_column(String(7), unique=True)
    refreshed_at: Mapped[datetime] = mapped_column(UtcDateTime())
    sms_refreshed_at: Mapped[datetime | None] = mapped_column(UtcDateTime())


class AttendancePurged(IdMixin, Base):
    """The counts of convocations deleted by the retention job, with the aggregates' dimensions.

    Written in the same transaction as the deletion, one row per batch and cell (summed when
    read): ``rebuild`` adds them to what it counts from live data, so rebuilding a month after a
    purge never loses the deleted persons' convocations. The agent and the place are kept too:
    the reports grouped by agent or place read live data plus these for whole months.
    """

    __tablename__ = "attendance_purged"
    __table_args__ = (Index("ix_attendance_purged_month_spip_id", "month", "spip_id"),)

    spip_id: Mapped[int] = mapped_column(ForeignKey("spip.id", ondelete="CASCADE"))
    month: Mapped[str] = mapped_column(String(7))  # local month of the convocation's start
    appointment_type_id: Mapped[int] = mapped_column(
        ForeignKey("appointment_type.id", ondelete="CASCADE")
    )
    # Agents and places outlive their convocations' purge; if one ever goes, the counts stay.
    agent_id: Mapped[int | None] = mapped_column(ForeignKey("agent.id", ondelete="SET NULL"))
    place_id: Mapped[int | None] = mapped_column(ForeignKey("place.id", ondelete="SET NULL"))
    outcome: Mapped[str] = mapped_column(String(12))
    reminder_outcome: Mapped[str] = mapped_column(String(20))
    count: Mapped[int]
    purged_at: Mapped[datetime] = mapped_column(UtcDateTime())


class SmsPurged(IdMixin, Base):
    """The SMS counts of deleted convocations (``sms_monthly``'s dimensions), kept by the purge."""

    __tablename__ = "sms_purged"
    __table_args__ = (Index("ix_sms_purged_month_spip_id", "month", "spip_id"),)

    spip_id: Mapped[int] = mapped_column(ForeignKey("spip.id", ondelete="CASCADE"))
    month: Mapped[str] = mapped_column(String(7))  # local month of ``send_at``
    provider: Mapped[str | None] = mapped_column(String(30))
    kind: Mapped[str] = mapped_column(String(20))
    status: Mapped[str] = mapped_column(String(12))
    messages: Mapped[int]
    segments: Mapped[int]
    purged_at: Mapped[datetime] = mapped_column(UtcDateTime())


class SmsDelayPurged(IdMixin, Base):
    """The delivery delays of deleted convocations' SMS (``sms_delay_monthly``'s histogram)."""

    __tablename__ = "sms_delay_purged"
    __table_args__ = (Index("ix_sms_delay_purged_month_spip_id", "month", "spip_id"),)

    spip_id: Mapped[int] = mapped_column(ForeignKey("spip.id", ondelete="CASCADE"))
    month: Mapped[str] = mapped_column(String(7))
    provider: Mapped[str] = mapped_column(String(30))
    seconds: Mapped[int]
    messages: Mapped[int]
    purged_at: Mapped[datetime] = mapped_column(UtcDateTime())
