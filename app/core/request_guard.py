"""Checks on every request before a route sees it, answered with our JSON error body.

- Body size: a declared ``Content-Length`` over the limit is refused at once (413), whatever the
  route; a body sent without one (chunked) is counted as it is read and refused as soon as it
  passes the limit. (Starlette's own limiter answers in plain text, and only where a body is read.)
- NUL characters in the path or the query string (400): PostgreSQL cannot store or compare them,
  and no agent types one. JSON bodies are checked by ``InputModel``.
- JSON bodies are UTF-8 without a byte-order mark (400), as RFC 8259 asks of JSON exchanged
  between systems: Python's parser would otherwise accept a BOM, and UTF-16 or UTF-32.
- JSON bodies nest at most ``MAX_JSON_DEPTH`` levels (400 ``json_too_deep``), the limit the
  delivery receipts have: no API body nests more than 4, and the parser, pydantic and every
  recursive walk recurse once per level. JSON bodies are read whole here to count (they are
  small, and the size limit above still applies while reading).
- Methods: ``OPTIONS`` on a path that exists answers 204 with ``Allow``, the methods of every
  route of that path; a 405 carries the same ``Allow``; ``HEAD`` is answered as ``GET``
  without the body.
- Work deferred by the application (``app.core.after_response``) runs once it has answered.
"""

from __future__ import annotations

import json

from starlette.exceptions import HTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from app.core import after_response
from app.core.json_depth import MAX_JSON_DEPTH, json_too_deep
from app.core.methods import allowed_methods

NUL_IN_URL = "Le caractère nul (%00) n'est pas accepté dans l'adresse."
JSON_BOM = "Le corps JSON ne doit pas commencer par une marque d'ordre des octets (BOM)."
JSON_NOT_UTF8 = "Le corps JSON doit être encodé en UTF-8."
JSON_TOO_DEEP = (
    f"Le corps JSON est imbriqué sur plus de {MAX_JSON_DEPTH} niveaux : ce n'est pas une requête "
    "que Convoc attend."
)
# UTF-8, UTF-32 (before UTF-16: FF FE 00 00 starts with FF FE) and UTF-16 byte-order marks.
_BOMS = (b"\xef\xbb\xbf", b"\x00\x00\xfe\xff", b"\xff\xfe", b"\xfe\xff")


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
        if scope["method"] == "OPTIONS" and (allowed := allowed_methods(scope)):
            await _send_options(send, allowed)
            return
        if _is_json(scope):
            body, receive = await self._read_whole(receive)
            if body is None:
                await _send_error(send, 413, "payload_too_large", too_large_detail(self.max_bytes))
                return
            if (problem := _json_problem(body)) is not None:
                await _send_error(send, 400, *problem)
                return
        tasks: list[after_response.Task] = []
        inner = dict(scope, method="GET") if scope["method"] == "HEAD" else scope
        inner[after_response.SCOPE_KEY] = tasks
        try:
            await self.app(inner, self._limited(receive), _fix_answer(scope, send))
        finally:
            if inner is not scope and "route" in inner:  # HEAD: for the metrics (outside)
                scope["route"] = inner["route"]
            await after_response.run(tasks)

    async def _read_whole(self, receive: Receive) -> tuple[bytes | None, Receive]:
        """The whole body (None past the size limit), and a ``receive`` that replays it."""
        read: list[Message] = []
        size = 0
        while True:
            message = await receive()
            read.append(message)
            if message["type"] != "http.request":
                break
            size += len(message.get("body", b""))
            if size > self.max_bytes:
                return None, receive
            if not message.get("more_body", False):
                break
        body = b"".join(m.get("body", b"") for m in read if m["type"] == "http.request")

        async def replay() -> Message:
            if read:
                return read.pop(0)
            return await receive()

        return body, replay

    def _limited(self, receive: Receive) -> Receive:
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

        return limited_receive


def _fix_answer(scope: Scope, send: Send) -> Send:
    """A 405 lists every method of the path; a HEAD answer loses its body."""
    head = scope["method"] == "HEAD"

    async def fixed_send(message: Message) -> None:
        if message["type"] == "http.response.start" and message["status"] == 405:
            headers = [(k, v) for k, v in message.get("headers", ()) if k.lower() != b"allow"]
            headers.append((b"allow", ", ".join(allowed_methods(scope)).encode()))
            message = {**message, "headers": headers}
        elif head and message["type"] == "http.response.body":
            message = {**message, "body": b""}
        await send(message)

    return fixed_send


def _is_json(scope: Scope) -> bool:
    for name, value in scope.get("headers", ()):
        if name == b"content-type":
            media = bytes(value).split(b";", 1)[0].strip().lower()
            return media == b"application/json" or media.endswith(b"+json")
    return False


def _json_problem(body: bytes) -> tuple[str, str] | None:
    if body.startswith(_BOMS):
        return "json_bom", JSON_BOM
    # A JSON text starts with ASCII characters: a NUL among them means UTF-16 or UTF-32.
    if b"\x00" in body[:4]:
        return "json_not_utf8", JSON_NOT_UTF8
    if json_too_deep(body):
        return "json_too_deep", JSON_TOO_DEEP
    return None


async def _send_options(send: Send, allowed: list[str]) -> None:
    headers = [(b"allow", ", ".join(allowed).encode())]
    await send({"type": "http.response.start", "status": 204, "headers": headers})
    await send({"type": "http.response.body", "body": b""})


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
