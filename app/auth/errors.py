"""The errors of authentication and access (401, 403, 429, 400) and of the password rule."""

from typing import ClassVar

from app.core.errors import AppError, Unprocessable


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


class Forbidden(AppError):
    code = "forbidden"
    status_code = 403
    message = "Votre rôle ne permet pas cette action."


class WeakPassword(Unprocessable):
    code = "weak_password"
    message = "Mot de passe trop faible."
