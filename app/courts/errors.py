from app.core.errors import Conflict, NotFound, Unprocessable


class CourtNotFound(NotFound):
    code = "court_not_found"
    message = "Tribunal introuvable."


class CourtNameTaken(Conflict):
    code = "court_name_taken"
    message = "Un tribunal porte déjà ce nom."


class CourtSpipUnknown(Unprocessable):
    code = "court_spip_unknown"
    message = "SPIP inconnu dans « spip_ids »."


class NotACandidate(Unprocessable):
    code = "court_person_not_candidate"
    message = (
        "Cette fiche ne correspond pas à la personne décrite : reprenez les nom, prénom et date "
        "de naissance (ou le mobile) qui ont donné l'avertissement de doublon."
    )


class CourtDuplicateAppointment(Conflict):
    """The SPIP's ``duplicate_appointment`` without what it tells an agent of the SPIP (the
    other convocation's date, place and id): a clerk sees nothing beyond their bookings."""

    code = "duplicate_appointment"
    message = (
        "Cette personne a déjà une convocation qui chevauche ce créneau : choisissez un autre "
        "créneau."
    )
