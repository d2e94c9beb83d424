"""Mobile phone numbers for SMS: normalisation to E.164 and masking for logs.

A followed person's number is stored in E.164 (``+594694123456``) and must be a
mobile: SMS cannot reach a landline, a VoIP "box" line (09) or a special-rate
number. ``phonenumbers`` types ``MOBILE`` and ``FIXED_LINE_OR_MOBILE`` (used
where the numbering plan cannot tell them apart, e.g. some Wallis-et-Futuna and
Saint-Pierre-et-Miquelon ranges) count as mobile.

Reading a number typed in national form
---------------------------------------
Agents type numbers as people give them: ``0694 12 34 56``, ``06.12.34.56.78``,
``+594 694…``, ``00 594 694…``. A national number only means something together
with a region, so it is read with several regions in turn, and the first
reading that is a *valid mobile* wins:

1. the SPIP's own region;
2. then FR, GF, RE, YT, GP, MQ: metropolitan France and the overseas
   départements, whose national numbers are 10 digits starting with the trunk
   prefix 0. Many overseas residents keep a metropolitan ``06``/``07``, and a
   Guyane mobile may well be typed in a SPIP of the Hexagone.

The mobile ranges of these regions do not overlap (checked against the
phonenumbers metadata: ``0639``/``0692``/``0693`` are +262 whether read as RE or
YT, ``0690``/``0691`` are GP, ``0694`` GF, ``0696``/``0697`` MQ, and the
``0709 xx`` blocks are split between the five DOM), so the order only matters
for numbers that are invalid anyway: the result is deterministic.

Trade-off — the short closed plans are *not* in the fallback list. Saint-Pierre-
et-Miquelon (PM, 6 digits), Nouvelle-Calédonie (NC, 6), Wallis-et-Futuna (WF, 6)
and Polynésie française (PF, 8) have no trunk 0, so any 6- or 8-digit string is
a plausible number there. Reading them everywhere would turn a metropolitan
number typed with digits missing into a number in Nouméa or Papeete, and the
convocation reminder would go to a stranger. Their national form is therefore
only read when the SPIP itself is in that region; anywhere else they must be
typed with their country code: ``+508``/``+687``/``+681``/``+689`` or ``00508``…

Saint-Martin (MF) and Saint-Barthélemy (BL) share +590 with Guadeloupe, and
phonenumbers reports their mobiles as GP numbers. A SPIP whose region is MF or
BL therefore still accepts ``0690 12 34 56``: its own reading already yields
``+590690123456``, and GP is in the fallback list anyway.

Anything that is a valid number in some reading but a mobile in none (``01 23 45
67 89``, ``0594 …`` in Guyane, ``0262 …`` in Réunion, ``0800 …``, ``09 …``) raises
:class:`PhoneNotMobile`; everything else raises :class:`InvalidPhone`. A number
typed with an explicit ``+CC``/``00CC`` is read once, whatever the SPIP, and any
valid mobile is accepted (including a foreign one).

Input hygiene
-------------
Before parsing, the input is capped (``_MAX_INPUT_CHARS``) and reduced to an
optional leading ``+`` and digits. Only digits (any Unicode decimal digit),
whitespace, ``. - / ( )``, dash variants and invisible formatting characters
(bidi marks that phones add when copying a number) are allowed. Letters are
refused outright: phonenumbers would otherwise read ``06 12 34 ABCD`` as a
vanity number (A=2, B=2…) and silently drop extensions (``… ext 5``,
``;ext=12``).

Masking
-------
:func:`mask_phone` keeps the country code and the last two digits and replaces
the rest with a fixed run of six ``•`` (U+2022), whatever the number's length:
``+33612345678`` -> ``+33••••••78``.
"""

from __future__ import annotations

import re
import unicodedata
from typing import Final

import phonenumbers
from phonenumbers import NumberParseException, PhoneNumber, PhoneNumberFormat, PhoneNumberType

from app.core.errors import Unprocessable

__all__ = [
    "SUPPORTED_REGIONS",
    "InvalidPhone",
    "PhoneNotMobile",
    "mask_phone",
    "normalize_mobile",
]

SUPPORTED_REGIONS: Final[frozenset[str]] = frozenset(
    {"FR", "GF", "RE", "YT", "GP", "MQ", "MF", "BL", "PM", "PF", "NC", "WF"}
)

# Read after the SPIP's own region: France and the DOM (10-digit numbers with a trunk 0).
# PM, PF, NC and WF are deliberately absent: see the module docstring.
_FALLBACK_REGIONS: Final[tuple[str, ...]] = ("FR", "GF", "RE", "YT", "GP", "MQ")

