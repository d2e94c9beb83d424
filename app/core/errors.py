"""Domain errors: a machine-readable code, a French message for agents, an HTTP status.

Services raise these; one exception handler (``app.main``) renders them as
``{"error": code, "detail": message}``. Services never import FastAPI.
"""

from __future__ import annotations

from typing import Any, ClassVar


class AppError(Exception):
    code: ClassVar[str] = "error"
    status_code: ClassVar[int] = 400
    message: ClassVar[str] = "Requête invalide."
    headers: ClassVar[dict[str, str]] = {}

    def __init__(self, message: str | None = None, **extra: Any) -> None:
        self.detail = message or self.message
        self.extra = extra
        super().__init__(self.detail)

    def response_headers(self) -> dict[str, str]:
        """Headers of the answer: the class's, or computed for this error (``Retry-After``)."""
        return self.headers


class NotFound(AppError):
    code = "not_found"
    status_code = 404
    message = "Ressource introuvable."


class Conflict(AppError):
    """The request is well-formed but the resource's state forbids it."""

    code = "conflict"
    status_code = 409
    message = "Cette action n'est pas possible dans l'état actuel."


class Unprocessable(AppError):
    """A business validation that pydantic cannot express (it needs the database or the clock)."""

    code = "validation_error"
    status_code = 422
    message = "Données invalides."

    def __init__(self, message: str | None = None, *, field: str | None = None, **extra: Any):
        super().__init__(message, **extra)
        if field is not None:
            self.extra.setdefault(
                "fields", [{"field": field, "code": self.code, "message": self.detail}]
            )


class ServiceUnavailable(AppError):
    code = "service_unavailable"
    status_code = 503
    message = "Le service est momentanément indisponible. Réessayez dans quelques instants."


class CommitFailed(ServiceUnavailable):
    """The database refused or lost the commit: the client must not believe the write stored."""

    code = "commit_failed"
    message = (
        "L'enregistrement n'a pas pu être confirmé par la base de données. Vérifiez s'il "
        "apparaît avant de recommencer."
    )
    headers: ClassVar[dict[str, str]] = {"Retry-After": "2"}
