"""``python -m app retention run [--dry-run]``: a real process on a real database, in French."""

from __future__ import annotations

import subprocess
import sys
from datetime import UTC, datetime, timedelta

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession

from app.models import Person, Spip
from tests.reminders.processes import ROOT
from tests.servers import _environment


def _run(url: str, *args: str) -> str:
    done = subprocess.run(
        [sys.executable, "-m", "app", "retention", "run", *args],
        cwd=ROOT,
        env=_environment(url),
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    return done.stdout


async def test_the_command_simulates_then_applies(
    fresh_url: str, fresh_engine: AsyncEngine
) -> None:
    long_ago = datetime.now(UTC) - timedelta(days=800)
    async with AsyncSession(fresh_engine, expire_on_commit=False) as session:
        spip_id = await session.scalar(select(Spip.id).limit(1))
        assert spip_id is not None
        forgotten = Person(
            spip_id=spip_id, first_name="Oublié", last_name="Depuis", created_at=long_ago
        )
        session.add(forgotten)
        await session.commit()
        person_id = forgotten.id

    simulated = _run(fresh_url, "--dry-run")
    assert "Simulation (aucune donnée modifiée)" in simulated
    assert "Personnes archivées (aucune convocation depuis la durée fixée) : 1" in simulated
    applied = _run(fresh_url)
    assert "Conservation appliquée" in applied
    assert "Personnes archivées (aucune convocation depuis la durée fixée) : 1" in applied
    assert "Oublié" not in applied + simulated  # counts only, never a name
    async with AsyncSession(fresh_engine, expire_on_commit=False) as session:
        person = await session.get_one(Person, person_id)
        assert person.archived and person.archived_at is not None
    again = _run(fresh_url)
    assert "Personnes archivées (aucune convocation depuis la durée fixée) : 0" in again
