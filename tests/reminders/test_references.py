"""Our references to providers: unique across installations, stable across re-sends, and
still leading receipts back to their notification."""

from __future__ import annotations

import pytest
from sqlalchemy.ext.asyncio import AsyncSession

from app.reminders.references import new_nonce, notification_id_of, reference_of
from tests.reminders.conftest import build_world
from tests.reminders.test_dispatcher import START, booked, rows


def test_a_reference_is_the_id_then_the_nonce() -> None:
    assert reference_of(42, "0a1b2c3d4e5f") == "42-0a1b2c3d4e5f"
    assert reference_of(42, None) == "42"  # a row planned before nonces: as it was sent


def test_nonces_are_random_and_short() -> None:
    nonces = {new_nonce() for _ in range(1000)}
    assert len(nonces) == 1000
    assert all(len(n) == 12 and int(n, 16) >= 0 for n in nonces)


@pytest.mark.parametrize(
    ("reference", "notification_id"),
    [
        ("42-0a1b2c3d4e5f", 42),
        ("42", 42),  # the legacy form
        ("2147483647-ab", 2147483647),
        ("2147483648-ab", None),  # beyond our ids
        ("0-ab", None),
        ("042", None),
        ("42-", None),
        ("42-XYZ", None),
        ("notif-42", None),
        ("٤٢", None),  # Arabic-Indic digits: isdigit() but not ours
        ("", None),
        (None, None),
    ],
)
def test_receipts_read_the_notification_id_of_our_references_only(
    reference: str | None, notification_id: int | None
) -> None:
    assert notification_id_of(reference) == notification_id


async def test_each_planned_message_gets_its_own_nonce(session: AsyncSession) -> None:
    world = await build_world(session)
    first = await booked(session, world, START)
    second = await booked(session, world, START.replace(day=START.day + 1))
    nonces = [row.reference_nonce for a in (first, second) for row in await rows(session, a)]
    assert all(nonces) and len(set(nonces)) == len(nonces)
