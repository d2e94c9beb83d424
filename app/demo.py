"""Demonstration data: SPIPs of every kind of territory, with places, agents, persons, convocations.

Métropole, Guyane and Réunion first (their ids are the README's tour), then Martinique, Mayotte,
Saint-Pierre-et-Miquelon (daylight saving on North-American dates), Polynésie française (one place
in the Marquesas, half an hour off Tahiti) and Nouvelle-Calédonie, so a newcomer meets every case:
zones from −10:00 to +11:00, six-, eight- and ten-digit mobiles, one region shared by two zones.
Deterministic (a fixed random seed) so every newcomer sees the same service. Convocations are
inserted directly, past ones with their outcomes, because the booking rules refuse past dates.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import func, insert, select
from sqlalchemy.ext.asyncio import AsyncSession

from app.agendas import service as agenda_service
from app.auth.passwords import hash_now
from app.config import Settings
from app.core.clock import utcnow
from app.core.errors import Unprocessable
from app.db import create_engine, create_sessionmaker, session_scope
from app.links import service as link_service
from app.models import (
    Agenda,
    Agent,
    Appointment,
    AppointmentStatus,
    AppointmentType,
    Court,
    Notification,
    NotificationKind,
    Person,
    PhoneStatus,
    Place,
    Role,
    SlotType,
    Spip,
    court_spip,
)
from app.persons.phones import normalize_mobile
from app.reminders import service as reminder_service
from app.reminders.keys import idempotency_key


@dataclass(frozen=True)
class PlaceSeed:
    name: str
    address: str
    phone: str
    timezone: str | None = None  # the SPIP's unless the place lies in another zone


@dataclass(frozen=True)
class SpipSeed:
    code: str
    name: str
    timezone: str
    region: str
    address: str
    places: tuple[PlaceSeed, ...]
    mobile_prefixes: tuple[str, ...]  # national-format prefixes of local mobiles
    domain: str
    mobile_digits: int = 10  # national-format length: 6 in Saint-Pierre and Nouméa, 8 in Tahiti
    holiday_territory: str | None = None  # app.core.holidays; None: metropolitan France


SEEDS = (
    SpipSeed(
        "SPIP-92",
        "SPIP des Hauts-de-Seine",
        "Europe/Paris",
        "FR",
        "Nanterre (92)",
        (
            PlaceSeed(
                "Antenne de Nanterre",
                "179-191 avenue Joliot-Curie, 92000 Nanterre",
                "01 40 97 10 10",
            ),
            PlaceSeed(
                "Antenne de Boulogne-Billancourt",
                "12 rue de Paris, 92100 Boulogne-Billancourt",
                "01 41 31 20 20",
            ),
        ),
        ("06", "07"),
        "hauts-de-seine",
    ),
    SpipSeed(
        "SPIP-973",
        "SPIP de la Guyane",
        "America/Cayenne",
        "GF",
        "Cayenne (973)",
        (
            PlaceSeed(
                "Antenne de Cayenne", "5 avenue Léopold Héder, 97300 Cayenne", "05 94 28 00 00"
            ),
        ),
        ("0694",),
        "guyane",
        holiday_territory="973",
    ),
    SpipSeed(
        "SPIP-974",
        "SPIP de La Réunion",
        "Indian/Reunion",
        "RE",
        "Saint-Denis (974)",
        (
            PlaceSeed(
                "Antenne de Saint-Denis",
                "2 rue de la Victoire, 97400 Saint-Denis",
                "02 62 90 00 00",
            ),
            PlaceSeed(
                "Antenne de Saint-Pierre",
                "40 rue Marius et Ary Leblond, 97410 Saint-Pierre",
                "02 62 96 00 00",
            ),
        ),
        ("0692", "0693"),
        "reunion",
        holiday_territory="974",
    ),
    SpipSeed(
        "SPIP-972",
        "SPIP de la Martinique",
        "America/Martinique",
        "MQ",
        "Fort-de-France (972)",
        (
            PlaceSeed(
                "Antenne de Fort-de-France",
                "20 rue Victor Hugo, 97200 Fort-de-France",
                "05 96 70 00 00",
            ),
        ),
        ("0696", "0697"),
        "martinique",
        holiday_territory="972",
    ),
    SpipSeed(
        "SPIP-976",
        "SPIP de Mayotte",
        "Indian/Mayotte",
        "YT",
        "Mamoudzou (976)",
        (
            PlaceSeed(
                "Antenne de Mamoudzou", "8 rue du Commerce, 97600 Mamoudzou", "02 69 61 00 00"
            ),
        ),
        ("0639",),
        "mayotte",
        holiday_territory="976",
    ),
    SpipSeed(
        "SPIP-975",
        "SPIP de Saint-Pierre-et-Miquelon",
        "America/Miquelon",
        "PM",
        "Saint-Pierre (975)",
        (
            PlaceSeed(
                "Antenne de Saint-Pierre",
                "2 rue du Général de Gaulle, 97500 Saint-Pierre",
                "41 10 10",
            ),
        ),
        ("55", "40"),
        "saint-pierre-et-miquelon",
        holiday_territory="PM",
        mobile_digits=6,
    ),
    SpipSeed(
        "SPIP-987",
        "SPIP de la Polynésie française",
        "Pacific/Tahiti",
        "PF",
        "Papeete (987)",
        (
            PlaceSeed(
                "Antenne de Papeete", "10 avenue Pouvanaa a Oopa, 98714 Papeete", "40 46 00 00"
            ),
            PlaceSeed(
                "Permanence de Taiohae (Marquises)",
                "Mairie de Taiohae, 98742 Nuku Hiva",
                "40 92 00 00",
                timezone="Pacific/Marquesas",
            ),
        ),
        ("87", "89"),
        "polynesie",
        holiday_territory="PF",
        mobile_digits=8,
    ),
    SpipSeed(
        "SPIP-988",
        "SPIP de la Nouvelle-Calédonie",
        "Pacific/Noumea",
        "NC",
        "Nouméa (988)",
        (PlaceSeed("Antenne de Nouméa", "7 rue de la République, 98800 Nouméa", "27 00 00"),),
        ("7", "9"),
        "nouvelle-caledonie",
        holiday_territory="NC",
        mobile_digits=6,
    ),
)

FIRST_NAMES = (
    "Karim",
    "Sophie",
    "Jordan",
    "Inès",
    "Mickaël",
    "Nadia",
    "Kevin",
    "Laetitia",
    "Yanis",
    "Sarah",
    "Dylan",
    "Aïcha",
    "Thomas",
    "Mélissa",
    "Bryan",
    "Fatou",
    "Jérémy",
    "Océane",
    "Samir",
    "Manon",
)
LAST_NAMES = (
    "Martin",
    "Benali",
    "Dupont",
    "Payet",
    "Hoarau",
    "Grondin",
    "Joseph",
    "Sabayo",
    "Nguyen",
    "Lefèvre",
    "Moreau",
    "Diallo",
    "Fontaine",
    "Rivière",
    "Techer",
    "Lebon",
    "Robert",
    "Camara",
    "Mercier",
    "Bernard",
)
AGENTS = (
    ("CPIP", Role.cpip),
    ("Secrétariat", Role.secretariat),
    ("DPIP", Role.manager),
    ("Admin", Role.local_admin),
)
# Development only: `demo` refuses to run outside CONVOC_ENV=development.
DEMO_PASSWORD = "Convoc-Demo-2026!"
NATIONAL_ADMIN_EMAIL = "admin@demo.convoc.fr"
# « Sortie d'audience »: the court of the Hauts-de-Seine, its clerk, and the agenda it books into.
COURT_NAME = "Tribunal judiciaire de Nanterre"
CLERK_EMAIL = "greffe@tj-nanterre.demo.convoc.fr"


def _mobile(rng: random.Random, prefix: str, region: str, length: int = 10) -> str:
    """A valid mobile of that prefix (not every block of a range is allocated)."""
    while True:
        digits = "".join(str(rng.randint(0, 9)) for _ in range(length - len(prefix)))
        try:
            return normalize_mobile(prefix + digits, region)
        except Unprocessable:
            continue


async def load_demo(settings: Settings, *, only_if_empty: bool) -> str:
    engine = create_engine(settings)
    try:
        async with session_scope(create_sessionmaker(engine)) as session:
            has_data = await session.scalar(select(func.count()).select_from(Spip))
            if has_data and only_if_empty:
                message = "La base contient déjà des données : démonstration non chargée."
            else:
                counts = await _load(session, random.Random(92_973_974))
                message = "Démonstration chargée : " + ", ".join(
                    f"{n} {what}" for what, n in counts.items()
                )
            accounts = await demo_accounts(session)
    finally:
        await engine.dispose()
    return message + "\n" + accounts


async def demo_accounts(session: AsyncSession) -> str:
    """The demonstration accounts, to print at start-up (development only)."""
    rows = (
        await session.execute(
            select(Agent.email, Agent.role, Spip.code, Agent.court_id)
            .outerjoin(Spip, Spip.id == Agent.spip_id)
            .where(Agent.email.like("%demo.convoc.fr"))
            .order_by(Spip.code.nullsfirst(), Agent.role)
        )
    ).all()
    if not rows:
        return ""
    lines = [f"Comptes de démonstration (mot de passe : {DEMO_PASSWORD}) :"]
    lines += [
        f"  {role:<12} {code or ('tribunal' if court else 'national'):<10} {email}"
        for email, role, code, court in rows
    ]
    return "\n".join(lines)


async def _load(session: AsyncSession, rng: random.Random) -> dict[str, int]:
    types = {t.code: t for t in (await session.scalars(select(AppointmentType))).all()}
    upcoming: list[Appointment] = []
    history: list[tuple[Appointment, str]] = []
    counts = {"SPIP": 0, "lieux": 0, "agents": 0, "personnes": 0, "convocations": 0}
    now = utcnow()
    password_hash = hash_now(DEMO_PASSWORD)
    if not await session.scalar(select(Agent.id).where(Agent.email == NATIONAL_ADMIN_EMAIL)):
        session.add(
            Agent(
                name="Administration nationale",
                email=NATIONAL_ADMIN_EMAIL,
                role=Role.admin.value,
                password_hash=password_hash,
            )
        )
        counts["agents"] += 1
    for seed in SEEDS:
        suffix = (
            ""
            if not await session.scalar(select(Spip.id).where(Spip.code == seed.code))
            else f"-{rng.randint(100, 999)}"
        )
        spip = Spip(
            code=seed.code + suffix,
            name=seed.name,
            timezone=seed.timezone,
            phone_region=seed.region,
            holiday_territory=seed.holiday_territory,
            address=seed.address,
        )
        session.add(spip)
        await session.flush()
        places = [
            Place(
                spip_id=spip.id,
                name=place.name,
                address=place.address,
                phone=place.phone,
                timezone=place.timezone or seed.timezone,
                info_url=f"https://www.justice.fr/spip-{seed.domain}",
            )
            for place in seed.places
        ]
        agents = [
            Agent(
                spip_id=spip.id,
                name=f"{label} {seed.name.removeprefix('SPIP ')}",
                email=f"{label.lower().replace('é', 'e')}{suffix}@{seed.domain}.demo.convoc.fr",
                role=role.value,
                password_hash=password_hash,
            )
            for label, role in AGENTS
        ]
        session.add_all([*places, *agents])
        await session.flush()
        counts["SPIP"] += 1
        counts["lieux"] += len(places)
        counts["agents"] += len(agents)
        if seed is SEEDS[0]:
            counts["agents"] += await _court(session, spip, places[0], password_hash, suffix)
        for index in range(7):
            person = _person(rng, spip, seed, agents[0], index)
            session.add(person)
            await session.flush()
            counts["personnes"] += 1
            counts["convocations"] += _convocations(
                session,
                rng,
                person,
                places,
                agents[0],
                types,
                now,
                upcoming,
                history,
            )
            if index < len(TODAY_HOURS):
                counts["convocations"] += _today(
                    session, person, places[index % len(places)], agents[0], types, now, index,
                    upcoming, history,
                )  # fmt: skip
    await session.flush()
    session.add_all([_sent_reminder(a, status) for a, status in history])
    # Upcoming convocations get their reminders planned, exactly as if booked through the API.
    for appointment in upcoming:
        await link_service.issue(session, appointment_id=appointment.id)
        await reminder_service.on_booked(session, appointment=appointment, send_summons=False)
    return counts


async def _court(
    session: AsyncSession, spip: Spip, place: Place, password_hash: str, suffix: str
) -> int:
    """The Nanterre court linked to the Hauts-de-Seine, a « Sortie d'audience » agenda open to
    it (Tuesday and Thursday afternoons, two seats every 30 minutes) and its clerk. Returns the
    number of agents added."""
    court = await session.scalar(select(Court).where(Court.name == COURT_NAME))
    if court is None:
        court = Court(name=COURT_NAME, active=True)
        session.add(court)
        await session.flush()
    await session.execute(insert(court_spip), [{"court_id": court.id, "spip_id": spip.id}])
    agenda = Agenda(
        spip_id=spip.id,
        place_id=place.id,
        name="Sortie d'audience",
        appointment_types=["sortie_audience_spip"],
        active=True,
        open_to_courts=True,
    )
    session.add(agenda)
    await session.flush()
    for weekday in (2, 4):
        for start in (time(14, 0), time(14, 30), time(15, 0), time(15, 30)):
            slot_type = SlotType(
                agenda_id=agenda.id,
                weekday=weekday,
                start_time=start,
                duration_minutes=30,
                capacity=2,
                from_date=utcnow().date(),
                active=True,
            )
            session.add(slot_type)
            await session.flush()
            await agenda_service.generate(session, slot_type=slot_type, agenda=agenda, place=place)
    email = CLERK_EMAIL.replace("@", f"{suffix}@")
    session.add(
        Agent(
            court_id=court.id,
            name="Greffe du tribunal judiciaire de Nanterre",
            email=email,
            role=Role.court_clerk.value,
            password_hash=password_hash,
        )
    )
    return 1


def _person(rng: random.Random, spip: Spip, seed: SpipSeed, referent: Agent, index: int) -> Person:
    status = PhoneStatus.valid
    phone: str | None = _mobile(
        rng, rng.choice(seed.mobile_prefixes), seed.region, seed.mobile_digits
    )
    if index == 5:  # many overseas residents keep a metropolitan number
        phone = _mobile(rng, "06", seed.region)
    if index == 6:
        phone, status = None, PhoneStatus.none
    if index == 4 and seed.region == "FR":
        status = PhoneStatus.refused
    return Person(
        spip_id=spip.id,
        referent_agent_id=referent.id,
        first_name=rng.choice(FIRST_NAMES),
        last_name=rng.choice(LAST_NAMES),
        birth_date=date(rng.randint(1965, 2005), rng.randint(1, 12), rng.randint(1, 28)),
        phone=phone,
        phone_status=status.value,
    )


def _convocations(
    session: AsyncSession,
    rng: random.Random,
    person: Person,
    places: list[Place],
    agent: Agent,
    types: dict[str, AppointmentType],
    now: datetime,
    upcoming: list[Appointment],
    history: list[tuple[Appointment, str]],
) -> int:
    """Two to four past convocations with outcomes, one or two upcoming (added to ``upcoming``).

    Past convocations of people with a phone get the reminder they were sent (``history``), and
    outcomes lean the way the Hauts-de-Seine pilot measured: better attendance when reminded.
    """
    codes = ["suivi_spip", "suivi_spip", "tig", "surveillance_electronique", "rdv_jap"]
    days = sorted(rng.sample(range(-150, -3), rng.randint(2, 4))) + sorted(
        rng.sample(range(2, 35), rng.randint(1, 2))
    )
    for offset in days:
        place = rng.choice(places)
        tz = ZoneInfo(place.timezone)  # the place's hours, e.g. the Marquesas' in Polynésie
        local_day = (now.astimezone(tz) + timedelta(days=offset)).date()
        while local_day.weekday() >= 5:
            local_day += timedelta(days=1)
        starts_at = datetime.combine(
            local_day, time(rng.choice((9, 10, 11, 14, 15, 16)), rng.choice((0, 30))), tz
        )
        appointment_type = types["premier_rdv_spip" if offset == days[0] else rng.choice(codes)]
        status = AppointmentStatus.booked
        reminder = None
        if starts_at < now:
            if person.phone_status == PhoneStatus.valid.value:
                reminder = rng.choices(("delivered", "sent", "failed"), weights=(82, 10, 8))[0]
            status = rng.choices(
                (
                    AppointmentStatus.honored,
                    AppointmentStatus.missed,
                    AppointmentStatus.excused,
                    AppointmentStatus.booked,
                ),
                weights=(85, 8, 5, 2) if reminder == "delivered" else (61, 30, 6, 3),
            )[0]
        appointment = Appointment(
            spip_id=person.spip_id,
            person_id=person.id,
            place_id=place.id,
            appointment_type_id=appointment_type.id,
            agent_id=agent.id,
            starts_at=starts_at,
            duration_minutes=appointment_type.default_duration_minutes,
            status=status.value,
            outcome_recorded_at=starts_at + timedelta(hours=2)
            if status is not AppointmentStatus.booked
            else None,
        )
        session.add(appointment)
        if starts_at > now:
            upcoming.append(appointment)
        elif reminder is not None:
            history.append((appointment, reminder))
    return len(days)


# Today's convocations of each SPIP's CPIP, so that the home page has a day to show: place
# local hours, some already past (to record), some to come.
TODAY_HOURS = (time(9, 0), time(11, 30), time(15, 0), time(17, 30))


def _today(
    session: AsyncSession,
    person: Person,
    place: Place,
    agent: Agent,
    types: dict[str, AppointmentType],
    now: datetime,
    index: int,
    upcoming: list[Appointment],
    history: list[tuple[Appointment, str]],
) -> int:
    tz = ZoneInfo(place.timezone)
    starts_at = datetime.combine(now.astimezone(tz).date(), TODAY_HOURS[index], tz)
    appointment_type = types["suivi_spip"]
    appointment = Appointment(
        spip_id=person.spip_id,
        person_id=person.id,
        place_id=place.id,
        appointment_type_id=appointment_type.id,
        agent_id=agent.id,
        starts_at=starts_at,
        duration_minutes=appointment_type.default_duration_minutes,
        status=AppointmentStatus.booked.value,
    )
    session.add(appointment)
    if starts_at > now:
        upcoming.append(appointment)
    elif person.phone_status == PhoneStatus.valid.value:
        history.append((appointment, "delivered"))
    return 1


def _sent_reminder(appointment: Appointment, status: str) -> Notification:
    sent_at = appointment.starts_at - timedelta(days=2)
    return Notification(
        appointment_id=appointment.id,
        spip_id=appointment.spip_id,
        kind=NotificationKind.reminder.value,
        sequence=1,
        idempotency_key=idempotency_key(appointment.id, NotificationKind.reminder, 1),
        status=status,
        reason="permanent_error" if status == "failed" else None,
        rule="J-2 10:00",
        planned_at=sent_at,
        send_at=sent_at,
        send_not_after=appointment.starts_at - timedelta(hours=1),
        attempts=1,
        provider="console",
        encoding="gsm7",
        segments=2,
        sent_at=sent_at if status != "failed" else None,
        delivered_at=sent_at + timedelta(seconds=20) if status == "delivered" else None,
    )
