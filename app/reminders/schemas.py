from __future__ import annotations

from datetime import datetime, time
from typing import Annotated, Any, Literal

from pydantic import BeforeValidator, Field, StringConstraints, field_validator, model_validator
from pydantic_core import PydanticCustomError

from app.core.schemas import IdRef, InputModel, ReadModel
from app.models import NotificationKind, NotificationStatus, PartStatus
from app.sms.base import AttemptOutcome
from app.sms.sender import InvalidSender, validate_sender

HourMinute = Annotated[str, StringConstraints(pattern=r"^([01]\d|2[0-3]):[0-5]\d$")]


class DaysBeforeRule(InputModel):
    days_before: int = Field(ge=0, le=30, description="Jours avant la date locale du rendez-vous")
    at: HourMinute = Field(description="Heure locale d'envoi, HH:MM", examples=["10:00"])


class HoursBeforeRule(InputModel):
    hours_before: float = Field(gt=0, le=720, description="Heures réelles avant le début")


def _pick_rule(value: Any) -> Any:
    """Validate a rule as the kind its keys name, so that ``{"hours_before": 0}`` is told its
    value is too small, not that ``days_before`` is missing (what a plain union says)."""
    if not isinstance(value, dict):
        return value
    if "hours_before" in value:
        return HoursBeforeRule.model_validate(value)
    if "days_before" in value:
        return DaysBeforeRule.model_validate(value)
    raise PydanticCustomError(
        "invalid_rule",
        "Règle invalide : indiquez « days_before » et « at » (jours avant, à une heure locale) "
        "ou « hours_before » (heures avant le début).",
    )


Rule = Annotated[DaysBeforeRule | HoursBeforeRule, BeforeValidator(_pick_rule)]
RuleList = Annotated[list[Rule], Field(max_length=3)]


class SendWindow(InputModel):
    start: HourMinute = "08:00"
    end: HourMinute = "20:00"

    @model_validator(mode="after")
    def _ordered(self) -> SendWindow:
        if self.start >= self.end:
            raise PydanticCustomError(
                "invalid_window", "La fenêtre d'envoi doit commencer avant de finir (même jour)."
            )
        return self


class ToleratedWindow(InputModel):
    start: HourMinute = "07:00"
    end: HourMinute = "22:00"

    @model_validator(mode="after")
    def _ordered(self) -> ToleratedWindow:
        if self.start >= self.end:
            raise PydanticCustomError(
                "invalid_window", "La plage tolérée doit commencer avant de finir (même jour)."
            )
        return self


def _default_rules() -> list[Rule]:
    return [DaysBeforeRule(days_before=2, at="10:00")]


class ReminderPolicyBody(InputModel):
    rules: RuleList = Field(
        default_factory=lambda: _default_rules(),
        description="Jusqu'à trois rappels",
    )
    type_rules: dict[str, RuleList] = Field(
        default_factory=dict,
        description="Règles propres à un type de convocation (code → règles ; [] : aucun rappel)",
    )
    send_window: SendWindow = Field(default_factory=SendWindow)
    tolerated_window: ToleratedWindow = Field(
        default_factory=ToleratedWindow,
        description=(
            "Heures locales tolérées pour un SMS qui ne peut attendre la fenêtre d'envoi "
            "(convocation, changement, annulation, rappel de rattrapage) ; contient la fenêtre "
            "d'envoi. Par défaut 07:00–22:00, élargie si besoin à la fenêtre d'envoi"
        ),
    )
    min_lead_minutes: int = Field(default=60, ge=0, le=2880)
    max_segments: int = Field(default=4, ge=1, le=10)
    gsm7_friendly: bool = True
    avoid_closed_days: bool = Field(
        default=False,
        description=(
            "Les rappels évitent les dimanches et les jours fériés du lieu : un rappel qui "
            "tomberait un tel jour part le jour ouvert précédent, à la même heure"
        ),
    )
    sender: str | None = Field(
        default=None,
        description=(
            "Émetteur alphanumérique des SMS (3 à 11 caractères sans accent, au moins une "
            "lettre) ; par défaut celui des réglages (CONVOC_SMS_DEFAULT_SENDER)"
        ),
        examples=["SPIP92"],
    )

    @model_validator(mode="after")
    def _tolerated_contains_send_window(self) -> ReminderPolicyBody:
        tolerated, window = self.tolerated_window, self.send_window
        if tolerated.start <= window.start and window.end <= tolerated.end:
            return self
        if "tolerated_window" not in self.model_fields_set:
            # The default, widened: a SPIP that only set a wide send window keeps it valid.
            widened = ToleratedWindow(
                start=min(tolerated.start, window.start), end=max(tolerated.end, window.end)
            )
            self.__dict__["tolerated_window"] = widened
            return self
        raise PydanticCustomError(
            "invalid_tolerated_window",
            "La plage tolérée ({ts}–{te}) doit contenir la fenêtre d'envoi ({ws}–{we}).",
            {"ts": tolerated.start, "te": tolerated.end, "ws": window.start, "we": window.end},
        )

    @field_validator("sender")
    @classmethod
    def _sender(cls, value: str | None) -> str | None:
        if value is None:
            return None
        try:
            return validate_sender(value)
        except InvalidSender as exc:
            raise PydanticCustomError("invalid_sender", str(exc)) from None


