"""scripts/restore_drill.py on a real PostgreSQL database holding the demo: a fresh dump restores
whole; a damaged dump is reported as a failed drill (exit 1), not as a success."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from scripts.restore_drill import libpq_url
from tests.servers import demo_database

ROOT = Path(__file__).resolve().parents[2]
SCRIPT = ROOT / "scripts" / "restore_drill.py"

pytestmark = pytest.mark.postgres_only


@pytest.fixture
def source() -> Iterator[str]:
    with demo_database("postgres", "convoc-drill-") as url:
        yield url


def drill(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, str(SCRIPT), *args],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )


def scratch_databases(url: str) -> list[str]:
    done = subprocess.run(
        ["psql", "--no-psqlrc", "-tA", "--dbname", libpq_url(url), "-c",
         "SELECT datname FROM pg_database WHERE datname LIKE 'convoc_restore_drill_%'"],
        capture_output=True, text=True, check=True,
    )  # fmt: skip
    return done.stdout.split()


def test_a_fresh_dump_restores_whole_and_the_scratch_database_is_dropped(source: str) -> None:
    before = scratch_databases(source)
    done = drill("--source", source)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "Exercice de restauration : réussi." in done.stdout
    assert "lignes restaurées" in done.stdout
    assert scratch_databases(source) == before


def test_a_damaged_dump_fails_the_drill(source: str, tmp_path: Path) -> None:
    dump = tmp_path / "convoc.dump"
    subprocess.run(
        ["pg_dump", "--format=custom", "--file", str(dump), "--dbname", libpq_url(source)],
        check=True,
    )
    dump.write_bytes(dump.read_bytes()[: dump.stat().st_size // 2])  # a backup cut short
    done = drill("--source", source, "--dump", str(dump))
    assert done.returncode == 1, done.stdout + done.stderr
    assert "ÉCHEC" in done.stdout
