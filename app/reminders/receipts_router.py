"""Delivery receipts webhook: ``POST|GET /api/v1/sms/receipts/{provider}[/{token}]``.

Called by SMS providers, not by agents: no agent token (``PUBLIC``), each provider's own proof
instead — the ``http`` provider's HMAC signature, Twilio's signature, the secret path token
(compared in constant time) for Brevo, which signs nothing. Order of checks, and nothing is
written before the last one passes:

1. the provider must be configured and able to send receipts, else 404 ``unknown_provider``;
2. the request must be authentic (``verify``), else 401 ``receipt_not_authenticated``;
3. it must be readable (``parse_receipts``), else 400 ``invalid_receipt`` — a batch with one
   unreadable item is refused whole.

Then every receipt is applied (``app.reminders.delivery``): statuses only move forward, and a
receipt for a message id not recorded yet is kept until it appears.

The providers are the application's one SMS gateway, built at start-up (``app.main``) and kept
on ``app.state.sms_gateway``: the one the embedded dispatcher sends with. Only their ``verify``
and ``parse_receipts`` are used here.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from typing import Annotated, Any

from fastapi import APIRouter, Path, Request
from pydantic import BaseModel, Field

from app.auth.dependencies import PUBLIC
from app.core import metrics
from app.core.errors import AppError, NotFound
from app.core.responses import error_responses
from app.db import SessionDep
from app.reminders import delivery as delivery_service
from app.sms.base import SmsProvider
from app.sms.gateway import SmsGateway
from app.sms.receipts import read_verified

log = logging.getLogger("convoc.sms.receipts")

router = APIRouter(prefix="/sms", tags=["SMS"])

# No length limits: anything that is not a configured provider is a 404, any wrong token a 401.
ProviderName = Annotated[str, Path(description="Fournisseur, par ex. http")]
Token = Annotated[str, Path(description="Jeton secret des accusés (CONVOC_SMS_RECEIPT_TOKEN)")]


class UnknownProvider(NotFound):
    code = "unknown_provider"
    message = "Fournisseur SMS inconnu ou sans accusés de réception sur ce serveur."


class ReceiptNotAuthenticated(AppError):
    code = "receipt_not_authenticated"
    status_code = 401
    message = "Accusé de réception refusé : signature ou jeton invalide."


class InvalidReceipt(AppError):
    code = "invalid_receipt"
    status_code = 400
    message = "Accusé de réception illisible."


class ReceiptAck(BaseModel):
    applied: int = Field(description="Accusés qui ont fait avancer un statut")
    ignored: int = Field(description="Doublons ou nouvelles plus anciennes que l'état connu")
    pending: int = Field(description="Message pas encore enregistré : accusé gardé pour plus tard")


def _provider(request: Request, name: str) -> SmsProvider:
    # None when the application was not started (no lifespan): then no provider is configured.
    gateway: SmsGateway | None = getattr(request.app.state, "sms_gateway", None)
    if gateway is None or name not in gateway.provider_names:
        raise UnknownProvider()
    provider = gateway.provider(name)
    if not provider.capabilities.receipts:
        raise UnknownProvider()
    return provider


async def _receive(
    request: Request, session: SessionDep, provider_name: str, token: str | None
) -> ReceiptAck:
    provider = _provider(request, provider_name)
    receipts = await read_verified(
        request,
        provider,
        path_token=token,
        parse=provider.parse_receipts,
        log=log,
        event="sms.receipt_refused",
        not_authentic=ReceiptNotAuthenticated,
        unreadable=lambda why: InvalidReceipt(f"Accusé de réception illisible : {why}."),
    )
    outcome = await delivery_service.apply_receipts(
        session, provider=provider.name, receipts=receipts
    )
    metrics.count_receipts(provider.name, outcome.applied, outcome.ignored, outcome.pending)
    log.info(
        "sms.receipts provider=%s applied=%s ignored=%s pending=%s",
        provider.name,
        outcome.applied,
        outcome.ignored,
        outcome.pending,
    )
    return ReceiptAck(applied=outcome.applied, ignored=outcome.ignored, pending=outcome.pending)


_RESPONSES = error_responses(400, 401, 404)
Endpoint = Callable[..., Awaitable[Any]]


def _receipt_route(path: str, name: str) -> Callable[[Endpoint], Endpoint]:
    """POST (every provider) and GET (some send receipts as a query string) on one path, each
    with an operation id of its own: one ``api_route`` with two methods gave both the same."""

    def register(endpoint: Endpoint) -> Endpoint:
        for method in ("POST", "GET"):
            router.add_api_route(
                path,
                endpoint,
                methods=[method],
                response_model=ReceiptAck,
                responses=_RESPONSES,
                dependencies=[PUBLIC],
                operation_id=f"{name}_{method.lower()}",
            )
        return endpoint

    return register


@_receipt_route("/receipts/{provider}", "receive_receipts")
async def receipts(provider: ProviderName, request: Request, session: SessionDep) -> ReceiptAck:
    """Delivery receipts from a provider that signs its callbacks (http, Twilio)."""
    return await _receive(request, session, provider, None)


@_receipt_route("/receipts/{provider}/{token}", "receive_receipts_with_token")
async def receipts_with_token(
    provider: ProviderName, token: Token, request: Request, session: SessionDep
) -> ReceiptAck:
    """Delivery receipts with the secret token in the URL (required for Brevo)."""
    return await _receive(request, session, provider, token)
