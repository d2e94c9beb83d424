from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from sqlalchemy import CheckConstraint, ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column

from app.core.types import UtcDateTime
from app.models.base import Base, IdMixin, TimestampMixin, enum_check


class Role(StrEnum):
    cpip = "cpip"
    secretariat = "secretariat"
    manager = "manager"
    local_admin = "local_admin"
    admin = "admin"
    # A court's clerk (greffe, BEX): books « sortie d'audience » convocations, belongs to a
    # court and to no SPIP.
    court_clerk = "court_clerk"


class Agent(IdMixin, TimestampMixin, Base):
    __tablename__ = "agent"
    __table_args__ = (
        enum_check("role", Role),
        # National administrators and court clerks belong to no SPIP; everyone else to one.
        CheckConstraint(
            "role IN ('admin', 'court_clerk') OR spip_id IS NOT NULL", name="spip_required"
        ),
        # A court clerk belongs to a court (and no SPIP); nobody else belongs to a court.
        CheckConstraint(
            "(role = 'court_clerk' AND court_id IS NOT NULL AND spip_id IS NULL) "
            "OR (role <> 'court_clerk' AND court_id IS NULL)",
            name="court_clerk_court",
        ),
    )

    spip_id: Mapped[int | None] = mapped_column(
        ForeignKey("spip.id", ondelete="RESTRICT"), index=True
    )
    court_id: Mapped[int | None] = mapped_column(
        ForeignKey("court.id", ondelete="RESTRICT"), index=True
    )
    name: Mapped[str] = mapped_column(String(200))
    # Stored lower-cased so uniqueness is case-insensitive on both databases.
    email: Mapped[str] = mapped_column(String(320), unique=True)
    role: Mapped[str] = mapped_column(String(20))
    active: Mapped[bool] = mapped_column(default=True)
    # Argon2id hash; None until the agent activates the account.
    password_hash: Mapped[str | None] = mapped_column(String(200))
    failed_logins: Mapped[int] = mapped_column(default=0)
    locked_until: Mapped[datetime | None] = mapped_column(UtcDateTime())
    last_login_at: Mapped[datetime | None] = mapped_column(UtcDateTime())
