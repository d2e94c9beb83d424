"""Person search through the API, on both databases: names folded (accents, case, ligatures,
punctuation), mobile numbers in the forms agents type, birth dates, and the agent's SPIP only."""

from __future__ import annotations

from datetime import date

import httpx
import pytest
from sqlalchemy.ext.asyncio import AsyncSession

from tests.conftest import ClientFactory
from tests.factories import make_agent, make_person, make_spip


async def _found(client: httpx.AsyncClient, q: str, **params: object) -> list[str]:
    response = await client.get("/persons", params={"q": q, **params})
    assert response.status_code == 200, response.text
    return sorted(p["last_name"] for p in response.json()["items"])


@pytest.mark.parametrize("typed", ["lefevre", "LEFEVRE", "Lefevre", "lefèvre", "LEFÈVRE", "fèv"])
async def test_name_search_ignores_accents_and_case(
    client: httpx.AsyncClient, session: AsyncSession, typed: str
) -> None:
    spip = await make_spip(session)
    await make_person(session, spip, first_name="Paul", last_name="Lefèvre")
    await make_person(session, spip, first_name="Paul", last_name="Lefort")
    await session.commit()
    assert await _found(client, typed, spip_id=spip.id) == ["Lefèvre"]


@pytest.mark.parametrize(
    ("first_name", "last_name", "typed"),
    [
        ("Éloïse", "Martin", "eloise"),
        ("ÉLOÏSE", "Martin", "Éloïse martin"),
        ("Zoé", "Cœurdevey", "coeurdevey"),
        ("Lætitia", "Roux", "laetitia"),
        ("Jean-Pierre", "Roux", "jean pierre"),
        ("Jean-Pierre", "Roux", "jean-pierre roux"),
        ("Jean-Pierre", "Roux", "jeanpierre"),
        ("Kelly", "O'Doe", "doe"),
        ("Kelly", "O’Doe", "o'doe"),
        ("Kelly", "O'Doe", "odoe"),
        ("Ana", "D'Artagnan", "dartagnan"),
    ],
)
async def test_name_search_folds_ligatures_and_punctuation(
    client: httpx.AsyncClient, session: AsyncSession, first_name: str, last_name: str, typed: str
) -> None:
    spip = await make_spip(session)
    await make_person(session, spip, first_name=first_name, last_name=last_name)
    await make_person(session, spip, first_name="Autre", last_name="Personne")
    await session.commit()
    assert await _found(client, typed, spip_id=spip.id) == [last_name]


async def test_renamed_person_is_found_by_the_new_name_only(
    client: httpx.AsyncClient, session: AsyncSession
) -> None:
    spip = await make_spip(session)
    await session.commit()
    created = await client.post(
        "/persons", json={"spip_id": spip.id, "first_name": "Noé", "last_name": "Gaël"}
    )
    assert created.status_code == 201, created.text
    assert await _found(client, "noe gael", spip_id=spip.id) == ["Gaël"]
    renamed = await client.patch(f"/persons/{created.json()['id']}", json={"last_name": "Bénard"})
    assert renamed.status_code == 200, renamed.text
    assert await _found(client, "benard noe", spip_id=spip.id) == ["Bénard"]
    assert await _found(client, "gael", spip_id=spip.id) == []


@pytest.mark.parametrize(
    "typed",
    [
        "06 12 34 56 78",
        "0612345678",
        "06.12.34.56.78",
        "+33 6 12 34 56 78",
        "0033612345678",
        "+33612345678",
        "56 78",  # the last digits
        "345678",
    ],
)
async def test_phone_search_in_the_forms_agents_type(
    client: httpx.AsyncClient, session: AsyncSession, typed: str
) -> None:
    spip = await make_spip(session)
    await make_person(session, spip, last_name="Mobile", phone="+33612345678")
    await make_person(session, spip, last_name="Autre", phone="+33698765432")
    await make_person(session, spip, last_name="Sans", phone=None, phone_status="none")
    await session.commit()
    assert await _found(client, typed, spip_id=spip.id) == ["Mobile"]


