"""GSM-7 / UCS-2 detection, segment counting and GSM-friendly rewriting."""

from __future__ import annotations

import codecs

import gsm0338  # noqa: F401  (registers the "gsm03.38" reference codec)
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from app.sms.encoding import (
    GSM7_ALPHABET,
    GSM7_BASIC,
    GSM7_EXTENSION,
    SmsInfo,
    analyze,
    is_gsm7,
    to_gsm_friendly,
)

CODEC = "gsm03.38"
ESCAPE = 0x1B

# ---------------------------------------------------------------------------------------------
# Tables against the reference codec
# ---------------------------------------------------------------------------------------------


def _reference_basic() -> set[str]:
    return {bytes([b]).decode(CODEC) for b in range(128) if b != ESCAPE}


def _reference_extension() -> set[str]:
    found = set()
    for b in range(128):
        try:
            found.add(bytes([ESCAPE, b]).decode(CODEC))
        except UnicodeDecodeError:
            continue
    return found


def test_basic_table_matches_reference_codec() -> None:
    assert len(GSM7_BASIC) == 127
    assert set(GSM7_BASIC) == _reference_basic()
    for ch in GSM7_BASIC:
        assert len(ch.encode(CODEC)) == 1, repr(ch)


def test_extension_table_matches_reference_codec() -> None:
    assert set(GSM7_EXTENSION) == _reference_extension()
    assert set(GSM7_EXTENSION) == set("€[]{}|~^\\\f")
    for ch in GSM7_EXTENSION:
        encoded = ch.encode(CODEC)
        assert len(encoded) == 2 and encoded[0] == ESCAPE, repr(ch)
    assert not GSM7_BASIC & GSM7_EXTENSION


def test_characters_outside_the_tables_are_rejected_by_the_codec() -> None:
    for cp in range(0x3000):
        ch = chr(cp)
        if ch in GSM7_ALPHABET or ch == "\x1b" or 0xD800 <= cp <= 0xDFFF:
            continue
        with pytest.raises(UnicodeEncodeError):
            ch.encode(CODEC)


def test_context_facts() -> None:
    assert set("éèùìòàÉÇ") <= GSM7_BASIC
    for ch in "âêîôûëïçœÀÂÈÊÎÔÙÛ’‘“”«»\u00a0\u202f–—…°":
        assert ch not in GSM7_ALPHABET, repr(ch)


def test_lone_escape_is_not_sendable() -> None:
    assert "\x1b" not in GSM7_ALPHABET
    assert analyze("a\x1bb").encoding == "ucs2"


# ---------------------------------------------------------------------------------------------
# Properties against the reference codec
# ---------------------------------------------------------------------------------------------

FRENCH = (
    "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789 .,:;!?'\"-()/\n"
    "éèùìòàÉÇäöüñÄÖÜÑßÅåÆæØø@£$¥§¿¡"
    "€[]{}|~^\\\f"
    "âêîôûëïçœÀÂÈÊÎÔÙÛŒ’‘“”«»\u00a0\u202f–—…°•\t"
)
EMOJI = "😀👍🏽📅✅🇫🇷👨‍👩‍👧"

texts = st.one_of(
    st.text(st.sampled_from(FRENCH), max_size=400),
    st.text(st.sampled_from(FRENCH + EMOJI), max_size=400),
    st.text(max_size=200),
)


def _reference_segments_gsm7(encoded: bytes) -> int:
    """Split the encoded septets into parts of 153, never ending a part on an escape byte."""
    if len(encoded) <= 160:
        return 1
    parts, pos = 0, 0
    while pos < len(encoded):
        end = min(pos + 153, len(encoded))
        if end < len(encoded) and encoded[end - 1] == ESCAPE:
            end -= 1
        parts += 1
        pos = end
    return parts


def _reference_segments_ucs2(text: str) -> int:
    raw = text.encode("utf-16-be", "surrogatepass")
    units = [int.from_bytes(raw[i : i + 2], "big") for i in range(0, len(raw), 2)]
    if len(units) <= 70:
        return 1
    parts, pos = 0, 0
    while pos < len(units):
        end = min(pos + 67, len(units))
        if end < len(units) and 0xD800 <= units[end - 1] <= 0xDBFF:
            end -= 1
        parts += 1
        pos = end
    return parts


@settings(max_examples=400)
@given(texts)
def test_analyze_agrees_with_reference_codec(text: str) -> None:
    info = analyze(text)
    try:
        encoded = codecs.encode(text, CODEC)
        codec_ok = "\x1b" not in text
    except UnicodeEncodeError:
        codec_ok = False
    assert (info.encoding == "gsm7") is codec_ok
    assert is_gsm7(text) is codec_ok
    if codec_ok:
        assert info.units == len(encoded)
        assert info.segments == _reference_segments_gsm7(encoded)
    else:
        assert info.units == len(text.encode("utf-16-le", "surrogatepass")) // 2
        assert info.segments == _reference_segments_ucs2(text)


