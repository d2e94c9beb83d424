"""The ASGI application: routers, exception handlers, lifespan."""

from __future__ import annotations

import asyncio
import logging
import traceback
from collections.abc import AsyncIterator
from contextlib import AsyncExitStack, asynccontextmanager

from fastapi import APIRouter, FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from sqlalchemy.exc import DBAPIError, IntegrityError, InterfaceError, OperationalError
from sqlalchemy.exc import TimeoutError as PoolTimeout
from starlette.exceptions import HTTPException as StarletteHTTPException

from app.agendas.router import router as agendas_router
from app.agents.router import router as agents_router
from app.appointments.router import router as appointments_router
from app.audit.router import router as audit_router
from app.auth.router import router as auth_router
from app.config import Settings, get_settings
from app.core import clock, openapi
from app.core.errors import AppError
from app.core.memory import freeze_startup_objects
from app.core.metrics import HttpMetrics, mark_this_process_dead
from app.core.request_guard import RequestGuard
from app.core.schema import SchemaGate, SchemaStatus, wait_until_current
from app.core.validation import field_errors, top_code
from app.courts.router import router as courts_router
from app.db import DatabaseUnreachable, create_engine, create_sessionmaker
from app.health.metrics import router as metrics_router
from app.health.router import router as health_router
from app.links.router import router as links_router
from app.logging import configure_logging, redact_access_log
from app.operations.router import router as operations_router
from app.persons.router import router as persons_router
from app.reminders.jobs import DispatchScheduler, build_sender, dispatch_config
from app.reminders.receipts_router import router as receipts_router
from app.reminders.router import router as reminders_router
from app.replies.inbound_router import router as inbound_router
from app.replies.router import router as replies_router
from app.reports.router import router as reports_router
from app.sms.config import SmsSettings, get_sms_settings
from app.spips.router import router as spips_router
from app.web import install as install_web

log = logging.getLogger("convoc.api")

API_PREFIX = "/api/v1"

# Every router served under /api/v1 (the access-matrix test walks this list).
API_ROUTERS: tuple[APIRouter, ...] = (
    auth_router,
    spips_router,
    agents_router,
    persons_router,
    appointments_router,
    links_router,
    agendas_router,
    courts_router,
    reminders_router,
    receipts_router,
    inbound_router,
    replies_router,
    audit_router,
    reports_router,
    operations_router,
    health_router,
)

_HTTP_CODES = {
    400: ("bad_request", "Requête illisible : un corps JSON en UTF-8 est attendu."),
    401: ("unauthorized", "Authentification requise."),
    403: ("forbidden", "Action non autorisée."),
    404: ("not_found", "Ressource introuvable."),
    405: ("method_not_allowed", "Méthode non autorisée pour cette adresse."),
    413: ("payload_too_large", "Requête trop volumineuse."),
}


