from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, String, UniqueConstraint
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


class AttendanceMonthRefresh(IdMixin, Base):
    """Which months the aggregates cover, and when they were last rebuilt."""

    __tablename__ = "attendance_month_refresh"

    month: Mapped[str] = mapped_column(String(7), unique=True)
    refreshed_at: Mapped[datetime] = mapped_column(UtcDateTime())
