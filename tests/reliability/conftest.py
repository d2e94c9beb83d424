from __future__ import annotations

import os
from collections.abc import Iterator

import pytest

from tests.reliability.cluster import PrivateCluster, find_bindir
from tests.reminders.conftest import pg_engine, pg_url

__all__ = ["pg_engine", "pg_url", "private_cluster"]


@pytest.fixture
def private_cluster() -> Iterator[PrivateCluster]:
    """A PostgreSQL cluster of this test's own, started; stopped and removed at the end."""
    bindir = find_bindir()
    if bindir is None:
        message = "initdb introuvable (CONVOC_PG_BINDIR) : pas de cluster PostgreSQL privé"
        if os.environ.get("CI", "").lower() in ("1", "true", "yes"):
            pytest.fail(message)
        pytest.skip(message)
    cluster = PrivateCluster(bindir)
    try:
        cluster.init()
        cluster.start()
        yield cluster
    finally:
        cluster.remove()
