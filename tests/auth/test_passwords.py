"""Password rules (guessable passwords refused) and hashing off the event loop."""

from __future__ import annotations

import asyncio
import threading
import time
from typing import Any

import httpx
import pytest
from sqlalchemy.ext.asyncio import AsyncSession

from app.auth import passwords
from app.auth.errors import WeakPassword
from app.auth.passwords import check_strength
from tests.factories import make_spip

# What the review typed, and the other guesses an attacker who knows the agent starts with.
GUESSABLE = [
    "Convoc-2026!",
    "Spip-92-2026",
    "Azerty-2026!",
    "Hauts-de-Seine1",
    "marie.dupont2026",
    "Marie.Dupont-2026!",
    "Dupont-Marie-1985",
    "Justice-Paris-75!",
    "Motdepasse-2027",
]
ACCEPTED = [
    "Quatre-chevaux-bleus-2027",
    "cheval bleu orage piano",
    "Lune-Verte-Piano-42",
    "kX9#mP2$vL7q",
    "8#4%2!9&1*3@",
]
MARIE = ["marie.dupont@hauts-de-seine.justice.fr", "Marie Dupont", "SPIP des Hauts-de-Seine", "92"]


@pytest.mark.parametrize("password", GUESSABLE)
def test_guessable_passwords_are_refused(password: str) -> None:
    with pytest.raises(WeakPassword) as refused:
        check_strength(password, user_inputs=MARIE)
    assert refused.value.code == "weak_password"
    assert "facile à deviner" in refused.value.detail


@pytest.mark.parametrize("password", ACCEPTED)
def test_passphrases_and_random_passwords_are_accepted(password: str) -> None:
    check_strength(password, user_inputs=MARIE)


def test_short_passwords_are_refused_whatever_their_characters() -> None:
    with pytest.raises(WeakPassword, match="au moins 12 caractères"):
        check_strength("kX9#mP2$vL7", user_inputs=MARIE)


async def test_activation_refuses_a_password_built_on_the_agents_spip(
    client: httpx.AsyncClient, session: AsyncSession
) -> None:
    """The SPIP's name and code are among the words zxcvbn is given."""
    spip = await make_spip(session, name="SPIP de la Moselle", code="SPIP57")
    await session.commit()
    created = await client.post(
        "/agents",
        json={"spip_id": spip.id, "name": "Léa Martin", "email": "lea@justice.fr", "role": "cpip"},
    )
    token = created.json()["activation_token"]
    for guess in ("Moselle-Spip57-2026", "Lea-Martin-Moselle"):
        refused = await client.post("/auth/activate", json={"token": token, "password": guess})
        assert refused.status_code == 422, guess
        assert refused.json()["error"] == "weak_password"
        assert refused.json()["fields"][0]["field"] == "password"


async def test_verifying_a_password_leaves_the_event_loop_free() -> None:
    """While a hash is checked, other requests' coroutines run: the check is in a thread."""
    digest = passwords.hash_now("Quatre-chevaux-bleus-2027")
    others_ran = asyncio.Event()

    async def other_request() -> None:
        others_ran.set()

    async def check() -> bool:
        ok = await passwords.verify_password(digest, "Quatre-chevaux-bleus-2027")
        # Had the verification blocked the loop, it would have finished before the other task
        # got its first turn.
        assert others_ran.is_set()
        return ok

    check_task = asyncio.create_task(check())
    other = asyncio.create_task(other_request())
    assert await check_task is True
    await other


async def test_hashing_is_bounded_so_a_login_flood_keeps_cores_free(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    running = peak = 0
    lock = threading.Lock()

    def slow_verify(*_: Any) -> bool:
        nonlocal running, peak
        with lock:
            running += 1
            peak = max(peak, running)
        time.sleep(0.02)  # long enough for the others to pile up, if nothing held them back
        with lock:
            running -= 1
        return False

    monkeypatch.setattr(passwords, "_verify", slow_verify)
    results = await asyncio.gather(*(passwords.verify_password(None, "x") for _ in range(12)))
    assert results == [False] * 12
    assert peak == passwords.HASHING_CONCURRENCY
