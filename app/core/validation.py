"""French messages for request validation errors, keyed by pydantic's error types."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, get_args

from pydantic_core.core_schema import ErrorType

_MESSAGES = {
    "missing": "Champ obligatoire.",
    "extra_forbidden": "Champ inconnu.",
    "json_invalid": "Le corps de la requête n'est pas un JSON valide.",
    "model_attributes_type": "Un objet JSON est attendu.",
    "dict_type": "Un objet JSON est attendu.",
    "model_type": "Un objet JSON est attendu.",
    "string_type": "Texte attendu.",
    "string_too_short": "Texte trop court.",
    "string_too_long": "Texte trop long.",
    "string_pattern_mismatch": "Format invalide.",
    "int_type": "Nombre entier attendu.",
    "int_parsing": "Nombre entier attendu.",
    "int_from_float": "Nombre entier attendu.",
    "greater_than_equal": "Valeur trop petite.",
    "greater_than": "Valeur trop petite.",
    "less_than_equal": "Valeur trop grande.",
    "less_than": "Valeur trop grande.",
    "multiple_of": "Valeur invalide.",
    "bool_type": "Booléen attendu (true ou false).",
    "bool_parsing": "Booléen attendu (true ou false).",
    "enum": "Valeur non autorisée.",
    "literal_error": "Valeur non autorisée.",
    "datetime_type": "Date et heure attendues (ISO 8601, par ex. 2027-03-29T09:00).",
    "datetime_parsing": "Date et heure invalides (ISO 8601, par ex. 2027-03-29T09:00).",
    "datetime_from_date_parsing": "Date et heure invalides (ISO 8601, par ex. 2027-03-29T09:00).",
    "date_type": "Date attendue (AAAA-MM-JJ).",
    "date_parsing": "Date invalide (AAAA-MM-JJ).",
    "date_from_datetime_parsing": "Date invalide (AAAA-MM-JJ).",
    "value_error": "Valeur invalide.",
    "url_parsing": "Adresse web invalide.",
    "url_scheme": "L'adresse web doit commencer par http:// ou https://.",
    "url_type": "Adresse web attendue.",
    "list_type": "Liste attendue.",
    "finite_number": "Nombre fini attendu.",
    "float_type": "Nombre attendu.",
    "float_parsing": "Nombre attendu.",
    "int_parsing_size": "Nombre trop grand.",
    "string_unicode": "Texte invalide (UTF-8 attendu).",
    "too_long": "Liste trop longue.",
    "too_short": "Liste trop courte.",
    "json_type": "JSON attendu.",
    "timezone_aware": "Date et heure avec décalage UTC attendues.",
    "timezone_naive": "Date et heure sans décalage UTC attendues.",
}
# Numeric bounds, with the limit (``Field(ge=1)`` → "au moins 1").
_BOUNDS = {
    "greater_than_equal": "Valeur trop petite : elle doit être d'au moins {}.",
    "greater_than": "Valeur trop petite : elle doit être strictement supérieure à {}.",
    "less_than_equal": "Valeur trop grande : elle doit être d'au plus {}.",
    "less_than": "Valeur trop grande : elle doit être strictement inférieure à {}.",
    "multiple_of": "Valeur invalide : elle doit être un multiple de {}.",
}
# Every error type pydantic itself raises: its English message must never reach an agent.
_PYDANTIC_TYPES = frozenset(get_args(ErrorType))


def _message(error: dict[str, Any]) -> str:
    kind = error.get("type", "")
    if kind in _MESSAGES:
        message = _MESSAGES[kind]
        ctx = error.get("ctx") or {}
        if kind == "string_too_long" and "max_length" in ctx:
            message = f"Texte trop long ({ctx['max_length']} caractères au plus)."
        elif kind in ("enum", "literal_error") and "expected" in ctx:
            message = f"Valeur non autorisée ; valeurs possibles : {ctx['expected']}."
        elif kind in _BOUNDS and ctx:
            message = _BOUNDS[kind].format(_number(next(iter(ctx.values()))))
        return message
    if kind in _PYDANTIC_TYPES or kind.endswith("_error"):
        return "Valeur invalide."
    # Our own PydanticCustomError types carry a French message already.
    return str(error.get("msg", "Valeur invalide."))


def _number(value: Any) -> str:
    """A bound as an agent reads it: ``0.0`` → ``0``, ``1.5`` → ``1,5``."""
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    return str(value).replace(".", ",")


def field_errors(errors: Sequence[Any]) -> list[dict[str, str]]:
    return [
        {
            "field": ".".join(str(part) for part in error.get("loc", ())),
            "code": str(error.get("type", "invalid")),
            "message": _message(error),
        }
        for error in errors
    ]


BUILTIN_TYPES = frozenset(_MESSAGES) | _PYDANTIC_TYPES


def top_code(fields: list[dict[str, str]]) -> str:
    """The response's code: our own business code when the only error carries one."""
    codes = {f["code"] for f in fields}
    if len(codes) == 1:
        (code,) = codes
        if code not in BUILTIN_TYPES and not code.endswith(("_type", "_parsing")):
            return code
    return "validation_error"
