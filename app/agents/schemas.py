"""What the agent management routes read and answer (an account as shown: ``app.auth.schemas``)."""

from __future__ import annotations

from pydantic import EmailStr, Field

from app.auth.schemas import AgentRead
from app.core.schemas import IdRef, InputModel, Name, ReadModel
from app.models import Role


class AgentCreate(InputModel):
    spip_id: IdRef | None = Field(
        default=None,
        description="SPIP de l'agent ; absent seulement pour un administrateur national",
    )
    court_id: IdRef | None = Field(
        default=None,
        description="Tribunal du greffier (rôle court_clerk, qui n'a pas de SPIP)",
    )
    name: Name = Field(examples=["Camille Martin"])
    email: EmailStr = Field(examples=["camille.martin@justice.fr"])
    role: Role


class AgentUpdate(InputModel):
    name: Name | None = None
    email: EmailStr | None = None
    role: Role | None = None
    active: bool | None = None


class AgentCreated(AgentRead):
    activation_token: str = Field(
        description="Jeton d'activation à usage unique (72 h), à transmettre à l'agent ; "
        "il n'est montré qu'une fois"
    )


class ActivationTokenRead(ReadModel):
    agent_id: int
    activation_token: str
