"""Retention: who is archived, who is deleted (with everything that hangs off a convocation),
and the proof that every report gives the same numbers before and after the purge.

The history is the demonstration's, loaded four times with the clock set back (34, 28, 22 and
10 months before "now"): a little under three years of convocations, SMS and outcomes in eight
SPIPs. The retention job runs once 6 months and a day before "now" (it archives the three old
loads' persons) and once at "now" (it deletes them, folding their counts first).
"""

from __future__ import annotations

import random
from datetime import date, timedelta
from typing import Any

from sqlalchemy import func, select, text
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from app.config import Settings
from app.demo import _load
from app.models import (
    Appointment,
    AppointmentStatus,
    AttendancePurged,
    AuditEvent,
    InboundMessage,
    Notification,
    NotificationAttempt,
    NotificationPart,
    Person,
    Spip,
)
from app.reports import attendance, exports
from app.reports import sms as sms_reports
from app.reports.periods import months_between
from app.retention import jobs, service
from app.web.dashboard import csv_of
from app.web.dashboard import load as load_dashboard
from tests.conftest import FIXED_NOW, FrozenClock
from tests.factories import days, make_appointment, make_person, make_place, make_spip

NOW = FIXED_NOW  # 2027-01-15
FIRST_RUN = service.months_before(NOW, 6) - timedelta(days=1)
LOADS = (34, 28, 22, 10)  # months before NOW
GROUPS = ("month", "appointment_type", "agent", "place")
YEARS = [(date(y, 1, 1), date(y, 12, 31)) for y in (2024, 2025, 2026)]
SPAN = (date(2024, 1, 1), date(2026, 12, 31))
PRICE = 0.045


async def _history(session: AsyncSession, clock: FrozenClock) -> None:
    for n, months in enumerate(LOADS):
        clock.set(service.months_before(NOW, months))
        await _load(session, random.Random(1000 + n))
        await session.commit()
    clock.set(NOW)


async def _reports(session: AsyncSession, *, light: bool = False) -> dict[Any, Any]:
    """Every report's figures over whole years and whole months: nationally, and for two
    SPIPs: the first load's Hauts-de-Seine (every person deleted) and the last load's Guyane
    (none deleted; its local months are not UTC's)."""
    codes = {code: spip_id for code, spip_id in await session.execute(select(Spip.code, Spip.id))}
    guyane = max(spip_id for code, spip_id in codes.items() if code.startswith("SPIP-973"))
    sample = [codes["SPIP-92"], guyane]
    found: dict[Any, Any] = {}
    months = [
        (date.fromisoformat(f"{m}-01"), _last_day(m))
        for m in months_between(date(2023, 9, 1), date(2026, 12, 1))
    ]
    for scope in [None] if light else [None, *sample]:
        for start, end in [*YEARS, SPAN]:
            for group_by in GROUPS:
                report = await attendance.attendance(
                    session, spip_id=scope, start=start, end=end, group_by=group_by
                )
                found[("attendance", scope, start, end, group_by)] = report.model_dump()
            sms = await sms_reports.sms_report(
                session, spip_id=scope, start=start, end=end, price=PRICE
            )
            found[("sms", scope, start, end)] = sms.model_dump()
    for start, end in [] if light else months:  # month by month, nationally
        report = await attendance.attendance(
            session, spip_id=None, start=start, end=end, group_by="appointment_type"
        )
        found[("attendance-month", start)] = report.model_dump()
        sms = await sms_reports.sms_report(session, spip_id=None, start=start, end=end, price=PRICE)
        found[("sms-month", start)] = sms.model_dump()
    for group_by in GROUPS:  # the CSV exports of aggregated figures
        report = await attendance.attendance(
            session, spip_id=None, start=SPAN[0], end=SPAN[1], group_by=group_by
        )
        found[("csv", group_by)] = exports.attendance_csv(report)
        found[("csv-reminders", group_by)] = exports.reminder_csv(report)
    sms = await sms_reports.sms_report(
        session, spip_id=None, start=SPAN[0], end=SPAN[1], price=PRICE
    )
    found["csv-sms"] = exports.sms_csv(sms)
    for spip_id in sample[:1]:  # the dashboard's page, its statistics (not its to-do list)
        for start, end in [YEARS[0], SPAN]:
            for group_by in GROUPS:
                board = await load_dashboard(
                    session, spip_id=spip_id, start=start, end=end, group_by=group_by, price=PRICE
                )
                found[("dashboard", spip_id, start, group_by)] = (
                    board.attendance.model_dump(),
                    board.reminders,
                    board.sms.model_dump(),
                    board.sms_lines,
                    board.chart,
                    board.reminder_chart,
                    [csv_of(t, board) for t in ("presence", "rappels", "sms")],
                )
    assert light or len(sample) == 2
    return found


