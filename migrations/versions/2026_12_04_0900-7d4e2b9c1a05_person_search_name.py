"""person: search_name, the names folded for an accent- and case-insensitive search

``GET /persons?q=lefevre`` did not find « Lefèvre »: ``ILIKE`` folds case only (and on SQLite
only ASCII case), never accents. The names are now also stored folded — lower-case, without
accents, ligatures or punctuation (``app.core.text.search_key``) — and the search compares the
folded query with that column, the same way on SQLite and PostgreSQL (no ``unaccent``: SQLite
lacks it). Existing rows are filled here, in batches, with the very function the application
uses, so a key written before and after this migration is the same.

Revision ID: 7d4e2b9c1a05
Revises: 7a41d2c9e8b3
Create Date: 2026-12-04 09:00:00.000000+00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from app.core.text import search_key

revision: str = "7d4e2b9c1a05"
down_revision: str | None = "7a41d2c9e8b3"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_BATCH = 5000


def upgrade() -> None:
    with op.batch_alter_table("person", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("search_name", sa.String(length=500), server_default="", nullable=False)
        )
        batch_op.create_index("ix_person_spip_id_search_name", ["spip_id", "search_name"])
    _backfill()


def _backfill() -> None:
    person = sa.table(
        "person",
        sa.column("id", sa.Integer),
        sa.column("first_name", sa.String),
        sa.column("last_name", sa.String),
        sa.column("search_name", sa.String),
    )
    bind = op.get_bind()
    last_id = 0
    while True:
        rows = bind.execute(
            sa.select(person.c.id, person.c.first_name, person.c.last_name)
            .where(person.c.id > last_id)
            .order_by(person.c.id)
            .limit(_BATCH)
        ).all()
        if not rows:
            return
        bind.execute(
            person.update()
            .where(person.c.id == sa.bindparam("person_id"))
            .values(search_name=sa.bindparam("key")),
            [{"person_id": r.id, "key": search_key(r.first_name, r.last_name)} for r in rows],
        )
        last_id = rows[-1].id


def downgrade() -> None:
    with op.batch_alter_table("person", schema=None) as batch_op:
        batch_op.drop_index("ix_person_spip_id_search_name")
        batch_op.drop_column("search_name")
