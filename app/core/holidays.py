"""Public holidays of the French territories, from the maintained ``holidays`` package.

A SPIP has a holiday territory (``Spip.holiday_territory``) and a place may override it
(``Place.holiday_territory``); ``None`` is metropolitan France without local holidays. The codes
are the package's subdivisions of ``holidays.France``: « 57 » Moselle and « 6AE » Alsace
(Bas-Rhin and Haut-Rhin: the package accepts neither 67 nor 68), the DOM by their INSEE number,
the COM by their ISO code. Its school zones and the Terres australes (no SPIP) are left out.

Pure and cached: slot generation and reminder rules may call ``public_holiday`` for every day.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from functools import lru_cache

import holidays


@dataclass(frozen=True)
class HolidayTerritory:
    """A territory with its own public holidays, as agents name it."""

    code: str
    label: str
    # « en Guyane », « à La Réunion »: the place in a French sentence (empty for metropolitan
    # France).
    where: str


# The territories a SPIP or a place may take (see /work/shared/CONTEXT.md); the pages offer these
# in a list, never a free field.
HOLIDAY_TERRITORIES: tuple[HolidayTerritory, ...] = (
    HolidayTerritory("57", "Moselle", "en Moselle"),
    HolidayTerritory("6AE", "Alsace (Bas-Rhin, Haut-Rhin)", "en Alsace"),
    HolidayTerritory("971", "Guadeloupe", "en Guadeloupe"),
    HolidayTerritory("972", "Martinique", "en Martinique"),
    HolidayTerritory("973", "Guyane", "en Guyane"),
    HolidayTerritory("974", "La Réunion", "à La Réunion"),
    HolidayTerritory("976", "Mayotte", "à Mayotte"),
    HolidayTerritory("BL", "Saint-Barthélemy", "à Saint-Barthélemy"),
    HolidayTerritory("MF", "Saint-Martin", "à Saint-Martin"),
    HolidayTerritory("PM", "Saint-Pierre-et-Miquelon", "à Saint-Pierre-et-Miquelon"),
    HolidayTerritory("PF", "Polynésie française", "en Polynésie française"),
    HolidayTerritory("NC", "Nouvelle-Calédonie", "en Nouvelle-Calédonie"),
    HolidayTerritory("WF", "Wallis-et-Futuna", "à Wallis-et-Futuna"),
)
HOLIDAY_TERRITORY_CODES: frozenset[str] = frozenset(t.code for t in HOLIDAY_TERRITORIES)
# National holidays need no place in a sentence (« Le 14 juillet est férié »).
METROPOLE = HolidayTerritory("", "Métropole (sans particularité locale)", "")


def holiday_territory(code: str | None) -> HolidayTerritory:
    """The territory of a code (``None``: metropolitan France). ``KeyError`` if unknown."""
    if code is None:
        return METROPOLE
    found = next((t for t in HOLIDAY_TERRITORIES if t.code == code), None)
    if found is None:
        raise KeyError(code)
    return found


def is_valid_holiday_territory(code: str) -> bool:
    return code in HOLIDAY_TERRITORY_CODES


def effective_territory(place_territory: str | None, spip_territory: str | None) -> str | None:
    """A place's own territory wins over its SPIP's. A place cannot ask for « no territory »
    under a SPIP that has one: a SPIP covering Moselle and another département stays
    metropolitan, and its places in Moselle take « 57 »."""
    return place_territory if place_territory is not None else spip_territory


def public_holiday(day: date, territory: str | None) -> str | None:
    """The French name of the public holiday on ``day`` in ``territory`` (national holidays
    included), or ``None`` for a working day. ``KeyError`` for an unknown territory."""
    if territory is not None and territory not in HOLIDAY_TERRITORY_CODES:
        raise KeyError(territory)
    return _year(territory, day.year).get(day)


@lru_cache(maxsize=256)
def _year(territory: str | None, year: int) -> dict[date, str]:
    """One year of one territory: built once, then a plain read-only mapping (the package's
    objects grow on lookup of another year; a dict is safe to share between requests)."""
    calendar = holidays.country_holidays(
        "FR", subdiv=territory, years=year, language="fr", categories=holidays.PUBLIC
    )
    return dict(calendar.items())
