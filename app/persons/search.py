"""Reading what an agent types in the persons search box (pure: no database, no clock).

One box, as agents expect: the query is read as

1. a **birth date** when it is one: ``12/03/1985`` (also ``12.03.1985``, ``12-03-1985``, a
   two-digit year ``12/03/85``) or ISO ``1985-03-12``. A date that does not exist
   (``31/02/1985``) is refused with ``invalid_search_date`` rather than finding nobody.
2. else a **mobile number** when it holds only digits, spaces, ``+`` and the separators agents
   type (``06 12 34 56 78``, ``+33 6…``, ``0033…``, ``0694 12 34 56``, ``+594 694…``) and at least
   4 digits. It is read with the rules numbers are stored with (``normalize_mobile``: the SPIP's
   region, then France and the DOM), and a full number matches the stored E.164 exactly. A
   number that is not a full mobile — a fragment such as ``56 78`` or ``34 56 78`` — matches
   the **end** of the stored numbers: agents quote the last digits, and the stored form starts
   with a country code they rarely type. A fragment written with ``+`` or ``00`` is the start of
   an international form, which no suffix can match, so it finds nobody.
3. else **names**: each word (at most 5) must appear in the first or last name, folded as the
   names are (``app.core.text``): ``lefevre``, ``LEFEVRE`` and ``Lefèvre`` all find
   « Lefèvre ». Words and a date may be mixed: ``dupont 12/03/1985``.

The query is never logged: it holds names, numbers and dates of birth.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass, field
from datetime import date
from typing import Final

from app.core.errors import Unprocessable
from app.core.text import search_words
from app.persons.errors import InvalidSearchDate
from app.persons.phones import normalize_mobile

__all__ = ["PhoneMatch", "SearchQuery", "parse_query", "phone_match"]

MAX_WORDS: Final = 5
MIN_PHONE_DIGITS: Final = 4

_FRENCH_DATE: Final = re.compile(r"(\d{1,2})[/.\-](\d{1,2})[/.\-](\d{4}|\d{2})")
_ISO_DATE: Final = re.compile(r"(\d{4})-(\d{1,2})-(\d{1,2})")
_PHONE_SHAPE: Final = re.compile(r"\+?[\d\s.\-/()\u00a0\u202f]+")


@dataclass(frozen=True)
class SearchQuery:
    words: list[str] = field(default_factory=list)
    birth_date: date | None = None
    phone_text: str | None = None
    # Something was typed that can match no one (e.g. only punctuation): find nobody, not all.
    matches_nothing: bool = False


@dataclass(frozen=True)
class PhoneMatch:
    exact: str | None = None  # E.164
    suffix: str | None = None  # ASCII digits the stored number ends with


def parse_query(q: str | None, *, today: date) -> SearchQuery:
    """Split the search box into names, a birth date and a phone number (see the module doc)."""
    text = (q or "").strip()
    if not text:
        return SearchQuery()
    whole_date = _parse_date(text, today=today)
    if whole_date is not None:
        return SearchQuery(birth_date=whole_date)
    if _is_phone(text):
        return SearchQuery(phone_text=text)
    words: list[str] = []
    birth_date: date | None = None
    phone_text: str | None = None
    matches_nothing = False
    for token in text.split()[:MAX_WORDS]:
        token_date = _parse_date(token, today=today)
        if token_date is not None:
            matches_nothing |= birth_date is not None and birth_date != token_date
            birth_date = token_date
        elif _is_phone(token):
            matches_nothing |= phone_text is not None
            phone_text = token
        else:
            token_words = search_words(token)
            matches_nothing |= not token_words
            words.extend(token_words)
    return SearchQuery(words, birth_date, phone_text, matches_nothing)


def phone_match(phone_text: str, *, region: str) -> PhoneMatch:
    """How a typed number matches stored E.164 numbers: exactly, or by its last digits."""
    try:
        return PhoneMatch(exact=normalize_mobile(phone_text, region))
    except Unprocessable:
        pass  # not a full mobile: a fragment
    digits = "".join(str(unicodedata.decimal(ch)) for ch in phone_text if ch.isdecimal())
    if phone_text.lstrip().startswith("+") or digits.startswith("00"):
        return PhoneMatch()
    return PhoneMatch(suffix=digits)


def _is_phone(text: str) -> bool:
    if not _PHONE_SHAPE.fullmatch(text):
        return False
    return sum(ch.isdecimal() for ch in text) >= MIN_PHONE_DIGITS


def _parse_date(text: str, *, today: date) -> date | None:
    """The date ``text`` spells, None when it is not shaped like one; raises when impossible."""
    if match := _ISO_DATE.fullmatch(text):
        year, month, day = (int(g) for g in match.groups())
    elif match := _FRENCH_DATE.fullmatch(text):
        day, month, year = (int(g) for g in match.groups())
        if len(match.group(3)) == 2:
            # A two-digit year is this century unless that is in the future: 85 → 1985, 08 → 2008.
            year += 2000 if 2000 + year <= today.year else 1900
    else:
        return None
    try:
        return date(year, month, day)
    except ValueError:
        raise InvalidSearchDate(field="q") from None
