"""Phone normalisation for SMS: every territory of CONTEXT.md, fallbacks, refusals, masking.

Pure tests: no database, no I/O. Numbers were checked against phonenumbers 9.0.43.
"""

from __future__ import annotations

import re

import phonenumbers
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from app.core.errors import Unprocessable
from app.persons.phones import (
    SUPPORTED_REGIONS,
    InvalidPhone,
    PhoneNotMobile,
    mask_phone,
    normalize_mobile,
)

# (SPIP region, country code, national form as people type it, expected E.164)
TERRITORIES: list[tuple[str, int, str, str]] = [
    ("FR", 33, "06 12 34 56 78", "+33612345678"),
    ("FR", 33, "07 81 23 45 67", "+33781234567"),
    ("GF", 594, "0694 12 34 56", "+594694123456"),
    ("GF", 594, "0709 30 12 34", "+594709301234"),
    ("RE", 262, "0692 12 34 56", "+262692123456"),
    ("RE", 262, "0693 00 12 34", "+262693001234"),
    ("RE", 262, "0709 20 12 34", "+262709201234"),
    ("YT", 262, "0639 01 23 45", "+262639012345"),
    ("YT", 262, "0709 35 12 34", "+262709351234"),
    ("GP", 590, "0690 12 34 56", "+590690123456"),
    ("GP", 590, "0691 22 12 34", "+590691221234"),
    ("GP", 590, "0709 00 12 34", "+590709001234"),
    ("MF", 590, "0690 12 34 56", "+590690123456"),
    ("BL", 590, "0690 12 34 56", "+590690123456"),
    ("MQ", 596, "0696 12 34 56", "+596696123456"),
    ("MQ", 596, "0697 12 34 56", "+596697123456"),
    ("MQ", 596, "0709 10 12 34", "+596709101234"),
    ("PM", 508, "55 12 34", "+508551234"),
    ("PF", 689, "87 12 34 56", "+68987123456"),
    ("PF", 689, "89 12 34 56", "+68989123456"),
    ("NC", 687, "75 12 34", "+687751234"),
    ("NC", 687, "51 23 45", "+687512345"),
    ("WF", 681, "82 12 34", "+681821234"),
]
TERRITORY_IDS = [f"{region}-{national.replace(' ', '')}" for region, _, national, _ in TERRITORIES]

DOM_REGIONS = ["GF", "RE", "YT", "GP", "MQ", "MF", "BL"]
SHORT_PLAN_REGIONS = ["PM", "PF", "NC", "WF"]


def _pairs(digits: str) -> str:
    """'0694123456' -> '06 94 12 34 56'; '551234' -> '55 12 34'."""
    return " ".join(digits[i : i + 2] for i in range(0, len(digits), 2))


def _national_variants(national: str) -> list[str]:
    digits = national.replace(" ", "")
    return [
        national,
        digits,
        _pairs(digits),
        _pairs(digits).replace(" ", "."),
        _pairs(digits).replace(" ", "-"),
        f"  {national}  ",
        national.replace(" ", "\u00a0"),  # non-breaking spaces, as pasted from a document
        f"\u202a{national}\u202c",  # bidi marks, as copied from a phone's contact card
    ]


def _international_variants(cc: int, national: str) -> list[str]:
    digits = national.replace(" ", "")
    nsn = digits.removeprefix("0")  # the significant number, without the trunk 0
    variants = [
        f"+{cc}{nsn}",
        f"+{cc} {nsn}",
        f"+{cc} {_pairs(nsn)}",
        f"+{cc}.{_pairs(nsn).replace(' ', '.')}",
        f"00{cc}{nsn}",
        f"00 {cc} {_pairs(nsn)}",
        f"00-{cc}-{_pairs(nsn).replace(' ', '-')}",
    ]
    if digits.startswith("0"):
        variants.append(f"+{cc} (0){nsn}")
    return variants


def _code(exc: pytest.ExceptionInfo[Unprocessable]) -> str:
    return exc.value.code


# --- every territory -------------------------------------------------------------------------


@pytest.mark.parametrize(("region", "cc", "national", "e164"), TERRITORIES, ids=TERRITORY_IDS)
def test_national_forms_read_with_the_spip_region(
    region: str, cc: int, national: str, e164: str
) -> None:
    for raw in _national_variants(national):
        assert normalize_mobile(raw, region) == e164, raw
    parsed = phonenumbers.parse(e164, None)
    assert phonenumbers.is_valid_number(parsed)
    assert parsed.country_code == cc


