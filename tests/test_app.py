"""Health, error rendering, settings, the command line."""

from __future__ import annotations

import contextlib
import os
import socket
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest
from pydantic import ValidationError

from app.config import DEV_SECRET_KEY, Settings
from app.db import create_engine, create_sessionmaker
from app.main import create_app


async def test_health_and_readiness(client: httpx.AsyncClient) -> None:
    assert (await client.get("/health")).json() == {"status": "ok"}
    assert (await client.get("/health/ready")).json() == {"status": "ok"}


async def test_errors_are_json_in_french(client: httpx.AsyncClient) -> None:
    unknown = await client.get("/nowhere")
    assert unknown.status_code == 404
    assert unknown.json() == {"error": "not_found", "detail": "Ressource introuvable."}
    wrong_method = await client.delete("/spips")
    assert wrong_method.status_code == 405
    assert wrong_method.json()["error"] == "method_not_allowed"
    broken = await client.post(
        "/spips", content=b'{"code": ', headers={"content-type": "application/json"}
    )
    assert broken.status_code == 422
    assert broken.json()["fields"][0]["code"] == "json_invalid"
    not_utf8 = await client.post(
        "/spips", content=b'{"code": "\xff\xfe"}', headers={"content-type": "application/json"}
    )
    assert not_utf8.status_code == 400
    assert not_utf8.json()["error"] == "bad_request"
    array = await client.post("/spips", json=[1, 2])
    assert array.status_code == 422
    assert array.json()["detail"]


async def test_database_down_answers_503_not_a_stack_trace() -> None:
    settings = Settings(env="test", secret_key="y" * 40)
    app = create_app(settings)
    # Port 9 (discard) on loopback: nothing listens, the connection is refused at once.
    engine = create_engine(settings, "postgresql://postgres@127.0.0.1:9/convoc")
    app.state.sessionmaker = create_sessionmaker(engine)
    transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
    async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
        assert (await client.get("/health")).status_code == 200
        ready = await client.get("/health/ready")
        assert ready.status_code == 503
        assert ready.json()["error"] == "service_unavailable"
        listing = await client.get("/api/v1/spips", headers={"Authorization": "Bearer some-token"})
        assert listing.status_code == 503
        assert "Traceback" not in listing.text
    await engine.dispose()


def test_default_secret_refused_outside_development() -> None:
    with pytest.raises(ValidationError, match="CONVOC_SECRET_KEY"):
        Settings(env="production", secret_key=DEV_SECRET_KEY)
    with pytest.raises(ValidationError):
        Settings(env="production", secret_key="short")
    assert Settings(env="development").secret_key == DEV_SECRET_KEY
    assert Settings(env="production", secret_key="z" * 40).env == "production"


