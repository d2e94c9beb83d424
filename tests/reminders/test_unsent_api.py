"""No convocation leaves the person without an SMS while the agent believes one will go: a
message the send window cannot carry goes within the tolerated hours, or the answer says it
will not go (issue 13). Through the API, on both databases, with the injected clock."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import httpx
from sqlalchemy.ext.asyncio import AsyncSession

from tests.conftest import FrozenClock
from tests.factories import make_person
from tests.reminders.conftest import World, build_world
from tests.reminders.test_lifecycle_api import summary, timeline

NO_SMS = {
    "code": "no_sms",
    "kind": None,
    "message": "Aucun SMS ne préviendra la personne : appelez-la ou remettez-lui une "
    "convocation papier.",
}


async def book(
    client: httpx.AsyncClient, world: World, starts_at: str, **extra: Any
) -> dict[str, Any]:
    response = await client.post(
        "/appointments",
        json={
            "person_id": world.person.id,
            "place_id": world.place.id,
            "appointment_type": "suivi_spip",
            "starts_at": starts_at,
        }
        | extra,
    )
    assert response.status_code == 201, response.text
    return response.json()


async def set_policy(client: httpx.AsyncClient, world: World, **policy: Any) -> dict[str, Any]:
    response = await client.put(f"/spips/{world.spip.id}/reminder-policy", json=policy)
    assert response.status_code == 200, response.text
    return response.json()


def by_kind(rows: list[dict[str, Any]], kind: str) -> dict[str, Any]:
    [row] = [r for r in rows if r["kind"] == kind]
    return row


async def test_summons_booked_at_21h_for_9h_tomorrow_goes_at_once(
    client: httpx.AsyncClient, world: World, clock: FrozenClock
) -> None:
    # Friday 15 January 21:00 Paris; the window opens at 08:00, the deadline is 08:00.
    clock.set(datetime(2027, 1, 15, 20, 0, tzinfo=UTC))
    appointment = await book(client, world, "2027-01-16T09:00", send_summons=True)
    rows = await timeline(client, appointment["id"])
    assert summary(rows) == [
        ("reminder", "skipped", "covered_by_summons"),
        ("summons", "planned", None),
    ]
    summons = by_kind(rows, "summons")
    assert (summons["send_at"], summons["send_not_after"]) == (
        "2027-01-15T20:00:00Z",
        "2027-01-16T07:00:00Z",
    )
    assert appointment["next_notification_at"] == "2027-01-15T20:00:00Z"
    assert appointment["warnings"] == []


async def test_summons_booked_at_23h30_goes_at_the_tolerated_opening(
    client: httpx.AsyncClient, world: World, clock: FrozenClock
) -> None:
    clock.set(datetime(2027, 1, 15, 22, 30, tzinfo=UTC))  # 23:30 Paris
    appointment = await book(client, world, "2027-01-16T09:00", send_summons=True)
    summons = by_kind(await timeline(client, appointment["id"]), "summons")
    assert (summons["status"], summons["send_at_local"]) == (
        "planned",
        "2027-01-16T07:00:00+01:00",
    )
    assert appointment["warnings"] == []


async def test_summons_the_hours_cannot_carry_is_skipped_and_the_agent_warned(
    client: httpx.AsyncClient, world: World, clock: FrozenClock
) -> None:
    # A SPIP that tolerates nothing beyond its send window.
    await set_policy(
        client,
        world,
        send_window={"start": "08:00", "end": "20:00"},
        tolerated_window={"start": "08:00", "end": "20:00"},
    )
    clock.set(datetime(2027, 1, 15, 22, 30, tzinfo=UTC))  # 23:30 Paris
    appointment = await book(client, world, "2027-01-16T09:00", send_summons=True)
    assert summary(await timeline(client, appointment["id"])) == [
        ("reminder", "skipped", "window_closed"),
        ("summons", "skipped", "window_closed"),
    ]
    assert appointment["next_notification_at"] is None
    hours = "les heures d'envoi tolérées du SPIP (08:00–20:00) ne laissent aucun moment avant "
    assert appointment["warnings"] == [
        {
            "code": "window_closed",
            "kind": "summons",
            "message": f"Le SMS de convocation ne partira pas : {hours}la convocation.",
        },
        {
            "code": "window_closed",
            "kind": "reminder",
            "message": f"Le SMS de rappel ne partira pas : {hours}la convocation.",
        },
        NO_SMS,
    ]


async def test_tahiti_window_opening_at_the_deadline(
    client: httpx.AsyncClient, session: AsyncSession, clock: FrozenClock
) -> None:
    world = await build_world(session, "Pacific/Tahiti", "PF")
    await set_policy(client, world, send_window={"start": "12:56", "end": "20:00"})
    clock.set(datetime(2027, 1, 15, 20, 0, tzinfo=UTC))  # 10:00 in Tahiti
    appointment = await book(client, world, "2027-01-15T13:56", send_summons=True)
    summons = by_kind(await timeline(client, appointment["id"]), "summons")
    assert (summons["status"], summons["send_at_local"], summons["send_not_after"]) == (
        "planned",
        "2027-01-15T10:00:00-10:00",
        "2027-01-15T22:56:00Z",
    )
    assert appointment["warnings"] == []
    # Without a summons, the past-due J-2 reminder catches up at once, not at 12:56.
    quiet = await book(client, world, "2027-01-15T13:56", allow_duplicate=True)
    [reminder] = await timeline(client, quiet["id"])
    assert (reminder["status"], reminder["send_at_local"]) == (
        "planned",
        "2027-01-15T10:00:00-10:00",
    )
    assert quiet["warnings"] == []


async def test_reschedule_in_the_evening_to_9h_next_morning_notifies_at_once(
    client: httpx.AsyncClient, world: World, clock: FrozenClock
) -> None:
    old = await book(client, world, "2027-02-01T09:00")
    clock.set(datetime(2027, 1, 15, 20, 0, tzinfo=UTC))  # 21:00 Paris
    response = await client.post(
        f"/appointments/{old['id']}/reschedule", json={"starts_at": "2027-01-16T09:00"}
    )
    assert response.status_code == 201, response.text
    new = response.json()
    rows = await timeline(client, new["id"])
    assert summary(rows) == [
        ("reminder", "skipped", "covered_by_reschedule"),
        ("reschedule", "planned", None),
    ]
    assert by_kind(rows, "reschedule")["send_at"] == "2027-01-15T20:00:00Z"
    assert new["warnings"] == []


async def test_reschedule_too_close_warns_that_nothing_will_go(
    client: httpx.AsyncClient, world: World, clock: FrozenClock
) -> None:
    old = await book(client, world, "2027-02-01T09:00")
    clock.set(datetime(2027, 1, 16, 7, 30, tzinfo=UTC))  # 08:30 Paris, new start 09:00
    response = await client.post(
        f"/appointments/{old['id']}/reschedule", json={"starts_at": "2027-01-16T09:00"}
    )
    assert response.status_code == 201, response.text
    new = response.json()
    assert ("reschedule", "skipped", "too_late") in summary(await timeline(client, new["id"]))
    assert new["warnings"] == [
        {
            "code": "too_late",
            "kind": "reschedule",
            "message": "Le SMS de changement de rendez-vous ne partira pas : il est trop tard "
            "pour l'envoyer avant la convocation.",
        },
        NO_SMS,
    ]


async def test_booking_too_close_without_summons_warns(
    client: httpx.AsyncClient, world: World
) -> None:
    appointment = await book(client, world, "2027-01-15T11:30")  # 10:30Z, lead is 1 hour
    assert [w["code"] for w in appointment["warnings"]] == ["too_late", "no_sms"]
    assert appointment["warnings"][0]["kind"] == "reminder"


async def test_person_who_cannot_receive_sms_is_warned_of_at_booking(
    client: httpx.AsyncClient, session: AsyncSession, world: World
) -> None:
    cases = {
        "refused": ({"phone_status": "refused"}, "la personne a refusé les SMS"),
        "no_phone": (
            {"phone": None, "phone_status": "none"},
            "la personne n'a pas de numéro de portable valide",
        ),
    }
    for code, (person, reason) in cases.items():
        world.person = await make_person(session, world.spip, **person)
        await session.commit()
        appointment = await book(client, world, "2027-02-01T09:00", send_summons=True)
        assert appointment["warnings"] == [
            {"code": code, "kind": None, "message": f"Aucun SMS ne partira : {reason}."},
            NO_SMS,
        ], code
    home = await book(
        client, world, "2027-02-01T11:00", appointment_type="visite_domicile", send_summons=True
    )
    assert [w["code"] for w in home["warnings"]] == ["type_without_sms", "no_sms"]


async def test_cancellation_the_hours_cannot_carry_is_warned_of(
    client: httpx.AsyncClient, world: World, clock: FrozenClock
) -> None:
    appointment = await book(client, world, "2027-01-16T06:30")
    clock.set(datetime(2027, 1, 15, 22, 30, tzinfo=UTC))  # 23:30; tolerated opens at 07:00
    response = await client.post(f"/appointments/{appointment['id']}/cancel", json={})
    assert response.status_code == 200, response.text
    assert ("cancellation", "skipped", "window_closed") in summary(
        await timeline(client, appointment["id"])
    )
    [warning] = response.json()["warnings"]
    assert (warning["code"], warning["kind"]) == ("window_closed", "cancellation")
    assert warning["message"].startswith("Le SMS d'annulation ne partira pas : ")
    # A cancellation that will go, or none asked for: nothing to warn of.
    later = await book(client, world, "2027-02-01T09:00")
    quiet = await book(client, world, "2027-02-02T09:00")
    for one, body in ((later, {}), (quiet, {"notify": False})):
        response = await client.post(f"/appointments/{one['id']}/cancel", json=body)
        assert response.json()["warnings"] == []


async def test_reading_a_convocation_has_no_warnings_field(
    client: httpx.AsyncClient, world: World
) -> None:
    appointment = await book(client, world, "2027-02-01T09:00")
    read = (await client.get(f"/appointments/{appointment['id']}")).json()
    assert "warnings" not in read


async def test_tolerated_window_in_the_policy(client: httpx.AsyncClient, world: World) -> None:
    url = f"/spips/{world.spip.id}/reminder-policy"
    assert (await client.get(url)).json()["tolerated_window"] == {
        "start": "07:00",
        "end": "22:00",
    }
    saved = await set_policy(client, world, tolerated_window={"start": "06:30", "end": "21:00"})
    assert saved["tolerated_window"] == {"start": "06:30", "end": "21:00"}
    assert (await client.get(url)).json()["tolerated_window"] == saved["tolerated_window"]
    # A wide send window alone widens the default tolerated window to contain it.
    wide = await set_policy(client, world, send_window={"start": "06:00", "end": "23:00"})
    assert wide["tolerated_window"] == {"start": "06:00", "end": "23:00"}
    refused = await client.put(
        url,
        json={
            "send_window": {"start": "08:00", "end": "20:00"},
            "tolerated_window": {"start": "09:00", "end": "22:00"},
        },
    )
    assert refused.status_code == 422
    assert "doit contenir la fenêtre d'envoi" in refused.text
    backwards = await client.put(url, json={"tolerated_window": {"start": "22:00", "end": "07:00"}})
    assert backwards.status_code == 422
