"""What ``/api/v1/operations`` reads and writes."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field, StringConstraints

from app.core.schemas import IdRef

Reason = Annotated[str, StringConstraints(strip_whitespace=True, min_length=3, max_length=200)]


class PauseCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    spip_id: IdRef | None = Field(default=None, description="Absent : pause nationale")
    reason: Reason = Field(description="Pourquoi, en quelques mots")


class PauseRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    spip_id: int | None
    reason: str
    paused_at: datetime
    paused_by_id: int | None
    resumed_at: datetime | None
    resumed_by_id: int | None


class SpipQueueRead(BaseModel):
    spip_id: int
    name: str
    due: int
    late: int
    paused: bool


class QueueRead(BaseModel):
    due: int = Field(description="Planifiés dont le moment est venu")
    later_today: int = Field(description="Planifiés pour la suite de la journée (heure de Paris)")
    in_flight: int = Field(description="En cours d'envoi (bail valide)")
    late: int = Field(description="En retard : planifiés depuis plus de 5 min, ou bail expiré")
    held: int = Field(description="Dus mais retenus par une pause (ils expirent, jamais en retard)")
    oldest_due_at: datetime | None
    spips: list[SpipQueueRead]
    national_pause: bool
    pauses: list[PauseRead]


class RetryCreate(BaseModel):
    """Which failures of the last 24 h to send again (all, without a filter)."""

    model_config = ConfigDict(extra="forbid")

    provider: Annotated[str, StringConstraints(max_length=30)] | None = None
    reason: Annotated[str, StringConstraints(max_length=40)] | None = None
    spip_id: IdRef | None = None


class RetryRead(BaseModel):
    replanned: int = Field(description="Messages replanifiés")
    refused: dict[str, int] = Field(description="Non renvoyables, par code d'erreur")
    summary: str = Field(description="Le résultat en français")