def _last_day(month: str) -> date:
    first = date.fromisoformat(f"{month}-01")
    return (first + timedelta(days=32)).replace(day=1) - timedelta(days=1)


def _differences(before: dict[Any, Any], after: dict[Any, Any]) -> list[Any]:
    assert before.keys() == after.keys()
    return [key for key in before if before[key] != after[key]]


async def _count(session: AsyncSession, model: Any) -> int:
    return await session.scalar(select(func.count()).select_from(model)) or 0


async def _stale_unrecorded(session: AsyncSession, persons: Any) -> int:
    """Convocations the « sans issue » list shows (booked, started over a week ago)."""
    stmt = select(func.count()).where(
        Appointment.status == AppointmentStatus.booked.value,
        Appointment.starts_at < NOW - days(7),
        Appointment.person_id.in_(persons),
    )
    return await session.scalar(stmt) or 0


async def test_the_purge_keeps_every_report_identical_on_years_of_demo_history(
    session: AsyncSession,
    sessionmaker: async_sessionmaker[AsyncSession],
    settings: Settings,
    clock: FrozenClock,
) -> None:
    await _history(session, clock)
    # The daily job has built the closed months' aggregates, as in production.
    await attendance.rebuild(session)
    await session.commit()
    before = await _reports(session)
    old = select(Person.id).where(Person.created_at < service.months_before(NOW, 20))
    doomed = set(await session.scalars(old))
    kept = set(await session.scalars(select(Person.id))) - doomed
    assert len(doomed) == 3 * 8 * 7 and len(kept) == 8 * 7
    unrecorded_before = await _stale_unrecorded(session, select(Person.id))
    doomed_unrecorded = await _stale_unrecorded(session, old)
    assert doomed_unrecorded > 0  # the demo leaves some outcomes unrecorded

    clock.set(FIRST_RUN)
    first = await jobs.run_retention(sessionmaker, settings)
    assert (first.archived, first.deleted) == (len(doomed), 0)
    clock.set(NOW)
    second = await jobs.run_retention(sessionmaker, settings)
    assert (second.archived, second.deleted) == (0, len(doomed))
    assert second.appointments_deleted > len(doomed) * 2

    session.expire_all()
    assert set(await session.scalars(select(Person.id))) == kept
    assert await _count(session, AttendancePurged) > 0
    after = await _reports(session)
    assert _differences(before, after) == []
    # The « sans issue » list is a to-do list of live convocations, not a statistic: the
    # deleted persons' old unrecorded convocations leave it (the statistics keep them).
    unrecorded = await sms_reports.unrecorded(session, spip_id=None)
    assert sum(r.count for r in unrecorded.rows) == unrecorded_before - doomed_unrecorded

    # A later full rebuild (``python -m app reports rebuild``) still counts them…
    await attendance.rebuild(session)
    await session.commit()
    assert _differences(before, await _reports(session)) == []
    # … and running the job again changes nothing (idempotent).
    third = await jobs.run_retention(sessionmaker, settings)
    assert (third.archived, third.deleted, third.appointments_deleted) == (0, 0, 0)
    assert third.months_rebuilt == 0 and await _count(session, Person) == len(kept)


async def test_purge_without_prior_aggregates_leaves_reports_identical(
    session: AsyncSession,
    sessionmaker: async_sessionmaker[AsyncSession],
    settings: Settings,
    clock: FrozenClock,
) -> None:
    """No month built beforehand (every report read live data): the purge builds the months it
    touches, and the others still read live data; the numbers agree either way."""
    await _history(session, clock)
    before = await _reports(session, light=True)
    clock.set(FIRST_RUN)
    await jobs.run_retention(sessionmaker, settings)
    clock.set(NOW)
    run = await jobs.run_retention(sessionmaker, settings)
    assert run.deleted == 3 * 8 * 7 and run.months_rebuilt > 12
    session.expire_all()
    assert _differences(before, await _reports(session, light=True)) == []


# ------------------------------------------------------------------ the rules, one by one


async def _world(session: AsyncSession) -> tuple[Spip, Any]:
    spip = await make_spip(session)
    place = await make_place(session, spip)
    return spip, place


