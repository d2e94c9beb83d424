"""The alphanumeric sender shown instead of a number (« SPIP92 », « JUSTICE »…).

French operators refuse application traffic sent from 06/07 numbers, so Convoc always sends
from an alphanumeric sender. The rules below are the intersection of what the operators and
our providers accept: 3 to 11 characters (Brevo's documented minimum and maximum), ASCII
letters and digits with optional inner spaces, dots or hyphens, and at least one letter (a
digits-only sender would be read as a phone number). Accents are refused: some networks
drop or garble them in the sender field.
"""

from __future__ import annotations

import re
from typing import Final

SENDER_MIN_LENGTH: Final = 3
SENDER_MAX_LENGTH: Final = 11

_SENDER_SHAPE: Final = re.compile(r"[A-Za-z0-9](?:[A-Za-z0-9 .\-]*[A-Za-z0-9])?")
_HAS_LETTER: Final = re.compile(r"[A-Za-z]")


class InvalidSender(ValueError):
    """The sender breaks the rules above; the message is in French, for agents."""


def validate_sender(value: str) -> str:
    """``value`` stripped, if it is a valid alphanumeric sender; else ``InvalidSender``."""
    sender = value.strip()
    if not SENDER_MIN_LENGTH <= len(sender) <= SENDER_MAX_LENGTH:
        raise InvalidSender(
            f"L'expéditeur SMS doit compter de {SENDER_MIN_LENGTH} à {SENDER_MAX_LENGTH} "
            f"caractères (« {sender} » en compte {len(sender)})."
        )
    if not _SENDER_SHAPE.fullmatch(sender):
        raise InvalidSender(
            "L'expéditeur SMS ne peut contenir que des lettres sans accent, des chiffres, "
            "et des espaces, points ou tirets entre eux."
        )
    if not _HAS_LETTER.search(sender):
        raise InvalidSender(
            "L'expéditeur SMS doit contenir au moins une lettre : "
            "un expéditeur fait seulement de chiffres serait pris pour un numéro."
        )
    return sender
