"""Base pydantic models and reusable field types."""

from __future__ import annotations

import re
import types
from datetime import UTC, date, datetime, time
from functools import cache
from typing import Annotated, Any, Union, get_args, get_origin

from fastapi import Path, Query
from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    StringConstraints,
    ValidationInfo,
    field_validator,
)
from pydantic_core import PydanticCustomError

from app.core.holidays import HOLIDAY_TERRITORIES, is_valid_holiday_territory
from app.core.localtime import is_valid_timezone
from app.core.pagination import PageParams


class InputModel(BaseModel):
    """Request bodies refuse unknown fields: a typo (``start_at``) must not be silently ignored.

    Booleans are strict: only JSON ``true`` and ``false`` (pydantic would read ``0``, ``"no"``
    or ``"off"`` as false, and ``{"archived": 0}`` is more likely a mistake than a wish).
    """

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    @field_validator("*", mode="before")
    @classmethod
    def _refuse_nul_and_loose_booleans(cls, value: Any, info: ValidationInfo) -> Any:
        """PostgreSQL cannot store U+0000 in text, and no agent types one: refuse it here."""
        if _has_nul(value):
            raise PydanticCustomError("nul_character", NUL_MESSAGE)
        loose = value is not None and not isinstance(value, bool)
        if loose and info.field_name in boolean_fields(cls):
            raise PydanticCustomError("bool_type", BOOL_MESSAGE)
        return value

    def patch_values(self, *, nullable: frozenset[str] = frozenset()) -> dict[str, Any]:
        """PATCH semantics: fields sent are applied; null clears only fields that may be empty.

        Values are JSON-mode (URLs become strings) so they can go straight into a model.
        """
        sent = self.model_dump(mode="json", exclude_unset=True)
        # ...except dates and times, which the database types want as Python objects.
        for key, value in self.model_dump(exclude_unset=True).items():
            if isinstance(value, date | time):
                sent[key] = value
        return {k: v for k, v in sent.items() if v is not None or k in nullable}


NUL_MESSAGE = "Le caractère nul (\\u0000) n'est pas accepté."
BOOL_MESSAGE = "Booléen attendu (true ou false)."


@cache
def boolean_fields(model: type[BaseModel]) -> frozenset[str]:
    """The fields of ``model`` typed ``bool`` (or ``bool | None``)."""
    return frozenset(
        name for name, field in model.model_fields.items() if _is_bool(field.annotation)
    )


def _is_bool(annotation: Any) -> bool:
    if annotation is bool:
        return True
    if get_origin(annotation) in (Union, types.UnionType):
        return any(arg is bool for arg in get_args(annotation))
    return False


def _has_nul(value: Any) -> bool:
    if isinstance(value, str):
        return "\x00" in value
    if isinstance(value, list | tuple):
        return any(_has_nul(v) for v in value)
    if isinstance(value, dict):
        return any(_has_nul(k) or _has_nul(v) for k, v in value.items())
    return False


class ReadModel(BaseModel):
    model_config = ConfigDict(from_attributes=True)


def _check_timezone(value: str) -> str:
    if not is_valid_timezone(value):
        raise PydanticCustomError(
            "invalid_timezone",
            "Fuseau horaire inconnu : utilisez un nom IANA, par exemple Europe/Paris.",
        )
    return value


TimezoneName = Annotated[
    str, StringConstraints(min_length=1, max_length=64), AfterValidator(_check_timezone)
]


def _check_holiday_territory(value: str) -> str:
    if not is_valid_holiday_territory(value):
        raise PydanticCustomError(
            "invalid_holiday_territory",
            "Territoire de jours fériés inconnu : utilisez l'un des codes {codes} "
            "(null : métropole sans particularité locale).",
            {"codes": ", ".join(t.code for t in HOLIDAY_TERRITORIES)},
        )
    return value


# The public holidays of a SPIP or a place (app.core.holidays); null: metropolitan France.
HolidayTerritoryCode = Annotated[
    str,
    StringConstraints(min_length=1, max_length=8),
    AfterValidator(_check_holiday_territory),
]


_ISO_START = re.compile(r"\s*\d{4}-\d{2}-\d{2}")


def _iso_text(value: Any) -> Any:
    """Dates and instants are written AAAA-MM-JJ[THH:MM…]: refuse the Unix timestamps and
    other forms pydantic would otherwise read ("0.0" would be 1970-01-01)."""
    if isinstance(value, str) and not _ISO_START.match(value):
        raise PydanticCustomError("date_parsing", "Date invalide (AAAA-MM-JJ).")
    return value


IsoText = BeforeValidator(_iso_text)
# A calendar day in a query: strictly AAAA-MM-JJ.
DayQuery = Annotated[date, IsoText]


def _as_utc(value: datetime) -> datetime:
    """A naive value is read as UTC; an offset that pushes it off the calendar is refused."""
    if value.tzinfo is None or value.utcoffset() is None:
        value = value.replace(tzinfo=UTC)
    try:
        return value.astimezone(UTC)
    except OverflowError:
        raise PydanticCustomError(
            "datetime_out_of_range", "Date et heure hors des limites du calendrier."
        ) from None


# An instant in a query or a body: with an offset, or UTC without one.
UtcInstant = Annotated[datetime, IsoText, AfterValidator(_as_utc)]
# Ids are 32-bit integers in the database: refuse larger ones before they reach it.
MAX_ID = 2_147_483_647
IdRef = Annotated[int, Field(ge=1, le=MAX_ID)]
IdPath = Annotated[int, Path(ge=1, le=MAX_ID)]
IdQuery = Annotated[int | None, Query(ge=1, le=MAX_ID)]
Name = Annotated[str, StringConstraints(min_length=1, max_length=200)]
ShortText = Annotated[str, StringConstraints(max_length=500)]
LongText = Annotated[str, StringConstraints(max_length=2000)]


def page_params(
    limit: Annotated[int, Query(ge=1, le=200, description="Taille de la page")] = 50,
    offset: Annotated[int, Query(ge=0, le=1_000_000, description="Décalage")] = 0,
) -> PageParams:
    return PageParams(limit=limit, offset=offset)
