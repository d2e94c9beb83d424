"""SPIPs and their places of convocation."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from app.core.holidays import effective_territory
from app.core.repository import apply_changes, get_or_raise
from app.models import Place, Spip
from app.spips.errors import PlaceNotFound, SpipCodeTaken, SpipNotFound
from app.spips.schemas import PlaceCreate, PlaceUpdate, SpipCreate, SpipUpdate


async def place_holiday_territory(session: AsyncSession, place: Place) -> str | None:
    """Whose public holidays apply at ``place``: its own territory, else its SPIP's."""
    spip = await session.get_one(Spip, place.spip_id)  # usually in the session already
    return effective_territory(place.holiday_territory, spip.holiday_territory)


async def get_spip(session: AsyncSession, spip_id: int) -> Spip:
    return await get_or_raise(session, Spip, spip_id, SpipNotFound)


async def list_spips(session: AsyncSession) -> list[Spip]:
    return list((await session.scalars(select(Spip).order_by(Spip.code))).all())


async def _ensure_code_free(
    session: AsyncSession, code: str, *, except_id: int | None = None
) -> None:
    existing = await session.scalar(select(Spip.id).where(Spip.code == code))
    if existing is not None and existing != except_id:
        raise SpipCodeTaken(field="code")


async def create_spip(session: AsyncSession, *, data: SpipCreate) -> Spip:
    await _ensure_code_free(session, data.code)
    spip = Spip(**data.model_dump())
    session.add(spip)
    await session.flush()
    return spip


async def update_spip(session: AsyncSession, *, spip: Spip, data: SpipUpdate) -> Spip:
    changes = data.patch_values(nullable=frozenset({"address", "phone", "holiday_territory"}))
    if "code" in changes:
        await _ensure_code_free(session, changes["code"], except_id=spip.id)
    apply_changes(spip, changes)
    await session.flush()
    return spip


async def get_place(session: AsyncSession, place_id: int) -> Place:
    return await get_or_raise(session, Place, place_id, PlaceNotFound)


async def preview_place(session: AsyncSession, *, spip: Spip, place_id: int | None) -> Place:
    """A place of this SPIP to preview an SMS with: the one asked for, or its first, or a sample."""
    if place_id is not None:
        place = await get_place(session, place_id)
        if place.spip_id != spip.id:
            raise PlaceNotFound()
        return place
    places = await list_places(session, spip_id=spip.id)
    if places:
        return places[0]
    return Place(
        spip_id=spip.id,
        name="Antenne du SPIP",
        address="1 rue de la République",
        phone=spip.phone,
        timezone=spip.timezone,
    )


async def list_places(session: AsyncSession, *, spip_id: int) -> list[Place]:
    stmt = select(Place).where(Place.spip_id == spip_id).order_by(Place.name, Place.id)
    return list((await session.scalars(stmt)).all())


async def create_place(session: AsyncSession, *, spip: Spip, data: PlaceCreate) -> Place:
    values = data.model_dump(mode="json")
    values["timezone"] = data.timezone or spip.timezone
    place = Place(spip_id=spip.id, **values)
    session.add(place)
    await session.flush()
    return place


async def update_place(session: AsyncSession, *, place: Place, data: PlaceUpdate) -> Place:
    changes = data.patch_values(
        nullable=frozenset({"address", "phone", "info_url", "holiday_territory"})
    )
    apply_changes(place, changes)
    await session.flush()
    return place
