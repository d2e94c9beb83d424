"""How the search box is read (pure): a date, a mobile number, or names."""

from __future__ import annotations

from datetime import date

import pytest

from app.persons.errors import InvalidSearchDate
from app.persons.search import PhoneMatch, SearchQuery, parse_query, phone_match

TODAY = date(2027, 1, 15)


@pytest.mark.parametrize(
    ("typed", "expected"),
    [
        ("12/03/1985", SearchQuery(birth_date=date(1985, 3, 12))),
        ("1985-03-12", SearchQuery(birth_date=date(1985, 3, 12))),
        ("12/3/08", SearchQuery(birth_date=date(2008, 3, 12))),
        ("12/3/30", SearchQuery(birth_date=date(1930, 3, 12))),
        ("06 12 34 56 78", SearchQuery(phone_text="06 12 34 56 78")),
        ("Dupont 12/03/1985", SearchQuery(["dupont"], date(1985, 3, 12))),
        ("Jean-Pierre", SearchQuery(["jean", "pierre"])),
        ("12", SearchQuery(["12"])),  # too short for a number
        ("%", SearchQuery(matches_nothing=True)),
        ("  ", SearchQuery()),
        ("a b c d e f g", SearchQuery(["a", "b", "c", "d", "e"])),
    ],
)
def test_parse_query(typed: str, expected: SearchQuery) -> None:
    assert parse_query(typed, today=TODAY) == expected


def test_an_impossible_date_is_refused() -> None:
    with pytest.raises(InvalidSearchDate):
        parse_query("31/02/1985", today=TODAY)


@pytest.mark.parametrize(
    ("typed", "region", "expected"),
    [
        ("0694 12 34 56", "FR", PhoneMatch(exact="+594694123456")),
        ("0033612345678", "GF", PhoneMatch(exact="+33612345678")),
        ("87 12 34 56", "PF", PhoneMatch(exact="+68987123456")),
        ("56 78", "FR", PhoneMatch(suffix="5678")),
        ("+33 6 12", "FR", PhoneMatch()),
        ("01 23 45 67 89", "FR", PhoneMatch(suffix="0123456789")),  # a landline: never stored
    ],
)
def test_phone_match(typed: str, region: str, expected: PhoneMatch) -> None:
    assert phone_match(typed, region=region) == expected