@pytest.mark.parametrize(("region", "cc", "national", "e164"), TERRITORIES, ids=TERRITORY_IDS)
def test_international_forms_accepted_by_every_spip(
    region: str, cc: int, national: str, e164: str
) -> None:
    for raw in _international_variants(cc, national):
        for spip_region in sorted(SUPPORTED_REGIONS):
            assert normalize_mobile(raw, spip_region) == e164, (raw, spip_region)


def test_supported_regions() -> None:
    assert (
        frozenset({"FR", "GF", "RE", "YT", "GP", "MQ", "MF", "BL", "PM", "PF", "NC", "WF"})
        == SUPPORTED_REGIONS
    )
    assert {region for region, *_ in TERRITORIES} == SUPPORTED_REGIONS


@pytest.mark.parametrize("spip_region", ["FR", "gf", " re "])
def test_region_code_is_case_and_space_insensitive(spip_region: str) -> None:
    assert normalize_mobile("06 12 34 56 78", spip_region) == "+33612345678"


@pytest.mark.parametrize("spip_region", ["", "XX", "US", "DE", "FRA"])
def test_unknown_spip_region_is_a_programming_error(spip_region: str) -> None:
    with pytest.raises(ValueError, match="unsupported SPIP region"):
        normalize_mobile("06 12 34 56 78", spip_region)


# --- fallbacks -------------------------------------------------------------------------------


@pytest.mark.parametrize("spip_region", sorted(SUPPORTED_REGIONS))
@pytest.mark.parametrize(
    ("raw", "e164"),
    [
        ("06 12 34 56 78", "+33612345678"),
        ("0612345678", "+33612345678"),
        ("06.12.34.56.78", "+33612345678"),
        ("07 81 23 45 67", "+33781234567"),
        ("07-81-23-45-67", "+33781234567"),
    ],
)
def test_metropolitan_mobile_accepted_everywhere(spip_region: str, raw: str, e164: str) -> None:
    """Many overseas residents keep a metropolitan number."""
    assert normalize_mobile(raw, spip_region) == e164


@pytest.mark.parametrize("spip_region", ["FR", *DOM_REGIONS, *SHORT_PLAN_REGIONS])
@pytest.mark.parametrize(
    ("raw", "e164"),
    [
        ("0694 12 34 56", "+594694123456"),  # Guyane: read as FR it is +33694… and invalid
        ("0692 12 34 56", "+262692123456"),  # Réunion
        ("0639 01 23 45", "+262639012345"),  # Mayotte
        ("0690 12 34 56", "+590690123456"),  # Guadeloupe (and Saint-Martin, Saint-Barthélemy)
        ("0696 12 34 56", "+596696123456"),  # Martinique
    ],
)
def test_dom_mobile_in_national_form_falls_back_to_its_region(
    spip_region: str, raw: str, e164: str
) -> None:
    assert normalize_mobile(raw, spip_region) == e164


def test_guyane_mobile_typed_in_a_metropolitan_spip() -> None:
    assert normalize_mobile("0694 12 34 56", "FR") == "+594694123456"


@pytest.mark.parametrize("spip_region", ["MF", "BL"])
def test_saint_martin_and_saint_barthelemy_read_mobiles_as_guadeloupe(spip_region: str) -> None:
    assert normalize_mobile("0690 12 34 56", spip_region) == "+590690123456"
    assert normalize_mobile("0690123456", spip_region) == "+590690123456"


@pytest.mark.parametrize(
    ("raw", "region", "e164"),
    [
        ("87 12 34 56", "PF", "+68987123456"),
        ("75 12 34", "NC", "+687751234"),
        ("55 12 34", "PM", "+508551234"),
        ("82 12 34", "WF", "+681821234"),
    ],
)
def test_short_plan_numbers_need_their_country_code_outside_their_region(
    raw: str, region: str, e164: str
) -> None:
    """A 6- or 8-digit number typed in the Hexagone must not silently become a Nouméa number."""
    assert normalize_mobile(raw, region) == e164
    cc = e164[: len(e164) - len(raw.replace(" ", ""))]
    for spip_region in ["FR", *DOM_REGIONS]:
        with pytest.raises(InvalidPhone) as exc:
            normalize_mobile(raw, spip_region)
        assert _code(exc) == "invalid_phone", spip_region
        assert normalize_mobile(f"{cc} {raw}", spip_region) == e164
        assert normalize_mobile(f"00{cc[1:]} {raw}", spip_region) == e164