@settings(max_examples=200)
@given(texts)
def test_remaining_in_segment_is_exact(text: str) -> None:
    info = analyze(text)
    assert info.segments >= 1
    assert 0 <= info.remaining_in_segment <= info.chars_per_segment
    filled = analyze(text + "a" * info.remaining_in_segment)
    assert (filled.encoding, filled.segments) == (info.encoding, info.segments)
    assert filled.remaining_in_segment == 0
    assert analyze(text + "a" * (info.remaining_in_segment + 1)).segments == info.segments + 1


# ---------------------------------------------------------------------------------------------
# Exact boundaries
# ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("length", "segments"),
    [(1, 1), (153, 1), (160, 1), (161, 2), (306, 2), (307, 3), (459, 3), (460, 4)],
)
def test_gsm7_boundaries(length: int, segments: int) -> None:
    info = analyze("a" * length)
    assert info == SmsInfo("gsm7", segments, length)


@pytest.mark.parametrize(
    ("length", "segments"),
    [(1, 1), (67, 1), (70, 1), (71, 2), (134, 2), (135, 3), (201, 3), (202, 4)],
)
def test_ucs2_boundaries(length: int, segments: int) -> None:
    info = analyze("ê" * length)
    assert info == SmsInfo("ucs2", segments, length)


def test_empty_text_is_one_gsm7_segment() -> None:
    info = analyze("")
    assert info == SmsInfo("gsm7", 1, 0)
    assert info.remaining_in_segment == 160
    assert info.chars_per_segment == 160


def test_extension_characters_count_two_septets() -> None:
    assert analyze("€" * 80) == SmsInfo("gsm7", 1, 160)
    assert analyze("€" * 80).remaining_in_segment == 0
    assert analyze("€" * 80 + "a") == SmsInfo("gsm7", 2, 161)
    assert analyze("[]{}|~^\\\f€") == SmsInfo("gsm7", 1, 20)


def test_extension_character_is_not_split_across_parts() -> None:
    # 152 + 2 + 152 = 306 septets would fit 2 x 153, but "€" cannot straddle parts 1 and 2.
    info = analyze("a" * 152 + "€" + "a" * 152)
    assert info == SmsInfo("gsm7", 3, 306)
    # Shifting the "€" by one septet makes it fit exactly.
    assert analyze("a" * 151 + "€" + "a" * 153) == SmsInfo("gsm7", 2, 306)
    # Part 1 ends short at 152: only 1 septet in part 3 for the first layout.
    assert info.remaining_in_segment == 152


def test_emoji_counts_two_units_and_forces_ucs2() -> None:
    assert analyze("😀") == SmsInfo("ucs2", 1, 2)
    assert analyze("😀" * 35) == SmsInfo("ucs2", 1, 70)
    assert analyze("😀" * 36) == SmsInfo("ucs2", 2, 72)


def test_surrogate_pair_is_not_split_across_parts() -> None:
    info = analyze("ê" * 66 + "😀" + "ê" * 66)
    assert info == SmsInfo("ucs2", 3, 134)
    assert analyze("ê" * 65 + "😀" + "ê" * 67) == SmsInfo("ucs2", 2, 134)
    # 67 // 2 = 33 emoji per part, the 34th starts part 2.
    assert analyze("😀" * 67) == SmsInfo("ucs2", 3, 134)


def test_one_non_gsm_character_switches_everything_to_ucs2() -> None:
    text = "a" * 100 + "’"
    assert analyze(text) == SmsInfo("ucs2", 2, 101)
    assert analyze(to_gsm_friendly(text)) == SmsInfo("gsm7", 1, 101)


def test_chars_per_segment() -> None:
    assert analyze("a" * 160).chars_per_segment == 160
    assert analyze("a" * 161).chars_per_segment == 153
    assert analyze("ê" * 70).chars_per_segment == 70
    assert analyze("ê" * 71).chars_per_segment == 67


def test_analyze_does_not_normalise() -> None:
    assert analyze("e\u0301").encoding == "ucs2"
    assert analyze(to_gsm_friendly("e\u0301")) == SmsInfo("gsm7", 1, 1)


# ---------------------------------------------------------------------------------------------
# to_gsm_friendly
# ---------------------------------------------------------------------------------------------

CONVOCATION = (
    "«\u00a0Rappel\u202f: convocation le lundi 29 mars 2027 à 9h00 au SPIP de l’Essonne, "
    "2 rue de l’Église.\u00a0»"
)


