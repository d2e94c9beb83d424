"""The idempotency key of a notification row: one per (convocation, kind, sequence), so the
same message can never be planned twice (the column is unique)."""

from __future__ import annotations

from app.models import NotificationKind


def idempotency_key(appointment_id: int, kind: NotificationKind, sequence: int) -> str:
    """« 42:reminder:1 »: the first reminder of convocation 42."""
    return f"{appointment_id}:{kind.value}:{sequence}"
