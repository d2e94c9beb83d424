"""Migration ae6ce3c32c82 copies each message's SPIP from its convocation (both databases), so
the SMS report's index range finds messages written before it; and it downgrades."""

from __future__ import annotations

import asyncio

import pytest
from alembic import command

from tests.conftest import BACKENDS
from tests.migrations.support import alembic_config, on_scratch_database, run_sql

BEFORE = "7d4e2b9c1a05"
NOW = "'2027-01-15 10:00:00+00:00'"


def _spip_with_a_message(code: str, zone: str) -> list[str]:
    spip = f"(SELECT id FROM spip WHERE code = '{code}')"
    appointment = f"(SELECT id FROM appointment WHERE spip_id = {spip})"
    return [
        "INSERT INTO spip (code, name, timezone, phone_region, created_at, updated_at) "
        f"VALUES ('{code}', 'SPIP', '{zone}', 'FR', {NOW}, {NOW})",
        "INSERT INTO place (spip_id, name, timezone, active, created_at, updated_at) "
        f"VALUES ({spip}, 'Antenne', '{zone}', true, {NOW}, {NOW})",
        "INSERT INTO person (spip_id, first_name, last_name, phone_status, archived, "
        f"created_at, updated_at) VALUES ({spip}, 'P', 'N', 'none', false, {NOW}, {NOW})",
        "INSERT INTO appointment (spip_id, person_id, place_id, appointment_type_id, starts_at, "
        "duration_minutes, status, summons_requested, created_at, updated_at) VALUES "
        f"({spip}, (SELECT id FROM person WHERE spip_id = {spip}), "
        f"(SELECT id FROM place WHERE spip_id = {spip}), "
        f"(SELECT min(id) FROM appointment_type), {NOW}, 45, 'booked', false, {NOW}, {NOW})",
        "INSERT INTO notification (appointment_id, kind, sequence, idempotency_key, status, "
        "planned_at, send_at, send_not_after, attempts, created_at, updated_at) VALUES "
        f"({appointment}, 'reminder', 1, '{code}:reminder:1', 'delivered', {NOW}, {NOW}, {NOW}, "
        f"1, {NOW}, {NOW})",
    ]


def _exercise(url: str) -> None:
    config = alembic_config(url)
    command.upgrade(config, BEFORE)
    asyncio.run(
        run_sql(
            url,
            _spip_with_a_message("SPIP-A", "Europe/Paris")
            + _spip_with_a_message("SPIP-B", "America/Cayenne"),
        )
    )
    command.upgrade(config, "head")
    rows = asyncio.run(
        run_sql(
            url,
            [
                "SELECT n.idempotency_key, n.spip_id = a.spip_id, s.code FROM notification n "
                "JOIN appointment a ON a.id = n.appointment_id JOIN spip s ON s.id = n.spip_id "
                "ORDER BY n.idempotency_key"
            ],
        )
    )
    assert [(key, bool(same), code) for key, same, code in rows] == [
        ("SPIP-A:reminder:1", True, "SPIP-A"),
        ("SPIP-B:reminder:1", True, "SPIP-B"),
    ]
    command.downgrade(config, BEFORE)
    assert len(asyncio.run(run_sql(url, ["SELECT id FROM notification"]))) == 2


@pytest.mark.parametrize("backend", BACKENDS)
def test_migration_copies_the_spip_of_existing_messages(backend: str) -> None:
    on_scratch_database(backend, _exercise)