def test_trusted_proxies_are_none_by_default_and_read_from_a_list(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    assert Settings(env="development").trusted_proxies == ()
    monkeypatch.setenv("CONVOC_TRUSTED_PROXIES", "10.0.0.5, 10.1.0.0/16,::1")
    assert Settings(env="development").trusted_proxies == ("10.0.0.5", "10.1.0.0/16", "::1")
    monkeypatch.setenv("CONVOC_TRUSTED_PROXIES", "10.0.0.5,proxy.example")
    with pytest.raises(ValidationError, match="« proxy\\.example » n'est ni une adresse IP"):
        Settings(env="development")


def _cli(args: list[str], db: Path, **env: str) -> subprocess.CompletedProcess[str]:
    environment = (
        os.environ
        | {
            "CONVOC_DATABASE_URL": f"sqlite:///{db}",
            "CONVOC_ENV": "development",
        }
        | env
    )
    return subprocess.run(
        [sys.executable, "-m", "app", *args],
        capture_output=True,
        text=True,
        env=environment,
        timeout=120,
        check=False,
    )


def test_cli_migrate_and_demo_are_repeatable(tmp_path: Path) -> None:
    """What ``make run`` does, twice: the second run keeps the data and loads nothing."""
    db = tmp_path / "sub" / "convoc.db"
    assert _cli(["migrate"], db).returncode == 0
    first = _cli(["demo", "--if-empty"], db)
    assert first.returncode == 0, first.stderr
    assert "8 SPIP" in first.stdout
    _assert_every_kind_of_territory(db)
    assert _cli(["migrate"], db).returncode == 0
    second = _cli(["demo", "--if-empty"], db)
    assert "déjà des données" in second.stdout
    refused = _cli(["demo"], db, CONVOC_ENV="production", CONVOC_SECRET_KEY="s" * 40)
    assert refused.returncode != 0


def _assert_every_kind_of_territory(db: Path) -> None:
    """A newcomer meets every case: DST on both calendars, −10:00 to +11:00, a half-hour zone,
    six- and eight-digit mobiles, Réunion and Mayotte sharing +262."""
    with contextlib.closing(sqlite3.connect(db)) as conn:
        zones = {z for (z,) in conn.execute("SELECT DISTINCT timezone FROM place")}
        phones = [p for (p,) in conn.execute("SELECT phone FROM person WHERE phone IS NOT NULL")]
        upcoming = conn.execute(
            "SELECT count(DISTINCT a.place_id) FROM appointment a WHERE a.status = 'booked'"
        ).fetchone()[0]
        territories = dict(conn.execute("SELECT code, holiday_territory FROM spip"))
    assert zones == {
        "Europe/Paris",
        "America/Cayenne",
        "Indian/Reunion",
        "America/Martinique",
        "Indian/Mayotte",
        "America/Miquelon",
        "Pacific/Tahiti",
        "Pacific/Marquesas",
        "Pacific/Noumea",
    }
    codes = ("+33", "+594", "+262", "+596", "+508", "+689", "+687")
    assert all(any(p.startswith(code) for p in phones) for code in codes)
    assert upcoming >= 9
    # Each overseas SPIP has its own public holidays; Hauts-de-Seine has the national ones.
    assert territories == {
        "SPIP-92": None,
        "SPIP-973": "973",
        "SPIP-974": "974",
        "SPIP-972": "972",
        "SPIP-976": "976",
        "SPIP-975": "PM",
        "SPIP-987": "PF",
        "SPIP-988": "NC",
    }


async def test_an_exhausted_connection_pool_answers_503_not_500(settings: Settings) -> None:
    """Under overload every connection is busy: the agent gets a clean 'try again', not a 500."""
    from sqlalchemy.ext.asyncio import create_async_engine

    from app.config import to_async_url

    engine = create_async_engine(
        to_async_url(settings.database_url), pool_size=1, max_overflow=0, pool_timeout=0.2
    )
    app = create_app(settings)
    app.state.sessionmaker = create_sessionmaker(engine)
    transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
    async with engine.connect() as held:  # the only connection, held for the whole request
        await held.exec_driver_sql("SELECT 1")
        async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
            response = await client.get(
                "/api/v1/spips", headers={"Authorization": "Bearer some-token"}
            )
    await engine.dispose()
    assert response.status_code == 503
    assert response.json()["error"] == "service_overloaded"
    assert response.headers["retry-after"] == "5"


def test_several_server_processes_refuse_the_embedded_dispatcher() -> None:
    """Each API process would start its own scheduler: refused, with the way out in French."""
    with pytest.raises(ValidationError, match="CONVOC_WORKER_EMBEDDED=false"):
        Settings(env="development", workers=2)
    with pytest.raises(ValidationError, match="python -m app worker"):
        Settings(env="production", secret_key="z" * 40, workers=4, worker_embedded=True)
    assert Settings(env="development", workers=2, worker_embedded=False).workers == 2
    assert Settings(env="production", secret_key="z" * 40, workers=4).embedded_worker is False
    assert Settings(env="development").server_processes_problem(1) is None


def test_serve_with_workers_refuses_the_embedded_dispatcher(tmp_path: Path) -> None:
    refused = _cli(["serve", "--workers", "2", "--port", "9"], tmp_path / "convoc.db")
    assert refused.returncode == 2
    assert "CONVOC_WORKER_EMBEDDED=false" in refused.stderr
    assert "Traceback" not in refused.stderr


def test_serve_runs_the_processes_asked_for(tmp_path: Path) -> None:
    """``serve --workers 2``: a supervisor and two processes answering on one port."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    environment = os.environ | {
        "CONVOC_ENV": "test",
        "CONVOC_SECRET_KEY": "w" * 40,
        "CONVOC_DATABASE_URL": f"sqlite:///{tmp_path / 'convoc.db'}",
        "CONVOC_WORKER_EMBEDDED": "false",
        "CONVOC_LOG_LEVEL": "WARNING",
    }
    server = subprocess.Popen(
        [sys.executable, "-m", "app", "serve", "--port", str(port), "--workers", "2"],
        env=environment,
    )
    try:
        deadline = time.monotonic() + 60
        children: list[str] = []
        answered = False
        while time.monotonic() < deadline and not (answered and len(children) == 2):
            time.sleep(0.2)
            assert server.poll() is None, "le serveur s'est arrêté"
            children = _server_processes(server.pid)
            try:
                answered = httpx.get(f"http://127.0.0.1:{port}/health", timeout=2).is_success
            except httpx.HTTPError:
                answered = False
        assert answered
        assert len(children) == 2
    finally:
        server.terminate()
        server.wait(timeout=30)


def _server_processes(pid: int) -> list[str]:
    """The supervisor's children that serve (not multiprocessing's resource tracker)."""
    serving = []
    for child in Path(f"/proc/{pid}/task/{pid}/children").read_text().split():
        with contextlib.suppress(OSError):  # a child that just exited
            if b"resource_tracker" not in Path(f"/proc/{child}/cmdline").read_bytes():
                serving.append(child)
    return serving


def test_every_operation_has_an_operation_id_of_its_own(recwarn: pytest.WarningsRecorder) -> None:
    """FastAPI warns "Duplicate Operation ID" when two operations share one (issue 13)."""
    document = create_app(Settings(env="test", secret_key="z" * 40)).openapi()
    ids = [
        operation["operationId"]
        for path in document["paths"].values()
        for operation in path.values()
        if isinstance(operation, dict) and "operationId" in operation
    ]
    assert len(ids) == len(set(ids))
    assert not [w for w in recwarn if "Duplicate Operation ID" in str(w.message)]
