"""Slots generated from slot types: local time kept across DST, idempotent, within the horizon."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta

import pytest
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from app.agendas import generation
from app.agendas import service as agenda_service
from app.agendas.jobs import extend_slot_horizon
from app.core.localtime import zone
from app.models import Agenda, Place, Slot, SlotType
from tests.agendas.support import make_agenda, make_slot_type
from tests.conftest import FrozenClock
from tests.factories import make_place, make_spip


async def _slots(session: AsyncSession, slot_type: SlotType) -> list[datetime]:
    rows = await session.scalars(
        select(Slot.starts_at).where(Slot.slot_type_id == slot_type.id).order_by(Slot.starts_at)
    )
    return list(rows)


async def _setup(
    session: AsyncSession, tz: str, **type_values: object
) -> tuple[Place, Agenda, SlotType]:
    spip = await make_spip(session, timezone=tz)
    place = await make_place(session, spip)
    agenda = await make_agenda(session, place)
    slot_type = await make_slot_type(session, agenda, **type_values)
    return place, agenda, slot_type


@pytest.mark.parametrize(
    ("tz", "first", "last", "expected_utc"),
    [
        # Paris moves to summer time on Sunday 28 March 2027: 9:00 is 08:00Z, then 07:00Z.
        (
            "Europe/Paris",
            date(2027, 3, 16),
            date(2027, 4, 6),
            ["08:00", "08:00", "07:00", "07:00"],
        ),
        # …and back on Sunday 31 October 2027.
        (
            "Europe/Paris",
            date(2027, 10, 19),
            date(2027, 11, 9),
            ["07:00", "07:00", "08:00", "08:00"],
        ),
        # Miquelon on North-American dates: 14 March and 7 November 2027 (UTC−3 / UTC−2).
        (
            "America/Miquelon",
            date(2027, 3, 2),
            date(2027, 3, 23),
            ["12:00", "12:00", "11:00", "11:00"],
        ),
        (
            "America/Miquelon",
            date(2027, 10, 26),
            date(2027, 11, 16),
            ["11:00", "11:00", "12:00", "12:00"],
        ),
    ],
)
async def test_a_weekly_tuesday_slot_stays_at_nine_local_across_dst(
    session: AsyncSession,
    clock: FrozenClock,
    tz: str,
    first: date,
    last: date,
    expected_utc: list[str],
) -> None:
    clock.set(datetime.combine(first - timedelta(days=1), time(0, 0), tzinfo=UTC))
    place, agenda, slot_type = await _setup(session, tz, from_date=first, to_date=last)
    created = await agenda_service.generate(
        session, slot_type=slot_type, agenda=agenda, place=place, months=6
    )
    instants = await _slots(session, slot_type)
    assert created == 4
    assert [f"{i:%H:%M}" for i in instants] == expected_utc
    local = [i.astimezone(zone(tz)) for i in instants]
    assert {(d.isoweekday(), d.hour, d.minute) for d in local} == {(2, 9, 0)}
    assert len({d.utcoffset() for d in local}) == 2  # the offset did change


async def test_generation_is_idempotent_and_stops_at_the_horizon(
    session: AsyncSession, clock: FrozenClock
) -> None:
    # Now: Friday 15 January 2027. Six months ahead: 15 July 2027.
    place, agenda, slot_type = await _setup(session, "Europe/Paris", from_date=date(2027, 1, 1))
    first = await agenda_service.generate(
        session, slot_type=slot_type, agenda=agenda, place=place, months=6
    )
    again = await agenda_service.generate(
        session, slot_type=slot_type, agenda=agenda, place=place, months=6
    )
    instants = await _slots(session, slot_type)
    assert (first, again) == (26, 0)  # Tuesdays 19 January … 13 July
    assert instants[0].date() == date(2027, 1, 19)
    assert instants[-1].date() == date(2027, 7, 13)
    # A week later the daily job opens one more Tuesday (20 July), and only that one.
    clock.set(datetime(2027, 1, 22, 10, 0, tzinfo=UTC))
    extended = await agenda_service.extend_horizon(session, now=clock.now, months=6)
    assert extended >= 1
    assert (await _slots(session, slot_type))[-1].date() == date(2027, 7, 20)
    assert len(await _slots(session, slot_type)) == 27
    count = await session.scalar(select(func.count(Slot.id)).where(Slot.agenda_id == agenda.id))
    assert count == 27


async def test_an_ended_slot_type_generates_nothing(session: AsyncSession) -> None:
    place, agenda, slot_type = await _setup(session, "Europe/Paris", active=False)
    assert (
        await agenda_service.generate(session, slot_type=slot_type, agenda=agenda, place=place) == 0
    )


def test_a_wall_time_in_the_dst_gap_or_fold_is_skipped_not_guessed() -> None:
    paris = zone("Europe/Paris")
    assert generation.local_instant(date(2027, 3, 28), time(2, 30), paris) is None
    assert generation.local_instant(date(2027, 10, 31), time(2, 30), paris) is None
    assert generation.local_instant(date(2027, 3, 29), time(2, 30), paris) == datetime(
        2027, 3, 29, 0, 30, tzinfo=UTC
    )


def test_add_months_clamps_to_the_month_end() -> None:
    assert generation.add_months(date(2027, 8, 31), 6) == date(2028, 2, 29)
    assert generation.add_months(date(2027, 1, 15), 6) == date(2027, 7, 15)


async def test_the_daily_job_opens_the_missing_slots_of_every_active_slot_type(
    session: AsyncSession, sessionmaker: async_sessionmaker[AsyncSession]
) -> None:
    _, _, kept = await _setup(session, "Indian/Reunion", from_date=date(2027, 2, 1))
    _, _, ended = await _setup(session, "Europe/Paris", active=False)
    await session.commit()
    assert await extend_slot_horizon(sessionmaker) >= 24
    async with sessionmaker() as check:
        opened = await _slots(check, kept)
        assert len(opened) == 24  # Tuesdays 2 February … 13 July 2027
        assert {i.astimezone(zone("Indian/Reunion")).hour for i in opened} == {9}
        assert await _slots(check, ended) == []
        assert await extend_slot_horizon(sessionmaker) == 0


@pytest.mark.parametrize(
    ("spip_territory", "place_territory", "opened_on_10_june"),
    [("973", None, False), (None, None, True), (None, "973", False), ("973", "974", True)],
)
async def test_generation_skips_the_places_public_holidays(
    session: AsyncSession,
    spip_territory: str | None,
    place_territory: str | None,
    opened_on_10_june: bool,
) -> None:
    """Thursdays in June 2027: 10 June is a holiday in Guyane (973), not in La Réunion (974) nor
    in metropolitan France; the place's own territory wins over its SPIP's."""
    spip = await make_spip(session, timezone="America/Cayenne", holiday_territory=spip_territory)
    place = await make_place(session, spip, holiday_territory=place_territory)
    agenda = await make_agenda(session, place)
    slot_type = await make_slot_type(
        session, agenda, weekday=4, from_date=date(2027, 6, 1), to_date=date(2027, 6, 30)
    )
    await agenda_service.generate(session, slot_type=slot_type, agenda=agenda, place=place)
    days = [i.astimezone(zone("America/Cayenne")).date() for i in await _slots(session, slot_type)]
    assert (date(2027, 6, 10) in days) is opened_on_10_june
    assert date(2027, 6, 17) in days and len(days) == (4 if opened_on_10_june else 3)
