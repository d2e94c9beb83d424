"""Public holidays per French territory: a few dates pinned for each, and the days around them."""

from __future__ import annotations

from datetime import date, timedelta

import pytest

from app.core.holidays import (
    HOLIDAY_TERRITORIES,
    effective_territory,
    holiday_territory,
    public_holiday,
)

ABOLITION = "Abolition de l'esclavage"


@pytest.mark.parametrize(
    ("day", "territory", "name"),
    [
        (date(2027, 6, 10), "973", ABOLITION),  # Guyane
        (date(2027, 12, 20), "974", ABOLITION),  # La Réunion
        (date(2027, 4, 27), "976", ABOLITION),  # Mayotte
        (date(2027, 5, 22), "972", ABOLITION),  # Martinique
        (date(2027, 5, 27), "971", ABOLITION),  # Guadeloupe
        (date(2027, 12, 26), "57", "Saint-Étienne"),  # Moselle
        (date(2027, 3, 26), "57", "Vendredi saint"),  # Good Friday 2027 (Easter: 28 March)
        (date(2028, 4, 14), "57", "Vendredi saint"),  # Good Friday 2028 (Easter: 16 April)
        (date(2027, 12, 26), "6AE", "Saint-Étienne"),  # Alsace
        (date(2027, 10, 9), "BL", ABOLITION),  # Saint-Barthélemy
        (date(2027, 9, 24), "NC", "Fête de la Citoyenneté"),  # Nouvelle-Calédonie
        (date(2027, 7, 29), "WF", "Fête du Territoire"),  # Wallis-et-Futuna
        (date(2027, 3, 5), "PF", "Arrivée de l'Évangile"),  # Polynésie française
    ],
)
def test_local_holidays_are_named_in_french(day: date, territory: str, name: str) -> None:
    assert public_holiday(day, territory) == name
    # A local holiday is not one in metropolitan France, nor the next day in the territory.
    assert public_holiday(day, None) is None
    assert public_holiday(day + timedelta(days=1), territory) is None


@pytest.mark.parametrize("day", [date(2027, 6, 10), date(2027, 12, 26), date(2027, 3, 26)])
def test_a_working_day_in_metropolitan_france(day: date) -> None:
    assert public_holiday(day, None) is None


@pytest.mark.parametrize("territory", [None, *(t.code for t in HOLIDAY_TERRITORIES)])
def test_national_holidays_apply_everywhere(territory: str | None) -> None:
    assert public_holiday(date(2027, 7, 14), territory) == "Fête nationale"
    assert public_holiday(date(2027, 3, 29), territory) == "Lundi de Pâques"
    assert public_holiday(date(2027, 12, 25), territory) == "Noël"


def test_unknown_territory_is_an_error_not_a_working_day() -> None:
    with pytest.raises(KeyError):
        public_holiday(date(2027, 6, 10), "67")
    with pytest.raises(KeyError):
        holiday_territory("Zone A")


def test_the_place_territory_wins_over_the_spip() -> None:
    assert effective_territory("57", None) == "57"
    assert effective_territory(None, "973") == "973"
    assert effective_territory("974", "973") == "974"
    assert effective_territory(None, None) is None


def test_each_territory_is_one_the_package_knows() -> None:
    from holidays.countries.france import France

    assert {t.code for t in HOLIDAY_TERRITORIES} <= set(France.subdivisions)
    assert holiday_territory(None).label == "Métropole (sans particularité locale)"
    assert holiday_territory(None).where == ""
    assert holiday_territory("974").where == "à La Réunion"
