"""``GET /appointments``: the place, type and started filters and the orders that the
« Convocations » page uses (now = 2027-01-15T10:00Z)."""

from __future__ import annotations

from datetime import UTC, datetime

import httpx
from sqlalchemy.ext.asyncio import AsyncSession

from tests.factories import make_appointment, make_person, make_place, make_spip


async def test_place_type_started_filters_and_orders(
    client: httpx.AsyncClient, session: AsyncSession
) -> None:
    spip = await make_spip(session)
    zeta = await make_place(session, spip, name="Zeta")
    alpha = await make_place(session, spip, name="Alpha")
    ana = await make_person(session, spip, last_name="Ana", first_name="B")
    bob = await make_person(session, spip, last_name="Bob", first_name="A")
    past = await make_appointment(
        session, bob, zeta, starts_at=datetime(2027, 1, 14, 9, tzinfo=UTC)
    )
    soon = await make_appointment(
        session, ana, zeta, starts_at=datetime(2027, 1, 16, 9, tzinfo=UTC), type_code="tig"
    )
    later = await make_appointment(
        session, bob, alpha, starts_at=datetime(2027, 1, 20, 9, tzinfo=UTC)
    )
    await session.commit()

    async def ids(**params: object) -> list[int]:
        response = await client.get("/appointments", params={"spip_id": spip.id} | params)
        assert response.status_code == 200, response.text
        return [a["id"] for a in response.json()["items"]]

    assert await ids() == [past.id, soon.id, later.id]
    assert await ids(place_id=zeta.id) == [past.id, soon.id]
    assert await ids(appointment_type="tig") == [soon.id]
    assert await ids(appointment_type="inconnu") == []
    assert await ids(started="true") == [past.id]
    assert await ids(started="false") == [soon.id, later.id]
    assert await ids(sort="-date") == [later.id, soon.id, past.id]
    assert await ids(sort="person") == [soon.id, past.id, later.id]
    assert await ids(sort="place") == [later.id, past.id, soon.id]
    page = (
        await client.get(
            "/appointments", params={"spip_id": spip.id, "sort": "person", "limit": 1, "offset": 1}
        )
    ).json()
    assert page["total"] == 3 and [a["id"] for a in page["items"]] == [past.id]
    bad = await client.get("/appointments", params={"sort": "name"})
    assert bad.status_code == 422
