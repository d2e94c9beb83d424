from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, ConfigDict, Field

from app.models import InboundKind


class InboundAck(BaseModel):
    accepted: int = Field(description="SMS reçus enregistrés par cette requête")
    duplicates: int = Field(description="Déjà enregistrés : nouvel envoi du fournisseur")


class ReplyRead(BaseModel):
    """A SMS the person sent back: a reply (its text) or a STOP (no text kept)."""

    model_config = ConfigDict(from_attributes=True)

    id: int
    kind: InboundKind
    received_at: datetime
    text: str | None = Field(validation_alias="body", description="Texte ; null pour un STOP")
    appointment_id: int | None = Field(description="Convocation dont la personne a répondu au SMS")
    read_at: datetime | None
    read_by_id: int | None
