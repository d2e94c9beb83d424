"""Reminders that avoid Sundays and the place's public holidays, when the SPIP asks (issue 17).

In Guyane 10 June is a public holiday (abolition of slavery); 2027-06-13 is a Sunday.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime, time, timedelta
from zoneinfo import ZoneInfo

import httpx
from sqlalchemy.ext.asyncio import AsyncSession

from app.models import Spip
from app.reminders.planning import DEFAULT_POLICY, DaysBefore, open_day_before, plan_reminders
from app.reminders.policies import closed_days
from tests.reminders.conftest import World, build_world

CAYENNE = ZoneInfo("America/Cayenne")
J1 = replace(DEFAULT_POLICY, rules=(DaysBefore(1, time(10, 0)),))


def local(*args: int) -> datetime:
    return datetime(*args, tzinfo=CAYENNE)  # type: ignore[misc]


def planned(starts_at: datetime, policy: object) -> list[datetime]:
    found = plan_reminders(
        starts_at=starts_at,
        tz=CAYENNE,
        policy=policy,  # type: ignore[arg-type]
        now=starts_at - timedelta(days=30),
    )
    return [r.send_at.astimezone(CAYENNE) for r in found if r.planned]


def test_a_reminder_on_a_local_holiday_goes_the_open_day_before() -> None:
    friday = local(2027, 6, 11, 9, 0)
    assert planned(friday, J1) == [local(2027, 6, 10, 10, 0)]  # without the setting
    guyane = replace(J1, closed=closed_days("973"))
    assert planned(friday, guyane) == [local(2027, 6, 9, 10, 0)]
    # Metropolitan rules know no 10 June: the reminder stays on the Thursday.
    assert planned(friday, replace(J1, closed=closed_days(None))) == [local(2027, 6, 10, 10, 0)]


def test_a_sunday_reminder_goes_on_saturday_and_a_closed_weekend_further_back() -> None:
    monday = local(2027, 6, 14, 9, 0)
    assert planned(monday, replace(J1, closed=closed_days(None))) == [local(2027, 6, 12, 10, 0)]
    # Christmas 2027 is a Saturday: a reminder due on Sunday 26 December goes back over Sunday
    # and Christmas to Friday 24, at the same local time, in Moselle as in Paris.
    paris = ZoneInfo("Europe/Paris")
    sunday = datetime(2027, 12, 26, 10, 0, tzinfo=paris)
    for territory in ("57", None):
        at = open_day_before(sunday, paris, closed_days(territory))
        assert at.astimezone(paris) == datetime(2027, 12, 24, 10, 0, tzinfo=paris)
    # Saint-Étienne is closed in Moselle only.
    monday_27 = datetime(2027, 12, 27, 10, 0, tzinfo=paris)
    assert closed_days("57")(datetime(2028, 12, 26).date())
    assert not closed_days(None)(datetime(2028, 12, 26).date())
    assert open_day_before(monday_27, paris, closed_days("57")) == monday_27


async def test_the_policy_setting_moves_a_booked_reminder(
    client: httpx.AsyncClient, session: AsyncSession
) -> None:
    world: World = await build_world(session, "America/Cayenne", "GF")
    spip = await session.get_one(Spip, world.spip.id)
    spip.holiday_territory = "973"
    await session.commit()
    url = f"/spips/{world.spip.id}/reminder-policy"
    rules = {"rules": [{"days_before": 1, "at": "10:00"}]}
    assert (await client.put(url, json=rules)).json()["avoid_closed_days"] is False
    book = {
        "person_id": world.person.id,
        "place_id": world.place.id,
        "appointment_type": "suivi_spip",
    }
    before = await client.post("/appointments", json=book | {"starts_at": "2027-06-11T09:00"})
    saved = await client.put(url, json=rules | {"avoid_closed_days": True})
    assert saved.status_code == 200 and saved.json()["avoid_closed_days"] is True
    assert (await client.get(url)).json()["avoid_closed_days"] is True
    after = await client.post("/appointments", json=book | {"starts_at": "2027-06-18T09:00"})

    async def reminder_at(answer: httpx.Response) -> str:
        rows = (await client.get(f"/appointments/{answer.json()['id']}/notifications")).json()
        [reminder] = [r for r in rows if r["kind"] == "reminder" and r["status"] == "planned"]
        return str(reminder["send_at_local"])

    # Booked before the change, re-planned by it: off the holiday, onto Wednesday 9 June.
    assert await reminder_at(before) == "2027-06-09T10:00:00-03:00"
    # Friday 18 June: Thursday 17 is an open day, the reminder stays the day before.
    assert await reminder_at(after) == "2027-06-17T10:00:00-03:00"


async def test_a_places_new_territory_moves_its_reminders_off_its_holidays(
    client: httpx.AsyncClient, session: AsyncSession
) -> None:
    """A metropolitan-rules SPIP avoiding closed days; its Cayenne place then takes Guyane's
    holidays: the J-1 reminder of Friday 11 June leaves 10 June, and the answer says so."""
    world: World = await build_world(session, "America/Cayenne", "GF")
    rules = {"rules": [{"days_before": 1, "at": "10:00"}], "avoid_closed_days": True}
    await client.put(f"/spips/{world.spip.id}/reminder-policy", json=rules)
    booked = await client.post(
        "/appointments",
        json={
            "person_id": world.person.id,
            "place_id": world.place.id,
            "appointment_type": "suivi_spip",
            "starts_at": "2027-06-11T09:00",
        },
    )

    async def reminder_at() -> str:
        rows = (await client.get(f"/appointments/{booked.json()['id']}/notifications")).json()
        [reminder] = [r for r in rows if r["kind"] == "reminder" and r["status"] == "planned"]
        return str(reminder["send_at_local"])

    assert await reminder_at() == "2027-06-10T10:00:00-03:00"
    changed = await client.patch(f"/places/{world.place.id}", json={"holiday_territory": "973"})
    assert changed.status_code == 200, changed.text
    assert changed.json()["replanned_notifications"] == 2  # one cancelled, one planned
    assert await reminder_at() == "2027-06-09T10:00:00-03:00"
    same = await client.patch(f"/places/{world.place.id}", json={"holiday_territory": "973"})
    assert same.json()["replanned_notifications"] == 0


async def test_a_spips_new_territory_moves_the_reminders_of_its_places_without_their_own(
    client: httpx.AsyncClient, session: AsyncSession
) -> None:
    """The Cayenne place has no territory of its own: it takes its SPIP's. When the SPIP takes
    Guyane's holidays, the J-1 reminder of Friday 11 June leaves 10 June at once."""
    world: World = await build_world(session, "America/Cayenne", "GF")
    rules = {"rules": [{"days_before": 1, "at": "10:00"}], "avoid_closed_days": True}
    await client.put(f"/spips/{world.spip.id}/reminder-policy", json=rules)
    booked = await client.post(
        "/appointments",
        json={
            "person_id": world.person.id,
            "place_id": world.place.id,
            "appointment_type": "suivi_spip",
            "starts_at": "2027-06-11T09:00",
        },
    )

    async def reminder_at() -> str:
        rows = (await client.get(f"/appointments/{booked.json()['id']}/notifications")).json()
        [reminder] = [r for r in rows if r["kind"] == "reminder" and r["status"] == "planned"]
        return str(reminder["send_at_local"])

    assert await reminder_at() == "2027-06-10T10:00:00-03:00"
    changed = await client.patch(f"/spips/{world.spip.id}", json={"holiday_territory": "973"})
    assert changed.status_code == 200, changed.text
    assert changed.json()["holiday_territory"] == "973"
    assert changed.json()["replanned_notifications"] == 2  # one cancelled, one planned
    assert await reminder_at() == "2027-06-09T10:00:00-03:00"
    renamed = await client.patch(f"/spips/{world.spip.id}", json={"name": "SPIP de Guyane"})
    assert renamed.json()["replanned_notifications"] == 0
