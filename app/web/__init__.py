"""The web application for agents: server-rendered pages (Jinja2, DSFR, htmx) at ``/``.

``install(app)`` mounts the pages, the static files and the pages' security headers, and
makes errors met by a page answer as pages (French, DSFR) while the API keeps its JSON.
"""

from __future__ import annotations

import inspect

from fastapi import FastAPI, Request
from fastapi.responses import RedirectResponse
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.responses import Response

from app.core.errors import AppError
from app.web import static
from app.web.pages import (
    admin,
    admin_agents,
    admin_courts,
    agenda_slots,
    agendas,
    appointment,
    appointments,
    audit,
    auth,
    booking,
    court,
    dashboard,
    home,
    national_templates,
    operations,
    person_link,
    persons,
    reminder_settings,
    replies,
)
from app.web.security import NOT_PAGES, PageHeaders
from app.web.sessions import CsrfRefused, LoginRequired, login_url
from app.web.templating import render_error

_HTTP_TITLES = {
    404: ("Page introuvable", "Cette page n'existe pas, ou vous n'y avez pas accès."),
    405: ("Action impossible", "Cette adresse ne permet pas cette action."),
}


def install(app: FastAPI) -> None:
    app.include_router(auth.router, include_in_schema=False)
    # The followed persons' pages (/c/<token>): no login, their own layout and headers.
    app.include_router(person_link.router, include_in_schema=False)
    # Before any router with /convocations/{id}: /convocations/impression is not an id.
    app.include_router(appointments.router, include_in_schema=False)
    app.include_router(home.router, include_in_schema=False)
    app.include_router(booking.router, include_in_schema=False)
    app.include_router(persons.router, include_in_schema=False)
    app.include_router(replies.router, include_in_schema=False)
    app.include_router(appointment.router, include_in_schema=False)
    app.include_router(dashboard.router, include_in_schema=False)
    app.include_router(agendas.router, include_in_schema=False)
    app.include_router(agenda_slots.router, include_in_schema=False)
    app.include_router(admin.router, include_in_schema=False)
    app.include_router(admin_agents.router, include_in_schema=False)
    app.include_router(admin_courts.router, include_in_schema=False)
    app.include_router(court.router, include_in_schema=False)
    app.include_router(audit.router, include_in_schema=False)
    app.include_router(reminder_settings.router, include_in_schema=False)
    app.include_router(national_templates.router, include_in_schema=False)
    app.include_router(operations.router, include_in_schema=False)
    app.mount(static.PREFIX, static.VersionedStatic(), name="static")
    app.add_middleware(PageHeaders)
    _add_page_errors(app)


def _is_page(request: Request) -> bool:
    return not request.url.path.startswith((*NOT_PAGES, static.PREFIX))


def _add_page_errors(app: FastAPI) -> None:
    api_http_handler = app.exception_handlers[StarletteHTTPException]
    api_error_handler = app.exception_handlers[AppError]

    async def login_required(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, LoginRequired)
        target = login_url(exc.asked)
        if request.headers.get("HX-Request"):
            # htmx follows HX-Redirect with a full page load.
            return Response(status_code=401, headers={"HX-Redirect": target})
        return RedirectResponse(target, status_code=303)

    async def csrf_refused(request: Request, exc: Exception) -> Response:
        return render_error(request, "pages/csrf.html", None, status_code=403)

    async def http_error(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, StarletteHTTPException)
        if not _is_page(request) or exc.status_code not in _HTTP_TITLES:
            response = api_http_handler(request, exc)
            return await response if inspect.isawaitable(response) else response
        title, message = _HTTP_TITLES[exc.status_code]
        context = {"title": title, "message": message}
        return render_error(request, "pages/error.html", context, status_code=exc.status_code)

    async def app_error(request: Request, exc: Exception) -> Response:
        """A domain error met by a page (« introuvable », a forbidden action): a French page."""
        assert isinstance(exc, AppError)
        if not _is_page(request):
            response = api_error_handler(request, exc)
            return await response if inspect.isawaitable(response) else response
        title = "Page introuvable" if exc.status_code == 404 else "Action impossible"
        context = {"title": title, "message": exc.detail}
        return render_error(request, "pages/error.html", context, status_code=exc.status_code)

    app.add_exception_handler(LoginRequired, login_required)
    app.add_exception_handler(AppError, app_error)
    app.add_exception_handler(CsrfRefused, csrf_refused)
    app.add_exception_handler(StarletteHTTPException, http_error)