_MOBILE_TYPES: Final[frozenset[int]] = frozenset(
    {PhoneNumberType.MOBILE, PhoneNumberType.FIXED_LINE_OR_MOBILE}
)

# "+33 (0)6 12 34 56 78" is 20 characters; generous room for odd spacing, but a bound.
_MAX_INPUT_CHARS: Final = 64
# E.164 allows 15 digits; "00" + 15 digits, plus the "(0)" some people add after the code.
_MAX_DIGITS: Final = 18

_SEPARATORS: Final[frozenset[str]] = frozenset(
    ".-/()"
    "\u2010\u2011\u2012\u2013\u2014\u2212"  # hyphens, figure/en/em dashes, minus sign
    "\uff0d\uff0e\uff0f"  # fullwidth hyphen-minus, full stop, solidus
)

_MASK: Final = "•" * 6
_E164_SHAPE: Final = re.compile(r"\+[0-9]{1,17}")


class InvalidPhone(Unprocessable):
    code = "invalid_phone"
    message = (
        "Numéro de téléphone invalide. Saisissez un numéro de mobile complet, par exemple "
        "06 12 34 56 78, ou avec l'indicatif du pays (+689 87 12 34 56)."
    )


class PhoneNotMobile(Unprocessable):
    code = "phone_not_mobile"
    message = (
        "Ce numéro n'est pas un numéro de mobile (ligne fixe ou numéro spécial) : "
        "il ne peut pas recevoir de SMS. Saisissez un numéro de mobile."
    )


def normalize_mobile(raw: str, spip_region: str) -> str:
    """Return ``raw`` as an E.164 mobile number, reading national forms as the SPIP would.

    ``spip_region`` is the SPIP's region code (one of :data:`SUPPORTED_REGIONS`);
    an unknown region is a configuration bug and raises ``ValueError``.

    Raises :class:`PhoneNotMobile` for a valid number that is not a mobile in any
    reading and :class:`InvalidPhone` for anything else that is not a valid mobile.
    """
    region = spip_region.strip().upper()
    if region not in SUPPORTED_REGIONS:
        raise ValueError(f"unsupported SPIP region: {spip_region!r}")

    cleaned = _clean(raw)
    regions: tuple[str | None, ...]
    if cleaned.startswith("+"):
        regions = (None,)  # the country code says it all
    else:
        regions = tuple(dict.fromkeys((region, *_FALLBACK_REGIONS)))

    seen_valid = False
    for reading_region in regions:
        try:
            number = phonenumbers.parse(cleaned, reading_region)
        except NumberParseException:
            continue
        if not phonenumbers.is_valid_number(number):
            continue
        if phonenumbers.number_type(number) in _MOBILE_TYPES:
            return _e164(number)
        seen_valid = True

    if seen_valid:
        raise PhoneNotMobile(field="phone")
    raise InvalidPhone(field="phone")


def mask_phone(e164: str | None) -> str:
    """Mask a number for logs: country code and last two digits, ``+33••••••78``; ``None`` -> ``-``.

    Never raises. A value that is not E.164 keeps only its last two digits
    (``••••••78``), and a number too short to hide anything shows none.
    """
    if not e164:
        return "-"
    digits = "".join(ch for ch in e164 if "0" <= ch <= "9")
    prefix = ""
    national = digits
    if _E164_SHAPE.fullmatch(e164):
        try:
            country_code = phonenumbers.parse(e164, None).country_code
        except NumberParseException:
            country_code = None
        if country_code:
            prefix = f"+{country_code}"
            national = digits[len(str(country_code)) :]
    tail = national[-2:] if len(national) >= 4 else ""
    return f"{prefix}{_MASK}{tail}"


def _clean(raw: str) -> str:
    """Reduce ``raw`` to ``[+]digits`` or raise :class:`InvalidPhone`; never anything else."""
    if not isinstance(raw, str) or len(raw) > _MAX_INPUT_CHARS:
        raise InvalidPhone(field="phone")
    out: list[str] = []
    for ch in raw:
        if ch.isdecimal():
            out.append(str(unicodedata.decimal(ch)))
        elif ch in "+\uff0b":  # a plus sign only before the first digit, once
            if out:
                raise InvalidPhone(field="phone")
            out.append("+")
        elif ch.isspace() or ch in _SEPARATORS or unicodedata.category(ch) == "Cf":
            continue
        else:
            raise InvalidPhone(field="phone")
    cleaned = "".join(out)
    digit_count = len(cleaned.lstrip("+"))
    if digit_count == 0 or digit_count > _MAX_DIGITS:
        raise InvalidPhone(field="phone")
    return cleaned


def _e164(number: PhoneNumber) -> str:
    return phonenumbers.format_number(number, PhoneNumberFormat.E164)
