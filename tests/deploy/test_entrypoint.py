"""deploy/entrypoint.sh, run outside a container (the image cannot be built on this machine):
each role starts what it says, and SIGTERM reaches the process (``exec``), which stops cleanly."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest
from sqlalchemy.ext.asyncio import create_async_engine

from app.core.schema import code_head, database_revision
from tests.reminders.processes import free_port, wait_http, wait_until

ROOT = Path(__file__).resolve().parents[2]
ENTRYPOINT = ROOT / "deploy" / "entrypoint.sh"


def _environment(database: Path) -> dict[str, str]:
    # The image's python is first on PATH; here, the one running the tests.
    return os.environ | {
        "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}",
        "CONVOC_ENV": "test",
        "CONVOC_SECRET_KEY": "e" * 40,
        "CONVOC_DATABASE_URL": f"sqlite:///{database}",
        "CONVOC_LOG_LEVEL": "INFO",
        "CONVOC_WORKER_INTERVAL_SECONDS": "0.5",
    }


def run_role(database: Path, *args: str) -> subprocess.CompletedProcess[bytes]:
    return subprocess.run(
        ["sh", str(ENTRYPOINT), *args],
        cwd=ROOT,
        env=_environment(database),
        capture_output=True,
        timeout=120,
        check=False,
    )


def start_role(database: Path, log: Path, *args: str) -> subprocess.Popen[bytes]:
    with log.open("wb") as out:
        return subprocess.Popen(
            ["sh", str(ENTRYPOINT), *args],
            cwd=ROOT,
            env=_environment(database),
            stdout=out,
            stderr=subprocess.STDOUT,
        )


def terminate(process: subprocess.Popen[bytes]) -> int:
    process.send_signal(signal.SIGTERM)
    try:
        return process.wait(timeout=30)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait(timeout=10)
        raise


@pytest.fixture
def migrated(tmp_path: Path) -> Path:
    database = tmp_path / "convoc.db"
    done = run_role(database, "migrate")
    assert done.returncode == 0, done.stderr.decode(errors="replace")
    return database


async def test_migrate_brings_the_database_to_the_codes_head(migrated: Path) -> None:
    engine = create_async_engine(f"sqlite+aiosqlite:///{migrated}")
    try:
        assert await database_revision(engine) == code_head()
    finally:
        await engine.dispose()


async def test_the_api_role_serves_and_stops_on_sigterm(migrated: Path, tmp_path: Path) -> None:
    port = free_port()
    api = start_role(
        migrated, tmp_path / "api.log", "api", "--host", "127.0.0.1", "--port", str(port)
    )
    try:
        await wait_http(f"http://127.0.0.1:{port}/health/ready", api)
    finally:
        code = terminate(api)
    text = (tmp_path / "api.log").read_text()
    # uvicorn drains, shuts the application down, then re-raises the signal it got: the
    # orchestrator reads a process ended by SIGTERM, after a complete shutdown.
    assert code in (0, -signal.SIGTERM), text
    assert "Application shutdown complete" in text


async def test_the_worker_role_ticks_and_stops_on_sigterm(migrated: Path, tmp_path: Path) -> None:
    log = tmp_path / "worker.log"
    worker = start_role(migrated, log, "worker")
    try:

        async def started() -> bool:
            return "worker.started" in log.read_text()

        await wait_until(started, limit=30)
    finally:
        code = terminate(worker)
    assert code == 0, log.read_text()
    assert "worker.stopped" in log.read_text()


def test_any_other_word_runs_as_a_command(tmp_path: Path) -> None:
    done = run_role(tmp_path / "unused.db", "python", "-c", "print('convoc')")
    assert done.returncode == 0
    assert done.stdout.strip() == b"convoc"