def create_app(
    settings: Settings | None = None, sms_settings: SmsSettings | None = None
) -> FastAPI:
    settings = settings or get_settings()
    sms_settings = sms_settings or get_sms_settings()
    configure_logging(settings.log_level)
    redact_access_log()

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        async with AsyncExitStack() as stack:
            stack.callback(mark_this_process_dead)  # last: its live gauges go with it
            # The one SMS gateway of this process: the receipts route reads its providers, the
            # embedded dispatcher sends with it. Tests may install their own.
            if app.state.sms_gateway is None:
                app.state.sms_gateway = build_sender(settings, sms_settings)
                stack.push_async_callback(_close_gateway, app)
            # Tests may install their own sessionmaker (bound to a rolled-back transaction).
            if getattr(app.state, "sessionmaker", None) is not None:
                yield
                return
            if settings.clock_starts_at is not None:
                clock.set_clock(clock.starting_at(settings.clock_starts_at))
                stack.callback(clock.reset_clock)
            engine = create_engine(settings)
            stack.push_async_callback(engine.dispose)
            app.state.sessionmaker = create_sessionmaker(engine)
            app.state.schema_status = schema = SchemaStatus(engine)
            freeze_startup_objects()
            if settings.embedded_worker:
                worker = DispatchScheduler(
                    app.state.sessionmaker,
                    app.state.sms_gateway,
                    dispatch_config(settings, sms_settings),
                    settings.worker_interval_seconds,
                )
                # Not yet migrated: the gate answers 503, and the embedded dispatcher waits
                # rather than tick on a schema it was not written for.
                starting = asyncio.create_task(_start_when_current(schema, worker))
                stack.callback(starting.cancel)
                stack.push_async_callback(worker.stop)  # first: its tick may still be sending
            yield

    app = FastAPI(
        title="Convoc",
        summary="Rappels SMS de convocations pour les SPIP",
        version="0.1.0",
        lifespan=lifespan,
    )
    app.state.settings = settings
    app.state.sms_settings = sms_settings  # the operations page shows the providers' limits
    app.state.sessionmaker = None
    app.state.sms_gateway = None  # built by the lifespan
    app.state.schema_status = None  # set by the lifespan (tests' sessionmakers: no gate)
    app.add_middleware(RequestGuard, max_bytes=settings.max_body_bytes)
    app.add_middleware(SchemaGate)
    app.add_middleware(HttpMetrics)  # outermost: counts what the guard refuses too
    for router in API_ROUTERS:
        app.include_router(router, prefix=API_PREFIX)
    app.include_router(health_router, include_in_schema=False)  # for load balancers
    app.include_router(metrics_router)  # GET /metrics, for Prometheus (CONVOC_METRICS_TOKEN)
    _add_exception_handlers(app)
    install_web(app)  # the pages at /, after the handlers it extends
    openapi.install(app)
    return app


async def _start_when_current(schema: SchemaStatus, worker: DispatchScheduler) -> None:
    if not await schema.current():
        log.warning("worker.waiting_for_migrations")
        await wait_until_current(schema)
    worker.start()


async def _close_gateway(app: FastAPI) -> None:
    gateway, app.state.sms_gateway = app.state.sms_gateway, None
    await gateway.aclose()


_OUT_OF_RANGE = "Valeur hors des limites acceptées (date, nombre ou caractère invalide)."
_INTERNAL = "Erreur interne : l'équipe technique est prévenue."


def _is_data_exception(exc: DBAPIError) -> bool:
    sqlstate = getattr(exc.orig, "sqlstate", None) or getattr(exc.orig, "pgcode", None)
    return isinstance(sqlstate, str) and sqlstate.startswith("22")


def _error(status: int, code: str, detail: str, **extra: object) -> JSONResponse:
    return JSONResponse({"error": code, "detail": detail, **extra}, status_code=status)


