"""Logging: one line per event, dotted event names, ids only — never personal data."""

from __future__ import annotations

import logging

_configured = False


def configure_logging(level: str = "INFO") -> None:
    global _configured
    if _configured:
        return
    logging.basicConfig(
        level=level.upper(),
        format="%(asctime)s %(levelname)s %(name)s %(message)s",
    )
    # APScheduler logs every tick at INFO: keep its warnings only.
    logging.getLogger("apscheduler").setLevel(logging.WARNING)
    _configured = True
