"""The schema comes from the migrations, and the models agree with it on both databases."""

from __future__ import annotations

from typing import Any

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import inspect
from sqlalchemy.ext.asyncio import AsyncEngine

from app.models import Base


def _diff(sync_conn: Any) -> list[Any]:
    context = MigrationContext.configure(
        sync_conn,
        opts={"compare_type": True, "render_as_batch": sync_conn.dialect.name == "sqlite"},
    )
    return list(compare_metadata(context, Base.metadata))


async def test_models_and_migrations_agree(engine: AsyncEngine) -> None:
    async with engine.connect() as conn:
        diff = await conn.run_sync(_diff)
    assert diff == []


async def test_migrations_seed_the_usual_appointment_types(engine: AsyncEngine) -> None:
    async with engine.connect() as conn:
        tables = await conn.run_sync(lambda c: set(inspect(c).get_table_names()))
        codes = {
            row[0] for row in (await conn.exec_driver_sql("SELECT code FROM appointment_type"))
        }
    assert {"spip", "place", "agent", "person", "appointment", "alembic_version"} <= tables
    assert {
        "premier_rdv_spip",
        "suivi_spip",
        "sortie_audience_spip",
        "sortie_audience_sap",
        "rdv_jap",
        "tig",
        "surveillance_electronique",
        "visite_domicile",
    } <= codes
