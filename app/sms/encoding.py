"""GSM 03.38 / UCS-2 choice and exact segment counting for SMS text. Pure functions, no I/O.

Counting rules (3GPP TS 23.038 / 23.040):

* A message is GSM-7 when every character is in the GSM 03.38 basic table or its extension
  table; one character outside switches the *whole* message to UCS-2.
* GSM-7 counts septets: basic characters cost 1, extension characters (escape 0x1B + code)
  cost 2. UCS-2 counts UTF-16 code units: characters beyond the BMP (emoji) cost 2.
* One segment holds 160 septets / 70 units. A longer message is split into parts of
  153 septets / 67 units (the rest of each part is the concatenation header). An escape
  sequence or a surrogate pair is never split across two parts, so a part may end short.
* Empty text counts as 1 segment: providers bill (and phones show) an empty SMS as one.
* ``analyze`` counts the text exactly as given (no normalisation): a decomposed "é"
  (e + U+0301) is UCS-2. Pass the text through ``to_gsm_friendly`` before sending.
* The lone ESCAPE character (U+001B) is the table switch, not a character one can send:
  it is in neither frozenset, so text containing it is counted as UCS-2.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Literal

Encoding = Literal["gsm7", "ucs2"]

# GSM 03.38 basic table, code points 0x00..0x7F in order (0x1B is the escape).
_BASIC_TABLE = (
    "@£$¥èéùìòÇ\nØø\rÅå"
    "Δ_ΦΓΛΩΠΨΣΘΞ\x1bÆæßÉ"
    " !\"#¤%&'()*+,-./"
    "0123456789:;<=>?"
    "¡ABCDEFGHIJKLMNO"
    "PQRSTUVWXYZÄÖÑÜ§"
    "¿abcdefghijklmno"
    "pqrstuvwxyzäöñüà"
)
_ESCAPE = "\x1b"

GSM7_BASIC: frozenset[str] = frozenset(_BASIC_TABLE) - {_ESCAPE}
"""Characters costing 1 septet."""
GSM7_EXTENSION: frozenset[str] = frozenset("\f^{}\\[~]|€")
"""Characters of the extension table, costing 2 septets (escape + code)."""
GSM7_ALPHABET: frozenset[str] = GSM7_BASIC | GSM7_EXTENSION

# (single-segment capacity, per-part capacity when concatenated)
_LIMITS: dict[Encoding, tuple[int, int]] = {"gsm7": (160, 153), "ucs2": (70, 67)}


@dataclass(frozen=True)
class SmsInfo:
    """Result of :func:`analyze`.

    ``units`` is septets for GSM-7 (extension characters count 2) or UTF-16 code units for
    UCS-2. ``remaining_in_segment`` is how many more 1-unit characters (a basic GSM character,
    or a BMP character for UCS-2) can be appended without adding a segment; it is computed by
    :func:`analyze` and ignored by ``==``.
    """

    encoding: Encoding
    segments: int
    units: int
    remaining_in_segment: int = field(default=0, compare=False)

    @property
    def chars_per_segment(self) -> int:
        """Capacity of one segment: 160/70 for a single SMS, 153/67 per part otherwise."""
        single, multi = _LIMITS[self.encoding]
        return single if self.segments <= 1 else multi


def _costs(text: str, encoding: Encoding) -> list[int]:
    if encoding == "gsm7":
        return [2 if ch in GSM7_EXTENSION else 1 for ch in text]
    return [2 if ord(ch) > 0xFFFF else 1 for ch in text]


def _pack(costs: Iterable[int], per_part: int) -> tuple[int, int]:
    """Fill parts greedily without splitting a 2-unit character; return (parts, last fill)."""
    parts, fill = 1, 0
    for cost in costs:
        if fill + cost > per_part:
            parts += 1
            fill = 0
        fill += cost
    return parts, fill


def is_gsm7(text: str) -> bool:
    """True when the whole text can be sent in the GSM 7-bit default alphabet."""
    return GSM7_ALPHABET.issuperset(text)


def _units(text: str, encoding: Encoding) -> int:
    # The same sum as ``_costs``, by string methods: this runs for every SMS sent.
    if encoding == "gsm7":
        return len(text) + sum(text.count(ch) for ch in GSM7_EXTENSION)
    return len(text.encode("utf-16-le", "surrogatepass")) // 2  # a lone surrogate: 1


def analyze(text: str) -> SmsInfo:
    """Encoding, exact unit count and segment count of ``text`` as it would be sent."""
    encoding: Encoding = "gsm7" if is_gsm7(text) else "ucs2"
    units = _units(text, encoding)
    single, multi = _LIMITS[encoding]
    if units <= single:
        return SmsInfo(encoding, 1, units, single - units)
    parts, fill = _pack(_costs(text, encoding), multi)
    return SmsInfo(encoding, parts, units, multi - fill)


# Replacements applied by ``to_gsm_friendly``: only characters outside GSM 03.38 that have a
# faithful GSM-7 equivalent. Accented letters that ARE in GSM 03.38 (é è ù ì ò à É Ç Ä Ö Ñ Ü
# ä ö ñ ü Å å Æ æ Ø ø ß) are absent on purpose and kept. The degree sign (°, as in "n°" or
# "20 °C") and the ordinal indicators º ª have no faithful equivalent and are kept: the message
# then goes UCS-2, which is correct, never garbled.
_REPLACEMENTS: dict[str, str] = {
    # apostrophes, primes and stray accents
    "’": "'", "‘": "'", "‚": "'", "‛": "'", "′": "'", "`": "'", "´": "'", "‹": "'", "›": "'",
    # double quotes and guillemets
    "“": '"', "”": '"', "„": '"', "‟": '"', "″": '"', "«": '"', "»": '"',
    # French letters outside GSM 03.38 (accent dropped, as any French SMS does)
    "â": "a", "ê": "e", "ë": "e", "î": "i", "ï": "i", "ô": "o", "û": "u", "ç": "c", "ÿ": "y",
    "À": "A", "Â": "A", "È": "E", "Ê": "E", "Ë": "E", "Î": "I", "Ï": "I", "Ô": "O",
    "Ù": "U", "Û": "U", "Ÿ": "Y", "Ì": "I", "Ò": "O",
    "œ": "oe", "Œ": "OE",
    # other Latin letters frequent in names
    "á": "a", "í": "i", "ó": "o", "ú": "u", "ý": "y", "ã": "a", "õ": "o",
    "Á": "A", "Í": "I", "Ó": "O", "Ú": "U", "Ý": "Y", "Ã": "A", "Õ": "O",
    # dashes, bullets, ellipsis
    "‐": "-", "‑": "-", "‒": "-", "–": "-", "—": "-", "―": "-", "−": "-", "•": "-",
    "…": "...",
    # spaces (no-break, narrow no-break, thin, em, ...) and tab
    "\t": " ", "\u00a0": " ", "\u1680": " ", "\u202f": " ", "\u205f": " ", "\u3000": " ",
    **{chr(cp): " " for cp in range(0x2000, 0x200B)},
    "\u2028": "\n", "\u2029": "\n",
    # invisible characters: soft hyphen, zero-width space, word joiner, BOM
    "\u00ad": "", "\u200b": "", "\u2060": "", "\ufeff": "",
}  # fmt: skip
_TABLE = str.maketrans(_REPLACEMENTS)


def to_gsm_friendly(text: str) -> str:
    """NFC-normalise ``text`` and replace characters that have a faithful GSM-7 equivalent.

    Characters with no faithful equivalent (°, emoji, other scripts) are kept unchanged, so the
    result is never lossy-garbled: it simply stays UCS-2. The function is idempotent.
    """
    result = unicodedata.normalize("NFC", text)
    while True:
        # A replacement can free a combining mark that then composes with the new base
        # letter ("â" + U+0302 -> "a" + U+0302 -> "â"): repeat until stable. Each extra pass
        # needs such a composition, which removes a combining mark, so this terminates.
        following = unicodedata.normalize("NFC", result.translate(_TABLE))
        if following == result:
            return result
        result = following


@dataclass(frozen=True)
class Ucs2Character:
    """A character that makes a text UCS-2, and its GSM-7 equivalent (``None``: there is none,
    as for « ° » or an emoji)."""

    char: str
    replacement: str | None


def gsm7_replacement(char: str) -> str | None:
    """The GSM-7 text ``to_gsm_friendly`` puts in place of ``char`` (``None`` when it keeps it:
    no faithful equivalent). For a character already in GSM-7, the character itself."""
    if char in GSM7_ALPHABET:
        return char
    replaced = to_gsm_friendly(char)
    return replaced if is_gsm7(replaced) else None


def ucs2_characters(text: str) -> list[Ucs2Character]:
    """The distinct characters of ``text`` outside GSM 03.38 (each forces the whole message to
    UCS-2), in their order of first appearance, each with its suggested replacement."""
    seen: dict[str, Ucs2Character] = {}
    for char in unicodedata.normalize("NFC", text):
        if char not in GSM7_ALPHABET and char not in seen:
            seen[char] = Ucs2Character(char, gsm7_replacement(char))
    return list(seen.values())
