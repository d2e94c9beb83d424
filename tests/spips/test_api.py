"""SPIPs and places through the API."""

from __future__ import annotations

import httpx
from sqlalchemy.ext.asyncio import AsyncSession

from tests.factories import make_place, make_spip


async def test_create_and_read_spip(client: httpx.AsyncClient) -> None:
    body = {
        "code": "spip-973",
        "name": "SPIP de la Guyane",
        "timezone": "America/Cayenne",
        "phone_region": "GF",
    }
    created = await client.post("/spips", json=body)
    assert created.status_code == 201, created.text
    spip = created.json()
    assert spip["code"] == "SPIP-973"
    assert spip["created_at"].endswith("Z")
    fetched = await client.get(f"/spips/{spip['id']}")
    assert fetched.json() == spip
    listed = await client.get("/spips")
    assert spip["id"] in [s["id"] for s in listed.json()]


async def test_duplicate_code_is_a_conflict(client: httpx.AsyncClient) -> None:
    body = {"code": "SPIP-DUP", "name": "A", "timezone": "Europe/Paris", "phone_region": "FR"}
    assert (await client.post("/spips", json=body)).status_code == 201
    again = await client.post("/spips", json=body | {"name": "B"})
    assert again.status_code == 409
    assert again.json()["error"] == "spip_code_taken"


async def test_invalid_timezone_and_region_are_refused(client: httpx.AsyncClient) -> None:
    body = {"code": "SPIP-X", "name": "X", "timezone": "Europe/Pariss", "phone_region": "FR"}
    response = await client.post("/spips", json=body)
    assert response.status_code == 422
    assert response.json()["error"] == "invalid_timezone"
    assert response.json()["fields"][0]["field"] == "body.timezone"
    response = await client.post("/spips", json=body | {"timezone": "UTC", "phone_region": "US"})
    assert response.status_code == 422
    assert response.json()["fields"][0]["field"] == "body.phone_region"


async def test_patch_spip(client: httpx.AsyncClient, session: AsyncSession) -> None:
    spip = await make_spip(session)
    other = await make_spip(session)
    await session.commit()
    response = await client.patch(f"/spips/{spip.id}", json={"timezone": "Indian/Reunion"})
    assert response.status_code == 200
    assert response.json()["timezone"] == "Indian/Reunion"
    taken = await client.patch(f"/spips/{spip.id}", json={"code": other.code})
    assert taken.status_code == 409
    assert (await client.patch("/spips/999999", json={"name": "Z"})).status_code == 404


async def test_unknown_spip_is_404(client: httpx.AsyncClient) -> None:
    response = await client.get("/spips/424242")
    assert response.status_code == 404
    assert response.json() == {"error": "spip_not_found", "detail": "SPIP introuvable."}


async def test_place_defaults_to_spip_timezone(
    client: httpx.AsyncClient, session: AsyncSession
) -> None:
    spip = await make_spip(session, timezone="America/Cayenne", phone_region="GF")
    await session.commit()
    response = await client.post(
        f"/spips/{spip.id}/places",
        json={"name": "Antenne de Cayenne", "info_url": "https://www.justice.fr/guyane"},
    )
    assert response.status_code == 201, response.text
    place = response.json()
    assert place["timezone"] == "America/Cayenne"
    assert place["info_url"].startswith("https://www.justice.fr/guyane")
    listed = await client.get(f"/spips/{spip.id}/places")
    assert [p["id"] for p in listed.json()] == [place["id"]]


async def test_place_with_own_zone_and_patch(
    client: httpx.AsyncClient, session: AsyncSession
) -> None:
    spip = await make_spip(session, timezone="Pacific/Tahiti", phone_region="PF")
    await session.commit()
    created = await client.post(
        f"/spips/{spip.id}/places", json={"name": "Nuku Hiva", "timezone": "Pacific/Marquesas"}
    )
    assert created.json()["timezone"] == "Pacific/Marquesas"
    place_id = created.json()["id"]
    patched = await client.patch(
        f"/places/{place_id}", json={"phone": "40 00 00 00", "info_url": None, "active": False}
    )
    assert patched.status_code == 200
    assert patched.json()["active"] is False
    assert (await client.get(f"/places/{place_id}")).json()["phone"] == "40 00 00 00"
    bad = await client.patch(f"/places/{place_id}", json={"info_url": "javascript:alert(1)"})
    assert bad.status_code == 422
    assert (await client.get("/places/999999")).status_code == 404
    assert (await client.post("/spips/999999/places", json={"name": "x"})).status_code == 404


async def test_holiday_territory_round_trip(client: httpx.AsyncClient) -> None:
    body = {
        "code": "SPIP-973-H",
        "name": "SPIP de la Guyane",
        "timezone": "America/Cayenne",
        "phone_region": "GF",
        "holiday_territory": "973",
    }
    created = await client.post("/spips", json=body)
    assert created.status_code == 201, created.text
    spip = created.json()
    assert spip["holiday_territory"] == "973"
    assert (await client.get(f"/spips/{spip['id']}")).json()["holiday_territory"] == "973"
    cleared = await client.patch(f"/spips/{spip['id']}", json={"holiday_territory": None})
    assert cleared.json()["holiday_territory"] is None
    kept = await client.patch(f"/spips/{spip['id']}", json={"name": "SPIP 973"})
    assert kept.json()["holiday_territory"] is None

    place = await client.post(f"/spips/{spip['id']}/places", json={"name": "Antenne"})
    assert place.json()["holiday_territory"] is None
    own = await client.post(
        f"/spips/{spip['id']}/places", json={"name": "Metz", "holiday_territory": "57"}
    )
    assert own.status_code == 201, own.text
    assert own.json()["holiday_territory"] == "57"
    patched = await client.patch(f"/places/{own.json()['id']}", json={"holiday_territory": "6AE"})
    assert patched.json()["holiday_territory"] == "6AE"
    assert (await client.get(f"/places/{own.json()['id']}")).json()["holiday_territory"] == "6AE"
    back = await client.patch(f"/places/{own.json()['id']}", json={"holiday_territory": None})
    assert back.json()["holiday_territory"] is None


async def test_unknown_holiday_territory_is_refused_in_french(
    client: httpx.AsyncClient, session: AsyncSession
) -> None:
    body = {"code": "SPIP-H", "name": "X", "timezone": "Europe/Paris", "phone_region": "FR"}
    # 67 and 68 are not the package's codes (6AE is); its school zones and TF are left out.
    for code in ("67", "Zone A", "TF", "fr"):
        response = await client.post("/spips", json=body | {"holiday_territory": code})
        assert response.status_code == 422, code
        assert response.json()["error"] == "invalid_holiday_territory"
        assert "Territoire de jours fériés inconnu" in response.json()["detail"]
        assert response.json()["fields"][0]["field"] == "body.holiday_territory"
    spip = await make_spip(session)
    place = await make_place(session, spip)
    await session.commit()
    refused = await client.patch(f"/places/{place.id}", json={"holiday_territory": "Moselle"})
    assert refused.status_code == 422
    assert refused.json()["error"] == "invalid_holiday_territory"
    refused = await client.patch(f"/spips/{spip.id}", json={"holiday_territory": "Zone A"})
    assert refused.status_code == 422
    assert refused.json()["error"] == "invalid_holiday_territory"
