"""Pure rules for reading a local wall-clock time in an IANA zone.

A naive local time can be ambiguous (the autumn fold: 02:30 happens twice in Paris) or not exist
(the spring gap: 02:30 never happens). Guessing silently would move a convocation by an hour, so
both are refused and the caller must give an explicit offset.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError, available_timezones

from app.core.errors import Unprocessable


class NonexistentLocalTime(Unprocessable):
    code = "nonexistent_local_time"
    message = (
        "Cette heure n'existe pas dans ce fuseau (changement d'heure) : "
        "choisissez une autre heure ou précisez le décalage UTC."
    )


class AmbiguousLocalTime(Unprocessable):
    code = "ambiguous_local_time"
    message = (
        "Cette heure existe deux fois dans ce fuseau (passage à l'heure d'hiver) : "
        "précisez le décalage UTC."
    )

    @classmethod
    def at(cls, value: datetime, tz: ZoneInfo, *, field: str) -> AmbiguousLocalTime:
        """The message names the zone's own two offsets (Miquelon's are −02:00 and −03:00)."""
        summer, winter = (_offset(value.replace(tzinfo=tz, fold=f)) for f in (0, 1))
        wall = value.isoformat(timespec="minutes")
        return cls(
            f"{value:%H:%M} existe deux fois ce jour-là dans le fuseau {tz.key} (passage à "
            f"l'heure d'hiver) : précisez le décalage UTC, {summer} pour la première (heure "
            f"d'été) ou {winter} pour la seconde (heure d'hiver), par exemple {wall}{summer}.",
            field=field,
        )


def _offset(value: datetime) -> str:
    """'+02:00', '-03:00': the ISO 8601 offset an agent can type after the time."""
    return value.isoformat()[-6:]


class UnknownTimezone(Unprocessable):
    code = "invalid_timezone"
    message = "Fuseau horaire inconnu : utilisez un nom IANA, par exemple Europe/Paris."


def zone(name: str) -> ZoneInfo:
    """A ZoneInfo for a validated IANA name, refusing paths and legacy aliases like 'EST'."""
    if name not in _canonical_zones():
        raise UnknownTimezone(field="timezone")
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError) as exc:  # pragma: no cover - guarded above
        raise UnknownTimezone(field="timezone") from exc


def is_valid_timezone(name: str) -> bool:
    return name in _canonical_zones()


_ZONES: frozenset[str] | None = None


def _canonical_zones() -> frozenset[str]:
    global _ZONES
    if _ZONES is None:
        _ZONES = frozenset(z for z in available_timezones() if "/" in z or z == "UTC")
    return _ZONES


def to_utc(value: datetime, tz: ZoneInfo, *, field: str = "starts_at") -> datetime:
    """An instant in UTC from an aware datetime, or from a naive local time read in ``tz``."""
    if value.tzinfo is not None and value.utcoffset() is not None:
        return value.astimezone(UTC)
    early = value.replace(tzinfo=tz, fold=0).astimezone(UTC)
    late = value.replace(tzinfo=tz, fold=1).astimezone(UTC)
    if early == late:
        return early
    # The two readings differ: either the wall time happens twice (fold) or never (gap).
    if early.astimezone(tz).replace(tzinfo=None) == value:
        raise AmbiguousLocalTime.at(value, tz, field=field)
    raise NonexistentLocalTime(field=field)


def to_local(instant: datetime, tz: ZoneInfo) -> datetime:
    return instant.astimezone(tz)


@dataclass(frozen=True)
class FrenchZone:
    """A zone of a French territory, as agents name it: « Guyane (Cayenne) », « heure de
    Cayenne ». ``region`` is the territory's phone region (``app.spips.schemas.PhoneRegion``)."""

    key: str
    territory: str
    city: str
    region: str

    @property
    def label(self) -> str:
        """« Guyane (Cayenne) », « Mayotte »."""
        return self.territory if self.city == self.territory else f"{self.territory} ({self.city})"


# The zones a SPIP or a place may be in (see /work/shared/CONTEXT.md, « Overseas territories »):
# the pages offer these in a list, never a free field.
FRENCH_ZONES: tuple[FrenchZone, ...] = (
    FrenchZone("Europe/Paris", "Métropole", "Paris", "FR"),
    FrenchZone("America/Cayenne", "Guyane", "Cayenne", "GF"),
    FrenchZone("Indian/Reunion", "La Réunion", "La Réunion", "RE"),
    FrenchZone("Indian/Mayotte", "Mayotte", "Mayotte", "YT"),
    FrenchZone("America/Guadeloupe", "Guadeloupe", "Guadeloupe", "GP"),
    FrenchZone("America/Martinique", "Martinique", "Martinique", "MQ"),
    FrenchZone("America/Marigot", "Saint-Martin", "Marigot", "MF"),
    FrenchZone("America/St_Barthelemy", "Saint-Barthélemy", "Gustavia", "BL"),
    FrenchZone("America/Miquelon", "Saint-Pierre-et-Miquelon", "Saint-Pierre", "PM"),
    FrenchZone("Pacific/Tahiti", "Polynésie française", "Tahiti", "PF"),
    FrenchZone("Pacific/Marquesas", "Polynésie française", "Marquises", "PF"),
    FrenchZone("Pacific/Gambier", "Polynésie française", "Gambier", "PF"),
    FrenchZone("Pacific/Noumea", "Nouvelle-Calédonie", "Nouméa", "NC"),
    FrenchZone("Pacific/Wallis", "Wallis-et-Futuna", "Wallis", "WF"),
)
FRENCH_ZONE_KEYS: frozenset[str] = frozenset(z.key for z in FRENCH_ZONES)


def french_zone(key: str) -> FrenchZone | None:
    return next((z for z in FRENCH_ZONES if z.key == key), None)
