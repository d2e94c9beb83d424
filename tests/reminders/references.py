"""The simulator counts per reference (``<notification id>-<nonce>``); tests count per
notification."""

from __future__ import annotations

from collections.abc import Mapping

from app.reminders.references import notification_id_of


def notification_id(reference: str) -> int:
    found = notification_id_of(reference)
    assert found is not None, f"not one of our references: {reference!r}"
    return found


def by_notification(per_reference: Mapping[str, int]) -> dict[int, int]:
    """``{reference: count}`` as ``{notification id: count}``; two references of one id (two
    installations, or a message re-sent under a new reference) would be summed: never here."""
    counts: dict[int, int] = {}
    for reference, count in per_reference.items():
        key = notification_id(reference)
        counts[key] = counts.get(key, 0) + count
    return counts
