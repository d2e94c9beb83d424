"""Checks on every request before a route sees it, answered with our JSON error body.

- Body size: a declared ``Content-Length`` over the limit is refused at once (413), whatever the
  route; a body sent without one (chunked) is counted as it is read and refused as soon as it
  passes the limit. (Starlette's own limiter answers in plain text, and only where a body is read.)
- NUL characters in the path or the query string (400): PostgreSQL cannot store or compare them,
  and no agent types one. JSON bodies are checked by ``InputModel``.
"""

from __future__ import annotations

import json

from starlette.exceptions import HTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

NUL_IN_URL = "Le caractère nul (%00) n'est pas accepté dans l'adresse."


def too_large_detail(max_bytes: int) -> str:
    return f"Requête trop volumineuse : {max_bytes // 1024} Kio au plus."


class RequestGuard:
    def __init__(self, app: ASGIApp, max_bytes: int) -> None:
        self.app = app
        self.max_bytes = max_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        if b"%00" in scope.get("query_string", b"") or "\x00" in scope.get("path", ""):
            await _send_error(send, 400, "invalid_characters", NUL_IN_URL)
            return
        declared = _content_length(scope)
        if declared is not None and declared > self.max_bytes:
            await _send_error(send, 413, "payload_too_large", too_large_detail(self.max_bytes))
            return
        received = 0

        async def limited_receive() -> Message:
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > self.max_bytes:
                    # Rendered by the application's HTTPException handler (our JSON body).
                    raise HTTPException(413, too_large_detail(self.max_bytes))
            return message

        await self.app(scope, limited_receive, send)


async def _send_error(send: Send, status: int, code: str, detail: str) -> None:
    body = json.dumps({"error": code, "detail": detail}, ensure_ascii=False).encode()
    headers = [
        (b"content-type", b"application/json"),
        (b"content-length", str(len(body)).encode()),
        (b"connection", b"close"),
    ]
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": body})


def _content_length(scope: Scope) -> int | None:
    for name, value in scope.get("headers", ()):
        if name == b"content-length":
            try:
                return int(value)
            except ValueError:
                return None
    return None