def test_a_short_plan_spip_reads_short_numbers_in_its_own_plan() -> None:
    """The SPIP's own region comes first: in Nouméa, 55 12 34 is a Nouméa mobile."""
    assert normalize_mobile("55 12 34", "NC") == "+687551234"
    assert normalize_mobile("55 12 34", "PM") == "+508551234"
    assert normalize_mobile("+508 55 12 34", "NC") == "+508551234"


# --- refusals --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("raw", "spip_region"),
    [
        ("01 23 45 67 89", "FR"),
        ("01 23 45 67 89", "GF"),
        ("01.23.45.67.89", "RE"),
        ("+33 1 23 45 67 89", "FR"),
        ("0033 1 23 45 67 89", "MQ"),
        ("0594 30 12 34", "GF"),  # Guyane landline
        ("0594 30 12 34", "FR"),  # …also when typed in a metropolitan SPIP
        ("+594 594 30 12 34", "FR"),
        ("0262 16 12 34", "RE"),  # Réunion landline
        ("0262 16 12 34", "FR"),
        ("0269 60 12 34", "YT"),  # Mayotte landline
        ("0590 20 12 34", "GP"),  # Guadeloupe landline
        ("0590 27 12 34", "MF"),  # Saint-Martin landline
        ("0596 30 12 34", "MQ"),  # Martinique landline
        ("09 12 34 56 78", "FR"),  # VoIP box line
        ("0800 12 34 56", "FR"),  # toll free
        ("08 99 12 34 56", "FR"),  # premium rate
        ("40 41 23 45", "PF"),  # Papeete landline
        ("+689 40 41 23 45", "FR"),
        ("20 12 34", "NC"),  # Nouméa landline
    ],
)
def test_landlines_are_refused_as_not_mobile(raw: str, spip_region: str) -> None:
    with pytest.raises(PhoneNotMobile) as exc:
        normalize_mobile(raw, spip_region)
    assert _code(exc) == "phone_not_mobile"


JUNK = [
    "",
    " ",
    "\t\n",
    "abc",
    "téléphone",
    "inconnu",
    "-",
    "+",
    "++33612345678",
    "06+12345678",
    "00",
    "0",
    "06",
    "0612",
    "06 12 34",
    "06 12 34 56 7",  # one digit short
    "06 12 34 56 78 9",  # one digit too many
    "06 12 34 56 78 90 12 34 56 78",
    "0000000000",
    "+33 0 00 00 00 00",
    "07 01 23 45 67",  # 070x is not allocated in the metropolitan plan
    "0691 12 34 56",  # 0691 12 is not an allocated Guadeloupe block
    "+999 612 345 678",  # no such country code
    "06 12 34 AB CD",  # phonenumbers would read letters as a vanity number
    "06 FLOWERS",
    "tel:+33612345678",
    "06 12 34 56 78 ext 5",
    "+33612345678;ext=12",
    "06 12 34 56 78 / 07 81 23 45 67",  # two numbers
    "x" * 5000,
    "0" * 5000,
    "6" * 10_000,
    "06 " + " " * 5000 + "12 34 56 78",
    "📱",
    "06 12 34 56 78 📱",
    "☎ 06 12 34 56 78",
    "\x00",
    "06\x0012345678",
    "\u202e8765432160",
    "²³",
    "<script>alert(1)</script>",
    "'; DROP TABLE persons; --",
]


@pytest.mark.parametrize("spip_region", ["FR", "GF", "PF"])
@pytest.mark.parametrize("raw", JUNK, ids=[repr(raw[:20]) for raw in JUNK])
def test_junk_is_refused_as_invalid(raw: str, spip_region: str) -> None:
    with pytest.raises(InvalidPhone) as exc:
        normalize_mobile(raw, spip_region)
    assert _code(exc) == "invalid_phone"


@pytest.mark.parametrize("raw", [None, 612345678, b"0612345678"])
def test_non_string_input_is_invalid(raw: object) -> None:
    with pytest.raises(InvalidPhone):
        normalize_mobile(raw, "FR")  # type: ignore[arg-type]


