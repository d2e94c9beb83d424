"""What the account commands of ``python -m app`` do (kept out of cli.py to stay importable)."""

from __future__ import annotations

import typer
from pydantic import EmailStr, TypeAdapter, ValidationError
from sqlalchemy import select

from app.auth import service as auth_service
from app.config import Settings
from app.core.errors import AppError
from app.db import create_engine, create_sessionmaker, session_scope
from app.models import Agent, Role


async def create_admin(settings: Settings, *, email: str, password: str, name: str) -> str:
    try:
        email = TypeAdapter(EmailStr).validate_python(email).lower()
    except ValidationError as exc:
        raise typer.BadParameter("Adresse électronique invalide.") from exc
    engine = create_engine(settings)
    try:
        async with session_scope(create_sessionmaker(engine)) as session:
            if await session.scalar(select(Agent.id).where(Agent.email == email)):
                raise typer.BadParameter("Un agent utilise déjà cette adresse.")
            agent = Agent(name=name, email=email, role=Role.admin.value)
            session.add(agent)
            await session.flush()
            try:
                await auth_service.set_password(session, agent, password)
            except AppError as exc:
                raise typer.BadParameter(exc.detail) from exc
            agent_id = agent.id
    finally:
        await engine.dispose()
    return f"Administrateur national créé (agent {agent_id}) : connectez-vous avec {email}."


async def activation_token(settings: Settings, *, email: str) -> str:
    engine = create_engine(settings)
    try:
        async with session_scope(create_sessionmaker(engine)) as session:
            agent = await session.scalar(select(Agent).where(Agent.email == email.strip().lower()))
            if agent is None:
                raise typer.BadParameter("Aucun agent avec cette adresse.")
            token = await auth_service.issue_activation(session, agent, settings)
    finally:
        await engine.dispose()
    return (
        f"Jeton d'activation (valable {settings.activation_token_hours} h, usage unique) :\n"
        f"{token}\n"
        'À utiliser avec POST /api/v1/auth/activate {"token": …, "password": …}.'
    )
