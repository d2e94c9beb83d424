"""The SMS report: the same figures live, from the monthly aggregates, and after a purge.

Reuses the hand-counted SPIP de Guyane of ``test_attendance`` ("now" is 10 March 2027).
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import httpx
import pytest
from sqlalchemy import delete, func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from app.models import Appointment, AttendanceMonthRefresh, Notification, SmsMonthly, Spip
from app.reports.attendance import rebuild
from app.reports.sms_aggregates import median
from tests.reports.test_attendance import cayenne, guyane

__all__ = ["guyane"]  # the fixture, imported for pytest

QUARTER = {"from": "2027-01-01", "to": "2027-03-31"}


async def sms(client: httpx.AsyncClient, spip: Spip, **period: str) -> dict[str, Any]:
    answer = await client.get("/reports/sms", params={"spip_id": spip.id, **(QUARTER | period)})
    assert answer.status_code == 200, answer.text
    return dict(answer.json())


@pytest.mark.parametrize(
    ("histogram", "expected"),
    [
        ({}, None),
        ({30: 1, 60: 1, 90: 1}, 60.0),
        ({30: 1, 90: 1}, 60.0),
        ({10: 3, 20: 1}, 10.0),
        ({10: 2, 20: 2}, 15.0),
        ({5: 1, 7: 2}, 7.0),
    ],
)
def test_median_of_a_histogram(histogram: dict[int, int], expected: float | None) -> None:
    assert median(histogram) == expected


async def test_aggregates_give_the_same_sms_figures_and_survive_a_purge(
    client: httpx.AsyncClient, session: AsyncSession, guyane: Spip
) -> None:
    live = await sms(client, guyane)
    january = await sms(client, guyane, to="2027-01-31")
    assert await rebuild(session) == ["2027-01", "2027-02"]
    await session.commit()
    assert await session.scalar(select(func.count()).select_from(SmsMonthly)) > 0
    assert await sms(client, guyane) == live
    assert await sms(client, guyane, to="2027-01-31") == january
    # The personal data of January and February goes: their SMS figures stay.
    await session.execute(delete(Notification))
    await session.execute(delete(Appointment).where(Appointment.starts_at < cayenne(2027, 3, 1)))
    await session.commit()
    assert await sms(client, guyane) == live
    [http] = live["providers"]
    assert (http["sent"], http["delivered"], http["median_seconds_to_delivery"]) == (4, 3, 60.0)
    # A partial month is always read live: 10–31 January no longer has messages.
    partial = await sms(client, guyane, **{"from": "2027-01-10", "to": "2027-01-31"})
    assert partial["providers"] == [] and partial["rows"] == []


async def test_months_rebuilt_before_the_sms_aggregates_are_read_live(
    client: httpx.AsyncClient, session: AsyncSession, guyane: Spip
) -> None:
    live = await sms(client, guyane)
    await rebuild(session)
    # As an installation upgraded from before the SMS aggregates: months covered for attendance
    # only. Reading their (absent) SMS aggregates would give zero.
    await session.execute(delete(SmsMonthly))
    await session.execute(update(AttendanceMonthRefresh).values(sms_refreshed_at=None))
    await session.commit()
    assert await sms(client, guyane) == live


async def test_a_message_belongs_to_its_local_day(
    client: httpx.AsyncClient, session: AsyncSession, guyane: Spip
) -> None:
    """23:30 on 31 January in Cayenne is 02:30Z on 1 February: a January message."""
    march = await session.scalar(
        select(Appointment).where(Appointment.starts_at >= cayenne(2027, 3, 1))
    )
    assert march is not None
    evening = cayenne(2027, 1, 31, 23, 30)
    session.add(
        Notification(
            appointment_id=march.id,
            spip_id=march.spip_id,
            kind="summons",
            sequence=1,
            idempotency_key=f"{march.id}:summons:1",
            status="delivered",
            planned_at=evening,
            send_at=evening,
            send_not_after=evening + timedelta(hours=1),
            attempts=1,
            provider="http",
            segments=3,
            sent_at=evening,
            delivered_at=evening + timedelta(seconds=45),
        )
    )
    await session.commit()
    january = await sms(client, guyane, to="2027-01-31")
    february = await sms(client, guyane, **{"from": "2027-02-01", "to": "2027-02-28"})
    summons = [r for r in january["rows"] if r["kind"] == "summons"]
    assert summons == [
        {"provider": "http", "kind": "summons", "status": "delivered", "messages": 1, "segments": 3}
    ]
    assert not [r for r in february["rows"] if r["kind"] == "summons"]
    await rebuild(session)
    await session.commit()
    assert await sms(client, guyane, to="2027-01-31") == january
