"""The shared directory of multiprocess metrics, prepared before ``prometheus_client`` is
imported (it picks file-backed values at import when ``PROMETHEUS_MULTIPROC_DIR`` is set, and
writes its first file as soon as ``app.core.metrics`` defines a metric): so this module imports
nothing of it.
"""

from __future__ import annotations

import os
import re
import socket
import tempfile
from pathlib import Path
from typing import Final

MULTIPROC_ENV: Final = "PROMETHEUS_MULTIPROC_DIR"

# Containers sharing one volume each number their processes from 1: the host's name (a
# container's own by default) keeps two processes from writing one file. No "_": the client
# splits file names on it.
HOST: Final = re.sub(r"[^A-Za-z0-9-]", "-", socket.gethostname())[:40] or "host"
# <type>[_<mode>]_<host>-<pid>.db
_FILE: Final = re.compile(r"^[a-z]+(?:_[a-z]+)?_(?P<host>[A-Za-z0-9-]+)-(?P<pid>\d+)\.db$")


def process_identifier() -> str:
    """This process's part of its files' names (prometheus-client's ``process_identifier``)."""
    return f"{HOST}-{os.getpid()}"


def prepare_multiprocess_dir(create: bool) -> Path | None:
    """Point this process and its children at the shared metrics directory, before any metric
    is created. Returns the directory this call created (its owner removes it), or None.

    ``PROMETHEUS_MULTIPROC_DIR`` set by the operator (shared by ``serve`` and ``worker``): it is
    created if missing, and the files of this host's processes no longer running are removed,
    so a restart starts its counters afresh without wiping a running neighbour's. Unset and
    ``create``: a fresh temporary directory for this command's processes only.
    """
    configured = os.environ.get(MULTIPROC_ENV)
    if configured:
        folder = Path(configured)
        folder.mkdir(parents=True, exist_ok=True)
        remove_dead_files(folder)
        return None
    if not create:
        return None
    folder = Path(tempfile.mkdtemp(prefix="convoc-metrics-"))
    os.environ[MULTIPROC_ENV] = str(folder)
    return folder


def remove_dead_files(folder: Path) -> None:
    """Remove the files of this host's processes that no longer run (another host's processes
    are that host's to judge)."""
    for path in folder.glob("*.db"):
        match = _FILE.match(path.name)
        if match and match["host"] == HOST and not _alive(int(match["pid"])):
            path.unlink(missing_ok=True)


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # someone else's process: alive
        return True
    return True
