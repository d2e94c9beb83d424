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
