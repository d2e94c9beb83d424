"""A resend that could not go any better than the original is refused with its reason
(issue 13). Now = 2027-01-15T10:00Z; through the API on both databases."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import httpx
import pytest
from sqlalchemy.ext.asyncio import AsyncSession

from tests.conftest import FrozenClock
from tests.reminders.conftest import World
from tests.reminders.test_lifecycle_api import book, timeline


async def _skipped_at_send_time(
    client: httpx.AsyncClient, sessionmaker: Any, world: World, clock: FrozenClock
) -> dict[str, Any]:
    from app.reminders.dispatcher import DispatchConfig, tick
    from app.sms.providers.console import ConsoleProvider

    appointment = await book(client, world, "2027-01-20T09:00")
    clock.set(datetime(2027, 1, 18, 9, 0, tzinfo=UTC))
    await tick(sessionmaker, ConsoleProvider(), DispatchConfig(concurrency=1))
    [skipped] = await timeline(client, appointment["id"])
    assert skipped["status"] == "skipped"
    clock.set(datetime(2027, 1, 18, 14, 0, tzinfo=UTC))
    return skipped


@pytest.mark.parametrize(
    ("phone", "phone_status", "message"),
    [
        (
            "+33612345678",
            "refused",
            "Ce message ne peut pas être renvoyé : la personne a refusé les SMS.",
        ),
        (
            None,
            "none",
            "Ce message ne peut pas être renvoyé : la personne n'a pas de numéro de portable "
            "valide. Corrigez d'abord son numéro.",
        ),
    ],
    ids=["refused", "no_phone"],
)
async def test_resend_to_a_person_who_cannot_receive_it_is_refused(
    client: httpx.AsyncClient,
    session: AsyncSession,
    sessionmaker: Any,
    world: World,
    clock: FrozenClock,
    phone: str | None,
    phone_status: str,
    message: str,
) -> None:
    world.person.phone, world.person.phone_status = phone, phone_status
    await session.commit()
    skipped = await _skipped_at_send_time(client, sessionmaker, world, clock)
    assert skipped["reason"] == ("refused" if phone_status == "refused" else "no_phone")
    response = await client.post(f"/notifications/{skipped['id']}/resend")
    assert response.status_code == 409
    assert response.json() == {
        "error": "resend_pointless",
        "detail": message,
        "reason": skipped["reason"],
    }
    assert len(await timeline(client, skipped["appointment_id"])) == 1  # nothing added


async def test_resend_once_the_person_accepts_sms_again(
    client: httpx.AsyncClient,
    session: AsyncSession,
    sessionmaker: Any,
    world: World,
    clock: FrozenClock,
) -> None:
    world.person.phone_status = "refused"
    await session.commit()
    skipped = await _skipped_at_send_time(client, sessionmaker, world, clock)
    person = await client.patch(f"/persons/{world.person.id}", json={"phone_status": "valid"})
    assert person.status_code == 200, person.text
    resent = await client.post(f"/notifications/{skipped['id']}/resend")
    assert resent.status_code == 201, resent.text
    assert resent.json()["status"] == "planned"


async def test_resend_answers_the_new_message_as_the_timeline_shows_it(
    client: httpx.AsyncClient,
    session: AsyncSession,
    sessionmaker: Any,
    world: World,
    clock: FrozenClock,
) -> None:
    """The 201 body is the new row, field for field what the timeline then lists for it."""
    world.person.phone_status = "refused"
    await session.commit()
    skipped = await _skipped_at_send_time(client, sessionmaker, world, clock)
    person = await client.patch(f"/persons/{world.person.id}", json={"phone_status": "valid"})
    assert person.status_code == 200, person.text
    resent = await client.post(f"/notifications/{skipped['id']}/resend")
    assert resent.status_code == 201, resent.text
    new = resent.json()
    assert (new["kind"], new["rule"], new["provider_attempts"], new["parts"]) == (
        skipped["kind"],
        "renvoi",
        [],
        [],
    )
    rows = {row["id"]: row for row in await timeline(client, skipped["appointment_id"])}
    assert set(rows) == {skipped["id"], new["id"]}
    assert rows[new["id"]] == new
