"""Slot lists in pages: ``limit`` and the keyset cursor ``after`` (now = 2027-01-15T10:00Z)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import httpx
import pytest
from sqlalchemy.ext.asyncio import AsyncSession

from app.agendas.listing import DEFAULT_LIMIT
from app.models import Agent, Place
from tests.agendas.support import make_agenda, make_slot
from tests.conftest import ClientFactory
from tests.factories import make_agent, make_place, make_spip

PARIS = ZoneInfo("Europe/Paris")


@dataclass
class Setup:
    place: Place
    secretariat: Agent
    agenda_ids: list[int]


async def _place_with_slots(
    session: AsyncSession, days: list[date], hours: list[int], agendas: int = 2
) -> Setup:
    """``agendas`` agendas with the same hours every day (local, Paris): several slots share
    each instant, so the cursor's tie-break on the agenda is exercised."""
    spip = await make_spip(session)
    place = await make_place(session, spip)
    ids = []
    for n in range(agendas):
        agenda = await make_agenda(session, place, name=f"Agenda {n}")
        ids.append(agenda.id)
        for day in days:
            for hour in hours:
                local = datetime.combine(day, time(hour), tzinfo=PARIS)
                await make_slot(session, agenda, starts_at=local.astimezone(UTC))
    setup = Setup(place, await make_agent(session, spip, role="secretariat"), ids)
    await session.commit()
    return setup


async def _all_pages(
    client: httpx.AsyncClient, path: str, params: dict[str, Any]
) -> list[list[dict[str, Any]]]:
    pages = []
    answer = await client.get(path, params=params)
    while True:
        assert answer.status_code == 200, answer.text
        pages.append(answer.json())
        link = answer.links.get("next")
        if link is None:
            return pages
        answer = await client.get(link["url"])


async def test_pages_concatenate_to_the_whole_list_without_repeat_or_gap(
    session: AsyncSession, client_for: ClientFactory
) -> None:
    days = [date(2027, 2, 1) + timedelta(days=d) for d in range(3)]
    setup = await _place_with_slots(session, days, [9, 10, 11])  # 18 slots, 2 per instant
    path = f"/places/{setup.place.id}/slots"
    period = {"from": "2027-02-01", "to": "2027-02-03"}
    async with client_for(setup.secretariat) as client:
        whole = (await client.get(path, params=period)).json()
        pages = await _all_pages(client, path, period | {"limit": 4})
    assert len(whole) == 18
    assert [len(p) for p in pages] == [4, 4, 4, 4, 2]
    assert [s["id"] for p in pages for s in p] == [s["id"] for s in whole]


async def test_a_page_boundary_between_two_agendas_at_the_same_instant_loses_neither(
    session: AsyncSession, client_for: ClientFactory
) -> None:
    setup = await _place_with_slots(session, [date(2027, 2, 1)], [9, 10], agendas=3)
    async with client_for(setup.secretariat) as client:
        pages = await _all_pages(
            client, f"/places/{setup.place.id}/slots", {"from": "2027-02-01", "limit": 2}
        )
    listed = [(s["starts_at"], s["agenda_id"]) for p in pages for s in p]
    assert [len(p) for p in pages] == [2, 2, 2]
    assert listed == sorted(listed)
    assert len(set(listed)) == 6


async def test_pages_across_the_spring_dst_change_keep_local_nine_oclock(
    session: AsyncSession, client_for: ClientFactory
) -> None:
    # Paris moves to summer time on Sunday 28 March 2027: 9:00 is 08:00Z, then 07:00Z.
    days = [date(2027, 3, 26) + timedelta(days=d) for d in range(5)]
    setup = await _place_with_slots(session, days, [9])
    path = f"/agendas/{setup.agenda_ids[0]}/slots"
    period = {"from": "2027-03-26", "to": "2027-03-30"}
    async with client_for(setup.secretariat) as client:
        whole = (await client.get(path, params=period)).json()
        pages = await _all_pages(client, path, period | {"limit": 2})
    paged = [s for p in pages for s in p]
    assert [s["id"] for s in paged] == [s["id"] for s in whole]
    assert [s["starts_at_local"] for s in paged] == [
        "2027-03-26T09:00:00+01:00",
        "2027-03-27T09:00:00+01:00",
        "2027-03-28T09:00:00+02:00",
        "2027-03-29T09:00:00+02:00",
        "2027-03-30T09:00:00+02:00",
    ]
    assert [s["starts_at"] for s in paged][2] == "2027-03-28T07:00:00Z"


