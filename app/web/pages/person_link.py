"""The followed person's page, reached from the link in their SMS (``/c/<token>``): no login.

What it shows is what the SMS already say (date, time, place, the SPIP), never a name; an
unknown, revoked or expired token gets the same plain 404 (no oracle). Every answer carries
``noindex``, ``no-referrer`` (the token is in the URL) and ``no-store``; each client address is
rate limited, wrong tokens included. « Ne plus recevoir de SMS » records the person's refusal
(``app.persons.refusal``) after a confirmation that says the convocation stays mandatory.
"""

from __future__ import annotations

import hmac
import re
from typing import Annotated
from urllib.parse import quote_plus

from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse
from sqlalchemy.ext.asyncio import AsyncSession
from starlette.responses import Response

from app.auth.dependencies import client_address
from app.config import Settings, get_settings
from app.core.clock import utcnow
from app.core.localtime import zone
from app.db import SessionDep
from app.links import calendar, tokens
from app.links import service as link_service
from app.links.ratelimit import SlidingWindow
from app.models import AppointmentStatus, PhoneStatus, RefusalChannel
from app.persons.refusal import record_refusal_by_person
from app.web.templating import french_date, french_time, heure_de, render

router = APIRouter()

PERSON_HEADERS = {
    "X-Robots-Tag": "noindex, nofollow",
    "Referrer-Policy": "no-referrer",
    "Cache-Control": "no-store",
}
BRING = "une pièce d'identité et cette convocation"
NOTICE_STOPPED = "stop"


def _limiter(request: Request) -> SlidingWindow:
    limiter: SlidingWindow | None = getattr(request.app.state, "link_limiter", None)
    if limiter is None:
        settings: Settings = request.app.state.settings
        limiter = SlidingWindow(settings.link_rate_limit, settings.link_rate_window_minutes * 60)
        request.app.state.link_limiter = limiter
    return limiter


def _refused(request: Request) -> Response | None:
    """The 429 page when this address asked too often; every request counts, found or not."""
    wait = _limiter(request).hit(client_address(request))
    return too_many(request, wait) if wait is not None else None


def _page(request: Request, name: str, context: dict[str, object], status: int = 200) -> Response:
    return render(request, name, context, status_code=status, headers=PERSON_HEADERS)


def not_found(request: Request) -> Response:
    """One answer for every token that opens nothing: unknown, revoked, expired, malformed."""
    return _page(request, "public/introuvable.html", {}, 404)


def too_many(request: Request, retry_after: int) -> Response:
    response = _page(request, "public/trop_de_demandes.html", {}, 429)
    response.headers["Retry-After"] = str(retry_after)
    return response


async def _target(session: AsyncSession, token: str) -> link_service.LinkTarget | None:
    return await link_service.resolve(session, token, now=utcnow())


def _facts(target: link_service.LinkTarget) -> dict[str, object]:
    """The convocation as the page writes it, in the place's local time."""
    latest, place = target.latest, target.place
    local = latest.starts_at.astimezone(zone(place.timezone))
    original = target.appointment.starts_at.astimezone(zone(place.timezone))
    address = ", ".join(p for p in (place.name, place.address) if p)
    phone = place.phone
    return {
        "spip_name": target.spip.name,
        "type_label": target.type_label,
        "date": french_date(local),
        "hour": french_time(local),
        "zone": heure_de(place.timezone),
        "original_date": french_date(original),
        "original_hour": french_time(original),
        "place_name": place.name,
        "address": place.address,
        "map_url": "https://www.openstreetmap.org/search?query=" + quote_plus(address),
        "phone": phone,
        "phone_href": "tel:" + re.sub(r"[^\d+]", "", phone) if phone else None,
        "info_url": place.info_url,
        "bring": BRING,
        "cancelled": latest.status == AppointmentStatus.cancelled.value,
        "moved": target.moved,
        "past": latest.starts_at < utcnow(),
    }


