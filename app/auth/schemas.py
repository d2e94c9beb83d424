"""What the authentication routes read and answer.

``AgentRead`` is an agent's account as every route shows it: ``/auth/me`` and ``/auth/activate``
answer with it, and the agents domain builds on it (``app.agents.schemas``), so that this
package needs nothing from a domain above it.
"""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, Field

from app.core.schemas import InputModel, ReadModel
from app.models import Role


class AgentRead(ReadModel):
    id: int
    spip_id: int | None = Field(
        description="Absent pour un administrateur national et un greffier de tribunal"
    )
    court_id: int | None = Field(default=None, description="Tribunal d'un greffier (court_clerk)")
    name: str
    email: str
    role: Role
    active: bool
    created_at: datetime
    updated_at: datetime


class TokenRead(BaseModel):
    access_token: str
    token_type: str = "bearer"
    expires_in: int = Field(description="Secondes d'inactivité avant expiration")


class ActivationBody(InputModel):
    token: str = Field(min_length=10, max_length=200)
    password: str = Field(min_length=1, max_length=256)
