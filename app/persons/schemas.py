from __future__ import annotations

from datetime import date, datetime
from typing import Annotated

from pydantic import AfterValidator, Field, StringConstraints
from pydantic_core import PydanticCustomError

from app.core.schemas import IdRef, InputModel, ReadModel
from app.models import PhoneStatus, RefusalChannel

PersonName = Annotated[str, StringConstraints(min_length=1, max_length=100)]
RawPhone = Annotated[
    str,
    StringConstraints(max_length=40),
    Field(
        description="Numéro de mobile, au format national ou international",
        examples=["0694 12 34 56"],
    ),
]


def _plausible_birth_date(value: date) -> date:
    if value < date(1900, 1, 1) or value > date.today():  # noqa: DTZ011 - a calendar date
        raise PydanticCustomError("invalid_birth_date", "Date de naissance invraisemblable.")
    return value


BirthDate = Annotated[date, AfterValidator(_plausible_birth_date)]


class PersonCreate(InputModel):
    spip_id: IdRef
    referent_agent_id: IdRef | None = None
    first_name: PersonName
    last_name: PersonName
    birth_date: BirthDate | None = None
    phone: RawPhone | None = None
    phone_status: PhoneStatus | None = Field(
        default=None,
        description="Déduit du numéro si absent ; « refused » quand la personne refuse les SMS",
    )
    allow_duplicate: bool = Field(
        default=False,
        description=(
            "true : créer même si une personne du SPIP semble être la même (mêmes nom, prénom et "
            "date de naissance, ou même mobile) ; sinon 409 person_likely_duplicate"
        ),
    )


class PersonUpdate(InputModel):
    referent_agent_id: IdRef | None = None
    first_name: PersonName | None = None
    last_name: PersonName | None = None
    birth_date: BirthDate | None = None
    phone: RawPhone | None = None
    phone_status: PhoneStatus | None = None
    archived: bool | None = None


class PersonRead(ReadModel):
    id: int
    spip_id: int
    referent_agent_id: int | None
    first_name: str
    last_name: str
    birth_date: date | None
    phone: str | None = Field(description="Numéro E.164, toujours un mobile valide")
    phone_status: PhoneStatus
    phone_problem: str | None = Field(
        description=(
            "Un fournisseur a refusé définitivement un SMS vers ce numéro (« fournisseur:code », "
            "par ex. « http:invalid_destination ») : vérifiez le numéro avec la personne. "
            "Effacé quand le numéro change."
        ),
    )
    phone_problem_at: datetime | None
    sms_refused_at: datetime | None = Field(description="Quand la personne a refusé les SMS")
    sms_refused_via: RefusalChannel | None = Field(
        description="Qui l'a enregistré : « agent », ou la personne (« link » : le lien du SMS, "
        "« sms » : une réponse STOP)"
    )
    archived: bool
    archived_at: datetime | None
    created_at: datetime
    updated_at: datetime
