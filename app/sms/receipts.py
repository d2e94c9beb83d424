"""The HTTP edge of delivery receipts: turn a Starlette request into a neutral ``ReceiptRequest``.

The receipts route (``app.reminders.receipts_router``:
``POST``/``GET /api/v1/sms/receipts/{provider}[/{token}]``) reads the
request with :func:`receipt_request_from`, then asks the provider to ``verify`` it (401 when
refused) and to ``parse_receipts`` it (400 on :class:`~app.sms.base.ReceiptError`). Bodies are
capped: a delivery report is a few hundred bytes.
"""

from __future__ import annotations

from typing import Final

from starlette.requests import Request

from app.sms.base import ReceiptError, ReceiptRequest

MAX_RECEIPT_BYTES: Final = 64 * 1024


async def receipt_request_from(request: Request, *, path_token: str | None) -> ReceiptRequest:
    """Read ``request`` (body capped at ``MAX_RECEIPT_BYTES``) into a ``ReceiptRequest``."""
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > MAX_RECEIPT_BYTES:
            raise ReceiptError("accusé de réception trop volumineux")
        chunks.append(chunk)
    return ReceiptRequest(
        method=request.method,
        url=str(request.url),
        headers={name.lower(): value for name, value in request.headers.items()},
        query=dict(request.query_params),
        body=b"".join(chunks),
        path_token=path_token,
    )
