"""How deep a JSON document may nest: one limit for every JSON Convoc reads.

Python's JSON parser and every recursive walk over its result (pydantic, ``repr``, our own
checks) recurse once per level: a body of a few kilobytes nested 2,000 deep raises
``RecursionError`` — a 500 with a traceback — wherever it is read. The JSON API routes are
refused today by FastAPI, which turns *any* parsing failure into a 400, but only once the
parser hit the interpreter's recursion limit (about 1,000 levels, minus the stack already in
use); other readers (delivery receipts) had no such net. ``MAX_JSON_DEPTH`` is far above any
document we accept (a receipt nests 2 levels, the deepest API body 4) and far below that limit.

:func:`json_too_deep` counts the nesting of the raw bytes without parsing them (strings are
skipped whole, so brackets inside them do not count): it never recurses and never builds the
deep structure. Call it before ``json.loads``.
"""

from __future__ import annotations

import re
from typing import Final

MAX_JSON_DEPTH: Final = 64

# A JSON string, escapes included: removed before counting (a bracket inside one is text).
_STRING: Final = re.compile(rb'"[^"\\]*(?:\\.[^"\\]*)*"')
_NOT_BRACKETS: Final = bytes(c for c in range(256) if c not in b"[]{}")


def json_too_deep(raw: bytes, limit: int = MAX_JSON_DEPTH) -> bool:
    """Whether ``raw`` opens more than ``limit`` nested arrays or objects at some point."""
    if raw.count(b"[") + raw.count(b"{") <= limit:
        return False  # the common case: a small document cannot be that deep
    brackets = _STRING.sub(b"", raw).translate(None, _NOT_BRACKETS)
    depth = 0
    for byte in brackets:
        if byte in b"[{":
            depth += 1
            if depth > limit:
                return True
        else:
            depth -= 1
    return False
