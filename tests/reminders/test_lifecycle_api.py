"""Every lifecycle rule of the reminder engine, through the API (now = 2027-01-15T10:00Z)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import httpx
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from app.models import Notification
from tests.conftest import FrozenClock
from tests.reminders.conftest import World, build_world


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


async def timeline(client: httpx.AsyncClient, appointment_id: int) -> list[dict[str, Any]]:
    response = await client.get(f"/appointments/{appointment_id}/notifications")
    assert response.status_code == 200, response.text
    return response.json()


def summary(rows: list[dict[str, Any]]) -> list[tuple[str, str, str | None]]:
    """Kind, status and reason of each message, in a stable order (kind, then status)."""
    return sorted(((r["kind"], r["status"], r["reason"]) for r in rows), key=str)


async def test_booking_plans_the_default_reminder_in_local_time(
    client: httpx.AsyncClient, session: AsyncSession
) -> None:
    world = await build_world(session, "America/Cayenne", "GF")
    appointment = await book(client, world, "2027-03-29T09:00")
    [reminder] = await timeline(client, appointment["id"])
    assert (reminder["kind"], reminder["status"], reminder["rule"]) == (
        "reminder",
        "planned",
        "J-2 10:00",
    )
    assert reminder["send_at"] == "2027-03-27T13:00:00Z"
    assert reminder["send_at_local"] == "2027-03-27T10:00:00-03:00"
    assert reminder["send_not_after"] == "2027-03-29T11:00:00Z"
    assert appointment["next_notification_at"] == "2027-03-27T13:00:00Z"


async def test_summons_goes_now_and_covers_a_past_due_reminder(
    client: httpx.AsyncClient, world: World
) -> None:
    # Booked on Friday 15 January 11:00 Paris for Saturday 16th: J-2 (the 14th) has passed.
    appointment = await book(client, world, "2027-01-16T15:00", send_summons=True)
    rows = await timeline(client, appointment["id"])
    assert summary(rows) == [
        ("reminder", "skipped", "covered_by_summons"),
        ("summons", "planned", None),
    ]
    assert rows[1]["send_at"] == "2027-01-15T10:00:00Z"


async def test_late_booking_without_summons_gets_one_catch_up_reminder(
    client: httpx.AsyncClient, world: World
) -> None:
    appointment = await book(client, world, "2027-01-16T15:00")
    [reminder] = await timeline(client, appointment["id"])
    assert (reminder["status"], reminder["send_at"]) == ("planned", "2027-01-15T10:00:00Z")


async def test_booking_too_close_is_too_late(client: httpx.AsyncClient, world: World) -> None:
    appointment = await book(client, world, "2027-01-15T11:30")  # 10:30Z, lead is 1 hour
    assert summary(await timeline(client, appointment["id"])) == [
        ("reminder", "skipped", "too_late")
    ]


async def test_home_visits_send_no_sms(client: httpx.AsyncClient, world: World) -> None:
    appointment = await book(
        client, world, "2027-02-01T09:00", appointment_type="visite_domicile", send_summons=True
    )
    assert await timeline(client, appointment["id"]) == []
    assert appointment["next_notification_at"] is None


async def test_cancel_cancels_unsent_and_notifies(client: httpx.AsyncClient, world: World) -> None:
    appointment = await book(client, world, "2027-02-01T09:00")
    await client.post(f"/appointments/{appointment['id']}/cancel", json={"notify": True})
    assert summary(await timeline(client, appointment["id"])) == [
        ("cancellation", "planned", None),
        ("reminder", "cancelled", "appointment_cancelled"),
    ]
    quiet = await book(client, world, "2027-02-02T09:00")
    await client.post(f"/appointments/{quiet['id']}/cancel", json={"notify": False})
    assert summary(await timeline(client, quiet["id"])) == [
        ("reminder", "cancelled", "appointment_cancelled")
    ]


async def test_reschedule_sends_one_notice_and_no_reminder_at_once(
    client: httpx.AsyncClient, world: World
) -> None:
    old = await book(client, world, "2027-02-01T09:00")
    new = (
        await client.post(
            f"/appointments/{old['id']}/reschedule", json={"starts_at": "2027-01-16T16:00"}
        )
    ).json()
    assert summary(await timeline(client, old["id"])) == [
        ("reminder", "cancelled", "appointment_rescheduled")
    ]
    # The new date is tomorrow: its J-2 reminder is past due, and covered by the change notice.
    assert summary(await timeline(client, new["id"])) == [
        ("reminder", "skipped", "covered_by_reschedule"),
        ("reschedule", "planned", None),
    ]


async def test_reschedule_far_ahead_plans_new_reminders(
    client: httpx.AsyncClient, world: World
) -> None:
    old = await book(client, world, "2027-02-01T09:00")
    new = (
        await client.post(
            f"/appointments/{old['id']}/reschedule",
            json={"starts_at": "2027-03-01T09:00", "notify": False},
        )
    ).json()
    rows = await timeline(client, new["id"])
    assert summary(rows) == [("reminder", "planned", None)]
    assert rows[0]["send_at_local"] == "2027-02-27T10:00:00+01:00"


async def test_excused_cancels_reminders_and_withdrawal_replans(
    client: httpx.AsyncClient, world: World
) -> None:
    appointment = await book(client, world, "2027-02-01T09:00")
    url = f"/appointments/{appointment['id']}/outcome"
    await client.post(url, json={"outcome": "excused"})
    assert summary(await timeline(client, appointment["id"])) == [
        ("reminder", "cancelled", "appointment_excused")
    ]
    await client.post(url, json={"outcome": "booked"})
    assert summary(await timeline(client, appointment["id"])) == [
        ("reminder", "cancelled", "appointment_excused"),
        ("reminder", "planned", None),
    ]
    keys = {r["id"] for r in await timeline(client, appointment["id"])}
    assert len(keys) == 2


async def test_missed_notice_is_opt_in_within_thirty_days(
    client: httpx.AsyncClient, world: World, clock: FrozenClock
) -> None:
    appointment = await book(client, world, "2027-02-01T09:00")
    clock.set(datetime(2027, 2, 1, 12, 0, tzinfo=UTC))
    url = f"/appointments/{appointment['id']}/outcome"
    await client.post(url, json={"outcome": "missed", "notify": True})
    rows = await timeline(client, appointment["id"])
    assert [r["kind"] for r in rows if r["status"] == "planned"] == ["missed"]
    await client.post(url, json={"outcome": "honored"})
    rows = await timeline(client, appointment["id"])
    assert ("missed", "cancelled", "outcome_corrected") in summary(rows)
    late = await book(client, world, "2027-02-02T09:00")
    clock.set(datetime(2027, 3, 10, 12, 0, tzinfo=UTC))
    await client.post(
        f"/appointments/{late['id']}/outcome", json={"outcome": "missed", "notify": True}
    )
    assert "missed" not in [r["kind"] for r in await timeline(client, late["id"])]


async def test_policy_change_replans_future_reminders(
    client: httpx.AsyncClient, world: World
) -> None:
    appointment = await book(client, world, "2027-02-10T09:00")
    policy = {
        "rules": [{"days_before": 7, "at": "09:30"}, {"hours_before": 3}],
        "send_window": {"start": "08:00", "end": "19:00"},
        "min_lead_minutes": 90,
    }
    response = await client.put(f"/spips/{world.spip.id}/reminder-policy", json=policy)
    assert response.status_code == 200, response.text
    assert response.json()["is_default"] is False
    # The default's J-2 reminder cancelled, the J-7 and H-3 ones added.
    assert response.json()["replanned_notifications"] == 3
    rows = await timeline(client, appointment["id"])
    planned = [(r["rule"], r["send_at_local"]) for r in rows if r["status"] == "planned"]
    # H-3 of 09:00 is 06:00, outside the window: it moves to 19:00 the evening before.
    assert planned == [
        ("J-7 09:30", "2027-02-03T09:30:00+01:00"),
        ("H-3", "2027-02-09T19:00:00+01:00"),
    ]
    assert ("reminder", "cancelled", "replanned") in summary(rows)


async def test_policy_per_appointment_type(client: httpx.AsyncClient, world: World) -> None:
    await client.put(
        f"/spips/{world.spip.id}/reminder-policy",
        json={"type_rules": {"tig": [{"days_before": 1, "at": "18:00"}], "rdv_jap": []}},
    )
    tig = await book(client, world, "2027-02-10T09:00", appointment_type="tig")
    jap = await book(client, world, "2027-02-10T11:00", appointment_type="rdv_jap")
    assert [r["rule"] for r in await timeline(client, tig["id"])] == ["J-1 18:00"]
    assert await timeline(client, jap["id"]) == []


async def test_policy_validation(client: httpx.AsyncClient, world: World) -> None:
    url = f"/spips/{world.spip.id}/reminder-policy"
    default = (await client.get(url)).json()
    assert default["is_default"] is True
    assert default["rules"] == [{"days_before": 2, "at": "10:00"}]
    assert default["send_window"] == {"start": "08:00", "end": "20:00"}
    bad = [
        {"rules": [{"days_before": 1, "at": "10:00"}] * 4},
        {"rules": [{"days_before": 1, "at": "25:00"}]},
        {"rules": [{"weeks_before": 1}]},
        {"send_window": {"start": "20:00", "end": "08:00"}},
        {"sender": "123456"},
        {"sender": "TOO-LONG-SENDER"},
        {"type_rules": {"rdv_lune": []}},
    ]
    for body in bad:
        response = await client.put(url, json=body)
        assert response.status_code == 422, body


async def test_templates_override_validate_and_preview(
    client: httpx.AsyncClient, world: World
) -> None:
    url = f"/spips/{world.spip.id}/templates/reminder"
    default = (await client.get(url)).json()
    assert default["source"] == "default"
    unknown = await client.put(url, json={"body": "Rappel {personne.nom} le {rdv.date}"})
    assert unknown.status_code == 422
    assert unknown.json()["error"] == "unknown_placeholder"
    broken = await client.put(url, json={"body": "Rappel {rdv.date"})
    assert broken.json()["error"] == "malformed_template"
    too_long = await client.put(url, json={"body": "Rappel « {rdv.date} » " + "€" * 400})
    assert too_long.json()["error"] == "template_too_long"
    saved = await client.put(
        url, json={"body": "Convocation le {rdv.date} à {rdv.heure}, {lieu.nom}."}
    )
    assert saved.status_code == 200 and saved.json()["source"] == "spip"
    typed = await client.put(
        url, params={"appointment_type": "tig"}, json={"body": "TIG le {rdv.date} à {rdv.heure}."}
    )
    assert typed.json()["source"] == "appointment_type"
    preview = await client.post(
        "/templates/preview",
        json={
            "spip_id": world.spip.id,
            "kind": "reminder",
            "appointment_type": "tig",
            "place_id": world.place.id,
            "starts_at": "2027-03-01T09:00",
        },
    )
    assert preview.json()["text"] == "TIG le lundi 1er mars 2027 à 9h00."
    assert (preview.json()["encoding"], preview.json()["segments"]) == ("gsm7", 1)
    draft = await client.post(
        "/templates/preview",
        json={"spip_id": world.spip.id, "body": "« {lieu.nom} »[ {lieu.lien_info}]"},
    )
    assert draft.json()["text"] == '" Antenne centre "'  # GSM-7 mode; no info page: part dropped
    reverted = await client.delete(url, params={"appointment_type": "tig"})
    assert reverted.json()["source"] == "spip"


async def test_resend_a_skipped_reminder(
    client: httpx.AsyncClient, session: AsyncSession, world: World
) -> None:
    appointment = await book(client, world, "2027-01-15T11:30")
    [skipped] = await timeline(client, appointment["id"])
    assert skipped["reason"] == "too_late"
    refused = await client.post(f"/notifications/{skipped['id']}/resend")
    assert refused.status_code == 409  # still too late: 10:30Z minus one hour has passed
    later = await book(client, world, "2027-01-20T09:00")
    [reminder] = await timeline(client, later["id"])
    not_yet = await client.post(f"/notifications/{reminder['id']}/resend")
    assert not_yet.json()["error"] == "not_resendable"
    assert (await client.post("/notifications/999999/resend")).status_code == 404


async def test_resend_after_the_phone_is_fixed(
    client: httpx.AsyncClient,
    session: AsyncSession,
    sessionmaker: Any,
    world: World,
    clock: FrozenClock,
) -> None:
    from app.reminders.dispatcher import DispatchConfig, tick
    from app.sms.providers.console import ConsoleProvider

    world.person.phone, world.person.phone_status = None, "none"
    await session.commit()
    appointment = await book(client, world, "2027-01-20T09:00")
    clock.set(datetime(2027, 1, 18, 9, 0, tzinfo=UTC))
    await tick(sessionmaker, ConsoleProvider(), DispatchConfig(concurrency=1))
    [skipped] = await timeline(client, appointment["id"])
    assert (skipped["status"], skipped["reason"]) == ("skipped", "no_phone")
    await client.patch(f"/persons/{world.person.id}", json={"phone": "06 12 34 56 78"})
    clock.set(datetime(2027, 1, 18, 14, 0, tzinfo=UTC))
    resent = await client.post(f"/notifications/{skipped['id']}/resend")
    assert resent.status_code == 201, resent.text
    assert (resent.json()["status"], resent.json()["rule"]) == ("planned", "renvoi")
    assert resent.json()["send_at"] == "2027-01-18T14:00:00Z"
    provider = ConsoleProvider()
    await tick(sessionmaker, provider, DispatchConfig(concurrency=1))
    assert [m.to for m, _ in provider.sent.messages] == ["+33612345678"]


async def test_national_templates_are_inherited_and_for_national_admins(
    client: httpx.AsyncClient, client_for: Any, session: AsyncSession, world: World
) -> None:
    from tests.factories import make_agent

    national = await client.put(
        "/templates/reminder", json={"body": "Rappel : {rdv.date} à {rdv.heure}."}
    )
    assert national.status_code == 200, national.text
    assert national.json()["source"] == "national"
    inherited = (await client.get(f"/spips/{world.spip.id}/templates/reminder")).json()
    assert (inherited["source"], inherited["body"]) == (
        "national",
        "Rappel : {rdv.date} à {rdv.heure}.",
    )
    await client.put(
        f"/spips/{world.spip.id}/templates/reminder", json={"body": "Local {rdv.date}"}
    )
    assert (await client.get(f"/spips/{world.spip.id}/templates/reminder")).json()[
        "source"
    ] == "spip"
    local_admin = await make_agent(session, world.spip, role="local_admin")
    await session.commit()
    async with client_for(local_admin) as as_local:
        refused = await as_local.put("/templates/reminder", json={"body": "Rappel {rdv.date}"})
        assert refused.status_code == 403
        assert (await as_local.get("/templates/reminder")).json()["source"] == "national"
    bad = await client.put("/templates/reminder", json={"body": "Bonjour {personne.prenom}"})
    assert bad.json()["error"] == "unknown_placeholder"
    reverted = await client.delete("/templates/reminder")
    assert reverted.json()["source"] == "default"


async def test_every_message_carries_its_convocations_spip(
    client: httpx.AsyncClient, session: AsyncSession, world: World
) -> None:
    """The SMS report finds a SPIP's messages by ``notification.spip_id`` alone."""
    other = await build_world(session, "Indian/Reunion", "RE")
    here = await book(client, world, "2027-02-01T09:00")
    there = await book(client, other, "2027-02-01T09:00")
    await client.post(f"/appointments/{here['id']}/cancel", json={"notify": True})
    rows = (
        await session.execute(
            select(Notification.appointment_id, Notification.spip_id).where(
                Notification.appointment_id.in_([here["id"], there["id"]])
            )
        )
    ).all()
    assert sorted(set(rows)) == sorted({(here["id"], world.spip.id), (there["id"], other.spip.id)})
    assert len(rows) == 3  # reminder and notice here, reminder there
