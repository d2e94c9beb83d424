"""Command line: ``python -m app serve | migrate | demo``."""

from __future__ import annotations

import asyncio
import shutil
import signal
from collections.abc import Callable
from pathlib import Path
from types import FrameType

import typer

from app.config import Environment, Settings, get_settings

# No pretty tracebacks: they print local variables, which may hold personal data.
cli = typer.Typer(
    help="Convoc — rappels SMS de convocations pour les SPIP.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
)


def _prepare_sqlite_dir(url: str) -> None:
    """SQLite creates the file but not its folder (./var on a fresh clone)."""
    for prefix in ("sqlite+aiosqlite:///", "sqlite:///"):
        if url.startswith(prefix) and ":memory:" not in url:
            Path(url[len(prefix) :]).parent.mkdir(parents=True, exist_ok=True)


def run_migrations(url: str | None = None) -> None:
    from alembic import command
    from alembic.config import Config

    settings = get_settings()
    url = url or settings.database_url
    _prepare_sqlite_dir(url)
    from app.core.schema import alembic_ini

    config = Config(str(alembic_ini()))
    config.attributes["url"] = url
    command.upgrade(config, "head")


@cli.command()
def migrate() -> None:
    """Apply the database migrations (alembic upgrade head)."""
    run_migrations()


@cli.command()
def demo(
    if_empty: bool = typer.Option(
        False, "--if-empty", help="Ne rien faire si la base a des données"
    ),
) -> None:
    """Load demonstration data (development only)."""
    from app.demo import load_demo

    settings = get_settings()
    if settings.env != Environment.development:
        typer.echo("Les données de démonstration ne se chargent qu'en développement.", err=True)
        raise typer.Exit(code=1)
    created = asyncio.run(load_demo(settings, only_if_empty=if_empty))
    typer.echo(created)


@cli.command()
def serve(
    host: str | None = typer.Option(None, help="Adresse d'écoute (CONVOC_HOST)"),
    port: int | None = typer.Option(None, help="Port (CONVOC_PORT)"),
    workers: int | None = typer.Option(
        None, min=1, max=64, help="Processus serveur, un par cœur (CONVOC_WORKERS)"
    ),
) -> None:
    """Serve the API (and its OpenAPI docs at /docs), in one or several processes."""
    settings = get_settings()
    processes = workers or settings.workers
    if problem := settings.server_processes_problem(processes):
        typer.echo(problem, err=True)
        raise typer.Exit(code=2)
    _prepare_sqlite_dir(settings.database_url)
    created = _prepare_metrics(create=settings.metrics_token is not None)
    if created is not None:
        _remove_when_terminated(created)
    try:
        _run_uvicorn(settings, host, port, processes)
    finally:
        if created is not None:
            shutil.rmtree(created, ignore_errors=True)


def _prepare_metrics(*, create: bool) -> Path | None:
    """Multiprocess metrics, set up before any process imports ``prometheus_client``
    (``app.core.metrics_dir``); the directory it created, if any."""
    from app.core.metrics_dir import prepare_multiprocess_dir

    return prepare_multiprocess_dir(create)


def _remove_when_terminated(folder: Path) -> None:
    """Once shut down by SIGTERM, uvicorn raises it again with the handler it found: by default
    that ends the process before any ``finally``. This handler removes the metrics directory
    first, then ends the process by the signal as before."""

    def remove_then_stop(sig: int, frame: FrameType | None) -> None:
        shutil.rmtree(folder, ignore_errors=True)
        signal.signal(sig, signal.SIG_DFL)
        signal.raise_signal(sig)

    signal.signal(signal.SIGTERM, remove_then_stop)


def _run_uvicorn(settings: Settings, host: str | None, port: int | None, processes: int) -> None:
    import uvicorn

    # Several processes share the listening socket (uvicorn's supervisor restarts one that
    # dies); each builds its own application, database pool included, from the import string.
    uvicorn.run(
        "app.main:create_app",
        factory=True,
        host=host or settings.host,
        port=port or settings.port,
        workers=processes,
        # Forwarded headers only from the configured proxies (uvicorn would otherwise trust
        # anyone on 127.0.0.1, or its FORWARDED_ALLOW_IPS variable).
        proxy_headers=bool(settings.trusted_proxies),
        forwarded_allow_ips=list(settings.trusted_proxies),
        server_header=False,
        log_level=settings.log_level.lower(),
    )


@cli.command("create-admin")
def create_admin(
    email: str = typer.Option(..., help="Adresse électronique de l'administrateur"),
    password: str = typer.Option(
        ..., prompt=True, hide_input=True, confirmation_prompt=True, help="Mot de passe"
    ),
    name: str = typer.Option("Administration nationale", help="Nom affiché"),
) -> None:
    """Create a national administrator (the first account of a new installation)."""
    from app.agents.cli_actions import create_admin as action

    typer.echo(asyncio.run(action(get_settings(), email=email, password=password, name=name)))


@cli.command("activation-token")
def activation_token(email: str = typer.Option(..., help="Adresse de l'agent")) -> None:
    """Print a new one-time activation token for an agent (to set a password)."""
    from app.agents.cli_actions import activation_token as action

    typer.echo(asyncio.run(action(get_settings(), email=email)))


@cli.command()
def worker() -> None:
    """Run the reminder dispatcher (any number may run side by side on PostgreSQL)."""
    settings = get_settings()
    # Its metrics join the API's when PROMETHEUS_MULTIPROC_DIR names the directory they share;
    # before the imports below, which define the metrics.
    _prepare_metrics(create=False)
    from app.logging import configure_logging
    from app.reminders.jobs import run_worker

    configure_logging(settings.log_level)
    if settings.clock_starts_at is not None:
        from app.core import clock

        clock.set_clock(clock.starting_at(settings.clock_starts_at))
    # uvloop, as uvicorn uses for the API: the worker spends most of its time in socket I/O
    # (provider requests, database), which uvloop does at a fraction of asyncio's cost.
    with asyncio.Runner(loop_factory=_fast_event_loop()) as runner:
        runner.run(run_worker(settings))


def _fast_event_loop() -> Callable[[], asyncio.AbstractEventLoop] | None:
    try:
        import uvloop
    except ImportError:  # not built for this platform: asyncio's own loop
        return None
    return uvloop.new_event_loop


reports_cli = typer.Typer(help="Rapports de présence.", no_args_is_help=True)
cli.add_typer(reports_cli, name="reports")


@reports_cli.command("rebuild")
def reports_rebuild(
    month: list[str] = typer.Option(
        None, "--month", help="Mois AAAA-MM à recalculer (répétable) ; tous par défaut"
    ),
) -> None:
    """Rebuild the monthly attendance aggregates (all closed months by default)."""
    from app.reports.attendance import rebuild_command

    typer.echo(asyncio.run(rebuild_command(get_settings(), months=month or None)))


retention_cli = typer.Typer(help="Conservation des données (RGPD).", no_args_is_help=True)
cli.add_typer(retention_cli, name="retention")


@retention_cli.command("run")
def retention_run(
    dry_run: bool = typer.Option(
        False, "--dry-run", help="Compter seulement, sans rien archiver, supprimer ni effacer"
    ),
) -> None:
    """Apply the retention rules now (the worker does it daily): archive, delete, erase."""
    from app.retention.jobs import retention_command

    typer.echo(asyncio.run(retention_command(get_settings(), simulate=dry_run)))


def main() -> None:
    cli()
