"""The characters that force UCS-2, and the GSM-7 text suggested for each (the transliteration
table ``to_gsm_friendly`` applies)."""

from __future__ import annotations

from app.sms.encoding import Ucs2Character, analyze, gsm7_replacement, ucs2_characters


def test_each_character_forcing_ucs2_is_listed_once_with_its_replacement() -> None:
    text = "Œuvre « sœur » l’été… 20 °C, sœur"
    assert analyze(text).encoding == "ucs2"
    assert ucs2_characters(text) == [
        Ucs2Character("Œ", "OE"),
        Ucs2Character("«", '"'),
        Ucs2Character("œ", "oe"),
        Ucs2Character("»", '"'),
        Ucs2Character("’", "'"),
        Ucs2Character("…", "..."),
        Ucs2Character("°", None),  # no faithful equivalent: kept, the message stays UCS-2
    ]


def test_a_gsm7_text_has_no_character_to_replace() -> None:
    text = "Convocation le lundi 29 mars à 9h00, 12 € : présence obligatoire [SPIP]"
    assert analyze(text).encoding == "gsm7"
    assert ucs2_characters(text) == []


def test_replacements_are_gsm7_and_gsm7_characters_are_kept() -> None:
    assert gsm7_replacement("é") == "é"
    assert gsm7_replacement("ê") == "e"
    assert gsm7_replacement("\u202f") == " "
    assert gsm7_replacement("😀") is None
    for found in ucs2_characters("â ê î ô û ë ï ç œ À Â È Ê Î Ô Ù Û ‘ “ ” – —"):
        assert found.replacement is not None
        assert analyze(found.replacement).encoding == "gsm7", found
