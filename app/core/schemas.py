"""Base pydantic models and reusable field types."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import Path, Query
from pydantic import AfterValidator, BaseModel, ConfigDict, Field, StringConstraints
from pydantic_core import PydanticCustomError

from app.core.localtime import is_valid_timezone
from app.core.pagination import PageParams


class InputModel(BaseModel):
    """Request bodies refuse unknown fields: a typo (``start_at``) must not be silently ignored."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    def patch_values(self, *, nullable: frozenset[str] = frozenset()) -> dict[str, Any]:
        """PATCH semantics: fields sent are applied; null clears only fields that may be empty.

        Values are JSON-mode (URLs become strings) so they can go straight into a model.
        """
        sent = self.model_dump(mode="json", exclude_unset=True)
        return {k: v for k, v in sent.items() if v is not None or k in nullable}


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
