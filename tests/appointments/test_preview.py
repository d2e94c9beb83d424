"""POST /appointments/preview: the booking's own plan, computed without storing (now =
2027-01-15T10:00Z). The same body booked afterwards plans exactly what was previewed."""

from __future__ import annotations

import httpx
import pytest
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from app.models import Appointment, Notification
from tests.appointments.test_api import _booking, _world
from tests.factories import make_person


async def _stored(session: AsyncSession, model: type) -> int:
    return int(await session.scalar(select(func.count()).select_from(model)) or 0)


async def _same_plan_when_booked(client: httpx.AsyncClient, body: dict[str, object]) -> dict:
    preview = await client.post("/appointments/preview", json=body)
    assert preview.status_code == 200, preview.text
    booked = await client.post("/appointments", json=body)
    assert booked.status_code == 201, booked.text
    rows = (await client.get(f"/appointments/{booked.json()['id']}/notifications")).json()
    rows = rows.get("items", rows) if isinstance(rows, dict) else rows
    planned = [(m["kind"], m["status"], m["send_at"]) for m in preview.json()["messages"]]
    assert planned == [(r["kind"], r["status"], r["send_at"]) for r in rows]
    return preview.json()


async def test_overseas_preview_is_in_the_places_time_and_stores_nothing(
    client: httpx.AsyncClient, session: AsyncSession
) -> None:
    world = await _world(session, "America/Cayenne", "GF")
    body = _booking(world, "2027-03-29T09:00", send_summons=True)
    preview = await client.post("/appointments/preview", json=body)
    assert preview.status_code == 200, preview.text
    data = preview.json()
    assert data["starts_at"] == "2027-03-29T12:00:00Z"
    assert data["starts_at_local"] == "2027-03-29T09:00:00-03:00"
    kinds = [m["kind"] for m in data["messages"]]
    assert kinds[0] == "summons" and "reminder" in kinds
    assert all(m["send_at_local"].endswith("-03:00") for m in data["messages"])
    assert all("29" in m["text"] and m["segments"] >= 1 for m in data["messages"])
    assert await _stored(session, Appointment) == 0
    assert await _stored(session, Notification) == 0
    await _same_plan_when_booked(client, body)


async def test_preview_on_the_day_after_the_spring_change_plans_what_booking_plans(
    client: httpx.AsyncClient, session: AsyncSession
) -> None:
    world = await _world(session)
    data = await _same_plan_when_booked(client, _booking(world, "2027-03-29T09:00"))
    assert data["starts_at_local"] == "2027-03-29T09:00:00+02:00"
    # J-2 at 10:00 falls before the change (+01:00), the convocation after it (+02:00).
    assert [m["send_at_local"] for m in data["messages"]] == ["2027-03-27T10:00:00+01:00"]
    assert [m["send_at"] for m in data["messages"]] == ["2027-03-27T09:00:00Z"]


@pytest.mark.parametrize(
    ("local", "code"),
    [("2027-03-28T02:30", "nonexistent_local_time"), ("2027-10-31T02:30", "ambiguous_local_time")],
)
async def test_preview_refuses_what_booking_refuses(
    client: httpx.AsyncClient, session: AsyncSession, local: str, code: str
) -> None:
    world = await _world(session)
    response = await client.post("/appointments/preview", json=_booking(world, local))
    assert response.status_code == 422
    assert response.json()["error"] == code


async def test_preview_says_what_will_not_go_out(
    client: httpx.AsyncClient, session: AsyncSession
) -> None:
    world = await _world(session)
    world.person = await make_person(session, world.spip, phone=None, phone_status="none")
    await session.commit()
    response = await client.post("/appointments/preview", json=_booking(world, "2027-03-29T09:00"))
    assert response.status_code == 200, response.text
    assert "no_phone" in [w["code"] for w in response.json()["warnings"]]
    assert await _stored(session, Appointment) == 0