async def test_archive_rules(
    session: AsyncSession,
    sessionmaker: async_sessionmaker[AsyncSession],
    settings: Settings,
    clock: FrozenClock,
) -> None:
    spip, place = await _world(session)
    clock.set(NOW - days(800))  # everyone created long ago, unless said otherwise
    old = await make_person(session, spip)
    recent = await make_person(session, spip)
    coming = await make_person(session, spip)
    never = await make_person(session, spip)
    clock.set(NOW - days(300))
    new_never = await make_person(session, spip)
    clock.set(NOW)
    await make_appointment(session, old, place, starts_at=NOW - days(400), status="honored")
    await make_appointment(session, recent, place, starts_at=NOW - days(400), status="honored")
    await make_appointment(session, recent, place, starts_at=NOW - days(330), status="missed")
    await make_appointment(session, coming, place, starts_at=NOW - days(400), status="honored")
    await make_appointment(session, coming, place, starts_at=NOW + days(20))
    await session.commit()
    spip_id = spip.id
    ids = {"old": old.id, "recent": recent.id, "coming": coming.id, "never": never.id,
           "new_never": new_never.id}  # fmt: skip

    run = await jobs.run_retention(sessionmaker, settings)
    session.expire_all()
    archived = {
        p.id
        for p in await session.scalars(select(Person).where(Person.archived.is_(True)))
        if p.archived_at == NOW
    }
    assert archived == {ids["old"], ids["never"]}
    assert run.archived == 2 and run.deleted == 0
    events = list(
        await session.scalars(
            select(AuditEvent).where(AuditEvent.action == service.ARCHIVED_ACTION)
        )
    )
    assert {(e.entity, e.entity_id, e.agent_id, e.spip_id) for e in events} == {
        ("person", ids["old"], None, spip_id),
        ("person", ids["never"], None, spip_id),
    }
    assert all(e.changes is None for e in events)  # no personal value in the trail
    assert {ids["recent"], ids["coming"], ids["new_never"]}.isdisjoint(archived)


async def test_deletion_six_months_after_archiving_takes_everything_by_cascade(
    session: AsyncSession,
    sessionmaker: async_sessionmaker[AsyncSession],
    settings: Settings,
    clock: FrozenClock,
) -> None:
    spip, place = await _world(session)
    clock.set(NOW - days(900))
    gone = await make_person(session, spip, archived=True, archived_at=NOW - days(190))
    stays = await make_person(session, spip, archived=True, archived_at=NOW - days(170))
    # Archived by an agent long ago, yet convoked since: kept until that convocation is old.
    convoked = await make_person(session, spip, archived=True, archived_at=NOW - days(400))
    clock.set(NOW)
    await make_appointment(session, convoked, place, starts_at=NOW + days(10))
    appointment = await make_appointment(
        session, gone, place, starts_at=NOW - days(600), status="honored"
    )
    await make_appointment(session, stays, place, starts_at=NOW - days(600), status="honored")
    note = Notification(
        appointment_id=appointment.id, spip_id=spip.id, kind="reminder", sequence=1,
        idempotency_key=f"r-{appointment.id}", status="delivered", planned_at=NOW - days(602),
        send_at=NOW - days(602), send_not_after=NOW - days(601), provider="console",
        provider_message_id="abc", segments=1, body="Rappel", sent_at=NOW - days(602),
        delivered_at=NOW - days(602) + timedelta(seconds=5),
    )  # fmt: skip
    session.add(note)
    await session.flush()
    session.add(
        NotificationPart(
            notification_id=note.id, provider="console", provider_message_id="abc",
            status="delivered", status_at=NOW - days(602), updated_at=NOW - days(602),
        )
    )  # fmt: skip
    session.add(
        NotificationAttempt(
            notification_id=note.id, provider="console", outcome="accepted",
            created_at=NOW - days(602),
        )
    )  # fmt: skip
    # Tables the job does not know (the convocation links, the replies: added beside it) go by
    # their own ON DELETE CASCADE; this one lives for the test's transaction only.
    for parent in ("appointment", "person"):
        await session.execute(
            text(
                f"CREATE TABLE probe_{parent} (id INTEGER PRIMARY KEY, "
                f"ref INTEGER NOT NULL REFERENCES {parent}(id) ON DELETE CASCADE)"
            )
        )
    await session.execute(
        text("INSERT INTO probe_appointment VALUES (1, :a)"), {"a": appointment.id}
    )
    await session.execute(text("INSERT INTO probe_person VALUES (1, :p)"), {"p": gone.id})
    await session.commit()
    gone_id, stays_id, convoked_id = gone.id, stays.id, convoked.id

    dry = await jobs.dry_run(sessionmaker, settings)
    assert (dry.deleted, dry.appointments_deleted) == (1, 1)
    assert await session.get(Person, gone_id) is not None  # a simulation changes nothing

    run = await jobs.run_retention(sessionmaker, settings)
    assert (run.deleted, run.appointments_deleted) == (1, 1)
    session.expire_all()
    assert await session.get(Person, gone_id) is None
    assert await session.get(Person, stays_id) is not None
    assert await session.get(Person, convoked_id) is not None
    for model in (Notification, NotificationPart, NotificationAttempt):
        assert await _count(session, model) == 0, model
    for probe in ("probe_appointment", "probe_person"):
        assert await session.scalar(text(f"SELECT count(*) FROM {probe}")) == 0, probe
    purged = list(await session.scalars(select(AttendancePurged)))
    assert [(p.outcome, p.reminder_outcome, p.count) for p in purged] == [
        ("honored", "delivered", 1)
    ]
    deleted = await session.scalar(
        select(AuditEvent).where(AuditEvent.action == service.DELETED_ACTION)
    )
    assert deleted is not None
    assert (deleted.entity_id, deleted.agent_id, deleted.changes) == (gone_id, None, None)


