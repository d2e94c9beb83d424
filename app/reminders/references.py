"""Our reference for a message, as providers see it: ``<notification id>-<nonce>``.

The reference must be unique across every installation that may share a provider account
(staging and production, two regions): the ``http`` provider's idempotency key is the
reference, and a reference seen before is answered "replayed" — the SMS is *not* sent. The
notification id alone is only unique within one database, so each notification also gets a
random nonce when it is planned (``notification.reference_nonce``, 48 bits), stored with it:

* the same message keeps the same reference for all its attempts, leases and workers (the
  provider replays a re-send instead of sending twice);
* two installations' messages with the same id differ by their nonces (a collision is a
  one-in-2^48 draw per pair of equal ids);
* the id stays in front: receipts that carry only our reference find their notification by
  primary key, and a log line's ``reference=<id>-…`` still starts with the id.

Rows planned before the nonce existed keep their bare id (``42``): they may have been sent
with it already, and a new reference would defeat the idempotency of their re-sends.
"""

from __future__ import annotations

import re
import secrets
from typing import Final

NONCE_BYTES: Final = 6  # 12 hex characters
_REFERENCE: Final = re.compile(r"([1-9][0-9]{0,9})(?:-[0-9a-f]{1,32})?")
MAX_ID: Final = 2**31 - 1


def new_nonce() -> str:
    return secrets.token_hex(NONCE_BYTES)


def reference_of(notification_id: int, nonce: str | None) -> str:
    """The reference sent to providers for this notification."""
    return f"{notification_id}-{nonce}" if nonce else str(notification_id)


def notification_id_of(reference: str | None) -> int | None:
    """The notification id a reference names (ours, either form); ``None`` if it is not ours."""
    if reference is None:
        return None
    match = _REFERENCE.fullmatch(reference)
    if match is None:
        return None
    value = int(match.group(1))
    return value if value <= MAX_ID else None
