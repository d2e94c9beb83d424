"""Command line: ``python -m app serve | migrate | demo``."""

from __future__ import annotations

import asyncio
from pathlib import Path

import typer

from app.config import Environment, get_settings

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
    ini = Path.cwd() / "alembic.ini"
    if not ini.exists():
        ini = Path(__file__).resolve().parents[1] / "alembic.ini"
    config = Config(str(ini))
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
) -> None:
    """Serve the API (and its OpenAPI docs at /docs)."""
    import uvicorn

    settings = get_settings()
    _prepare_sqlite_dir(settings.database_url)
    uvicorn.run(
        "app.main:create_app",
        factory=True,
        host=host or settings.host,
        port=port or settings.port,
        proxy_headers=True,
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
    from app.logging import configure_logging
    from app.reminders.jobs import run_worker

    settings = get_settings()
    configure_logging(settings.log_level)
    asyncio.run(run_worker(settings))


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


def main() -> None:
    cli()
