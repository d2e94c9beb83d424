"""Which received texts are a STOP: pure, so the list is easy to read and to test.

Conservative on purpose: a refusal stops every SMS, convocations included, so only a message
that is nothing but a stop keyword is one. Accents, case, spaces, punctuation and digits are
ignored (« Stop. », « STOP ! », « arrêt », « STOP SMS », « stop 36180 »); anything more
(« stop merci », « arrêtez de m'écrire ») is a reply the referent reads, and records the
refusal from if that is what the person meant. French operators and providers use STOP
(and « STOP SMS »); ARRET is the usual French variant, UNSUBSCRIBE/DESABONNER the English and
French words some phones send for a link's opt-out.
"""

from __future__ import annotations

import unicodedata
from typing import Final

STOP_KEYWORDS: Final = frozenset(
    {
        "STOP",
        "STOPSMS",
        "SMSSTOP",
        "ARRET",
        "ARRETSMS",
        "ARRETER",
        "STOPPER",
        "DESABONNER",
        "DESINSCRIRE",
        "DESINSCRIPTION",
        "UNSUBSCRIBE",
    }
)


def fold(text: str) -> str:
    """``text`` in capitals, without accents, and with letters only."""
    decomposed = unicodedata.normalize("NFKD", text)
    return "".join(c for c in decomposed if c.isascii() and c.isalpha()).upper()


def is_stop(text: str) -> bool:
    """Whether ``text`` is a request to receive no more SMS (see the module docstring)."""
    return fold(text) in STOP_KEYWORDS
