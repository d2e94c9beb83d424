"""courts and court clerks: « sortie d'audience » bookings from the tribunal judiciaire

A ``court`` is linked to one or more SPIPs (``court_spip``); its clerks (role ``court_clerk``,
``agent.court_id``, no SPIP) book into the agendas those SPIPs open to the courts
(``agenda.open_to_courts``, off by default); ``appointment.court_id`` says which court booked.

Revision ID: c0a7d2e91f3b
Revises: b8f3c61d2e47
Create Date: 2026-12-04 15:00:00.000000+00:00
"""

from collections.abc import Callable, Sequence

import sqlalchemy as sa
from alembic import op

from app.core.types import UtcDateTime

revision: str = "c0a7d2e91f3b"
down_revision: str | None = "b8f3c61d2e47"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_ROLES_BEFORE = "role IN ('cpip', 'secretariat', 'manager', 'local_admin', 'admin')"
_ROLES_AFTER = "role IN ('cpip', 'secretariat', 'manager', 'local_admin', 'admin', 'court_clerk')"
_SPIP_BEFORE = "role = 'admin' OR spip_id IS NOT NULL"
_SPIP_AFTER = "role IN ('admin', 'court_clerk') OR spip_id IS NOT NULL"
_CLERK_COURT = (
    "(role = 'court_clerk' AND court_id IS NOT NULL AND spip_id IS NULL) "
    "OR (role <> 'court_clerk' AND court_id IS NULL)"
)


def upgrade() -> None:
    op.create_table(
        "court",
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.Column("id", sa.Integer(), sa.Identity(always=False), nullable=False),
        sa.Column("created_at", UtcDateTime(timezone=True), nullable=False),
        sa.Column("updated_at", UtcDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_court")),
        sa.UniqueConstraint("name", name=op.f("uq_court_name")),
    )
    op.create_table(
        "court_spip",
        sa.Column("court_id", sa.Integer(), nullable=False),
        sa.Column("spip_id", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["court_id"],
            ["court.id"],
            name=op.f("fk_court_spip_court_id_court"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["spip_id"], ["spip.id"], name=op.f("fk_court_spip_spip_id_spip"), ondelete="RESTRICT"
        ),
        sa.PrimaryKeyConstraint("court_id", "spip_id", name=op.f("pk_court_spip")),
    )
    with op.batch_alter_table("agenda", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("open_to_courts", sa.Boolean(), server_default=sa.false(), nullable=False)
        )
    _without_foreign_keys_on_sqlite(_upgrade_agent_and_appointment)


def downgrade() -> None:
    _without_foreign_keys_on_sqlite(_downgrade_agent_and_appointment)
    with op.batch_alter_table("agenda", schema=None) as batch_op:
        batch_op.drop_column("open_to_courts")
    op.drop_table("court_spip")
    op.drop_table("court")


def _upgrade_agent_and_appointment() -> None:
    with op.batch_alter_table("agent", schema=None) as batch_op:
        batch_op.add_column(sa.Column("court_id", sa.Integer(), nullable=True))
        batch_op.create_index(batch_op.f("ix_agent_court_id"), ["court_id"], unique=False)
        batch_op.create_foreign_key(
            batch_op.f("fk_agent_court_id_court"),
            "court",
            ["court_id"],
            ["id"],
            ondelete="RESTRICT",
        )
        batch_op.drop_constraint(op.f("ck_agent_role_allowed"), type_="check")
        batch_op.drop_constraint(op.f("ck_agent_spip_required"), type_="check")
        batch_op.create_check_constraint(op.f("ck_agent_role_allowed"), _ROLES_AFTER)
        batch_op.create_check_constraint(op.f("ck_agent_spip_required"), _SPIP_AFTER)
        batch_op.create_check_constraint(op.f("ck_agent_court_clerk_court"), _CLERK_COURT)
    with op.batch_alter_table("appointment", schema=None) as batch_op:
        batch_op.add_column(sa.Column("court_id", sa.Integer(), nullable=True))
        batch_op.create_index(batch_op.f("ix_appointment_court_id"), ["court_id"], unique=False)
        batch_op.create_foreign_key(
            batch_op.f("fk_appointment_court_id_court"),
            "court",
            ["court_id"],
            ["id"],
            ondelete="RESTRICT",
        )


def _downgrade_agent_and_appointment() -> None:
    sqlite = op.get_bind().dialect.name == "sqlite"
    # Court clerks cannot exist without courts: their accounts go with them.
    op.execute(
        "DELETE FROM access_token WHERE agent_id IN "
        "(SELECT id FROM agent WHERE role = 'court_clerk')"
    )
    op.execute(
        "DELETE FROM activation_token WHERE agent_id IN "
        "(SELECT id FROM agent WHERE role = 'court_clerk')"
    )
    op.execute("UPDATE appointment SET court_id = NULL")
    with op.batch_alter_table("appointment", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_appointment_court_id"))
        if not sqlite:
            batch_op.drop_constraint(
                batch_op.f("fk_appointment_court_id_court"), type_="foreignkey"
            )
        batch_op.drop_column("court_id")
    op.execute("DELETE FROM agent WHERE role = 'court_clerk'")
    with op.batch_alter_table("agent", schema=None) as batch_op:
        batch_op.drop_constraint(op.f("ck_agent_court_clerk_court"), type_="check")
        batch_op.drop_constraint(op.f("ck_agent_spip_required"), type_="check")
        batch_op.drop_constraint(op.f("ck_agent_role_allowed"), type_="check")
        batch_op.create_check_constraint(op.f("ck_agent_role_allowed"), _ROLES_BEFORE)
        batch_op.create_check_constraint(op.f("ck_agent_spip_required"), _SPIP_BEFORE)
        batch_op.drop_index(batch_op.f("ix_agent_court_id"))
        if not sqlite:
            batch_op.drop_constraint(batch_op.f("fk_agent_court_id_court"), type_="foreignkey")
        batch_op.drop_column("court_id")


def _without_foreign_keys_on_sqlite(step: Callable[[], None]) -> None:
    """Run ``step`` with SQLite's foreign keys off (as in b8f3c61d2e47). SQLite cannot add a
    foreign key in place, so the batch rebuilds ``agent`` and ``appointment``: with foreign keys
    on, dropping the old tables would run ``ON DELETE`` actions (tokens deleted, notifications
    deleted, ``agent_id`` set to NULL). The pragma is ignored inside a transaction, so the step
    runs between two; the references are checked before foreign keys come back on."""
    bind = op.get_bind()
    if bind.dialect.name != "sqlite":
        step()
        return
    bind.exec_driver_sql("COMMIT")
    bind.exec_driver_sql("PRAGMA foreign_keys=OFF")
    bind.exec_driver_sql("BEGIN IMMEDIATE")
    step()
    broken = bind.exec_driver_sql("PRAGMA foreign_key_check").fetchall()
    assert not broken, f"références invalides après reconstruction : {broken[:5]}"
    bind.exec_driver_sql("COMMIT")
    bind.exec_driver_sql("PRAGMA foreign_keys=ON")
    bind.exec_driver_sql("BEGIN IMMEDIATE")
