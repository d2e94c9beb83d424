"""Migration 106e52267559 gives existing overseas SPIPs the holiday territory their zone names,
leaves metropolitan SPIPs and every place to inherit (null), and downgrades."""

from __future__ import annotations

import asyncio

import pytest
from alembic import command

from tests.conftest import BACKENDS
from tests.migrations.support import alembic_config, on_scratch_database, run_sql

BEFORE = "ae6ce3c32c82"
AFTER = "106e52267559"
NOW = "'2027-01-15 10:00:00+00:00'"


def _spip(code: str, zone: str) -> list[str]:
    return [
        "INSERT INTO spip (code, name, timezone, phone_region, created_at, updated_at) "
        f"VALUES ('{code}', 'SPIP', '{zone}', 'FR', {NOW}, {NOW})",
        "INSERT INTO place (spip_id, name, timezone, active, created_at, updated_at) "
        f"VALUES ((SELECT id FROM spip WHERE code = '{code}'), 'Antenne {code}', '{zone}', "
        f"true, {NOW}, {NOW})",
    ]


def _exercise(url: str) -> None:
    config = alembic_config(url)
    command.upgrade(config, BEFORE)
    statements = (
        _spip("SPIP-57", "Europe/Paris")
        + _spip("SPIP-973", "America/Cayenne")
        + _spip("SPIP-974", "Indian/Reunion")
        + _spip("SPIP-PF", "Pacific/Marquesas")
    )
    asyncio.run(run_sql(url, statements))
    command.upgrade(config, AFTER)
    spips = asyncio.run(run_sql(url, ["SELECT code, holiday_territory FROM spip ORDER BY code"]))
    places = asyncio.run(run_sql(url, ["SELECT DISTINCT holiday_territory FROM place"]))
    assert spips == [
        ("SPIP-57", None),
        ("SPIP-973", "973"),
        ("SPIP-974", "974"),
        ("SPIP-PF", "PF"),
    ]
    assert places == [(None,)]
    command.downgrade(config, BEFORE)
    assert len(asyncio.run(run_sql(url, ["SELECT id FROM spip"]))) == 4


@pytest.mark.parametrize("backend", BACKENDS)
def test_migration_gives_overseas_spips_their_holiday_territory(backend: str) -> None:
    on_scratch_database(backend, _exercise)
