"""Received SMS webhook: ``POST /api/v1/sms/inbound/{provider}[/{token}]``.

Called by SMS providers, like the receipts route (``app.reminders.receipts_router``), with the
same proofs and the same order of checks; nothing is written before the last one passes:

1. the provider must be configured and forward received SMS, else 404 ``unknown_provider``;
2. the request must be authentic (the provider's ``verify``: the ``http`` HMAC signature,
   Twilio's signature of this URL, Brevo's secret path token), else 401
   ``inbound_not_authenticated``;
3. it must be readable (``parse_inbound``), else 400 ``invalid_inbound`` — a batch with one
   unreadable item is refused whole.

Then each SMS is stored once and applied (``app.replies.service``), and the answer goes out
after the commit: Twilio's is an empty TwiML ``<Response/>`` (``text/xml``: Twilio then sends
no SMS of its own), the others' ``{"accepted": n, "duplicates": n}``.
"""

from __future__ import annotations

import logging
from typing import Annotated

from fastapi import APIRouter, Path, Request
from starlette.responses import Response

from app.auth.dependencies import PUBLIC
from app.core.responses import error_responses
from app.db import SessionDep
from app.replies import service
from app.replies.errors import InboundNotAuthenticated, InvalidInbound, UnknownInboundProvider
from app.replies.schemas import InboundAck
from app.sms.base import InboundProvider, inbound_capable
from app.sms.gateway import SmsGateway
from app.sms.receipts import read_verified

log = logging.getLogger("convoc.sms.inbound")

router = APIRouter(prefix="/sms", tags=["SMS"])

ProviderName = Annotated[str, Path(description="Fournisseur, par ex. http")]
Token = Annotated[str, Path(description="Jeton secret (CONVOC_SMS_RECEIPT_TOKEN)")]
EMPTY_TWIML = '<?xml version="1.0" encoding="UTF-8"?><Response/>'
_RESPONSES = error_responses(400, 401, 404) | {
    200: {
        "description": "SMS enregistrés (Twilio : TwiML vide)",
        "content": {"text/xml": {"example": EMPTY_TWIML}},
    }
}


def _provider(request: Request, name: str) -> InboundProvider:
    gateway: SmsGateway | None = getattr(request.app.state, "sms_gateway", None)
    if gateway is None or name not in gateway.provider_names:
        raise UnknownInboundProvider()
    provider = inbound_capable(gateway.provider(name))
    if provider is None:
        raise UnknownInboundProvider()
    return provider


async def _receive(
    request: Request, session: SessionDep, provider_name: str, token: str | None
) -> InboundAck | Response:
    provider = _provider(request, provider_name)
    messages = await read_verified(
        request,
        provider,
        path_token=token,
        parse=provider.parse_inbound,
        log=log,
        event="sms.inbound_refused",
        not_authentic=InboundNotAuthenticated,
        unreadable=lambda why: InvalidInbound(f"SMS reçu illisible : {why}."),
    )
    outcome = await service.receive(session, messages=messages)
    log.info(
        "sms.inbound_batch provider=%s accepted=%s duplicates=%s stops=%s replies=%s unmatched=%s",
        provider.name,
        outcome.accepted,
        outcome.duplicates,
        outcome.stops,
        outcome.replies,
        outcome.unmatched,
    )
    if provider.name == "twilio":
        return Response(EMPTY_TWIML, media_type="text/xml")
    return InboundAck(accepted=outcome.accepted, duplicates=outcome.duplicates)


@router.post(
    "/inbound/{provider}",
    response_model=InboundAck,
    responses=_RESPONSES,
    dependencies=[PUBLIC],
    operation_id="receive_inbound_sms",
)
async def inbound(
    provider: ProviderName, request: Request, session: SessionDep
) -> InboundAck | Response:
    """SMS received by a provider that signs its webhooks (http, Twilio)."""
    return await _receive(request, session, provider, None)


@router.post(
    "/inbound/{provider}/{token}",
    response_model=InboundAck,
    responses=_RESPONSES,
    dependencies=[PUBLIC],
    operation_id="receive_inbound_sms_with_token",
)
async def inbound_with_token(
    provider: ProviderName, token: Token, request: Request, session: SessionDep
) -> InboundAck | Response:
    """SMS received, with the secret token in the URL (required for Brevo)."""
    return await _receive(request, session, provider, token)
