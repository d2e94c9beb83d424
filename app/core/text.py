"""Search keys for names: lower-case, without accents, ligatures or punctuation.

Why a stored key rather than PostgreSQL's ``unaccent``: Convoc runs on SQLite as on PostgreSQL
and SQLite has no ``unaccent`` (nor a locale-aware ``lower``: its ``LIKE`` only folds ASCII, so
``lefevre`` never met ``Lefèvre``, nor ``ÉLOÏSE`` ``éloïse``). ``unaccent`` is also an extension
an administrator must create, and its rules differ from one installation's dictionary to another.
One pure Python function, applied when a name is written and to what the agent types, gives the
same answer on both databases and is tested once.

The rules:

- NFKD decomposition, then combining marks dropped: ``é`` → ``e``, ``ï`` → ``i``, ``ç`` → ``c``;
  compatibility forms fold too (``ﬁ`` → ``fi``, full-width letters → ASCII).
- ``casefold`` (``ß`` → ``ss``), then the letters NFKD leaves whole: ``œ`` → ``oe``, ``æ`` → ``ae``,
  ``ø`` → ``o``, ``ł`` → ``l``, ``đ`` → ``d``, ``ı`` → ``i``.
- Anything that is not a letter or a digit (apostrophes of every kind, hyphens, dots, spaces)
  separates words: ``Jean-Pierre`` → ``jean pierre``, ``O'Doe`` → ``o doe``. So ``jean pierre``
  and ``jean-pierre`` find ``Jean-Pierre``, and ``doe`` finds ``O'Doe``.
- A name made of several parts is also kept joined (``odoe``, ``jeanpierre``), because agents
  often type ``dartagnan`` for ``D'Artagnan`` or ``jeanpierre`` for ``Jean-Pierre``.
"""

from __future__ import annotations

import unicodedata
from typing import Final

__all__ = ["SEARCH_KEY_MAX_CHARS", "search_key", "search_words"]

# Names are at most 100 characters each; NFKD may lengthen a few exotic characters, so a bound.
SEARCH_KEY_MAX_CHARS: Final = 500

_LETTERS_NFKD_KEEPS: Final = str.maketrans(
    {"œ": "oe", "æ": "ae", "ø": "o", "ł": "l", "đ": "d", "ı": "i", "ŀ": "l", "þ": "th"}
)


def search_words(text: str) -> list[str]:
    """The words of ``text`` once folded: lower-case, unaccented, split on punctuation."""
    decomposed = unicodedata.normalize("NFKD", text)
    stripped = "".join(ch for ch in decomposed if not unicodedata.combining(ch))
    folded = stripped.casefold().translate(_LETTERS_NFKD_KEEPS)
    # casefold and the table may produce new decomposable characters: normalise once more.
    folded = unicodedata.normalize("NFKD", folded)
    spaced = "".join(ch if ch.isalnum() else " " for ch in folded if not unicodedata.combining(ch))
    return spaced.split()


def search_key(*names: str | None) -> str:
    """The stored search key of a person's names: their words, then each name's parts joined.

    ``search_key("Jean-Pierre", "O'Doe")`` → ``"jean pierre o doe jeanpierre odoe"``.
    """
    words: list[str] = []
    joined: list[str] = []
    for name in names:
        if not name:
            continue
        for part in name.split():
            part_words = search_words(part)
            words.extend(part_words)
            if len(part_words) > 1:
                joined.append("".join(part_words))
    return " ".join(words + joined)[:SEARCH_KEY_MAX_CHARS]