async def test_old_message_texts_and_provider_ids_are_erased_statistics_kept(
    session: AsyncSession,
    sessionmaker: async_sessionmaker[AsyncSession],
    settings: Settings,
    clock: FrozenClock,
) -> None:
    spip, place = await _world(session)
    person = await make_person(session, spip)
    notes = {}
    for label, age in (("old", 400), ("new", 300)):
        appointment = await make_appointment(
            session, person, place, starts_at=NOW - days(age), status="honored"
        )
        note = Notification(
            appointment_id=appointment.id, spip_id=spip.id, kind="reminder", sequence=1,
            idempotency_key=f"m-{label}", status="failed", reason="permanent_error",
            planned_at=NOW - days(age + 2), send_at=NOW - days(age + 2),
            send_not_after=NOW - days(age + 1), provider="console",
            provider_message_id=f"id-{label}", segments=2, body=f"Texte {label}",
            sent_at=NOW - days(age + 2), last_error="Le numéro +33612345678 est invalide",
        )  # fmt: skip
        session.add(note)
        await session.flush()
        session.add(
            NotificationPart(
                notification_id=note.id, provider="console", provider_message_id=f"id-{label}",
                status="failed", status_at=NOW - days(age), updated_at=NOW - days(age),
            )
        )  # fmt: skip
        notes[label] = note.id
    await session.commit()
    old_sent_at = NOW - days(402)

    assert (await jobs.dry_run(sessionmaker, settings)).messages_erased == 1
    run = await jobs.run_retention(sessionmaker, settings)
    assert run.messages_erased == 1
    session.expire_all()
    old = await session.get_one(Notification, notes["old"])
    new = await session.get_one(Notification, notes["new"])
    assert (old.body, old.provider_message_id, old.last_error) == (None, None, None)
    assert (old.status, old.segments, old.sent_at, old.provider) == (
        "failed", 2, old_sent_at, "console",
    )  # fmt: skip
    assert new.body == "Texte new" and new.provider_message_id == "id-new"
    parts = list(await session.scalars(select(NotificationPart.notification_id)))
    assert parts == [notes["new"]]
    # A code (no space, short) is not personal: it stays.
    await session.execute(text("UPDATE notification SET last_error = 'invalid_number'"))
    await session.commit()
    assert (await jobs.run_retention(sessionmaker, settings)).messages_erased == 0
    assert (await jobs.run_retention(sessionmaker, settings)).messages_erased == 0


async def test_a_second_worker_finds_the_lock_taken_on_postgresql(
    session: AsyncSession,
    sessionmaker: async_sessionmaker[AsyncSession],
    settings: Settings,
    engine: Any,
) -> None:
    if engine.dialect.name != "postgresql":
        return  # SQLite has one writer: its transactions are serial anyway
    spip, _ = await _world(session)
    await make_person(session, spip, created_at=NOW - days(800))
    await session.commit()
    async with engine.connect() as other:
        assert await other.scalar(text(f"SELECT pg_try_advisory_lock({jobs.LOCK_KEY})"))
        try:
            run = await jobs.run_retention(sessionmaker, settings)
        finally:
            await other.execute(text(f"SELECT pg_advisory_unlock({jobs.LOCK_KEY})"))
    assert run.skipped and run.archived == 0
    assert "un autre processus" in run.summary()


async def test_sms_received_go_after_the_retention_and_unmatched_ones_after_a_month(
    session: AsyncSession,
    sessionmaker: async_sessionmaker[AsyncSession],
    settings: Settings,
    clock: FrozenClock,
) -> None:
    spip, _ = await _world(session)
    person = await make_person(session, spip, phone="+33612345678")
    for label, age, who in (
        ("old", 400, person.id),  # a reply older than the messages' retention
        ("recent", 300, person.id),  # kept: the referent may still read it
        ("stray", 40, None),  # matched no one: nobody can read it
        ("fresh-stray", 5, None),
    ):
        session.add(
            InboundMessage(
                provider="http", provider_message_id=label, received_at=NOW - days(age),
                sender_phone="+33612345678", person_id=who, spip_id=spip.id if who else None,
                kind="reply", body=f"texte {label}",
            )
        )  # fmt: skip
    await session.commit()
    run = await jobs.run_retention(sessionmaker, settings)
    assert run.replies_dropped == 2
    kept = set(await session.scalars(select(InboundMessage.provider_message_id)))
    assert kept == {"recent", "fresh-stray"}