@router.get("/c/{token}", response_class=HTMLResponse)
async def convocation_page(
    request: Request, token: str, session: SessionDep, info: str | None = None
) -> Response:
    if (refused := _refused(request)) is not None:
        return refused
    target = await _target(session, token)
    if target is None:
        return not_found(request)
    person = await link_service.person_of(session, target)
    context = _facts(target) | {
        "token": token,
        "sms_stopped": person.phone_status == PhoneStatus.refused.value,
        "can_stop": person.phone_status == PhoneStatus.valid.value,
        "just_stopped": info == NOTICE_STOPPED,
    }
    return _page(request, "public/convocation.html", context)


@router.get("/c/{token}/calendrier.ics")
async def convocation_calendar(request: Request, token: str, session: SessionDep) -> Response:
    if (refused := _refused(request)) is not None:
        return refused
    target = await _target(session, token)
    if target is None:
        return not_found(request)
    facts = _facts(target)
    latest, place = target.latest, target.place
    lines = [
        "Votre présence est obligatoire.",
        f"À apporter : {BRING}.",
        f"En cas d'empêchement, appelez le {place.phone}." if place.phone else None,
    ]
    body = calendar.convocation_ics(
        uid_seed=target.link.nonce,
        starts_at=latest.starts_at,
        duration_minutes=latest.duration_minutes,
        timezone=place.timezone,
        summary=f"Convocation {target.spip.name}" + (" (annulée)" if facts["cancelled"] else ""),
        location=", ".join(p for p in (place.name, place.address) if p),
        description="\n".join(line for line in lines if line),
        cancelled=bool(facts["cancelled"]),
        stamp=utcnow(),
    )
    headers = PERSON_HEADERS | {"Content-Disposition": 'attachment; filename="convocation.ics"'}
    return Response(body, media_type="text/calendar; charset=utf-8", headers=headers)


def _stop_proof(token: str) -> str:
    return tokens.stop_proof(get_settings().secret_key, token)


@router.get("/c/{token}/stop", response_class=HTMLResponse)
async def stop_confirmation(request: Request, token: str, session: SessionDep) -> Response:
    if (refused := _refused(request)) is not None:
        return refused
    target = await _target(session, token)
    if target is None:
        return not_found(request)
    person = await link_service.person_of(session, target)
    if person.phone_status != PhoneStatus.valid.value:  # nothing to stop: the page says so
        return RedirectResponse(f"/c/{token}", status_code=303, headers=PERSON_HEADERS)
    context = _facts(target) | {"token": token, "proof": _stop_proof(token)}
    return _page(request, "public/stop.html", context)


@router.post("/c/{token}/stop", response_class=HTMLResponse)
async def stop_sms(
    request: Request,
    token: str,
    session: SessionDep,
    proof: Annotated[str, Form()] = "",
) -> Response:
    if (refused := _refused(request)) is not None:
        return refused
    target = await _target(session, token)
    if target is None:
        return not_found(request)
    if not hmac.compare_digest(proof, _stop_proof(token)):
        context = _facts(target) | {"token": token, "proof": _stop_proof(token), "refused": True}
        return _page(request, "public/stop.html", context, 403)
    person = await link_service.person_of(session, target)
    if person.phone_status == PhoneStatus.valid.value:  # else no SMS goes anyway: nothing to do
        record_refusal_by_person(session, person, via=RefusalChannel.link)
    # The commit happens before the redirect leaves (SessionDep).
    return RedirectResponse(
        f"/c/{token}?info={NOTICE_STOPPED}", status_code=303, headers=PERSON_HEADERS
    )


@router.get("/c/{token}/{rest:path}", response_class=HTMLResponse)
async def other_path(request: Request, token: str, rest: str) -> Response:
    """Any other address under a link answers like an unknown link (a link cut or glued to
    other text by a phone's SMS reader)."""
    if (refused := _refused(request)) is not None:
        return refused
    return not_found(request)
