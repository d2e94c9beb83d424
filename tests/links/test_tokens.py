"""The token of a link: 128 bits, derived from the row's nonce under the secret, never stored."""

from __future__ import annotations

import base64

from app.links import tokens


def test_a_token_holds_128_bits_in_22_url_safe_characters() -> None:
    token = tokens.token_for("s" * 40, tokens.new_nonce())
    assert len(token) == tokens.TOKEN_LENGTH == 22
    assert tokens.well_formed(token)
    assert len(base64.urlsafe_b64decode(token + "==")) == 16  # 128 bits


def test_the_same_nonce_gives_the_same_link_and_another_secret_another() -> None:
    nonce = tokens.new_nonce()
    assert tokens.token_for("a" * 40, nonce) == tokens.token_for("a" * 40, nonce)
    assert tokens.token_for("a" * 40, nonce) != tokens.token_for("b" * 40, nonce)
    assert tokens.token_for("a" * 40, nonce) != tokens.token_for("a" * 40, tokens.new_nonce())


def test_nonces_do_not_repeat() -> None:
    assert len({tokens.new_nonce() for _ in range(1000)}) == 1000


def test_only_the_token_shape_is_looked_up() -> None:
    assert not tokens.well_formed("x" * 21)
    assert not tokens.well_formed("x" * 23)
    assert not tokens.well_formed("x" * 21 + "/")
    assert not tokens.well_formed("")


def test_the_stored_hash_is_not_the_token_and_the_stop_proof_is_bound_to_it() -> None:
    token = tokens.token_for("s" * 40, tokens.new_nonce())
    assert len(tokens.token_hash(token)) == 64 and token not in tokens.token_hash(token)
    other = tokens.token_for("s" * 40, tokens.new_nonce())
    assert tokens.stop_proof("s" * 40, token) != tokens.stop_proof("s" * 40, other)
    assert tokens.stop_proof("s" * 40, token) != tokens.stop_proof("t" * 40, token)


def test_the_link_is_short() -> None:
    url = tokens.link_url("https://convoc.justice.fr/", "A" * 22)
    assert url == "https://convoc.justice.fr/c/" + "A" * 22
    assert len(tokens.sample_url("https://convoc.justice.fr")) == len(url)


def test_a_link_token_never_reaches_a_log() -> None:
    from app.logging import redact_path, redact_text

    token = tokens.token_for("s" * 40, tokens.new_nonce())
    assert redact_path(f"/c/{token}") == "/c/***"
    assert redact_path(f"/c/{token}/stop?info=stop") == "/c/***/stop"
    assert redact_path(f"//C%2F{token}/calendrier.ics") == "/c/***/calendrier.ics"
    assert token not in redact_text(f'"GET /c/{token} HTTP/1.1" 404')
    assert redact_path("/convocations/12") == "/convocations/12"
