"""What a database error means for the client, from its SQLSTATE (PostgreSQL's error codes).

SQLAlchemy raises ``OperationalError`` for some unavailability errors, but asyncpg's are
translated by *class*: ``CannotConnectNowError`` ("the database system is shutting down",
57P03) reaches the application as a bare ``DBAPIError`` — a 500 — although it means exactly
"come back in a moment". The SQLSTATE says it whatever the driver:

* **unavailable** (503 ``service_unavailable``): classes 08 (connection exception), 53
  (insufficient resources: too many connections, disk full, out of memory), 57 (operator
  intervention: shutdown, crash recovery, cancelled statement or statement timeout) and 58
  (system error: I/O). The request had no effect or was rolled back: retrying it later is safe;
* **conflict** (409 ``conflict``): 40001 (serialization failure) and 40P01 (deadlock). The
  database rolled the transaction back because of a concurrent one: the same answer as a
  uniqueness race (``IntegrityError``), and retrying at once is likely to succeed. Not a 503:
  the server is fine, this request collided with another;
* **invalid value** (422): class 22, data exception (see ``app.main``).
"""

from __future__ import annotations

from typing import Final

from sqlalchemy.exc import DBAPIError

UNAVAILABLE_CLASSES: Final = frozenset({"08", "53", "57", "58"})
CONFLICT_CODES: Final = frozenset({"40001", "40P01"})


def sqlstate(exc: DBAPIError) -> str | None:
    """The SQLSTATE of the driver's error (asyncpg: ``sqlstate``; psycopg: ``pgcode``)."""
    code = getattr(exc.orig, "sqlstate", None) or getattr(exc.orig, "pgcode", None)
    return code if isinstance(code, str) and len(code) == 5 else None


def is_unavailable(exc: DBAPIError) -> bool:
    code = sqlstate(exc)
    return code is not None and code[:2] in UNAVAILABLE_CLASSES


def is_conflict(exc: DBAPIError) -> bool:
    return sqlstate(exc) in CONFLICT_CODES