async def test_a_slot_taken_off_an_earlier_page_does_not_shift_the_next_one(
    session: AsyncSession, client_for: ClientFactory
) -> None:
    """Offset pages would skip a slot here; the cursor names where the page ended."""
    days = [date(2027, 2, 1) + timedelta(days=d) for d in range(2)]
    setup = await _place_with_slots(session, days, [9, 10], agendas=1)
    path = f"/places/{setup.place.id}/slots"
    async with client_for(setup.secretariat) as client:
        first = await client.get(path, params={"from": "2027-02-01", "free": "true", "limit": 2})
        closed = await client.patch(f"/slots/{first.json()[0]['id']}", json={"closed": True})
        assert closed.status_code == 200, closed.text
        second = await client.get(first.links["next"]["url"])
        everything = await client.get(path, params={"from": "2027-02-01"})
    assert [s["id"] for s in first.json() + second.json()] == [s["id"] for s in everything.json()]
    assert "next" not in second.links


async def test_the_default_page_is_two_hundred_slots(
    session: AsyncSession, client_for: ClientFactory
) -> None:
    days = [date(2027, 2, 1) + timedelta(days=d) for d in range(7)]
    setup = await _place_with_slots(session, days, list(range(7, 22)))  # 7 × 15 × 2 = 210
    async with client_for(setup.secretariat) as client:
        first = await client.get(f"/places/{setup.place.id}/slots", params={"from": "2027-02-01"})
        second = await client.get(first.links["next"]["url"])
    assert len(first.json()) == DEFAULT_LIMIT
    assert len(second.json()) == 210 - DEFAULT_LIMIT
    assert "from=2027-02-01" in first.links["next"]["url"]  # the filters are kept


async def test_a_listed_slot_reads_exactly_as_the_slot_itself(
    session: AsyncSession, client_for: ClientFactory
) -> None:
    """The listing writes its JSON without ``SlotRead``: both must stay the same document."""
    setup = await _place_with_slots(session, [date(2027, 3, 28)], [9], agendas=1)
    async with client_for(setup.secretariat) as client:
        [listed] = (
            await client.get(f"/places/{setup.place.id}/slots", params={"from": "2027-03-28"})
        ).json()
        alone = (await client.get(f"/slots/{listed['id']}")).json()
    assert listed == alone
    assert list(listed) == list(alone)


@pytest.mark.parametrize(
    ("params", "code", "message"),
    [
        ({"limit": "0"}, "greater_than_equal", "Valeur trop petite : elle doit être d'au moins 1."),
        (
            {"limit": "1001"},
            "less_than_equal",
            "Valeur trop grande : elle doit être d'au plus 1000.",
        ),
        ({"limit": "deux"}, "int_parsing", "Nombre entier attendu."),
        ({"after": "n'importe quoi"}, "invalid_cursor", "Curseur de page invalide"),
        ({"after": "2027-02-01T08:00:00~1"}, "invalid_cursor", "Curseur"),  # no UTC offset
        ({"after": "2027-02-01T08:00:00Z~0"}, "invalid_cursor", "Curseur"),
    ],
)
async def test_a_bad_limit_or_cursor_is_refused_in_french(
    session: AsyncSession,
    client_for: ClientFactory,
    params: dict[str, str],
    code: str,
    message: str,
) -> None:
    setup = await _place_with_slots(session, [date(2027, 2, 1)], [9], agendas=1)
    async with client_for(setup.secretariat) as client:
        answer = await client.get(f"/places/{setup.place.id}/slots", params=params)
    assert answer.status_code == 422, answer.text
    body = answer.json()
    [problem] = body["fields"]
    assert problem["field"].removeprefix("query.") == next(iter(params))
    assert problem["code"] == code
    assert body["error"] == (code if code == "invalid_cursor" else "validation_error")
    assert body["detail"].startswith(message)