class ReminderPolicyRead(ReminderPolicyBody):
    spip_id: int
    is_default: bool = Field(description="Vrai tant que le SPIP n'a pas défini sa politique")


class ReminderPolicyUpdated(ReminderPolicyRead):
    replanned_notifications: int = Field(
        description="Rappels non envoyés replanifiés (annulés ou ajoutés) parce que les règles "
        "de temps ont changé ; 0 sinon"
    )


WarningCode = Literal[
    "window_closed",
    "too_late",
    "no_phone",
    "refused",
    "type_without_sms",
    "person_archived",
    "no_sms",
    "public_holiday",
]


class SmsWarning(ReadModel):
    """An SMS that will not go out, and why, so the agent can phone or hand a paper convocation;
    or (``public_holiday``) a convocation on a public holiday of its place, booked all the same."""

    code: WarningCode = Field(
        description="window_closed, too_late, no_phone, refused, type_without_sms, "
        "person_archived ; no_sms : aucun SMS ne préviendra la personne ; public_holiday : "
        "la convocation tombe un jour férié du lieu (elle est enregistrée quand même)"
    )
    kind: NotificationKind | None = Field(description="Le message concerné ; null : tous")
    message: str = Field(description="Ce qu'il faut dire à l'agent, en français")


class TemplateBody(InputModel):
    body: Annotated[str, StringConstraints(min_length=1, max_length=1000)]


class TemplateRead(ReadModel):
    spip_id: int
    kind: NotificationKind
    appointment_type: str | None
    body: str
    source: Literal["default", "national", "spip", "appointment_type"]
    max_segments: int
    encoding: str = Field(description="Encodage de la version la plus longue")
    segments: int = Field(description="Nombre de SMS de la version la plus longue")


class NationalTemplateRead(ReadModel):
    kind: NotificationKind
    body: str
    source: Literal["default", "national"]
    max_segments: int
    encoding: str
    segments: int


class PreviewRequest(InputModel):
    spip_id: IdRef
    kind: NotificationKind = NotificationKind.reminder
    appointment_type: str | None = None
    body: Annotated[str, StringConstraints(min_length=1, max_length=1000)] | None = Field(
        default=None, description="Texte à essayer ; par défaut le modèle en vigueur"
    )
    place_id: IdRef | None = None
    starts_at: datetime | None = None


class PreviewRead(ReadModel):
    text: str
    encoding: str
    segments: int
    characters: int
    max_segments: int


class ProviderAttemptRead(ReadModel):
    """One try at one SMS provider."""

    provider: str
    outcome: AttemptOutcome = Field(
        description="accepted, temporary (réessai), throttled (ralenti), permanent (refus "
        "définitif) ou skipped (fournisseur non essayé : indisponible, trop de parties…)"
    )
    error_code: str | None
    latency_ms: int | None = Field(description="Durée de l'échange avec le fournisseur, en ms")
    created_at: datetime


class MessagePartRead(ReadModel):
    """One message id given by the provider, and what its delivery receipts said."""

    provider: str
    provider_message_id: str
    status: PartStatus
    error_code: str | None
    status_at: datetime


class NotificationRead(ReadModel):
    id: int
    appointment_id: int
    kind: NotificationKind
    status: NotificationStatus
    reason: str | None
    rule: str | None
    send_at: datetime
    send_at_local: str
    send_not_after: datetime
    planned_at: datetime
    attempts: int
    provider: str | None
    provider_message_id: str | None
    encoding: str | None
    segments: int | None
    body: str | None
    sent_at: datetime | None
    delivered_at: datetime | None
    last_error: str | None
    created_at: datetime
    provider_attempts: list[ProviderAttemptRead] = Field(
        default_factory=list,
        description="Chaque essai auprès d'un fournisseur SMS, dans l'ordre",
    )
    parts: list[MessagePartRead] = Field(
        default_factory=list,
        description="Identifiants du message chez le fournisseur et accusés de réception",
    )


def parse_hhmm(value: str) -> time:
    hours, minutes = value.split(":")
    return time(int(hours), int(minutes))
