"""national default templates

Revision ID: 26172892d7f3
Revises: f6557060826b
Create Date: 2026-11-22 15:20:26.319850+00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import app.core.types


revision: str = "26172892d7f3"
down_revision: str | None = "f6557060826b"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("message_template", schema=None) as batch_op:
        batch_op.alter_column("spip_id", existing_type=sa.INTEGER(), nullable=True)

def downgrade() -> None:
    op.execute("DELETE FROM message_template WHERE spip_id IS NULL")
    with op.batch_alter_table("message_template", schema=None) as batch_op:
        batch_op.alter_column("spip_id", existing_type=sa.INTEGER(), nullable=False)

