"""Errors of the operations: pauses and retries."""

from __future__ import annotations

from app.core.errors import Conflict, NotFound


class PauseNotFound(NotFound):
    code = "pause_not_found"
    message = "Pause introuvable."


class AlreadyResumed(Conflict):
    code = "pause_already_resumed"
    message = "Cet envoi a déjà repris."


class AlreadyPaused(Conflict):
    code = "already_paused"
    message = "L'envoi est déjà en pause pour ce périmètre."
