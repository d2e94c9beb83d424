"""Static files under a versioned path: ``/static/<version>/dsfr/dsfr.min.css``.

The version is a digest of every file in the folder, computed once at start-up: a new DSFR or a
changed stylesheet gets a new URL, so the files can be cached for a year (``immutable``), and
the URLs the stylesheet itself holds (``url(fonts/…)``, ``url(icons/…)``) are relative, hence
versioned too. A request for another version (a page loaded before a deployment) is still
answered, without the long cache.
"""

from __future__ import annotations

import hashlib
from functools import lru_cache
from pathlib import Path

from starlette.exceptions import HTTPException
from starlette.responses import Response
from starlette.staticfiles import StaticFiles
from starlette.types import Scope

FOLDER = Path(__file__).parent / "static"
PREFIX = "/static"
LONG_CACHE = "public, max-age=31536000, immutable"


@lru_cache
def version() -> str:
    digest = hashlib.sha256()
    for path in sorted(FOLDER.rglob("*")):
        if path.is_file():
            digest.update(str(path.relative_to(FOLDER)).encode())
            digest.update(path.read_bytes())
    return digest.hexdigest()[:12]


def url(path: str) -> str:
    return f"{PREFIX}/{version()}/{path}"


class VersionedStatic(StaticFiles):
    def __init__(self) -> None:
        super().__init__(directory=FOLDER)

    async def get_response(self, path: str, scope: Scope) -> Response:
        asked, _, rest = path.partition("/")
        if not rest:
            raise HTTPException(status_code=404)
        response = await super().get_response(rest, scope)
        if response.status_code in (200, 304):
            current = asked == version()
            response.headers["Cache-Control"] = LONG_CACHE if current else "no-cache"
        response.headers["X-Content-Type-Options"] = "nosniff"
        return response
