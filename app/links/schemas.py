from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, Field


class LinkRead(BaseModel):
    """A convocation's link, without its token (only the SMS carry it)."""

    appointment_id: int
    active: bool = Field(description="Faux : le lien a été désactivé par un agent.")
    created_at: datetime
    revoked_at: datetime | None
    expires_at: datetime = Field(
        description="Après cet instant le lien ne mène plus à rien (quelques jours après la "
        "convocation en vigueur)."
    )