def _add_exception_handlers(app: FastAPI) -> None:
    # Imported here: this function is the SMS and logging team's part of the module.
    from app.core import sqlstate
    from app.logging import request_path

    @app.exception_handler(AppError)
    async def _app_error(_: Request, exc: AppError) -> JSONResponse:
        response = _error(exc.status_code, exc.code, exc.detail, **exc.extra)
        response.headers.update(exc.response_headers())
        return response

    @app.exception_handler(RequestValidationError)
    async def _validation(_: Request, exc: RequestValidationError) -> JSONResponse:
        fields = field_errors(exc.errors())
        detail = fields[0]["message"] if len(fields) == 1 else "Données invalides."
        return _error(422, top_code(fields), detail, fields=fields)

    @app.exception_handler(StarletteHTTPException)
    async def _http(_: Request, exc: StarletteHTTPException) -> JSONResponse:
        code, detail = _HTTP_CODES.get(exc.status_code, ("http_error", "Requête refusée."))
        if exc.status_code == 413 and isinstance(exc.detail, str):
            detail = exc.detail  # the request guard's French message, with the limit
        return JSONResponse(
            {"error": code, "detail": detail},
            status_code=exc.status_code,
            headers=getattr(exc, "headers", None),
        )

    @app.exception_handler(IntegrityError)
    async def _integrity(request: Request, exc: IntegrityError) -> JSONResponse:
        # A race between two requests that the service's checks could not see.
        log.warning("db.integrity_error path=%s", request_path(request))
        return _error(409, "conflict", "Conflit avec une modification simultanée : réessayez.")

    @app.exception_handler(PoolTimeout)
    async def _overloaded(request: Request, exc: PoolTimeout) -> JSONResponse:
        # Every connection busy for the whole pool timeout: the server is overloaded.
        log.error("db.pool_exhausted path=%s", request_path(request))
        return JSONResponse(
            {
                "error": "service_overloaded",
                "detail": "Le service est momentanément surchargé : réessayez dans un instant.",
            },
            status_code=503,
            headers={"Retry-After": "5"},
        )

    @app.exception_handler(DBAPIError)
    async def _database(request: Request, exc: DBAPIError) -> JSONResponse:
        if _is_data_exception(exc):
            # SQLSTATE class 22: the value sent cannot be stored (NUL byte, out-of-range number
            # or date) — the client's mistake, not the server's.
            log.warning("db.data_exception path=%s", request_path(request))
            return _error(422, "invalid_value", _OUT_OF_RANGE)
        if sqlstate.is_conflict(exc):
            # 40001/40P01: rolled back because of a concurrent transaction (app.core.sqlstate).
            log.warning(
                "db.conflict path=%s sqlstate=%s", request_path(request), sqlstate.sqlstate(exc)
            )
            return _error(409, "conflict", "Conflit avec une modification simultanée : réessayez.")
        unavailable = exc.connection_invalidated or sqlstate.is_unavailable(exc)
        if not (unavailable or isinstance(exc, OperationalError | InterfaceError)):
            return await _unexpected(request, exc)
        log.error(
            "db.unavailable path=%s error=%s sqlstate=%s",
            request_path(request),
            type(exc.orig).__name__,
            sqlstate.sqlstate(exc),
        )
        return _error(
            503, "service_unavailable", "La base de données est momentanément indisponible."
        )

    @app.exception_handler(OverflowError)
    async def _overflow(request: Request, exc: OverflowError) -> JSONResponse:
        # Date arithmetic on absurd input (year 9999 plus an offset, a day after 9999-12-31).
        log.warning("api.overflow path=%s", request_path(request))
        return _error(422, "invalid_value", _OUT_OF_RANGE)

    @app.exception_handler(DatabaseUnreachable)
    async def _unreachable(request: Request, exc: DatabaseUnreachable) -> JSONResponse:
        # Connection refused, a name that does not resolve, a timeout: the engine names these
        # (app.db); any other OSError is not the database's absence (below).
        cause = exc.__cause__ or exc
        log.error("db.unreachable path=%s error=%s", request_path(request), type(cause).__name__)
        return _error(
            503, "service_unavailable", "La base de données est momentanément indisponible."
        )

    @app.exception_handler(OSError)
    async def _os_error(request: Request, exc: OSError) -> JSONResponse:
        # A file, an SMS provider's socket…: an unexpected error, ours or the host's. Its text
        # may quote a file name or an address, so the line keeps its type, its errno and where
        # it was raised (the code's lines), not its message; handled here, it is not re-raised
        # to the server, which would print it whole.
        where = "".join(traceback.format_tb(exc.__traceback__)).rstrip()
        log.error(
            "api.unexpected_error path=%s error=%s errno=%s\n%s",
            request_path(request),
            type(exc).__name__,
            exc.errno,
            where,
        )
        return _error(500, "internal_error", _INTERNAL)

    @app.exception_handler(Exception)
    async def _unexpected(request: Request, exc: Exception) -> JSONResponse:
        log.exception("api.unexpected_error path=%s", request_path(request))
        return _error(500, "internal_error", _INTERNAL)
