"""spip, place: holiday_territory, the public holidays that apply (app.core.holidays)

``spip.holiday_territory`` (null: metropolitan France without local holidays) and
``place.holiday_territory`` (null: the SPIP's). Existing overseas SPIPs get their territory from
their time zone, which names it without doubt; a metropolitan SPIP stays null (Moselle and
Alsace cannot be told from Europe/Paris: their administrators choose).

Revision ID: 106e52267559
Revises: ae6ce3c32c82
Create Date: 2026-12-03 13:48:54.885629+00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "106e52267559"
down_revision: str | None = "ae6ce3c32c82"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# Frozen here: a migration must not change when app.core.localtime does.
_TERRITORY_OF_ZONE = {
    "America/Cayenne": "973",
    "Indian/Reunion": "974",
    "Indian/Mayotte": "976",
    "America/Guadeloupe": "971",
    "America/Martinique": "972",
    "America/Marigot": "MF",
    "America/St_Barthelemy": "BL",
    "America/Miquelon": "PM",
    "Pacific/Tahiti": "PF",
    "Pacific/Marquesas": "PF",
    "Pacific/Gambier": "PF",
    "Pacific/Noumea": "NC",
    "Pacific/Wallis": "WF",
}


def upgrade() -> None:
    with op.batch_alter_table("place", schema=None) as batch_op:
        batch_op.add_column(sa.Column("holiday_territory", sa.String(length=8), nullable=True))

    with op.batch_alter_table("spip", schema=None) as batch_op:
        batch_op.add_column(sa.Column("holiday_territory", sa.String(length=8), nullable=True))

    spip = sa.table(
        "spip", sa.column("timezone", sa.String), sa.column("holiday_territory", sa.String)
    )
    for zone, territory in _TERRITORY_OF_ZONE.items():
        op.execute(
            spip.update().where(spip.c.timezone == zone).values(holiday_territory=territory)
        )


def downgrade() -> None:
    # Not in a batch: on SQLite a batch copies the table, and dropping the old ``spip`` fails on
    # the places' foreign key. A plain column without constraint drops natively (SQLite 3.35+).
    op.drop_column("spip", "holiday_territory")
    op.drop_column("place", "holiday_territory")
