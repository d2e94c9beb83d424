"""Logging: one line per event, dotted event names, ids only — never personal data."""

from __future__ import annotations

import logging
import re

_configured = False

# The secret segment of a receipt URL: /api/v1/sms/receipts/<provider>/<token>.
_RECEIPT_TOKEN = re.compile(r"(/sms/receipts/[^/?]+/)[^/?]+")


def redact_path(path_with_query: str) -> str:
    """A request path fit for a log: no query string (an agent's search holds a person's
    name), the receipt URL's secret token masked."""
    path = path_with_query.split("?", 1)[0]
    return _RECEIPT_TOKEN.sub(r"\1***", path)


class RedactAccessLog(logging.Filter):
    """uvicorn's access log writes each request's path *with its query string*: see
    ``redact_path``. Its record's arguments are (client, method, path, HTTP version, status)."""

    def filter(self, record: logging.LogRecord) -> bool:
        args = record.args
        if isinstance(args, tuple) and len(args) == 5 and isinstance(args[2], str):
            record.args = (args[0], args[1], redact_path(args[2]), args[3], args[4])
        return True


def redact_access_log() -> None:
    """Install the filter on uvicorn's access logger (once per process)."""
    access = logging.getLogger("uvicorn.access")
    if not any(isinstance(f, RedactAccessLog) for f in access.filters):
        access.addFilter(RedactAccessLog())


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
    # httpx logs every request at INFO (a line per SMS, with the provider's URL): the gateway's
    # own sms.attempt line says what matters, with ids only.
    logging.getLogger("httpx").setLevel(logging.WARNING)
    _configured = True
