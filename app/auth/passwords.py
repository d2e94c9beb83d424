"""Password hashing (Argon2id through argon2-cffi) and the password rules.

Hashing and verifying take tens of milliseconds of CPU by design: they run in worker threads,
at most ``HASHING_CONCURRENCY`` at a time, so a flood of logins waits its turn instead of
stopping the event loop (and every other agent's request) or taking every core.

The rule follows ANSSI's guide on passwords (2021) and the CNIL's recommendation (délibération
2022-100): at least 12 characters, and no composition rule (users defeat "one digit, one
symbol" predictably: ``Convoc-2026!``). Instead, zxcvbn estimates how many guesses an attacker
who knows the agent needs; we give it that knowledge — e-mail, name, SPIP, the words of the
trade — and ask for 10¹⁰ guesses (zxcvbn's top score) twice: for the password, and for what is
left of it once those words and years are taken out. The second test is why ``Spip-92-2026``
and ``Dupont-Marie-1985`` are refused: zxcvbn prices each known word on its own, so a few of
them joined score well although nothing in them is secret.
"""

from __future__ import annotations

import os
import re
import unicodedata
from collections.abc import Iterable

import anyio
from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from zxcvbn import zxcvbn

from app.auth.errors import WeakPassword

MIN_LENGTH = 12
MAX_LENGTH = 256
# 10^10 guesses: zxcvbn's score 4, "very unguessable".
MIN_GUESSES_LOG10 = 10.0
# Words anyone trying to guess an agent's password starts with.
TRADE_WORDS = (
    "convoc",
    "spip",
    "justice",
    "probation",
    "cpip",
    "dpip",
    "greffe",
    "tribunal",
    "ministere",
    "motdepasse",
    "password",
    "azerty",
    "qwerty",
    "bonjour",
    "soleil",
    "france",
)
# Half the cores, at least one: each Argon2id hash runs four lanes.
HASHING_CONCURRENCY = max(1, (os.cpu_count() or 2) // 2)
# argon2-cffi's defaults are the RFC 9106 "low memory" profile of Argon2id.
_hasher = PasswordHasher()
# Verifying against this keeps the timing of an unknown email equal to a wrong password.
_DUMMY_HASH = _hasher.hash("convoc-dummy-password-for-timing")
_limiter = anyio.CapacityLimiter(HASHING_CONCURRENCY)
_YEAR = r"(?:19|20)\d\d"


def hash_now(password: str) -> str:
    """Hash in the calling thread: for the command line and the demo loader, not requests."""
    return _hasher.hash(password)


async def hash_password(password: str) -> str:
    return await anyio.to_thread.run_sync(_hasher.hash, password, limiter=_limiter)


def _verify(password_hash: str | None, password: str) -> bool:
    try:
        return _hasher.verify(password_hash or _DUMMY_HASH, password) and password_hash is not None
    except (VerificationError, InvalidHashError):
        return False


async def verify_password(password_hash: str | None, password: str) -> bool:
    return await anyio.to_thread.run_sync(_verify, password_hash, password, limiter=_limiter)


def needs_rehash(password_hash: str) -> bool:
    return _hasher.check_needs_rehash(password_hash)


def personal_words(*values: str | None) -> list[str]:
    """What an attacker knows of an agent (e-mail, name, SPIP name and code), whole and in
    pieces: ``marie.dupont@…`` gives ``marie.dupont``, ``marie``, ``dupont``…"""
    words: list[str] = []
    for value in filter(None, values):
        words.append(value)
        words += re.split(r"[\s.@_+']+", value)  # keeps "hauts-de-seine" whole
        words += re.split(r"[\s.@_+'\-]+", value)
    folded = [unicodedata.normalize("NFKD", w).encode("ascii", "ignore").decode() for w in words]
    return [w for w in dict.fromkeys(w.lower() for w in [*words, *folded]) if w]


def _without_known_words(password: str, words: Iterable[str]) -> str:
    # Short pieces ("de") would cut into any word; a short number (a department) is kept.
    known = sorted({w for w in words if len(w) >= 3 or w.isdigit()}, key=len, reverse=True)
    pattern = "|".join([*map(re.escape, known), _YEAR])
    return re.sub(pattern, "", password, flags=re.IGNORECASE)


def check_strength(password: str, *, user_inputs: list[str]) -> None:
    """At least 12 characters, and hard to guess even for someone who knows the agent."""
    if len(password) < MIN_LENGTH:
        raise WeakPassword(
            f"Le mot de passe doit contenir au moins {MIN_LENGTH} caractères.", field="password"
        )
    if len(password) > MAX_LENGTH:
        raise WeakPassword("Mot de passe trop long.", field="password")
    words = [*personal_words(*user_inputs), *TRADE_WORDS]
    rest = _without_known_words(password, words)
    for candidate in (password, rest):
        # zxcvbn's cost grows fast with length; past 100 characters nothing is guessable anyway.
        estimate = zxcvbn(candidate[:100] or " ", user_inputs=words)
        if estimate["guesses_log10"] < MIN_GUESSES_LOG10:
            raise WeakPassword(
                "Ce mot de passe est trop facile à deviner : il ne doit reposer ni sur votre nom, "
                "votre adresse, votre SPIP ou une année, ni sur un mot courant. Préférez une "
                "phrase d'au moins quatre mots sans rapport avec vous.",
                field="password",
            )
