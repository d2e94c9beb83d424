"""The convocation as an iCalendar file, for « ajouter à mon agenda »."""

from __future__ import annotations

import hashlib
from datetime import datetime, timedelta

from icalendar import Alarm, Calendar, Event

from app.core.localtime import zone

PRODID = "-//Ministère de la Justice//Convoc//FR"


def convocation_ics(
    *,
    uid_seed: str,
    starts_at: datetime,
    duration_minutes: int,
    timezone: str,
    summary: str,
    location: str,
    description: str,
    cancelled: bool,
    stamp: datetime,
) -> bytes:
    """One event in the place's zone (its VTIMEZONE included, so a phone set to another zone
    shows the right instant). ``uid_seed``: the same for every download of one link, so that
    a calendar updates the event instead of adding a second one."""
    local = starts_at.astimezone(zone(timezone))
    calendar = Calendar()
    calendar.add("prodid", PRODID)
    calendar.add("version", "2.0")
    event = Event()
    event.add("uid", hashlib.sha256(b"ics:" + uid_seed.encode()).hexdigest()[:32] + "@convoc")
    event.add("dtstamp", stamp)
    event.add("dtstart", local)
    event.add("dtend", local + timedelta(minutes=duration_minutes))
    event.add("summary", summary)
    event.add("location", location)
    event.add("description", description)
    if cancelled:
        event.add("status", "CANCELLED")
    else:
        alarm = Alarm()
        alarm.add("action", "DISPLAY")
        alarm.add("description", summary)
        alarm.add("trigger", timedelta(hours=-2))
        event.add_component(alarm)
    calendar.add_component(event)
    calendar.add_missing_timezones()
    return bytes(calendar.to_ical())
