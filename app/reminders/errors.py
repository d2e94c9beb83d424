"""Errors of the reminder domain that a policy or a resend can raise."""

from __future__ import annotations

from app.core.errors import Conflict, Unprocessable


class TemplateExceedsPolicy(Unprocessable):
    code = "template_exceeds_policy"
    message = (
        "Avec cette politique, un modèle en vigueur dépasserait le nombre maximal de SMS : "
        "raccourcissez-le d'abord, ou gardez un maximum plus élevé."
    )


class ResendPointless(Conflict):
    """A resend that would be skipped at once for the same reason as the original."""

    code = "resend_pointless"
    message = "Ce message ne peut pas être renvoyé : il ne partirait pas davantage."
