from app.core.errors import Conflict, NotFound, Unprocessable


class PersonNotFound(NotFound):
    code = "person_not_found"
    message = "Personne suivie introuvable."


class PhoneRequired(Unprocessable):
    code = "phone_required"
    message = "Un numéro de mobile est nécessaire pour le statut « valid »."


class PhoneStatusConflict(Unprocessable):
    code = "phone_status_conflict"
    message = "Le statut « none » (sans téléphone) ne peut pas accompagner un numéro."


class PersonHasAppointments(Conflict):
    code = "person_has_appointments"
    message = "Cette personne a des convocations : archivez-la plutôt que de la supprimer."


class InvalidSearchDate(Unprocessable):
    code = "invalid_search_date"
    message = (
        "Cette date n'existe pas. Saisissez une date de naissance au format jj/mm/aaaa "
        "(par ex. 12/03/1985) ou aaaa-mm-jj."
    )


class PersonLikelyDuplicate(Conflict):
    code = "person_likely_duplicate"
    message = (
        "Cette personne semble déjà enregistrée dans ce SPIP (mêmes nom, prénom et date de "
        "naissance, ou même numéro de mobile). Vérifiez les fiches indiquées ; s'il s'agit bien "
        "d'une autre personne, confirmez la création."
    )

    def __init__(self, candidate_ids: list[int]) -> None:
        super().__init__(candidates=candidate_ids)
        self.candidate_ids = candidate_ids
