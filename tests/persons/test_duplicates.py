"""Likely duplicates: same folded names and birth date, or the same mobile, in one SPIP; the API
answers 409 ``person_likely_duplicate`` with the candidates unless ``allow_duplicate``."""

from __future__ import annotations

from datetime import date

import httpx
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from app.models import Person
from app.persons.duplicates import likely_duplicates
from tests.factories import make_person, make_spip

BIRTH = date(1985, 3, 12)


async def test_same_folded_names_and_birth_date_is_a_likely_duplicate(
    session: AsyncSession,
) -> None:
    spip = await make_spip(session)
    known = await make_person(
        session,
        spip,
        first_name="Jean-Pierre",
        last_name="Lefèvre",
        birth_date=BIRTH,
        phone=None,
        phone_status="none",
    )
    found = await likely_duplicates(
        session,
        spip_id=spip.id,
        first_name="jean pierre",
        last_name="LEFEVRE",
        birth_date=BIRTH,
        phone=None,
    )
    assert [p.id for p in found] == [known.id]


async def test_names_alone_another_birth_date_or_another_spip_are_not(
    session: AsyncSession,
) -> None:
    spip, other = await make_spip(session), await make_spip(session)
    await make_person(session, spip, first_name="Jean", last_name="Dupont", birth_date=BIRTH)
    await make_person(
        session,
        other,
        first_name="Jean",
        last_name="Dupont",
        birth_date=BIRTH,
        phone="+33699999999",
    )
    ask = {"spip_id": spip.id, "first_name": "Jean", "last_name": "Dupont", "phone": None}
    assert await likely_duplicates(session, **ask, birth_date=None) == []
    assert await likely_duplicates(session, **ask, birth_date=date(1986, 3, 12)) == []
    in_other = ask | {"spip_id": other.id}
    assert len(await likely_duplicates(session, **in_other, birth_date=BIRTH)) == 1
    assert (
        await likely_duplicates(session, **ask | {"first_name": "Jeanne"}, birth_date=BIRTH) == []
    )


async def test_the_same_mobile_in_the_spip_is_a_likely_duplicate(session: AsyncSession) -> None:
    spip = await make_spip(session)
    known = await make_person(session, spip, phone="+33612345678", last_name="Martin")
    found = await likely_duplicates(
        session,
        spip_id=spip.id,
        first_name="Léa",
        last_name="Durand",
        birth_date=None,
        phone="+33612345678",
    )
    assert [p.id for p in found] == [known.id]
    assert (
        await likely_duplicates(
            session,
            spip_id=spip.id,
            first_name="Léa",
            last_name="Durand",
            birth_date=None,
            phone="+33612345678",
            exclude_id=known.id,
        )
        == []
    )


async def test_the_api_answers_409_with_the_candidates_unless_allowed(
    client: httpx.AsyncClient, session: AsyncSession
) -> None:
    spip = await make_spip(session, phone_region="GF", timezone="America/Cayenne")
    known = await make_person(
        session,
        spip,
        first_name="Inès",
        last_name="Benali",
        birth_date=BIRTH,
        phone="+594694123456",
    )
    await session.commit()
    body = {
        "spip_id": spip.id,
        "first_name": "INES",
        "last_name": "benali",
        "birth_date": "1985-03-12",
    }
    refused = await client.post("/persons", json=body)
    assert refused.status_code == 409, refused.text
    assert refused.json()["error"] == "person_likely_duplicate"
    assert refused.json()["candidates"] == [known.id]
    assert "semble déjà enregistrée" in refused.json()["detail"]
    # Same mobile typed in national form, other names: still the same number in the SPIP.
    by_phone = await client.post(
        "/persons",
        json={"spip_id": spip.id, "first_name": "Léa", "last_name": "X", "phone": "0694 12 34 56"},
    )
    assert by_phone.status_code == 409 and by_phone.json()["candidates"] == [known.id]
    total = await session.scalar(select(func.count()).select_from(Person))
    assert total == 1

    allowed = await client.post("/persons", json=body | {"allow_duplicate": True})
    assert allowed.status_code == 201, allowed.text
    assert allowed.json()["id"] != known.id
    # allow_duplicate is a strict boolean like every flag of the API
    assert (
        await client.post("/persons", json=body | {"allow_duplicate": "yes"})
    ).status_code == 422


async def test_first_and_last_names_typed_the_other_way_round_are_caught(
    session: AsyncSession,
) -> None:
    spip = await make_spip(session)
    known = await make_person(session, spip, first_name="Noé", last_name="Gaël", birth_date=BIRTH)
    found = await likely_duplicates(
        session, spip_id=spip.id, first_name="GAEL", last_name="noe", birth_date=BIRTH, phone=None
    )
    assert [p.id for p in found] == [known.id]
