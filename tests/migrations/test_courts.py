"""Migration c0a7d2e91f3b adds courts and court clerks: the rebuilt ``agent`` and
``appointment`` tables keep their rows and what points at them (tokens, messages, the agent of a
convocation: on SQLite a rebuild with foreign keys on would delete or null them), the new CHECKs
hold, and it downgrades."""

from __future__ import annotations

import asyncio

import pytest
from alembic import command
from sqlalchemy.exc import IntegrityError

from tests.conftest import BACKENDS
from tests.migrations.support import alembic_config, on_scratch_database, run_sql

BEFORE = "b8f3c61d2e47"
AFTER = "c0a7d2e91f3b"
NOW = "'2027-01-15 10:00:00+00:00'"
SPIP = "(SELECT id FROM spip WHERE code = 'SPIP-92')"
AGENT = "(SELECT id FROM agent WHERE email = 'cpip@x.fr')"
APPOINTMENT = f"(SELECT id FROM appointment WHERE agent_id = {AGENT})"

ROWS = [
    "INSERT INTO spip (code, name, timezone, phone_region, created_at, updated_at) "
    f"VALUES ('SPIP-92', 'SPIP', 'Europe/Paris', 'FR', {NOW}, {NOW})",
    "INSERT INTO place (spip_id, name, timezone, active, created_at, updated_at) "
    f"VALUES ({SPIP}, 'Antenne', 'Europe/Paris', true, {NOW}, {NOW})",
    "INSERT INTO agent (spip_id, name, email, role, active, failed_logins, created_at, "
    f"updated_at) VALUES ({SPIP}, 'C', 'cpip@x.fr', 'cpip', true, 0, {NOW}, {NOW})",
    "INSERT INTO access_token (agent_id, token_hash, created_at, last_used_at, expires_at) "
    f"VALUES ({AGENT}, 'h', {NOW}, {NOW}, {NOW})",
    "INSERT INTO person (spip_id, first_name, last_name, phone_status, archived, "
    f"created_at, updated_at) VALUES ({SPIP}, 'P', 'N', 'none', false, {NOW}, {NOW})",
    "INSERT INTO appointment (spip_id, person_id, place_id, appointment_type_id, agent_id, "
    "starts_at, duration_minutes, status, summons_requested, created_at, updated_at) VALUES "
    f"({SPIP}, (SELECT id FROM person), (SELECT id FROM place), "
    f"(SELECT min(id) FROM appointment_type), {AGENT}, {NOW}, 45, 'booked', false, {NOW}, {NOW})",
    "INSERT INTO notification (appointment_id, spip_id, kind, sequence, idempotency_key, status, "
    "planned_at, send_at, send_not_after, attempts, created_at, updated_at) VALUES "
    f"({APPOINTMENT}, {SPIP}, 'reminder', 1, 'k:reminder:1', 'planned', {NOW}, {NOW}, {NOW}, "
    f"0, {NOW}, {NOW})",
]
COUNTS = [
    "SELECT (SELECT count(*) FROM access_token), (SELECT count(*) FROM notification), "
    "(SELECT count(*) FROM appointment WHERE agent_id IS NOT NULL)"
]


def _clerk(court: str, spip: str = "NULL") -> list[str]:
    return [
        "INSERT INTO agent (spip_id, court_id, name, email, role, active, failed_logins, "
        f"created_at, updated_at) VALUES ({spip}, {court}, 'G', 'greffe{court}@x.fr', "
        f"'court_clerk', true, 0, {NOW}, {NOW})"
    ]


def _refused(url: str, statements: list[str]) -> bool:
    try:
        asyncio.run(run_sql(url, statements))
    except IntegrityError:
        return True
    return False


def _exercise(url: str) -> None:
    config = alembic_config(url)
    command.upgrade(config, BEFORE)
    asyncio.run(run_sql(url, ROWS))
    command.upgrade(config, AFTER)
    assert asyncio.run(run_sql(url, COUNTS)) == [(1, 1, 1)]
    court = "(SELECT id FROM court)"
    asyncio.run(
        run_sql(
            url,
            [
                "INSERT INTO court (name, active, created_at, updated_at) "
                f"VALUES ('TJ Nanterre', true, {NOW}, {NOW})",
                f"INSERT INTO court_spip (court_id, spip_id) VALUES ({court}, {SPIP})",
                *_clerk(court),
            ],
        )
    )
    assert _refused(url, _clerk("NULL"))  # a clerk needs a court
    assert _refused(url, _clerk(court, SPIP))  # and belongs to no SPIP
    assert _refused(
        url,
        [
            "INSERT INTO agent (spip_id, court_id, name, email, role, active, failed_logins, "
            f"created_at, updated_at) VALUES ({SPIP}, {court}, 'X', 'x@x.fr', 'cpip', true, 0, "
            f"{NOW}, {NOW})"
        ],
    )  # nobody else belongs to a court
    assert asyncio.run(run_sql(url, ["SELECT open_to_courts FROM agenda"])) == []
    command.downgrade(config, BEFORE)
    assert asyncio.run(run_sql(url, COUNTS)) == [(1, 1, 1)]
    assert asyncio.run(run_sql(url, ["SELECT role FROM agent"])) == [("cpip",)]


@pytest.mark.parametrize("backend", BACKENDS)
def test_migration_adds_courts_and_keeps_agents_and_convocations(backend: str) -> None:
    on_scratch_database(backend, _exercise)
