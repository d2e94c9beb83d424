from __future__ import annotations

from datetime import date
from typing import Literal

from pydantic import BaseModel, Field

DEFINITIONS = (
    "Convocations dont le début tombe dans la période (calendrier local du SPIP). "
    "Taux de présence = honorées / (honorées + non honorées). Les excusées et les non "
    "renseignées (commencées, sans issue) sont données à côté ; les annulées et reportées à part. "
    "Effet des rappels : delivered (un SMS de convocation ou de rappel distribué), "
    "sent_no_receipt (envoyé, sans accusé de réception), failed_or_skipped (échec, non distribué, "
    "expiré ou non envoyé car trop tard), no_reminder (aucun SMS : pas de téléphone, refus, "
    "politique, ou pas encore envoyé)."
)


def _rate(numerator: int, denominator: int) -> float | None:
    return round(numerator / denominator, 4) if denominator else None


class Counts(BaseModel):
    honored: int = 0
    missed: int = 0
    excused: int = 0
    unrecorded: int = Field(0, description="Commencées, sans issue saisie")
    upcoming: int = Field(0, description="Pas encore commencées")
    cancelled: int = 0
    rescheduled: int = 0
    attendance_rate: float | None = Field(
        None, description="honored / (honored + missed) ; null sans dénominateur"
    )
    unrecorded_share: float | None = Field(
        None, description="unrecorded / (honored + missed + excused + unrecorded)"
    )

    @classmethod
    def from_counts(cls, values: dict[str, int]) -> Counts:
        counts = cls(**values)
        counts.attendance_rate = _rate(counts.honored, counts.honored + counts.missed)
        started = counts.honored + counts.missed + counts.excused + counts.unrecorded
        counts.unrecorded_share = _rate(counts.unrecorded, started)
        return counts


class AttendanceRow(BaseModel):
    spip_id: int | None
    spip_code: str | None
    key: str = Field(
        description="Mois (AAAA-MM), lundi de la semaine, code du type, id de l'agent (« none » : "
        "sans agent) ou id du lieu"
    )
    agent_id: int | None = Field(
        None, description="Regroupement par agent : l'agent ; null pour les convocations sans agent"
    )
    label: str | None = Field(
        None,
        description="Regroupement par agent : son nom, ou « Sans agent » ; null pour les autres "
        "regroupements",
    )
    counts: Counts
    by_reminder: dict[str, Counts] = Field(
        description="Les mêmes comptes selon le sort des SMS : delivered, sent_no_receipt, "
        "failed_or_skipped, no_reminder"
    )


class AttendanceReport(BaseModel):
    spip_id: int | None
    start: date
    end: date
    group_by: Literal["month", "week", "appointment_type", "agent", "place"]
    rows: list[AttendanceRow]
    totals: list[AttendanceRow] = Field(
        default_factory=list, description="Vue nationale : total de tous les SPIP par clé"
    )
    total: AttendanceRow
    definitions: str = DEFINITIONS


class SmsRow(BaseModel):
    provider: str | None
    kind: str
    status: str
    messages: int
    segments: int


class ProviderStats(BaseModel):
    provider: str
    sent: int = Field(description="Messages acceptés par le fournisseur")
    delivered: int
    delivery_rate: float | None = Field(description="Distribués / acceptés")
    segments: int
    estimated_cost_eur: float
    median_seconds_to_delivery: float | None


class SmsReport(BaseModel):
    spip_id: int | None
    start: date
    end: date
    rows: list[SmsRow]
    providers: list[ProviderStats]
    price_per_segment_eur: float


class UnrecordedRow(BaseModel):
    agent_id: int | None
    agent_name: str | None
    count: int
    oldest_starts_at: str


class UnrecordedReport(BaseModel):
    spip_id: int | None
    older_than_days: int
    rows: list[UnrecordedRow]