def test_real_convocation_becomes_gsm7() -> None:
    assert analyze(CONVOCATION).encoding == "ucs2"
    friendly = to_gsm_friendly(CONVOCATION)
    assert friendly == (
        "\" Rappel : convocation le lundi 29 mars 2027 à 9h00 au SPIP de l'Essonne, "
        "2 rue de l'Église. \""
    )
    info = analyze(friendly)
    assert info.encoding == "gsm7"
    assert info.segments == 1


def test_longer_convocation_text() -> None:
    text = (
        "Madame, vous êtes convoquée au SPIP du Val-de-Marne – antenne de Créteil – "
        "le jeudi 4 février à 14h30. Présentez-vous à l’accueil avec une pièce d’identité… "
        "Hôtel de ville, 1ᵉʳ étage. Reçu n° 12."
    )
    friendly = to_gsm_friendly(text)
    assert "vous etes convoquée" in friendly
    assert "Val-de-Marne - antenne de Créteil - le jeudi 4 février" in friendly
    assert "l'accueil" in friendly and "pièce d'identité..." in friendly
    assert "Hotel de ville" in friendly and "Recu" in friendly
    # "ᵉʳ" and "°" have no faithful GSM-7 equivalent: kept, the message stays UCS-2.
    assert "1ᵉʳ" in friendly and "n° 12" in friendly
    assert analyze(friendly).encoding == "ucs2"
    assert analyze(friendly.replace("ᵉʳ", "er").replace("n°", "numero")).encoding == "gsm7"


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("l’Église", "l'Église"),
        ("‘oui’ `non´", "'oui' 'non'"),
        ("“cité” «\u00a0Hôtel\u00a0»", '"cité" " Hotel "'),
        ("fête Noël île maïs côte flûte garçon", "fete Noel ile mais cote flute garcon"),
        ("cœur ŒUVRE", "coeur OEUVRE"),
        ("À Â È Ê Ë Î Ï Ô Ù Û", "A A E E E I I O U U"),
        ("9h00–12h00 — fin", "9h00-12h00 - fin"),
        ("attendez…", "attendez..."),
        ("• pièce", "- pièce"),
        ("L’Haÿ-les-Roses", "L'Hay-les-Roses"),
        ("a\u2009b\u2007c\td", "a b c d"),
        ("ab\u00adc\u200bd\ufeff", "abcd"),
        ("e\u0302tre", "etre"),  # decomposed "ê" is normalised first
        ("a\u0302\u0302", "a"),  # "â" + stray circumflex recomposes after rewriting
    ],
)
def test_to_gsm_friendly_examples(raw: str, expected: str) -> None:
    assert to_gsm_friendly(raw) == expected


def test_gsm_characters_are_kept() -> None:
    kept = "é è à ù ì ò É Ç Ä Ö Ü ä ö ü ñ Ñ ß Å å Æ æ Ø ø € [ ] { } | ~ ^ \\ @ £ $ ¥ § ¿ ¡ ¤"
    assert to_gsm_friendly(kept) == kept
    assert analyze(kept).encoding == "gsm7"


@pytest.mark.parametrize("text", ["°", "n°", "20 °C", "😀", "Привет", "ᵉʳ", "👨‍👩‍👧"])
def test_characters_without_faithful_equivalent_are_kept(text: str) -> None:
    assert to_gsm_friendly(text) == text


def test_replacements_only_produce_gsm7() -> None:
    from app.sms.encoding import _REPLACEMENTS

    for source, target in _REPLACEMENTS.items():
        assert source not in GSM7_ALPHABET, repr(source)
        assert is_gsm7(target), repr(target)


@settings(max_examples=400)
@given(texts)
def test_to_gsm_friendly_is_idempotent(text: str) -> None:
    once = to_gsm_friendly(text)
    assert to_gsm_friendly(once) == once


@settings(max_examples=200)
@given(st.text(st.sampled_from(FRENCH.replace("°", "")), max_size=300))
def test_french_text_becomes_gsm7(text: str) -> None:
    assert analyze(to_gsm_friendly(text)).encoding == "gsm7"


def test_rewriting_can_cost_segments_in_pathological_text() -> None:
    # "…" -> "..." triples the length: 70 "…" fit one UCS-2 SMS, 210 septets do not.
    # Callers compare analyze() before/after if they care; real text gains from GSM-7.
    assert analyze("…" * 70).segments == 1
    assert analyze(to_gsm_friendly("…" * 70)).segments == 2


@given(st.text(st.sampled_from("éèàùÉ"), max_size=50))
def test_gsm_accents_survive(text: str) -> None:
    assert to_gsm_friendly(text) == text


def test_a_lone_surrogate_counts_one_unit() -> None:
    # JSON may carry one ("\ud800"); counting it must not raise.
    assert analyze("a\ud800") == SmsInfo("ucs2", 1, 2)
