"""Password hashing (Argon2id through argon2-cffi) and the password rules."""

from __future__ import annotations

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from zxcvbn import zxcvbn

from app.core.errors import Unprocessable

MIN_LENGTH = 12
MAX_LENGTH = 256
# argon2-cffi's defaults are the RFC 9106 "low memory" profile of Argon2id.
_hasher = PasswordHasher()
# Verifying against this keeps the timing of an unknown email equal to a wrong password.
_DUMMY_HASH = _hasher.hash("convoc-dummy-password-for-timing")


class WeakPassword(Unprocessable):
    code = "weak_password"
    message = "Mot de passe trop faible."


def hash_password(password: str) -> str:
    return _hasher.hash(password)


def verify_password(password_hash: str | None, password: str) -> bool:
    try:
        return _hasher.verify(password_hash or _DUMMY_HASH, password) and password_hash is not None
    except (VerificationError, InvalidHashError):
        return False


def needs_rehash(password_hash: str) -> bool:
    return _hasher.check_needs_rehash(password_hash)


def check_strength(password: str, *, user_inputs: list[str]) -> None:
    """At least 12 characters and not a common or guessable password (zxcvbn score ≥ 3)."""
    if len(password) < MIN_LENGTH:
        raise WeakPassword(
            f"Le mot de passe doit contenir au moins {MIN_LENGTH} caractères.", field="password"
        )
    if len(password) > MAX_LENGTH:
        raise WeakPassword("Mot de passe trop long.", field="password")
    words = [*user_inputs, "convoc", "spip", "justice", "probation", "motdepasse"]
    if zxcvbn(password, user_inputs=words)["score"] < 3:
        raise WeakPassword(
            "Ce mot de passe est trop courant ou trop facile à deviner : "
            "préférez une phrase de plusieurs mots.",
            field="password",
        )
