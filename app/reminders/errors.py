"""Errors of the reminder domain: templates, policies, resends."""

from __future__ import annotations

from app.core.errors import Conflict, NotFound, Unprocessable

# --- templates ------------------------------------------------------------------------------


class UnknownPlaceholder(Unprocessable):
    code = "unknown_placeholder"
    message = "Variable inconnue dans le modèle."


class MalformedTemplate(Unprocessable):
    code = "malformed_template"
    message = "Modèle mal formé : accolades ou crochets non appariés."


class TemplateTooLong(Unprocessable):
    code = "template_too_long"
    message = "Ce modèle dépasse le nombre maximal de SMS autorisé pour ce SPIP."


# --- policies -------------------------------------------------------------------------------


class TemplateExceedsPolicy(Unprocessable):
    code = "template_exceeds_policy"
    message = (
        "Avec cette politique, un modèle en vigueur dépasserait le nombre maximal de SMS : "
        "raccourcissez-le d'abord, ou gardez un maximum plus élevé."
    )


# --- messages and resends -------------------------------------------------------------------


class NotificationNotFound(NotFound):
    code = "notification_not_found"
    message = "Message introuvable."


class NotResendable(Conflict):
    code = "not_resendable"
    message = "Seul un message en échec, non envoyé ou non distribué peut être renvoyé."


class ResendPointless(Conflict):
    """A resend that would be skipped at once for the same reason as the original."""

    code = "resend_pointless"
    message = "Ce message ne peut pas être renvoyé : il ne partirait pas davantage."


class TooLateToSend(Conflict):
    code = "too_late"
    message = "Il est trop tard pour envoyer ce message avant la convocation."


class OutsideSendingHours(Conflict):
    code = "window_closed"
    message = (
        "Les heures d'envoi tolérées du SPIP ne laissent aucun moment pour envoyer ce message "
        "avant la convocation."
    )
