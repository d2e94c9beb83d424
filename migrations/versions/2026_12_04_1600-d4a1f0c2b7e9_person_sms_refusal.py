"""person: sms_refused_at and sms_refused_via, when and how the person declined SMS

A refusal can now come from the person (the convocation link's « ne plus recevoir de SMS »,
or a STOP sent by SMS) as well as from an agent: the referent sees which, and when. Existing
refusals were all recorded by agents, at an unknown time. No CHECK on the channel: SQLite
could only add one by rebuilding ``person``, whose drop would cascade to the convocations.

Revision ID: d4a1f0c2b7e9
Revises: c0a7d2e91f3b
Create Date: 2026-12-04 16:00:00.000000+00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from app.core.types import UtcDateTime

revision: str = "d4a1f0c2b7e9"
down_revision: str | None = "c0a7d2e91f3b"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # Plain ALTER TABLE … ADD COLUMN, which SQLite does in place (no batch rebuild).
    op.add_column("person", sa.Column("sms_refused_at", UtcDateTime(timezone=True)))
    op.add_column("person", sa.Column("sms_refused_via", sa.String(length=10)))
    op.execute("UPDATE person SET sms_refused_via = 'agent' WHERE phone_status = 'refused'")


def downgrade() -> None:
    # SQLite ≥ 3.35 drops a column in place too.
    op.drop_column("person", "sms_refused_via")
    op.drop_column("person", "sms_refused_at")
