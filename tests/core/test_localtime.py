"""Reading a naive local time in an IANA zone: DST gaps and folds are refused, never guessed."""

from __future__ import annotations

from datetime import UTC, datetime
from zoneinfo import ZoneInfo

import pytest

from app.core.localtime import (
    AmbiguousLocalTime,
    NonexistentLocalTime,
    UnknownTimezone,
    is_valid_timezone,
    to_utc,
    zone,
)

PARIS = ZoneInfo("Europe/Paris")


def test_paris_spring_gap_does_not_exist() -> None:
    with pytest.raises(NonexistentLocalTime) as err:
        to_utc(datetime(2027, 3, 28, 2, 30), PARIS)
    assert err.value.code == "nonexistent_local_time"


def test_paris_autumn_fold_is_ambiguous() -> None:
    with pytest.raises(AmbiguousLocalTime) as err:
        to_utc(datetime(2027, 10, 31, 2, 30), PARIS)
    assert err.value.code == "ambiguous_local_time"


@pytest.mark.parametrize(
    ("wall", "zone_name", "summer", "winter"),
    [
        (datetime(2027, 10, 31, 2, 30), "Europe/Paris", "+02:00", "+01:00"),
        (datetime(2027, 11, 7, 1, 30), "America/Miquelon", "-02:00", "-03:00"),
    ],
)
def test_the_fold_message_names_the_zone_s_own_offsets(
    wall: datetime, zone_name: str, summer: str, winter: str
) -> None:
    """Miquelon's fold is −02:00/−03:00, not Paris's +02:00/+01:00 (issue 13)."""
    with pytest.raises(AmbiguousLocalTime) as err:
        to_utc(wall, ZoneInfo(zone_name))
    assert f"{summer} pour la première" in err.value.detail
    assert f"{winter} pour la seconde" in err.value.detail
    assert zone_name in err.value.detail
    # The example it gives is itself accepted, and means the first reading.
    example = err.value.detail.rsplit("par exemple ", 1)[1].rstrip(".")
    assert to_utc(datetime.fromisoformat(example), ZoneInfo(zone_name)) == wall.replace(
        tzinfo=ZoneInfo(zone_name), fold=0
    ).astimezone(UTC)


def test_an_explicit_offset_settles_the_fold() -> None:
    summer = datetime.fromisoformat("2027-10-31T02:30:00+02:00")
    winter = datetime.fromisoformat("2027-10-31T02:30:00+01:00")
    assert to_utc(summer, PARIS) == datetime(2027, 10, 31, 0, 30, tzinfo=UTC)
    assert to_utc(winter, PARIS) == datetime(2027, 10, 31, 1, 30, tzinfo=UTC)


@pytest.mark.parametrize(
    ("tz", "local", "expected_utc"),
    [
        ("Europe/Paris", datetime(2027, 3, 28, 3, 0), datetime(2027, 3, 28, 1, 0)),
        ("Europe/Paris", datetime(2027, 3, 27, 9, 0), datetime(2027, 3, 27, 8, 0)),
        ("America/Cayenne", datetime(2027, 3, 29, 9, 0), datetime(2027, 3, 29, 12, 0)),
        ("Indian/Reunion", datetime(2027, 3, 29, 9, 0), datetime(2027, 3, 29, 5, 0)),
        ("Pacific/Noumea", datetime(2027, 3, 29, 8, 0), datetime(2027, 3, 28, 21, 0)),
        ("Pacific/Tahiti", datetime(2027, 3, 29, 16, 0), datetime(2027, 3, 30, 2, 0)),
        ("America/Miquelon", datetime(2027, 7, 1, 9, 0), datetime(2027, 7, 1, 11, 0)),
    ],
)
def test_local_times_read_in_their_zone(tz: str, local: datetime, expected_utc: datetime) -> None:
    assert to_utc(local, ZoneInfo(tz)) == expected_utc.replace(tzinfo=UTC)


def test_miquelon_has_its_own_dst_gap() -> None:
    with pytest.raises(NonexistentLocalTime):
        to_utc(datetime(2027, 3, 14, 2, 30), ZoneInfo("America/Miquelon"))


def test_only_canonical_iana_names_are_zones() -> None:
    assert is_valid_timezone("America/Cayenne")
    assert not is_valid_timezone("Mars/Olympus")
    assert not is_valid_timezone("EST")
    assert not is_valid_timezone("../../etc/passwd")
    with pytest.raises(UnknownTimezone):
        zone("Europe/Pariss")
