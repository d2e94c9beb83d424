"""Attendance grouped by agent: convocations without an agent are « Sans agent », never "0"."""

from __future__ import annotations

import csv
import io

import httpx
from sqlalchemy.ext.asyncio import AsyncSession

from tests.conftest import FrozenClock
from tests.factories import make_agent, make_appointment, make_person, make_place, make_spip
from tests.reports.test_attendance import cayenne

PERIOD = {"from": "2027-01-01", "to": "2027-01-31", "group_by": "agent"}


async def _spip_with_and_without_agents(session: AsyncSession, clock: FrozenClock) -> int:
    clock.set(cayenne(2027, 2, 10, 12))
    spip = await make_spip(session, timezone="America/Cayenne", phone_region="GF")
    place = await make_place(session, spip)
    person = await make_person(session, spip, phone="+594694123456")
    agent = await make_agent(session, spip, name="Claire Lemaître")
    for day, status, agent_id in [
        (5, "honored", agent.id),
        (6, "missed", None),
        (7, "honored", None),
    ]:
        await make_appointment(
            session, person, place, starts_at=cayenne(2027, 1, day, 9), status=status,
            agent_id=agent_id,
        )  # fmt: skip
    await session.commit()
    return spip.id


async def test_convocations_without_agent_are_labelled_sans_agent(
    client: httpx.AsyncClient, session: AsyncSession, clock: FrozenClock
) -> None:
    spip_id = await _spip_with_and_without_agents(session, clock)
    response = await client.get("/reports/attendance", params=PERIOD | {"spip_id": spip_id})
    assert response.status_code == 200, response.text
    rows = {r["label"]: r for r in response.json()["rows"]}
    assert set(rows) == {"Claire Lemaître", "Sans agent"}
    without = rows["Sans agent"]
    assert without["agent_id"] is None and without["key"] == "none"
    assert without["counts"]["honored"] == 1 and without["counts"]["missed"] == 1
    named = rows["Claire Lemaître"]
    assert named["key"] == str(named["agent_id"]) and named["counts"]["honored"] == 1
    assert all(r["key"] != "0" for r in response.json()["rows"])


async def test_national_totals_by_agent_say_sans_agent_too(
    client: httpx.AsyncClient, session: AsyncSession, clock: FrozenClock
) -> None:
    await _spip_with_and_without_agents(session, clock)
    response = await client.get("/reports/attendance", params=PERIOD)
    assert response.status_code == 200, response.text
    totals = [r for r in response.json()["totals"] if r["agent_id"] is None]
    assert [(r["key"], r["label"]) for r in totals] == [("none", "Sans agent")]


async def test_csv_by_agent_shows_names_and_sans_agent(
    client: httpx.AsyncClient, session: AsyncSession, clock: FrozenClock
) -> None:
    spip_id = await _spip_with_and_without_agents(session, clock)
    response = await client.get(
        "/reports/attendance", params=PERIOD | {"spip_id": spip_id, "format": "csv"}
    )
    lines = list(csv.reader(io.StringIO(response.content.decode("utf-8-sig")), delimiter=";"))
    assert lines[0][:2] == ["SPIP", "Agent"]
    assert sorted(line[1] for line in lines[1:-1]) == ["Claire Lemaître", "Sans agent"]
    assert lines[-1][1] == "Total"
