from app.core.errors import Conflict, NotFound


class SpipNotFound(NotFound):
    code = "spip_not_found"
    message = "SPIP introuvable."


class PlaceNotFound(NotFound):
    code = "place_not_found"
    message = "Lieu de convocation introuvable."


class SpipCodeTaken(Conflict):
    code = "spip_code_taken"
    message = "Un SPIP porte déjà ce code."
