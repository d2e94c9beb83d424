from app.core.errors import Conflict, NotFound, Unprocessable


class AppointmentNotFound(NotFound):
    code = "appointment_not_found"
    message = "Convocation introuvable."


class UnknownAppointmentType(Unprocessable):
    code = "unknown_appointment_type"
    message = "Type de convocation inconnu."


class PlaceNotInSpip(Unprocessable):
    code = "place_not_in_spip"
    message = "Ce lieu n'appartient pas au SPIP de la personne suivie."


class PlaceInactive(Unprocessable):
    code = "place_inactive"
    message = "Ce lieu de convocation n'est plus utilisé."


class PersonArchived(Conflict):
    code = "person_archived"
    message = "Cette personne est archivée : elle ne peut plus être convoquée."


class StartsInPast(Unprocessable):
    code = "starts_in_past"
    message = "La date de convocation est déjà passée."


class StartsTooFar(Unprocessable):
    code = "starts_too_far"
    message = "La date de convocation est trop lointaine : vérifiez l'année."


class InvalidTransition(Conflict):
    code = "invalid_transition"
    message = "Cette action n'est pas possible pour cette convocation."


class DuplicateAppointment(Conflict):
    code = "duplicate_appointment"
    message = (
        "Cette personne a déjà une convocation sur ce créneau. Pour la convoquer quand même, "
        "confirmez avec « allow_duplicate »: true."
    )


class RescheduleUnchanged(Unprocessable):
    code = "reschedule_unchanged"
    message = (
        "La convocation est déjà à cette date, à cette heure et en ce lieu : rien à déplacer "
        "(aucun SMS de changement n'est envoyé)."
    )
