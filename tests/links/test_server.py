"""The person's page through a real ``python -m app serve`` on both databases: a convocation
booked through the API has a link the page opens (read back from the row's nonce under the
server's secret, as the dispatcher derives it), with its private headers; the calendar file;
STOP from the page, seen by the next request; a revoked link is the unknown link's page."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from datetime import datetime, time, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import httpx
import pytest
from icalendar import Calendar
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession

from app.links import tokens
from app.models import Agent, ConvocationLink, Person, Place
from tests.reminders.processes import stop
from tests.servers import CPIP, Server, login, start_server

SECRET = "server-secret-for-the-link-tests-" + "z" * 16
PARIS = ZoneInfo("Europe/Paris")
PROOF = re.compile(r'name="proof" value="([0-9a-f]{64})"')


@pytest.fixture
async def linked_server(
    fresh_url: str, fresh_engine: AsyncEngine, tmp_path: Path
) -> AsyncIterator[Server]:
    running = await start_server(
        fresh_url,
        fresh_engine,
        tmp_path / "api.log",
        CONVOC_SECRET_KEY=SECRET,
        CONVOC_WORKER_EMBEDDED="false",
    )
    try:
        yield running
    finally:
        stop(running.process)


async def _person_and_place(engine: AsyncEngine) -> tuple[int, int]:
    async with AsyncSession(engine) as session:
        cpip = await session.scalar(select(Agent).where(Agent.email == CPIP))
        assert cpip is not None
        person = await session.scalar(
            select(Person.id)
            .where(
                Person.spip_id == cpip.spip_id,
                Person.phone_status == "valid",
                Person.archived.is_(False),
            )
            .limit(1)
        )
        place = await session.scalar(
            select(Place.id).where(Place.spip_id == cpip.spip_id, Place.active.is_(True)).limit(1)
        )
        assert person is not None and place is not None
        return person, place


async def _token(engine: AsyncEngine, appointment_id: int) -> str:
    async with AsyncSession(engine) as session:
        nonce = await session.scalar(
            select(ConvocationLink.nonce).where(ConvocationLink.appointment_id == appointment_id)
        )
    assert nonce is not None
    return tokens.token_for(SECRET, nonce)


async def test_a_booked_convocation_link_opens_its_page_and_stops_the_sms(
    linked_server: Server,
) -> None:
    server = linked_server
    person_id, place_id = await _person_and_place(server.engine)
    day = datetime.now(PARIS).date() + timedelta(days=20)
    async with httpx.AsyncClient(base_url=server.base, timeout=20) as client:
        await login(client)
        booked = await client.post(
            "/api/v1/appointments",
            json={
                "person_id": person_id,
                "place_id": place_id,
                "appointment_type": "suivi_spip",
                "starts_at": f"{day.isoformat()}T09:00",
                "allow_duplicate": True,
            },
        )
        assert booked.status_code == 201, booked.text
        appointment_id = booked.json()["id"]
        token = await _token(server.engine, appointment_id)
        anonymous = httpx.AsyncClient(base_url=server.base, timeout=20)
        async with anonymous:
            page = await anonymous.get(f"/c/{token}")
            assert page.status_code == 200, page.text
            assert page.headers["x-robots-tag"] == "noindex, nofollow"
            assert page.headers["referrer-policy"] == "no-referrer"
            assert page.headers["cache-control"] == "no-store"
            assert "heure de Paris" in page.text and "Ajouter à mon agenda" in page.text

            ics = Calendar.from_ical((await anonymous.get(f"/c/{token}/calendrier.ics")).content)
            start = datetime.combine(day, time(9, 0), PARIS)
            assert ics.events[0].start == start

            form = await anonymous.get(f"/c/{token}/stop")
            proof = PROOF.search(form.text)
            assert proof, form.text
            done = await anonymous.post(f"/c/{token}/stop", data={"proof": proof.group(1)})
            assert done.status_code == 303
            after = await anonymous.get(done.headers["location"])
            assert "Vous ne recevrez plus de SMS" in after.text
            async with AsyncSession(server.engine) as session:
                person = await session.get_one(Person, person_id)
                assert (person.phone_status, person.sms_refused_via) == ("refused", "link")

            unknown = await anonymous.get(f"/c/{tokens.token_for('x', tokens.new_nonce())}")
            revoked = await client.post(f"/api/v1/appointments/{appointment_id}/link/revoke")
            assert revoked.status_code == 200, revoked.text
            gone = await anonymous.get(f"/c/{token}")
            assert (gone.status_code, gone.text) == (404, unknown.text)
            assert unknown.status_code == 404
    # The server's log (uvicorn's access lines included) never holds the token.
    log = server.log.read_text(errors="replace")
    assert "/c/***" in log and token not in log
