"""Agents' sessions in the browser: the API's opaque token, in a cookie.

The cookie holds the very token ``POST /api/v1/auth/token`` issues, resolved by the same
function (``auth.resolve``): same token store, idle timeout, absolute lifetime, revocation and
lock-out. It is HttpOnly (no script reads it), SameSite=Lax (sent on links from elsewhere, not on
their POSTs) and, outside development, Secure with the ``__Host-`` prefix (only over HTTPS, for
this host only).
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from typing import Annotated
from urllib.parse import quote, urlsplit

from fastapi import Depends, Request
from starlette.responses import Response

from app.audit.service import Actor, set_actor
from app.auth import access
from app.auth import service as auth
from app.auth.access import Permission
from app.auth.dependencies import client_address, require
from app.auth.errors import Forbidden, Unauthenticated
from app.config import Environment, Settings
from app.db import SessionDep
from app.models import Agent, Role
from app.spips import service as spip_service
from app.web.security import csrf_token, csrf_valid
from app.web.settings_access import settings_mode

CSRF_FIELD = "csrf"
CSRF_HEADER = "X-CSRF-Token"


@dataclass(frozen=True)
class Viewer:
    """Who the layout names (plain values: an error page renders after the session's
    rollback, when the ORM objects can no longer be read)."""

    name: str
    spip: str | None
    reports: bool = False  # the service's dashboard: the menu offers « Tableau de bord »
    administers: bool = False  # « Administration » in the menu: local and national admins
    # « Règles de rappel » and « Modèles de SMS » in the menu: those who read them without
    # administering the SPIP (managers; administrators reach them from « Administration »).
    reads_settings: bool = False
    agendas: bool = False  # « Agendas » in the menu: every agent who reads them (agenda:read)
    # A court clerk's menu: « Sortie d'audience » and « Convocations données », nothing else.
    court: bool = False


class LoginRequired(Exception):
    """No valid session: the page answers with a redirection to the login page."""

    def __init__(self, asked: str) -> None:
        super().__init__("login required")
        self.asked = asked


# What a court clerk may open: their court's pages, and logging out. The home page sends them
# to « Sortie d'audience ». Every other page of the SPIPs answers 403 (« Action impossible »).
COURT_PATHS = ("/tribunal", "/deconnexion")


class CsrfRefused(Exception):
    """A form or htmx request without its CSRF token, or with a wrong one."""


def settings_of(request: Request) -> Settings:
    settings: Settings = request.app.state.settings
    return settings


def _secure(settings: Settings) -> bool:
    return settings.env != Environment.development


def session_cookie(settings: Settings) -> str:
    return "__Host-convoc_session" if _secure(settings) else "convoc_session"


def presession_cookie(settings: Settings) -> str:
    return "__Host-convoc_presession" if _secure(settings) else "convoc_presession"


def set_session(response: Response, token: str, settings: Settings) -> None:
    response.set_cookie(
        session_cookie(settings),
        token,
        max_age=settings.token_lifetime_hours * 3600,
        path="/",
        httponly=True,
        samesite="lax",
        secure=_secure(settings),
    )


def clear_session(response: Response, settings: Settings) -> None:
    response.delete_cookie(
        session_cookie(settings),
        path="/",
        httponly=True,
        samesite="lax",
        secure=_secure(settings),
    )


def presession(request: Request, response: Response | None = None) -> str:
    """The random value the forms shown before login are bound to (set on ``response`` when
    the browser has none yet)."""
    settings = settings_of(request)
    value = request.cookies.get(presession_cookie(settings)) or getattr(
        request.state, "presession", None
    )
    if not value:
        value = secrets.token_urlsafe(32)
        request.state.presession = value
    if response is not None and request.cookies.get(presession_cookie(settings)) != value:
        response.set_cookie(
            presession_cookie(settings),
            value,
            path="/",
            httponly=True,
            samesite="strict",
            secure=_secure(settings),
        )
    return value


def safe_next(value: str | None) -> str:
    """Where to go after login: a path of this site only (``/…``, never ``//host`` nor a
    scheme, a backslash or a control character), else the home page."""
    if not value or not value.startswith("/") or value.startswith("//"):
        return "/"
    if "\\" in value or any(ord(c) < 32 or ord(c) == 127 for c in value):
        return "/"
    parts = urlsplit(value)
    if parts.scheme or parts.netloc:
        return "/"
    return value


def login_url(asked: str | None) -> str:
    target = safe_next(asked)
    return "/connexion" if target == "/" else f"/connexion?suivant={quote(target, safe='/')}"


def _asked(request: Request) -> str:
    if request.method != "GET" or request.headers.get("HX-Request"):
        return "/"
    query = request.url.query
    return request.url.path + (f"?{query}" if query else "")


async def page_agent(request: Request, session: SessionDep) -> Agent:
    """The agent of the session cookie, or a redirection to the login page."""
    settings = settings_of(request)
    token = request.cookies.get(session_cookie(settings))
    if not token:
        raise LoginRequired(_asked(request))
    try:
        agent, token_row = await auth.resolve(session, token, settings)
    except Unauthenticated:
        raise LoginRequired(_asked(request)) from None
    request.state.token_row = token_row
    request.state.csrf_token = csrf_token(token, settings)
    spip = None
    if agent.spip_id is not None:
        spip = request.state.web_spip = await spip_service.get_spip(session, agent.spip_id)
    request.state.viewer = Viewer(
        agent.name,
        spip.name if spip else None,
        reports=access.can(agent, Permission.dashboard_read),
        administers=access.can(agent, Permission.agent_write),
        reads_settings=not access.can(agent, Permission.agent_write)
        and settings_mode(agent, Permission.policy_write) is not None,
        agendas=access.can(agent, Permission.agenda_read),
        court=agent.role == Role.court_clerk.value,
    )
    if agent.role == Role.court_clerk.value:
        _court_pages_only(request, agent)
    set_actor(session, Actor(agent.id, agent.spip_id, client_address(request)))
    return agent


def _court_pages_only(request: Request, agent: Agent) -> None:
    """A clerk has none of the SPIP's permissions; refusing here too means that no SPIP page,
    even one that forgot its ``require``, ever shows them anything."""
    path = request.url.path
    if path == "/" or path == COURT_PATHS[0] or path.startswith(COURT_PATHS[0] + "/"):
        return
    if path == COURT_PATHS[1]:
        return
    require(request, agent, Permission.person_read)  # refused, and kept in the audit trail
    raise Forbidden()


async def sent_csrf(request: Request) -> str | None:
    header = request.headers.get(CSRF_HEADER)
    if header:
        return header
    form = await request.form()
    value = form.get(CSRF_FIELD)
    return value if isinstance(value, str) else None


async def posting_agent(request: Request, agent: Annotated[Agent, Depends(page_agent)]) -> Agent:
    """``page_agent`` for a POST: refused (403) unless it carries the session's CSRF token."""
    token = request.cookies.get(session_cookie(settings_of(request)))
    if not csrf_valid(await sent_csrf(request), token, settings_of(request)):
        raise CsrfRefused()
    return agent


async def check_presession_csrf(request: Request) -> None:
    """For the forms shown before login (login, activation)."""
    bound = request.cookies.get(presession_cookie(settings_of(request)))
    if not csrf_valid(await sent_csrf(request), bound, settings_of(request)):
        raise CsrfRefused()


PageAgent = Annotated[Agent, Depends(page_agent)]
PostingAgent = Annotated[Agent, Depends(posting_agent)]
