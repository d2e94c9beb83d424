from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal

from pydantic import AfterValidator, AnyHttpUrl, Field, StringConstraints
from pydantic_core import PydanticCustomError

from app.core.schemas import (
    HolidayTerritoryCode,
    InputModel,
    LongText,
    Name,
    ReadModel,
    TimezoneName,
)

PhoneRegion = Literal["FR", "GF", "RE", "YT", "GP", "MQ", "MF", "BL", "PM", "PF", "NC", "WF"]
SpipCode = Annotated[
    str,
    StringConstraints(
        pattern=r"^[A-Za-z0-9][A-Za-z0-9-]{1,31}$", to_upper=True, strip_whitespace=True
    ),
]
ContactPhone = Annotated[str, StringConstraints(min_length=4, max_length=32)]


def _short_url(url: AnyHttpUrl) -> AnyHttpUrl:
    if len(str(url)) > 500:
        raise PydanticCustomError(
            "url_too_long", "Adresse web trop longue (500 caractères au plus)."
        )
    return url


InfoUrl = Annotated[AnyHttpUrl, AfterValidator(_short_url)]


class SpipCreate(InputModel):
    code: SpipCode = Field(examples=["SPIP-973"])
    name: Name = Field(examples=["SPIP de la Guyane"])
    timezone: TimezoneName = Field(examples=["America/Cayenne"])
    phone_region: PhoneRegion = Field(
        description="Région servant à lire les numéros saisis au format national",
        examples=["GF"],
    )
    holiday_territory: HolidayTerritoryCode | None = Field(
        default=None,
        description="Jours fériés locaux : 57 (Moselle), 6AE (Alsace), 971, 972, 973, 974, 976, "
        "BL, MF, PM, PF, NC, WF ; null : métropole sans particularité locale",
        examples=["973"],
    )
    address: LongText | None = None
    phone: ContactPhone | None = None


class SpipUpdate(InputModel):
    code: SpipCode | None = None
    name: Name | None = None
    timezone: TimezoneName | None = None
    phone_region: PhoneRegion | None = None
    holiday_territory: HolidayTerritoryCode | None = Field(
        default=None, description="null : métropole sans particularité locale"
    )
    address: LongText | None = None
    phone: ContactPhone | None = None


class SpipRead(ReadModel):
    id: int
    code: str
    name: str
    timezone: str
    phone_region: str
    holiday_territory: str | None = Field(
        description="Jours fériés locaux (code) ; null : métropole sans particularité locale"
    )
    address: str | None
    phone: str | None
    created_at: datetime
    updated_at: datetime


class PlaceCreate(InputModel):
    name: Name = Field(examples=["Antenne de Cayenne"])
    address: LongText | None = None
    phone: ContactPhone | None = None
    info_url: InfoUrl | None = Field(
        default=None, description="Page d'informations pratiques (accès, pièces à apporter)"
    )
    timezone: TimezoneName | None = Field(
        default=None, description="Fuseau IANA du lieu ; par défaut celui du SPIP"
    )
    holiday_territory: HolidayTerritoryCode | None = Field(
        default=None,
        description="Jours fériés locaux du lieu (un SPIP couvrant la Moselle et un autre "
        "département, par exemple) ; null : ceux du SPIP",
        examples=["57"],
    )


class PlaceUpdate(InputModel):
    name: Name | None = None
    address: LongText | None = None
    phone: ContactPhone | None = None
    info_url: InfoUrl | None = None
    timezone: TimezoneName | None = None
    holiday_territory: HolidayTerritoryCode | None = Field(
        default=None, description="null : ceux du SPIP"
    )
    active: bool | None = None


class PlaceRead(ReadModel):
    id: int
    spip_id: int
    name: str
    address: str | None
    phone: str | None
    info_url: str | None
    timezone: str
    holiday_territory: str | None = Field(description="Jours fériés locaux ; null : ceux du SPIP")
    active: bool
    created_at: datetime
    updated_at: datetime


class SpipUpdated(SpipRead):
    replanned_notifications: int = Field(
        description="Rappels non envoyés replanifiés (annulés ou ajoutés) parce que le "
        "territoire des jours fériés a changé ; 0 sinon"
    )


class PlaceUpdated(PlaceRead):
    replanned_notifications: int = Field(
        description="Rappels non envoyés replanifiés (annulés ou ajoutés) parce que le fuseau "
        "du lieu a changé ; 0 sinon"
    )
