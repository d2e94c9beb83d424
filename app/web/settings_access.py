"""Who opens « Règles de rappel » and « Modèles de SMS », and how: the one answer the pages, their
templates and the menu share.

Those who may change the settings (``policy:write``, ``template:write``: the SPIP's
administrators) get the editors; the service's managers (the dashboard's readers, a DPIP) read
them, so that they know which SMS their service sends and when; everyone else, a CPIP first, opens
no management page (issue 16), although every role may read the policy through the API."""

from __future__ import annotations

from enum import StrEnum

from app.auth import access
from app.auth.access import Permission
from app.models import Agent


class SettingsMode(StrEnum):
    edit = "edit"
    read = "read"


def settings_mode(agent: Agent, write: Permission) -> SettingsMode | None:
    """``edit`` with ``write``, ``read`` for the dashboard's readers, else ``None`` (403)."""
    if access.can(agent, write):
        return SettingsMode.edit
    if access.can(agent, Permission.dashboard_read):
        return SettingsMode.read
    return None