def test_unicode_digits_are_read_as_digits() -> None:
    """phonenumbers reads any decimal digit; so do we (then the output is plain E.164)."""
    assert normalize_mobile("٠٦١٢٣٤٥٦٧٨", "FR") == "+33612345678"  # Arabic-Indic
    assert normalize_mobile("０６ １２ ３４ ５６ ７８", "FR") == "+33612345678"  # fullwidth
    assert normalize_mobile("06\u202f12\u202f34\u202f56\u202f78", "FR") == "+33612345678"


def test_errors_are_422_with_french_messages_on_the_phone_field() -> None:
    for cls, code in ((InvalidPhone, "invalid_phone"), (PhoneNotMobile, "phone_not_mobile")):
        assert issubclass(cls, Unprocessable)
        assert cls.code == code
        assert cls.status_code == 422
    assert "invalide" in InvalidPhone.message
    assert "mobile" in PhoneNotMobile.message and "SMS" in PhoneNotMobile.message

    for raw, cls in (("01 23 45 67 89", PhoneNotMobile), ("abc", InvalidPhone)):
        with pytest.raises(cls) as exc:
            normalize_mobile(raw, "FR")
        assert exc.value.detail == cls.message
        # Only the keys this module relies on: the field entry may carry more (e.g. the code).
        [entry] = exc.value.extra["fields"]
        assert entry["field"] == "phone"
        assert entry["message"] == cls.message


# --- masking ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("e164", "masked"),
    [
        ("+33612345678", "+33••••••78"),
        ("+594694123456", "+594••••••56"),
        ("+262639012345", "+262••••••45"),
        ("+590690123456", "+590••••••56"),
        ("+596696123456", "+596••••••56"),
        ("+508551234", "+508••••••34"),
        ("+68987123456", "+689••••••56"),
        ("+687751234", "+687••••••34"),
        ("+681821234", "+681••••••34"),
        (None, "-"),
        ("", "-"),
    ],
)
def test_mask_phone(e164: str | None, masked: str) -> None:
    assert mask_phone(e164) == masked


def _digits(text: str) -> str:
    return re.sub(r"\D", "", text)


@pytest.mark.parametrize(("region", "cc", "national", "e164"), TERRITORIES, ids=TERRITORY_IDS)
def test_mask_reveals_only_country_code_and_last_two_digits(
    region: str, cc: int, national: str, e164: str
) -> None:
    masked = mask_phone(e164)
    assert masked.startswith(f"+{cc}")
    assert _digits(masked) == f"{cc}{e164[-2:]}"
    assert masked.endswith(e164[-2:])


@pytest.mark.parametrize(
    "value",
    ["06 12 34 56 78", "junk", "+", "+12", "+999123456789", "x" * 10_000, "1" * 10_000, "📱"],
)
def test_mask_of_a_non_e164_value_shows_at_most_two_digits(value: str) -> None:
    masked = mask_phone(value)
    assert len(_digits(masked)) <= 2
    assert len(masked) <= 12


# --- properties ------------------------------------------------------------------------------

_phoneish = st.text(alphabet="0123456789 +.-()", max_size=24)


@settings(max_examples=300, deadline=None)
@given(
    raw=st.one_of(st.text(max_size=80), _phoneish),
    spip_region=st.sampled_from(sorted(SUPPORTED_REGIONS)),
)
def test_any_string_gives_a_valid_mobile_or_a_domain_error(raw: str, spip_region: str) -> None:
    try:
        e164 = normalize_mobile(raw, spip_region)
    except (InvalidPhone, PhoneNotMobile):
        return
    assert re.fullmatch(r"\+[1-9][0-9]{5,14}", e164)
    number = phonenumbers.parse(e164, None)
    assert phonenumbers.is_valid_number(number)
    assert phonenumbers.number_type(number) in (
        phonenumbers.PhoneNumberType.MOBILE,
        phonenumbers.PhoneNumberType.FIXED_LINE_OR_MOBILE,
    )
    assert normalize_mobile(e164, spip_region) == e164  # idempotent
    masked = mask_phone(e164)
    assert _digits(masked) == f"{number.country_code}{e164[-2:]}"


@settings(max_examples=200, deadline=None)
@given(value=st.one_of(st.none(), st.text(max_size=200)))
def test_mask_never_raises(value: str | None) -> None:
    masked = mask_phone(value)
    assert isinstance(masked, str)
