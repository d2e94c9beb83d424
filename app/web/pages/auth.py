"""Login, logout and activation pages: the API's login service behind a form."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse
from starlette.responses import Response

from app.auth import service as auth
from app.auth.dependencies import client_address
from app.auth.errors import (
    InvalidActivationToken,
    InvalidCredentials,
    TooManyAttempts,
    Unauthenticated,
    WeakPassword,
)
from app.auth.passwords import MIN_LENGTH
from app.db import SessionDep
from app.web.security import csrf_token
from app.web.sessions import (
    PostingAgent,
    check_presession_csrf,
    clear_session,
    presession,
    safe_next,
    session_cookie,
    set_session,
    settings_of,
)
from app.web.templating import render

router = APIRouter()
FormText = Annotated[str, Form()]
NOTICES = {
    "deconnecte": "Vous êtes déconnecté.",
    "active": "Votre mot de passe est enregistré : connectez-vous.",
}


def _public_form(
    request: Request, name: str, context: dict[str, object], *, status_code: int = 200
) -> HTMLResponse:
    """A form shown before login, bound to the pre-session cookie (set if missing)."""
    request.state.csrf_token = csrf_token(presession(request), settings_of(request))
    response = render(request, name, context, status_code=status_code)
    presession(request, response)
    return response


@router.get("/connexion", response_class=HTMLResponse)
async def login_page(
    request: Request, session: SessionDep, suivant: str | None = None, info: str | None = None
) -> Response:
    target = safe_next(suivant)
    token = request.cookies.get(session_cookie(settings_of(request)))
    if token:
        try:
            await auth.resolve(session, token, settings_of(request))
            return RedirectResponse(target, status_code=303)
        except Unauthenticated:
            pass
    notice = NOTICES.get(info or "")
    return _public_form(
        request, "pages/login.html", {"suivant": target, "email": "", "notice": notice}
    )


@router.post(
    "/connexion", response_class=HTMLResponse, dependencies=[Depends(check_presession_csrf)]
)
async def login(
    request: Request,
    session: SessionDep,
    email: FormText = "",
    password: FormText = "",
    suivant: FormText = "/",
) -> Response:
    target = safe_next(suivant)
    context: dict[str, object] = {"suivant": target, "email": email.strip()}
    errors = {}
    if not email.strip():
        errors["email"] = "Saisissez votre adresse électronique."
    if not password:
        errors["password"] = "Saisissez votre mot de passe."
    if errors:
        return _public_form(
            request, "pages/login.html", context | {"errors": errors}, status_code=422
        )
    try:
        issued = await auth.login(
            session,
            email=email,
            password=password,
            client=client_address(request),
            settings=settings_of(request),
        )
    except TooManyAttempts as exc:
        await session.rollback()  # as the API: a refused attempt is not counted
        response = _public_form(
            request, "pages/login.html", context | {"alert": exc.detail}, status_code=429
        )
        response.headers.update(exc.response_headers())
        return response
    if issued is None:
        # The failure counts (lock-out, rate limit, audit): the request's session commits it.
        return _public_form(
            request,
            "pages/login.html",
            context | {"alert": InvalidCredentials.message},
            status_code=401,
        )
    redirect = RedirectResponse(target, status_code=303)
    set_session(redirect, issued.token, settings_of(request))
    return redirect


@router.post("/deconnexion")
async def logout(request: Request, agent: PostingAgent, session: SessionDep) -> Response:
    await auth.logout(session, request.state.token_row, agent)
    response = RedirectResponse("/connexion?info=deconnecte", status_code=303)
    clear_session(response, settings_of(request))
    return response


def _activation(
    request: Request, context: dict[str, object], *, status_code: int = 200
) -> HTMLResponse:
    response = _public_form(
        request,
        "pages/activation.html",
        {"min_length": MIN_LENGTH, **context},
        status_code=status_code,
    )
    # The page's address holds the one-time token: never send it to another site.
    response.headers["Referrer-Policy"] = "no-referrer"
    return response


@router.get("/activation", response_class=HTMLResponse)
async def activation_page(request: Request, token: str = "") -> Response:
    if not token:
        return _activation(request, {"alert": InvalidActivationToken.message}, status_code=400)
    return _activation(request, {"token": token})


@router.post(
    "/activation", response_class=HTMLResponse, dependencies=[Depends(check_presession_csrf)]
)
async def activate(
    request: Request,
    session: SessionDep,
    token: FormText = "",
    password: FormText = "",
    confirmation: FormText = "",
) -> Response:
    errors = {}
    if not password:
        errors["password"] = "Choisissez un mot de passe."
    elif password != confirmation:
        errors["confirmation"] = "Les deux mots de passe ne sont pas identiques."
    if errors:
        return _activation(request, {"token": token, "errors": errors}, status_code=422)
    try:
        await auth.activate(session, token=token, password=password, settings=settings_of(request))
    except WeakPassword as exc:
        await session.rollback()
        errors = {"password": exc.detail}
        return _activation(request, {"token": token, "errors": errors}, status_code=422)
    except InvalidActivationToken as exc:
        await session.rollback()
        return _activation(request, {"alert": exc.detail}, status_code=400)
    return RedirectResponse("/connexion?info=active", status_code=303)
