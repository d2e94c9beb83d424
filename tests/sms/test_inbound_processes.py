"""Replies by SMS end to end, with real processes on both databases: the simulator
(``python -m app.sms.simulator``) sends a person's SMS to Convoc (``python -m app serve``,
with its embedded dispatcher), signed as the ``http`` wire format says. A reply shows on the
API and on the referent's pages and never in the server's log; a STOP refuses the person's
SMS, is audited, and the dispatcher then skips the person's next reminder.

Every wait is bounded; every process is stopped in a ``finally`` block.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import httpx
from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncEngine

from app.models import AuditEvent, Notification, Place
from tests.reminders.processes import free_port, start_simulator, stop, wait_http, wait_until
from tests.servers import CPIP, DEMO_PASSWORD, login, start_server

API_KEY = "inbound-api-key"
WEBHOOK_SECRET = "i" * 40
TOKEN = "r" * 40
PHONE = "+33699887766"
NATIONAL = "0699887766"
REPLY = "Bonjour, mon bus est en grève, je viendrai à pied"
CSRF = re.compile(r'name="csrf" value="([0-9a-f]{64})"')


def _next_weekday_at_ten(days: int) -> str:
    """10h00 in Paris on a Tuesday to Thursday at least ``days`` ahead, as UTC ISO 8601."""
    paris = ZoneInfo("Europe/Paris")
    day = datetime.now(paris).date() + timedelta(days=days)
    while day.weekday() not in (1, 2, 3):
        day += timedelta(days=1)
    local = datetime(day.year, day.month, day.day, 10, 0, tzinfo=paris)
    return local.astimezone(UTC).isoformat()


async def _book(api: httpx.AsyncClient, engine: AsyncEngine) -> tuple[int, int]:
    me = (await api.get("/api/v1/auth/me")).json()
    async with engine.connect() as conn:
        place_id = await conn.scalar(
            select(Place.id).where(Place.spip_id == me["spip_id"], Place.active).limit(1)
        )
    person = await api.post(
        "/api/v1/persons",
        json={
            "spip_id": me["spip_id"],
            "referent_agent_id": me["id"],
            "first_name": "Yanis",
            "last_name": "Réponse",
            "phone": PHONE,
            "allow_duplicate": True,
        },
    )
    assert person.status_code == 201, person.text
    booked = await api.post(
        "/api/v1/appointments",
        json={
            "person_id": person.json()["id"],
            "place_id": place_id,
            "appointment_type": "suivi_spip",
            "starts_at": _next_weekday_at_ten(6),
            "allow_duplicate": True,
        },
    )
    assert booked.status_code == 201, booked.text
    return person.json()["id"], booked.json()["id"]


async def _web_login(web: httpx.AsyncClient) -> None:
    form = await web.get("/connexion")
    token = CSRF.search(form.text)
    assert token, form.text
    data = {"csrf": token.group(1), "email": CPIP, "password": DEMO_PASSWORD, "suivant": "/"}
    assert (await web.post("/connexion", data=data)).status_code == 303


async def test_replies_and_stop_from_the_simulator_reach_convoc(
    fresh_url: str, fresh_engine: AsyncEngine, tmp_path: Path
) -> None:
    sim_port = free_port()
    simulator_url = f"http://127.0.0.1:{sim_port}"
    simulator = start_simulator(
        sim_port, tmp_path / "simulator.log", api_key=API_KEY, webhook_secret=WEBHOOK_SECRET
    )
    log = tmp_path / "api.log"
    server = None
    try:
        await wait_http(f"{simulator_url}/_health", simulator)
        server = await start_server(
            fresh_url,
            fresh_engine,
            log,
            CONVOC_SMS_PROVIDERS="http",
            CONVOC_SMS_HTTP_BASE_URL=simulator_url,
            CONVOC_SMS_HTTP_API_KEY=API_KEY,
            CONVOC_SMS_HTTP_WEBHOOK_SECRET=WEBHOOK_SECRET,
            CONVOC_SMS_RECEIPT_TOKEN=TOKEN,
            CONVOC_WORKER_INTERVAL_SECONDS="0.3",
        )
        async with (
            httpx.AsyncClient(base_url=server.base, timeout=10) as api,
            httpx.AsyncClient(base_url=server.base, timeout=10) as web,
            httpx.AsyncClient(base_url=simulator_url, timeout=10) as sim,
        ):
            await login(api)
            person_id, appointment_id = await _book(api, fresh_engine)
            inbound_url = f"{server.base}/api/v1/sms/inbound/http/{TOKEN}"
            control = await sim.post("/_control", json={"inbound_url": inbound_url})
            assert control.status_code == 200 and control.json()["inbound_url"] is True

            # A reply: stored, shown to the referent (API, home page, person page).
            sent = await sim.post("/_replies", json={"from": PHONE, "text": REPLY})
            assert sent.status_code == 200, sent.text
            assert sent.json()["status"] == 200
            assert sent.json()["response"] == {"accepted": 1, "duplicates": 0}
            assert TOKEN not in sent.text
            replies = (await api.get(f"/api/v1/persons/{person_id}/replies")).json()
            assert [(r["kind"], r["text"]) for r in replies] == [("reply", REPLY)]
            await _web_login(web)
            home = await web.get("/")
            assert "Réponses reçues" in home.text and REPLY in home.text
            fiche = await web.get(f"/personnes/{person_id}")
            assert "Réponse reçue le" in fiche.text and f"« {REPLY} »" in fiche.text

            # STOP: refused, audited, and the next reminder skipped by the dispatcher.
            stop_sms = await sim.post("/_replies", json={"from": PHONE, "text": "Stop"})
            assert stop_sms.json()["status"] == 200, stop_sms.text
            person = (await api.get(f"/api/v1/persons/{person_id}")).json()
            assert person["phone_status"] == "refused"
            async with fresh_engine.begin() as conn:
                audited = await conn.scalar(
                    select(AuditEvent.agent_id).where(
                        AuditEvent.action == "sms_refused_by_person",
                        AuditEvent.entity_id == person_id,
                    )
                )
                assert audited is None  # the person acted, no agent
                due = await conn.execute(
                    update(Notification)
                    .where(
                        Notification.appointment_id == appointment_id,
                        Notification.status == "planned",
                    )
                    .values(send_at=datetime.now(UTC) - timedelta(minutes=1))
                )
                assert due.rowcount >= 1  # the convocation's reminders, due now

            async def skipped() -> bool:
                async with fresh_engine.connect() as conn:
                    found = await conn.execute(
                        select(Notification.status, Notification.reason).where(
                            Notification.appointment_id == appointment_id
                        )
                    )
                    return all(tuple(row) == ("skipped", "refused") for row in found)

            await wait_until(skipped, limit=30)
            async with fresh_engine.connect() as conn:
                ids = set(
                    await conn.scalars(
                        select(Notification.id).where(Notification.appointment_id == appointment_id)
                    )
                )
            accepted = (await sim.get("/_stats")).json()["accepted"]  # by reference <id>-<nonce>
            assert not {r for r in accepted if int(r.split("-")[0]) in ids}  # none went out
    finally:
        stop(*(p for p in (simulator, server.process if server else None) if p is not None))

    text = log.read_text()
    assert "sms.inbound provider=http kind=reply matched=true" in text
    assert "sms.inbound provider=http kind=stop matched=true" in text
    for secret in (REPLY, "grève", PHONE, PHONE[1:], NATIONAL, NATIONAL[1:], TOKEN):
        assert secret not in text, secret
