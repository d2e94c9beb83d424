from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Request, status
from fastapi.security import OAuth2PasswordRequestForm

from app.auth import service
from app.auth.access import Permission as P
from app.auth.dependencies import PUBLIC, Allowed, client_address
from app.auth.errors import InvalidCredentials
from app.auth.schemas import ActivationBody, AgentRead, TokenRead
from app.core.responses import error_responses
from app.db import SessionDep
from app.models import Agent

router = APIRouter(prefix="/auth", tags=["Authentification"])


@router.post(
    "/token",
    response_model=TokenRead,
    dependencies=[PUBLIC],
    responses=error_responses(401, 422, 429),
)
async def login(
    request: Request,
    session: SessionDep,
    form: Annotated[OAuth2PasswordRequestForm, Depends()],
) -> TokenRead:
    """Log in with an email (``username``) and a password; returns an opaque bearer token."""
    issued = await service.login(
        session,
        email=form.username,
        password=form.password,
        client=client_address(request),
        settings=request.app.state.settings,
    )
    if issued is None:
        # The failure must count (lock-out, rate limit, audit) although the answer is an error.
        await session.commit()
        raise InvalidCredentials()
    return TokenRead(access_token=issued.token, expires_in=issued.expires_in)


@router.post("/logout", status_code=status.HTTP_204_NO_CONTENT, responses=error_responses(401))
async def logout(
    request: Request,
    agent: Annotated[Agent, Depends(Allowed(P.own_account))],
    session: SessionDep,
) -> None:
    """Revoke the token used for this request."""
    await service.logout(session, request.state.token_row, agent)


@router.get("/me", response_model=AgentRead, responses=error_responses(401))
async def me(agent: Annotated[Agent, Depends(Allowed(P.own_account))]) -> AgentRead:
    return AgentRead.model_validate(agent)


@router.post(
    "/activate",
    response_model=AgentRead,
    dependencies=[PUBLIC],
    responses=error_responses(400, 422),
)
async def activate(request: Request, body: ActivationBody, session: SessionDep) -> AgentRead:
    """Set the password of a new account with its one-time activation token."""
    agent = await service.activate(
        session, token=body.token, password=body.password, settings=request.app.state.settings
    )
    return AgentRead.model_validate(agent)
