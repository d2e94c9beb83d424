"""Logging: one line per event, dotted event names, ids only — never personal data.

Three things a request may carry must never reach a log: the query string (an agent's search
holds a person's name), the secret token of the receipts and inbound SMS URLs
(``/api/v1/sms/receipts/<provider>/<token>``, ``/api/v1/sms/inbound/<provider>/<token>``, the
only proof Brevo's callbacks carry) and the token of a convocation link (``/c/<token>``, which
opens the person's page). So:

* every line that prints a request's path prints :func:`redact_path` of it (our error lines
  through :func:`request_path`, uvicorn's access lines through :class:`RedactAccessLog`);
* every record, whatever its logger or handler, is masked when it is created
  (:func:`install_redaction`): its message, its arguments, its traceback — an exception's text
  may quote the URL. That covers uvicorn's own lines ("Exception in ASGI application") and the
  paths a client may bend: letters in any case or percent-encoded, repeated slashes, a token
  containing ``%2F``, a token in the provider's place.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Mapping
from typing import Any, Final
from urllib.parse import unquote

from starlette.requests import Request

_configured = False


def _letters(word: str) -> str:
    """``word`` as a pattern where each letter may also be percent-encoded (%73 or %53)."""
    return "".join(f"(?:{c}|%{ord(c):02x}|%{ord(c.upper()):02x})" for c in word)


_SEPARATOR: Final = r"(?:/|%2f)+"
_END: Final = r"\s'\"<>?#"  # what ends a path in a line: blank, quote, query, fragment
# .../sms/receipts[/<provider>][/<anything>]: the provider's name is kept when it looks like
# one (configured names are short; a token is 32 characters or more), the rest is masked.
_RECEIPT_URL: Final = re.compile(
    rf"{_SEPARATOR}{_letters('sms')}{_SEPARATOR}"
    rf"(?P<kind>{_letters('receipts')}|{_letters('inbound')})"
    rf"(?:{_SEPARATOR}(?P<provider>[a-z0-9_-]{{1,24}})(?=/|%2f|[{_END}]|$))?"
    rf"(?P<rest>[^{_END}]*)",
    re.IGNORECASE,
)
MASK: Final = "***"
# /c/<token>[/…]: the convocation link of the SMS (app.links), which opens the person's page.
_LINK_URL: Final = re.compile(
    rf"{_SEPARATOR}{_letters('c')}{_SEPARATOR}(?P<token>(?:(?!%2f)[^/{_END}])+)", re.IGNORECASE
)


def _mask(match: re.Match[str]) -> str:
    provider = match.group("provider")
    kind = unquote(match.group("kind")).lower()  # "receipts" or "inbound", maybe %-encoded
    masked = f"/sms/{kind}" + (f"/{provider}" if provider else "")
    rest = match.group("rest")
    if rest.strip("/"):
        return f"{masked}/{MASK}"
    return masked + rest  # nothing after the provider but slashes: nothing to hide


def redact_text(text: str) -> str:
    """``text`` with every receipts URL's and convocation link's token masked (the query
    string, if any, is kept: use :func:`redact_path` for a path)."""
    return _LINK_URL.sub(f"/c/{MASK}", _RECEIPT_URL.sub(_mask, text))


def redact_path(path_with_query: str) -> str:
    """A request path fit for a log: no query string, the receipts URL's token masked."""
    return redact_text(path_with_query.split("?", 1)[0])


def request_path(request: Request) -> str:
    """The path of ``request`` as every log line prints it."""
    return redact_path(request.url.path)


class RedactAccessLog(logging.Filter):
    """uvicorn's access log writes each request's path *with its query string*: see
    ``redact_path``. Its record's arguments are (client, method, path, HTTP version, status)."""

    def filter(self, record: logging.LogRecord) -> bool:
        args = record.args
        if isinstance(args, tuple) and len(args) == 5 and isinstance(args[2], str):
            record.args = (args[0], args[1], redact_path(args[2]), args[3], args[4])
        return True


_PLAIN: Final = (int, float, bool, type(None), bytes)


def _redact_arg(value: Any) -> Any:
    if isinstance(value, str):
        return redact_text(value)
    if isinstance(value, _PLAIN):
        return value
    text = str(value)  # an exception, a URL object…: replaced only if it held a token
    redacted = redact_text(text)
    return value if redacted == text else redacted


def redact_record(record: logging.LogRecord) -> None:
    """Mask receipts tokens in ``record``'s message, arguments, traceback and stack."""
    if isinstance(record.msg, str):
        record.msg = redact_text(record.msg)
    else:
        record.msg = _redact_arg(record.msg)
    if isinstance(record.args, tuple):
        record.args = tuple(_redact_arg(arg) for arg in record.args)
    elif isinstance(record.args, Mapping):
        record.args = {key: _redact_arg(arg) for key, arg in record.args.items()}
    if record.exc_info and record.exc_info[0] is not None and not record.exc_text:
        # Formatters use exc_text when it is set: the traceback is written masked.
        record.exc_text = redact_text(logging.Formatter().formatException(record.exc_info))
    if record.stack_info:
        record.stack_info = redact_text(record.stack_info)


_base_factory = logging.getLogRecordFactory()


def _redacting_factory(*args: Any, **kwargs: Any) -> logging.LogRecord:
    record = _base_factory(*args, **kwargs)
    redact_record(record)
    return record


def install_redaction() -> None:
    """Mask every record of this process as it is created (idempotent)."""
    if logging.getLogRecordFactory() is not _redacting_factory:
        logging.setLogRecordFactory(_redacting_factory)


def redact_access_log() -> None:
    """Install the filter on uvicorn's access logger, and the redaction of every record
    (once per process)."""
    install_redaction()
    access = logging.getLogger("uvicorn.access")
    if not any(isinstance(f, RedactAccessLog) for f in access.filters):
        access.addFilter(RedactAccessLog())


def configure_logging(level: str = "INFO") -> None:
    global _configured
    install_redaction()
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
