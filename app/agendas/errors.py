from __future__ import annotations

from app.core.errors import Conflict, NotFound, Unprocessable


class AgendaNotFound(NotFound):
    code = "agenda_not_found"
    message = "Agenda introuvable."


class SlotTypeNotFound(NotFound):
    code = "slot_type_not_found"
    message = "Créneau récurrent introuvable."


class SlotNotFound(NotFound):
    code = "slot_not_found"
    message = "Créneau introuvable."


class SlotFull(Conflict):
    code = "slot_full"
    message = "Ce créneau est complet : choisissez un autre créneau."


class SlotClosed(Conflict):
    code = "slot_closed"
    message = "Ce créneau est fermé : il ne prend plus de nouvelle convocation."


class AgendaInactive(Conflict):
    code = "agenda_inactive"
    message = "Cet agenda n'est plus utilisé : il ne prend plus de nouvelle convocation."


class TypeNotAccepted(Unprocessable):
    code = "appointment_type_not_accepted"
    message = "Cet agenda n'accepte pas ce type de convocation."


class UnknownTypes(Unprocessable):
    code = "unknown_appointment_type"
    message = "Type de convocation inconnu."


class CapacityBelowBooked(Conflict):
    code = "capacity_below_booked"
    message = (
        "Ce créneau compte déjà des convocations : sa capacité ne peut pas descendre en dessous."
    )

    @classmethod
    def of(cls, booked: int) -> CapacityBelowBooked:
        noun = "convocation" if booked == 1 else "convocations"
        return cls(
            f"Ce créneau compte déjà {booked} {noun} : sa capacité ne peut pas descendre "
            "en dessous.",
            field="capacity",
            booked=booked,
        )


class SlotInPast(Unprocessable):
    code = "slot_in_past"
    message = "Ce créneau commence dans le passé."


class TooManySlots(Unprocessable):
    code = "too_many_slots"
    message = "Trop de créneaux demandés en une fois (500 au plus)."


class InvalidPeriod(Unprocessable):
    code = "invalid_period"
    message = "Période invalide : la fin doit suivre le début, sur un an au plus."


class InvalidCursor(Unprocessable):
    code = "invalid_cursor"
    message = (
        "Curseur de page invalide : reprenez le lien « next » de la page précédente "
        "(en-tête Link) sans le modifier."
    )
