from typing import ClassVar

from app.core.errors import AppError, Conflict, NotFound, Unprocessable


class AgentNotFound(NotFound):
    code = "agent_not_found"
    message = "Agent introuvable."


class EmailTaken(Conflict):
    code = "email_taken"
    message = "Un agent utilise déjà cette adresse électronique."


class AgentNotInSpip(Unprocessable):
    code = "agent_not_in_spip"
    message = "Cet agent n'appartient pas au SPIP concerné."


class SpipRequired(Unprocessable):
    code = "spip_required"
    message = "Seul un administrateur national peut n'appartenir à aucun SPIP."


class Unauthenticated(AppError):
    code = "unauthenticated"
    status_code = 401
    message = "Authentification requise : connectez-vous."
    headers: ClassVar[dict[str, str]] = {"WWW-Authenticate": "Bearer"}


class InvalidCredentials(AppError):
    # Never says whether the email exists, nor whether the account is locked.
    code = "invalid_credentials"
    status_code = 401
    message = "Identifiants invalides, ou compte temporairement verrouillé."
    headers: ClassVar[dict[str, str]] = {"WWW-Authenticate": "Bearer"}


class TooManyAttempts(AppError):
    code = "too_many_attempts"
    status_code = 429
    message = "Trop de tentatives de connexion depuis cette adresse : réessayez plus tard."

    def __init__(self, retry_after_seconds: int) -> None:
        minutes = -(-retry_after_seconds // 60)
        super().__init__(
            "Trop de tentatives de connexion depuis cette adresse : réessayez dans "
            f"{minutes} minute{'s' if minutes > 1 else ''}."
        )
        self.retry_after_seconds = retry_after_seconds

    def response_headers(self) -> dict[str, str]:
        return {"Retry-After": str(self.retry_after_seconds)}


class InvalidActivationToken(AppError):
    code = "invalid_activation_token"
    status_code = 400
    message = "Lien d'activation invalide, expiré ou déjà utilisé."
