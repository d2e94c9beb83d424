"""Security of the pages: response headers and CSRF tokens.

Headers go on HTML answers only, and never on the API's or the interactive docs' (``/docs``
loads its scripts from a CDN and runs inline code): the API's answers keep exactly the headers
they had. DSFR and htmx need no inline script nor inline style, hence a strict policy.

CSRF: every POST of a page carries a token, in a hidden ``csrf`` field or (htmx) an
``X-CSRF-Token`` header, equal to an HMAC under the server secret of what the form belongs to:
the session token for an agent's forms, or the random value of a pre-session cookie for the
forms shown before login (login, activation). A page of another site can neither read the
token nor compute it.
"""

from __future__ import annotations

import hashlib
import hmac

from starlette.datastructures import MutableHeaders
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from app.config import Settings

CSP = "; ".join(
    (
        "default-src 'self'",
        "script-src 'self'",
        "style-src 'self'",
        "img-src 'self' data:",
        "font-src 'self'",
        "connect-src 'self'",
        "object-src 'none'",
        "base-uri 'none'",
        "form-action 'self'",
        "frame-ancestors 'none'",
    )
)
PAGE_HEADERS = {
    "Content-Security-Policy": CSP,
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "same-origin",
    "X-Frame-Options": "DENY",
    "Cross-Origin-Opener-Policy": "same-origin",
    "Permissions-Policy": "camera=(), microphone=(), geolocation=(), payment=()",
}
# Not pages: the API, its documentation, the health checks and the metrics keep their own headers.
NOT_PAGES = ("/api/", "/docs", "/redoc", "/openapi.json", "/health", "/metrics")


class PageHeaders:
    """ASGI middleware: the security headers on every HTML answer of the pages, and
    ``Cache-Control: no-store`` unless the page chose another (agents' pages hold personal data;
    a shared office PC must not keep them in its cache)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or str(scope["path"]).startswith(NOT_PAGES):
            await self.app(scope, receive, send)
            return

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = MutableHeaders(scope=message)
                if headers.get("content-type", "").startswith("text/html"):
                    for name, value in PAGE_HEADERS.items():
                        headers.setdefault(name, value)
                    headers.setdefault("Cache-Control", "no-store")
            await send(message)

        await self.app(scope, receive, send_with_headers)


def csrf_token(binding: str, settings: Settings, key: str | None = None) -> str:
    secret = (key or settings.secret_key).encode()
    return hmac.new(secret, b"csrf:" + binding.encode(), hashlib.sha256).hexdigest()


def csrf_valid(sent: str | None, binding: str | None, settings: Settings) -> bool:
    """Signed with the current key, or the previous one during a rotation (a form opened
    before it can still be sent)."""
    if not sent or not binding:
        return False
    return any(
        hmac.compare_digest(sent, csrf_token(binding, settings, key))
        for key in settings.secret_keys
    )
