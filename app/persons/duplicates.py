"""Likely duplicates: the same person entered twice in one SPIP.

A followed person entered twice gets two files, two sets of convocations and, worse, two sets of
reminder SMS. Before a person is created, the SPIP's persons (archived ones too: an archived file
can be taken up again) are searched for:

- the same **names**, folded as the search folds them (``app.core.text.search_words``: case,
  accents, ligatures, spaces and punctuation aside, so « Lefèvre Jean-Pierre » is « LEFEVRE
  jeanpierre », first and last name in either order) **and** the same **birth date**. Without
  a birth date on either side the names alone are not evidence enough (homonyms are common)
  and no warning is given;
- or the same **mobile number** (stored E.164): two persons rarely share one, and a relative's
  phone given by mistake is worth a look.

This is a warning, not a prohibition: the agent (or an API client, ``allow_duplicate``) may
confirm that it is another person.
"""

from __future__ import annotations

from datetime import date
from typing import Final

from sqlalchemy import or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from app.core.text import search_words
from app.models import Person

__all__ = ["MAX_CANDIDATES", "likely_duplicates"]

MAX_CANDIDATES: Final = 10


async def likely_duplicates(
    session: AsyncSession,
    *,
    spip_id: int,
    first_name: str,
    last_name: str,
    birth_date: date | None,
    phone: str | None,
    exclude_id: int | None = None,
) -> list[Person]:
    """The SPIP's persons who are likely ``first_name last_name`` (see the module doc).

    The database narrows to the SPIP's persons born that day or holding that number (a birth
    date is selective: a handful of persons a day in a SPIP); the names are compared here, once
    folded, so that « Jean-Pierre » is « jean pierre » and « Jeanpierre », and a first name
    typed in place of the last (and the reverse) is still caught.
    """
    matches = []
    if birth_date is not None:
        matches.append(Person.birth_date == birth_date)
    if phone is not None:
        matches.append(Person.phone == phone)
    if not matches:
        return []
    stmt = (
        select(Person)
        .where(Person.spip_id == spip_id, or_(*matches))
        .order_by(Person.last_name, Person.first_name, Person.id)
    )
    if exclude_id is not None:
        stmt = stmt.where(Person.id != exclude_id)
    names = _folded(first_name, last_name)
    found = [
        p
        for p in await session.scalars(stmt)
        if (phone is not None and p.phone == phone)
        or (p.birth_date == birth_date and _folded(p.first_name, p.last_name) in _orders(names))
    ]
    return found[:MAX_CANDIDATES]


def _folded(first_name: str, last_name: str) -> tuple[str, str]:
    """Each name folded as the search folds it (``search_words``), its words joined."""
    return "".join(search_words(first_name)), "".join(search_words(last_name))


def _orders(names: tuple[str, str]) -> tuple[tuple[str, str], tuple[str, str]]:
    return names, (names[1], names[0])
