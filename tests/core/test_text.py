"""The search key folds names the same way whatever the database (pure)."""

from __future__ import annotations

import pytest

from app.core.text import SEARCH_KEY_MAX_CHARS, search_key, search_words


@pytest.mark.parametrize(
    ("names", "key"),
    [
        (("Éloïse", "Lefèvre"), "eloise lefevre"),
        (("LÆTITIA", "Cœur"), "laetitia coeur"),
        (("Jean-Pierre", "O’Doe"), "jean pierre o doe jeanpierre odoe"),
        (("Zoë", "Straße"), "zoe strasse"),
        (("Łukasz", "Øberg"), "lukasz oberg"),
        (("Ｍｉｃｈｅｌ", None), "michel"),  # full-width letters, pasted from a PDF
        (("  Anne   Marie ", ""), "anne marie"),
    ],
)
def test_search_key(names: tuple[str | None, ...], key: str) -> None:
    assert search_key(*names) == key


def test_the_query_folds_like_the_names() -> None:
    assert search_words("LEFÈVRE d'Arc-en-Ciel") == ["lefevre", "d", "arc", "en", "ciel"]
    assert search_words("%_'") == []


def test_the_key_is_bounded() -> None:
    assert len(search_key("ﷺ" * 100, "ﷺ" * 100)) <= SEARCH_KEY_MAX_CHARS