@pytest.mark.parametrize("region", ["FR", "GF"])
@pytest.mark.parametrize("typed", ["0694 12 34 56", "+594 694 12 34 56", "00594694123456"])
async def test_phone_search_reads_overseas_numbers(
    client: httpx.AsyncClient, session: AsyncSession, region: str, typed: str
) -> None:
    spip = await make_spip(session, phone_region=region, timezone="America/Cayenne")
    await make_person(session, spip, last_name="Cayenne", phone="+594694123456")
    # The same national digits read as a metropolitan number would be another (invalid) number.
    await make_person(session, spip, last_name="Paris", phone="+33612345678")
    await session.commit()
    assert await _found(client, typed, spip_id=spip.id) == ["Cayenne"]


async def test_phone_search_never_matches_a_partial_international_form(
    client: httpx.AsyncClient, session: AsyncSession
) -> None:
    spip = await make_spip(session)
    await make_person(session, spip, last_name="Mobile", phone="+33612345678")
    await session.commit()
    assert await _found(client, "+33 6 12", spip_id=spip.id) == []
    assert await _found(client, "0061 23", spip_id=spip.id) == []
    assert await _found(client, "12 34", spip_id=spip.id) == []  # not the end of the number


@pytest.mark.parametrize(
    "typed", ["12/03/1985", "12.03.1985", "12-03-1985", "1985-03-12", "12/3/85"]
)
async def test_birth_date_search(
    client: httpx.AsyncClient, session: AsyncSession, typed: str
) -> None:
    spip = await make_spip(session)
    await make_person(session, spip, last_name="Née", birth_date=date(1985, 3, 12))
    await make_person(session, spip, last_name="Inversée", birth_date=date(1985, 12, 3))
    await make_person(session, spip, last_name="Inconnue", birth_date=None)
    await session.commit()
    assert await _found(client, typed, spip_id=spip.id) == ["Née"]


async def test_name_and_birth_date_together(
    client: httpx.AsyncClient, session: AsyncSession
) -> None:
    spip = await make_spip(session)
    await make_person(session, spip, last_name="Dupont", birth_date=date(1985, 3, 12))
    await make_person(session, spip, last_name="Dupont", birth_date=date(1990, 1, 1))
    await make_person(session, spip, last_name="Durand", birth_date=date(1985, 3, 12))
    await session.commit()
    response = await client.get("/persons", params={"spip_id": spip.id, "q": "dupont 12/03/1985"})
    assert [p["birth_date"] for p in response.json()["items"]] == ["1985-03-12"]
    assert [p["last_name"] for p in response.json()["items"]] == ["Dupont"]


async def test_impossible_date_is_refused_in_french(
    client: httpx.AsyncClient, session: AsyncSession
) -> None:
    spip = await make_spip(session)
    await session.commit()
    response = await client.get("/persons", params={"spip_id": spip.id, "q": "31/02/1985"})
    assert response.status_code == 422
    assert response.json()["error"] == "invalid_search_date"
    assert "jj/mm/aaaa" in response.json()["detail"]


@pytest.mark.parametrize("typed", ["lefevre", "0612345678", "12/03/1985", "56 78"])
async def test_search_never_shows_another_spips_person(
    client_for: ClientFactory, session: AsyncSession, typed: str
) -> None:
    spip, other = await make_spip(session), await make_spip(session)
    agent = await make_agent(session, spip, role="cpip")
    for where in (spip, other):
        await make_person(
            session,
            where,
            first_name="Paul",
            last_name="Lefèvre",
            phone="+33612345678",
            birth_date=date(1985, 3, 12),
        )
    await session.commit()
    async with client_for(agent) as client:
        response = await client.get("/persons", params={"q": typed})
        assert response.status_code == 200, response.text
        assert [p["spip_id"] for p in response.json()["items"]] == [spip.id]
        asked_other = await client.get("/persons", params={"q": typed, "spip_id": other.id})
        assert asked_other.status_code == 404


async def test_punctuation_alone_finds_nobody(
    client: httpx.AsyncClient, session: AsyncSession
) -> None:
    spip = await make_spip(session)
    await make_person(session, spip, last_name="Dupont")
    await session.commit()
    for typed in ("%", "_", "'", "- -"):
        assert await _found(client, typed, spip_id=spip.id) == []
