"""The error body every route may answer with, declared so the OpenAPI document is honest."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, Field


class FieldError(BaseModel):
    field: str = Field(description="Champ en cause, par ex. body.starts_at")
    code: str
    message: str


class ErrorBody(BaseModel):
    error: str = Field(description="Code stable, lisible par une machine", examples=["not_found"])
    detail: str = Field(description="Message en français pour l'agent")
    fields: list[FieldError] | None = None


_DESCRIPTIONS = {
    400: "Requête invalide",
    401: "Authentification requise",
    403: "Action non autorisée",
    404: "Ressource introuvable",
    409: "Transition ou action interdite dans l'état actuel",
    413: "Requête trop volumineuse",
    422: "Données invalides",
    429: "Trop de tentatives",
    503: "Service momentanément indisponible",
}


def error_responses(*statuses: int) -> dict[int | str, dict[str, Any]]:
    return {s: {"model": ErrorBody, "description": _DESCRIPTIONS[s]} for s in statuses}
