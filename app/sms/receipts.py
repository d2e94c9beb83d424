"""The HTTP edge of delivery receipts: turn a Starlette request into a neutral ``ReceiptRequest``.

The receipts route (``app.reminders.receipts_router``:
``POST``/``GET /api/v1/sms/receipts/{provider}[/{token}]``) reads the
request with :func:`receipt_request_from`, then asks the provider to ``verify`` it (401 when
refused) and to ``parse_receipts`` it (400 on :class:`~app.sms.base.ReceiptError`). Bodies are
capped: a delivery report is a few hundred bytes.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Final, TypeVar

from starlette.requests import Request

from app.sms.base import ReceiptError, ReceiptRequest, SmsProvider

T = TypeVar("T")

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


async def read_verified(
    request: Request,
    provider: SmsProvider,
    *,
    path_token: str | None,
    parse: Callable[[ReceiptRequest], T],
    log: logging.Logger,
    event: str,
    not_authentic: Callable[[], Exception],
    unreadable: Callable[[str], Exception],
) -> T:
    """A provider's callback (receipts, SMS received), in the order the webhooks promise:
    readable size, then authentic (``verify``), then readable content (``parse``); nothing is
    parsed before it is authentic. Refusals are logged as ``{event} provider=… reason=…``."""
    try:
        neutral = await receipt_request_from(request, path_token=path_token)
    except ReceiptError as exc:
        raise unreadable(str(exc)) from None
    if not provider.verify(neutral):
        log.warning("%s provider=%s reason=not_authenticated", event, provider.name)
        raise not_authentic()
    try:
        return parse(neutral)
    except ReceiptError as exc:
        log.warning("%s provider=%s reason=unreadable", event, provider.name)
        raise unreadable(str(exc)) from None
