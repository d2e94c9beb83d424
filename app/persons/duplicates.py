"""Likely duplicates: the same person entered twice in one SPIP.

A followed person entered twice gets two files, two sets of convocations and, worse, two sets of
reminder SMS. Before a person is created, the SPIP's persons (archived ones too: an archived file
can be taken up again) are searched for:

- the same **names**, folded as the search folds them (``app.core.text.search_key``: case,
  accents, ligatures and punctuation aside, so « Lefèvre Jean-Pierre » is « LEFEVRE jean pierre »)
  **and** the same **birth date**. Without a birth date on either side the names alone are not
  evidence enough (homonyms are common) and no warning is given;
- or the same **mobile number** (stored E.164): two persons rarely share one, and a relative's
  phone given by mistake is worth a look.

This is a warning, not a prohibition: the agent (or an API client, ``allow_duplicate``) may
confirm that it is another person.
"""

from __future__ import annotations

from datetime import date
from typing import Final

from sqlalchemy import and_, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from app.core.text import search_key
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
    """The SPIP's persons who are likely ``first_name last_name`` (see the module doc)."""
    matches = []
    if birth_date is not None:
        key = search_key(first_name, last_name)
        matches.append(and_(Person.search_name == key, Person.birth_date == birth_date))
    if phone is not None:
        matches.append(Person.phone == phone)
    if not matches:
        return []
    stmt = (
        select(Person)
        .where(Person.spip_id == spip_id, or_(*matches))
        .order_by(Person.last_name, Person.first_name, Person.id)
        .limit(MAX_CANDIDATES)
    )
    if exclude_id is not None:
        stmt = stmt.where(Person.id != exclude_id)
    return list((await session.scalars(stmt)).all())
