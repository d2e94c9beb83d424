"""Reports checked against hand-counted fixtures, on both databases.

The SPIP de Guyane (America/Cayenne, UTC−3); "now" is 10 March 2027. January and February are
closed months.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
from sqlalchemy import delete
from sqlalchemy.ext.asyncio import AsyncSession

from app.models import Appointment, Notification, Spip
from app.reports.attendance import rebuild
from tests.conftest import FrozenClock
from tests.factories import make_agent, make_appointment, make_person, make_place, make_spip

NOW = datetime(2027, 3, 10, 15, 0, tzinfo=UTC)


def cayenne(*args: int) -> datetime:
    return datetime(*args, tzinfo=UTC) + timedelta(hours=3)  # type: ignore[misc]


async def notify(
    session: AsyncSession, appointment: Appointment, status: str, **extra: Any
) -> None:
    n = Notification(
        appointment_id=appointment.id,
        spip_id=appointment.spip_id,
        kind=extra.pop("kind", "reminder"),
        sequence=extra.pop("sequence", 1),
        idempotency_key=f"{appointment.id}:{status}:{extra.get('reason')}",
        status=status,
        planned_at=appointment.starts_at - timedelta(days=2),
        send_at=appointment.starts_at - timedelta(days=2),
        send_not_after=appointment.starts_at - timedelta(hours=1),
        attempts=1,
        **extra,
    )
    session.add(n)
    await session.flush()


@pytest.fixture
async def guyane(session: AsyncSession, clock: FrozenClock) -> Spip:
    clock.set(NOW)
    spip = await make_spip(session, code="SPIP-973", timezone="America/Cayenne", phone_region="GF")
    place = await make_place(session, spip)
    agent = await make_agent(session, spip)
    person = await make_person(session, spip, phone="+594694123456")

    async def convocation(starts_at: datetime, status: str = "booked", **kw: Any) -> Appointment:
        return await make_appointment(
            session, person, place, starts_at=starts_at, status=status, agent_id=agent.id, **kw
        )

    # January (local calendar)
    a = await convocation(cayenne(2027, 1, 5, 9), "honored")
    await notify(
        session,
        a,
        "delivered",
        provider="http",
        segments=1,
        sent_at=cayenne(2027, 1, 3, 10),
        delivered_at=cayenne(2027, 1, 3, 10) + timedelta(seconds=30),
    )
    await convocation(cayenne(2027, 1, 6, 9), "honored")  # no reminder
    # 23:30 on 31 January in Cayenne is 02:30Z on 1 February: it belongs to January.
    late = await convocation(cayenne(2027, 1, 31, 23, 30), "honored")
    await notify(
        session, late, "sent", provider="http", segments=2, sent_at=cayenne(2027, 1, 29, 10)
    )
    m = await convocation(cayenne(2027, 1, 12, 9), "missed")
    await notify(session, m, "skipped", reason="no_phone")  # counts as "no reminder"
    e = await convocation(cayenne(2027, 1, 13, 9), "excused")
    await notify(session, e, "failed", provider="http", reason="permanent_error")
    await convocation(cayenne(2027, 1, 14, 9), "booked")  # started, never recorded
    await convocation(cayenne(2027, 1, 15, 9), "cancelled", cancel_reason="cancelled")
    await convocation(cayenne(2027, 1, 16, 9), "cancelled", cancel_reason="rescheduled")
    # February
    f1 = await convocation(cayenne(2027, 2, 2, 9), "honored")
    await notify(
        session,
        f1,
        "delivered",
        provider="http",
        segments=1,
        sent_at=cayenne(2027, 1, 31, 10),
        delivered_at=cayenne(2027, 1, 31, 10) + timedelta(seconds=90),
    )
    f2 = await convocation(cayenne(2027, 2, 3, 9), "missed")
    await notify(
        session,
        f2,
        "delivered",
        provider="http",
        segments=1,
        sent_at=cayenne(2027, 2, 1, 10),
        delivered_at=cayenne(2027, 2, 1, 10) + timedelta(seconds=60),
    )
    # March: one to come
    await convocation(cayenne(2027, 3, 20, 9), "booked")
    await session.commit()
    return spip


def by_key(report: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {row["key"]: row for row in report["rows"]}


EXPECTED_JANUARY = {
    "honored": 3,
    "missed": 1,
    "excused": 1,
    "unrecorded": 1,
    "upcoming": 0,
    "cancelled": 1,
    "rescheduled": 1,
    "attendance_rate": 0.75,
    "unrecorded_share": 0.1667,
}


async def check_hand_counts(report: dict[str, Any]) -> None:
    months = by_key(report)
    assert months["2027-01"]["counts"] == EXPECTED_JANUARY
    january = months["2027-01"]["by_reminder"]
    assert (january["delivered"]["honored"], january["sent_no_receipt"]["honored"]) == (1, 1)
    assert january["no_reminder"]["honored"] == 1 and january["no_reminder"]["missed"] == 1
    assert january["failed_or_skipped"]["excused"] == 1
    assert months["2027-02"]["counts"]["honored"] == 1
    assert months["2027-02"]["counts"]["missed"] == 1
    assert months["2027-02"]["by_reminder"]["delivered"]["attendance_rate"] == 0.5
    assert months["2027-03"]["counts"]["upcoming"] == 1
    assert report["total"]["counts"]["honored"] == 4


async def test_hand_counted_months_with_the_local_boundary(
    client: httpx.AsyncClient, guyane: Spip
) -> None:
    response = await client.get(
        "/reports/attendance",
        params={"spip_id": guyane.id, "from": "2027-01-01", "to": "2027-03-31"},
    )
    assert response.status_code == 200, response.text
    await check_hand_counts(response.json())


async def test_aggregates_give_the_same_numbers_and_survive_a_purge(
    client: httpx.AsyncClient, session: AsyncSession, guyane: Spip
) -> None:
    params = {"spip_id": guyane.id, "from": "2027-01-01", "to": "2027-03-31"}
    live = (await client.get("/reports/attendance", params=params)).json()
    assert await rebuild(session) == ["2027-01", "2027-02"]
    await session.commit()
    aggregated = (await client.get("/reports/attendance", params=params)).json()
    assert aggregated == live
    # Purging January's personal data keeps January's statistics.
    await session.execute(delete(Notification))
    await session.execute(
        delete(Appointment).where(
            Appointment.spip_id == guyane.id, Appointment.starts_at < cayenne(2027, 2, 1)
        )
    )
    await session.commit()
    after_purge = (await client.get("/reports/attendance", params=params)).json()
    assert by_key(after_purge)["2027-01"] == by_key(live)["2027-01"]
    # A partial month is always counted live: January 10–31 no longer has data.
    partial = (
        await client.get("/reports/attendance", params=params | {"from": "2027-01-10"})
    ).json()
    assert "2027-01" not in by_key(partial)


async def test_other_groupings(client: httpx.AsyncClient, guyane: Spip) -> None:
    params = {"spip_id": guyane.id, "from": "2027-01-01", "to": "2027-02-28"}
    types = by_key(
        (
            await client.get(
                "/reports/attendance", params=params | {"group_by": "appointment_type"}
            )
        ).json()
    )
    assert types["suivi_spip"]["counts"]["honored"] == 4
    weeks = by_key(
        (await client.get("/reports/attendance", params=params | {"group_by": "week"})).json()
    )
    assert weeks["2027-01-04"]["counts"]["honored"] == 2  # Monday of the week of 5 and 6 January
    assert weeks["2027-01-25"]["counts"]["honored"] == 1  # Sunday 31 January, local
    agents = (await client.get("/reports/attendance", params=params | {"group_by": "agent"})).json()
    assert len(agents["rows"]) == 1 and agents["rows"][0]["counts"]["honored"] == 4


async def test_csv_opens_in_a_french_spreadsheet(client: httpx.AsyncClient, guyane: Spip) -> None:
    response = await client.get(
        "/reports/attendance",
        params={"spip_id": guyane.id, "from": "2027-01-01", "to": "2027-01-31", "format": "csv"},
    )
    assert response.headers["content-type"].startswith("text/csv")
    raw = response.content
    assert raw.startswith(b"\xef\xbb\xbf")
    lines = raw.decode("utf-8-sig").splitlines()
    assert lines[0].startswith("SPIP;Période;Honorées;Non honorées;Excusées;Non renseignées")
    assert lines[1].split(";")[:4] == ["SPIP-973", "2027-01", "3", "1"]
    assert lines[1].split(";")[9] == "75,0"


@pytest.mark.parametrize(("fmt", "signature"), [("png", b"\x89PNG"), ("svg", b"<?xml")])
async def test_chart(client: httpx.AsyncClient, guyane: Spip, fmt: str, signature: bytes) -> None:
    response = await client.get(
        "/reports/attendance",
        params={"spip_id": guyane.id, "from": "2027-01-01", "to": "2027-03-31", "format": fmt},
    )
    assert response.status_code == 200
    assert response.content.startswith(signature)
    if fmt == "svg":
        assert "Taux de présence mensuel" in response.text
        assert "janv. 2027" in response.text


async def test_national_view_for_admins_only(
    client: httpx.AsyncClient, client_for: Any, session: AsyncSession, guyane: Spip
) -> None:
    other = await make_spip(session, code="SPIP-92")
    manager = await make_agent(session, guyane, role="manager")
    secretariat = await make_agent(session, guyane, role="secretariat")
    await session.commit()
    national = (
        await client.get("/reports/attendance", params={"from": "2027-01-01", "to": "2027-01-31"})
    ).json()
    assert {r["spip_code"] for r in national["rows"]} == {"SPIP-973"}
    assert national["totals"][0]["counts"]["honored"] == 3
    async with client_for(manager) as as_manager:
        own = await as_manager.get("/reports/attendance")
        assert own.status_code == 200 and own.json()["spip_id"] == guyane.id
        assert (
            await as_manager.get("/reports/attendance", params={"spip_id": other.id})
        ).status_code == 404
    async with client_for(secretariat) as as_secretariat:
        assert (await as_secretariat.get("/reports/attendance")).status_code == 403


async def test_sms_and_unrecorded_reports(client: httpx.AsyncClient, guyane: Spip) -> None:
    sms = (
        await client.get(
            "/reports/sms", params={"spip_id": guyane.id, "from": "2027-01-01", "to": "2027-03-31"}
        )
    ).json()
    [http] = sms["providers"]
    assert (http["sent"], http["delivered"], http["segments"]) == (4, 3, 5)
    assert http["delivery_rate"] == 0.75
    assert http["estimated_cost_eur"] == 0.23  # 5 segments × 0.045 €
    assert http["median_seconds_to_delivery"] == 60.0
    unrecorded = (await client.get("/reports/unrecorded", params={"spip_id": guyane.id})).json()
    assert [r["count"] for r in unrecorded["rows"]] == [1]
    csv = await client.get("/reports/unrecorded", params={"spip_id": guyane.id, "format": "csv"})
    assert csv.content.decode("utf-8-sig").startswith("Agent;Convocations sans issue")


async def test_bad_periods(client: httpx.AsyncClient, guyane: Spip) -> None:
    backwards = await client.get(
        "/reports/attendance", params={"from": "2027-03-01", "to": "2027-01-01"}
    )
    assert backwards.status_code == 422 and backwards.json()["error"] == "invalid_period"
    assert (
        await client.get("/reports/attendance", params={"group_by": "planet"})
    ).status_code == 422


async def test_daily_refresh_covers_the_last_closed_months(
    session: AsyncSession, guyane: Spip
) -> None:
    from app.reports.attendance import rebuild_recent

    assert await rebuild_recent(session) == [
        "2026-08",
        "2026-09",
        "2026-10",
        "2026-11",
        "2026-12",
        "2027-01",
        "2027-02",
    ]
