"""Restore drill: prove that a backup of Convoc's PostgreSQL database can be restored, and that
what comes back is whole. Run it on a schedule (and after every change of backup tooling):

    python scripts/restore_drill.py --source postgresql://convoc@db/convoc
    python scripts/restore_drill.py --source … --dump /backups/convoc-2027-03-29.dump

1. takes a dump of ``--source`` with ``pg_dump --format=custom`` (or uses ``--dump``, the file
   the nightly backup wrote: that is the real drill);
2. restores it with ``pg_restore --exit-on-error --no-owner`` into a scratch database created
   next to the source (``convoc_restore_drill_<time>``), on the same server unless ``--target``
   names another;
3. checks that the restored database is at the same migration revision as the source and as
   this code, and that every table holds as many rows as the source's (a dump of a live
   database is a consistent snapshot, so counts may only differ when the source changed since:
   ``--dump`` compares with the source as it is now, and reports differences as such);
4. drops the scratch database (``--keep`` leaves it for inspection).

Prints its findings in French; exits 1 when the restore or a check fails. Needs ``pg_dump`` and
``pg_restore`` of the server's major version on the PATH, and rights to create a database.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
from datetime import UTC, datetime
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

# Tables whose counts are compared; alembic_version separately (its value, not its count).
COUNT_SQL = (
    "SELECT table_name FROM information_schema.tables "
    "WHERE table_schema = 'public' AND table_type = 'BASE TABLE' "
    "AND table_name <> 'alembic_version' ORDER BY table_name"
)


def libpq_url(url: str) -> str:
    """``postgresql+asyncpg://…`` (Convoc's setting) as the plain URL libpq tools take."""
    parts = urlsplit(url)
    scheme = "postgresql" if parts.scheme.startswith("postgres") else parts.scheme
    return urlunsplit((scheme, *parts[1:]))


def with_database(url: str, name: str) -> str:
    parts = urlsplit(url)
    return urlunsplit((parts.scheme, parts.netloc, f"/{name}", parts.query, parts.fragment))


def psql(url: str, sql: str) -> list[str]:
    done = subprocess.run(
        ["psql", "--no-psqlrc", "--tuples-only", "--no-align", "--dbname", url, "-c", sql],
        capture_output=True,
        text=True,
        check=True,
    )
    return [line for line in done.stdout.splitlines() if line]


def counts(url: str) -> dict[str, int]:
    tables = psql(url, COUNT_SQL)
    if not tables:
        return {}
    union = " UNION ALL ".join(f"SELECT '{t}', count(*) FROM \"{t}\"" for t in tables)
    return {name: int(n) for name, n in (row.split("|") for row in psql(url, union))}


def revision(url: str) -> str | None:
    try:
        rows = psql(url, "SELECT version_num FROM alembic_version")
    except subprocess.CalledProcessError:
        return None
    return rows[0] if rows else None


def code_head() -> str:
    from app.core.schema import code_head as head

    return head()


def drill(source: str, dump: Path | None, target: str | None, keep: bool) -> list[str]:
    """The problems found (none: the drill passed). Prints what it does."""
    source = libpq_url(source)
    scratch = f"convoc_restore_drill_{datetime.now(UTC):%Y%m%d_%H%M%S}"
    server = libpq_url(target) if target else source
    restored = with_database(server, scratch)
    admin = with_database(server, "postgres")
    problems: list[str] = []
    with tempfile.TemporaryDirectory(prefix="convoc-drill-") as folder:
        if dump is None:
            dump = Path(folder) / "convoc.dump"
            print(f"Sauvegarde de la base source dans {dump}…")
            subprocess.run(
                ["pg_dump", "--format=custom", "--file", str(dump), "--dbname", source],
                check=True,
            )
        print(f"Restauration dans la base de contrôle « {scratch} »…")
        psql(admin, f'CREATE DATABASE "{scratch}"')
        try:
            restore = subprocess.run(
                ["pg_restore", "--exit-on-error", "--no-owner", "--dbname", restored, str(dump)],
                capture_output=True,
                text=True,
                check=False,
            )
            if restore.returncode != 0:
                last = (restore.stderr.strip().splitlines() or ["?"])[-1]
                return [f"la restauration a échoué : {last}"]
            problems += _compare(source, restored)
        finally:
            if keep:
                print(f"Base de contrôle conservée : {restored}")
            else:
                psql(admin, f'DROP DATABASE IF EXISTS "{scratch}" WITH (FORCE)')
    return problems


def _compare(source: str, restored: str) -> list[str]:
    problems: list[str] = []
    head, there, back = code_head(), revision(source), revision(restored)
    if back != there:
        problems.append(f"révision restaurée {back}, source {there}")
    if back != head:
        problems.append(f"révision restaurée {back}, ce code attend {head} (migrer après)")
    before, after = counts(source), counts(restored)
    for table in sorted(set(before) | set(after)):
        if before.get(table) != after.get(table):
            problems.append(
                f"table {table} : {after.get(table, 'absente')} lignes restaurées, "
                f"{before.get(table, 'absente')} dans la source"
            )
    total = sum(after.values())
    print(f"{len(after)} tables, {total} lignes restaurées ; révision {back}.")
    return problems


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Exercice de restauration de Convoc.")
    parser.add_argument("--source", required=True, help="URL de la base PostgreSQL à contrôler")
    parser.add_argument("--dump", type=Path, help="sauvegarde existante (pg_dump -Fc) à restaurer")
    parser.add_argument("--target", help="serveur où restaurer (par défaut : celui de la source)")
    parser.add_argument("--keep", action="store_true", help="conserver la base de contrôle")
    args = parser.parse_args(argv)
    problems = drill(args.source, args.dump, args.target, args.keep)
    if problems:
        print("Exercice de restauration : ÉCHEC")
        for problem in problems:
            print(f"- {problem}")
        return 1
    print("Exercice de restauration : réussi.")
    return 0


if __name__ == "__main__":
    sys.exit(main())
