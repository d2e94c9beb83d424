"""Règles de rappel: the policy form read into the API's ``ReminderPolicyBody`` (its validation
errors as French field messages), and the example of when the reminders go (the planner's own
answer)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from typing import Any

from pydantic import ValidationError

from app.core.errors import AppError
from app.core.localtime import to_utc, zone
from app.models import AppointmentType
from app.reminders import planning
from app.reminders.policies import SpipPolicy
from app.reminders.schemas import DaysBeforeRule, ReminderPolicyBody
from app.web.templating import french_date, french_time, heure_de

RULES = 3  # the API's maximum


# --- the policy form -------------------------------------------------------------------------


@dataclass
class RuleForm:
    """One reminder slot as typed: ``mode`` is « jours », « heures » or « aucun »."""

    mode: str = "aucun"
    jours: str = ""
    heure: str = ""
    heures: str = ""


@dataclass
class PolicyForm:
    rules: list[RuleForm] = field(default_factory=list)
    # type code → « commun » (the general rules), « aucun » (no reminder) or « propres »
    type_modes: dict[str, str] = field(default_factory=dict)
    type_rules: dict[str, list[RuleForm]] = field(default_factory=dict)
    fenetre_debut: str = "08:00"
    fenetre_fin: str = "20:00"
    tolere_debut: str = "07:00"
    tolere_fin: str = "22:00"
    delai: str = "60"
    max_sms: str = "4"
    gsm7: bool = True
    jours_fermes: bool = False
    emetteur: str = ""
    exemple_date: str = ""
    exemple_heure: str = "09:00"
    exemple_type: str = ""
    errors: dict[str, str] = field(default_factory=dict)
    alert: str | None = None


LABELS = {
    "fenetre_debut": "Fenêtre d'envoi : début",
    "fenetre_fin": "Fenêtre d'envoi : fin",
    "tolere_debut": "Plage tolérée : début",
    "tolere_fin": "Plage tolérée : fin",
    "delai": "Délai minimal avant la convocation",
    "max_sms": "Nombre maximal de SMS par message",
    "gsm7": "Remplacer les caractères hors GSM-7",
    "jours_fermes": "Éviter les dimanches et les jours fériés",
    "emetteur": "Émetteur des SMS",
    "exemple_date": "Date de l'exemple",
    "exemple_heure": "Heure de l'exemple",
}


def label_of(name: str, types: dict[str, str]) -> str:
    """The label of a form field, rule slots included (« Rappel 2 : jours avant »)."""
    if name in LABELS:
        return LABELS[name]
    parts = name.split("-")
    what = {"mode": "type de rappel", "jours": "jours avant", "heure": "heure", "heures": "heures"}
    if parts[0] == "regle" and len(parts) == 3:
        return f"Rappel {int(parts[1]) + 1} : {what.get(parts[2], parts[2])}"
    if parts[0] == "type" and len(parts) >= 3:
        label = types.get(parts[1], parts[1])
        if len(parts) == 3:
            return f"{label} : rappels"
        return f"{label}, rappel {int(parts[2]) + 1} : {what.get(parts[3], parts[3])}"
    return name


def open_types(form: PolicyForm, types: list[AppointmentType]) -> set[str]:
    """The types whose own rules are shown unfolded: those that have some, or an error."""
    return {
        t.code
        for t in types
        if form.type_modes.get(t.code) == "propres"
        or any(name.startswith(f"type-{t.code}-") for name in form.errors)
    }


def _rule_form(rule: Any) -> RuleForm:
    if isinstance(rule, DaysBeforeRule):
        return RuleForm("jours", str(rule.days_before), rule.at)
    return RuleForm("heures", heures=f"{rule.hours_before:g}")


def _slots(rules: list[Any]) -> list[RuleForm]:
    forms = [_rule_form(r) for r in rules]
    return forms + [RuleForm() for _ in range(RULES - len(forms))]


def form_of(policy: SpipPolicy, types: list[AppointmentType]) -> PolicyForm:
    body = policy.body
    return PolicyForm(
        rules=_slots(list(body.rules)),
        type_modes={
            t.code: (
                "commun"
                if t.code not in body.type_rules
                else ("propres" if body.type_rules[t.code] else "aucun")
            )
            for t in types
        },
        type_rules={t.code: _slots(list(body.type_rules.get(t.code, []))) for t in types},
        fenetre_debut=body.send_window.start,
        fenetre_fin=body.send_window.end,
        tolere_debut=body.tolerated_window.start,
        tolere_fin=body.tolerated_window.end,
        delai=str(body.min_lead_minutes),
        max_sms=str(body.max_segments),
        gsm7=body.gsm7_friendly,
        jours_fermes=body.avoid_closed_days,
        emetteur=body.sender or "",
    )


def read_form(data: dict[str, str], types: list[AppointmentType]) -> PolicyForm:
    """The posted fields, kept as typed."""

    def slots(prefix: str) -> list[RuleForm]:
        return [
            RuleForm(
                mode=data.get(f"{prefix}-{i}-mode", "aucun"),
                jours=data.get(f"{prefix}-{i}-jours", "").strip(),
                heure=data.get(f"{prefix}-{i}-heure", "").strip(),
                heures=data.get(f"{prefix}-{i}-heures", "").strip(),
            )
            for i in range(RULES)
        ]

    return PolicyForm(
        rules=slots("regle"),
        type_modes={t.code: data.get(f"type-{t.code}-mode", "commun") for t in types},
        type_rules={t.code: slots(f"type-{t.code}") for t in types},
        fenetre_debut=data.get("fenetre_debut", "").strip(),
        fenetre_fin=data.get("fenetre_fin", "").strip(),
        tolere_debut=data.get("tolere_debut", "").strip(),
        tolere_fin=data.get("tolere_fin", "").strip(),
        delai=data.get("delai", "").strip(),
        max_sms=data.get("max_sms", "").strip(),
        gsm7=data.get("gsm7") == "oui",
        jours_fermes=data.get("jours_fermes") == "oui",
        emetteur=data.get("emetteur", "").strip(),
        exemple_date=data.get("exemple_date", "").strip(),
        exemple_heure=data.get("exemple_heure", "").strip() or "09:00",
        exemple_type=data.get("exemple_type", "").strip(),
    )


def _number(value: str) -> Any:
    """An int or float when it reads as one; else the text (pydantic then says it is not)."""
    text = value.replace(",", ".")
    for kind in (int, float):
        try:
            return kind(text)
        except ValueError:
            continue
    return value


def _hhmm(value: str) -> str:
    # A browser's time input may send seconds (« 10:00:00 »).
    return value[:5] if len(value) == 8 and value[5] == ":" else value


def _rules(slots: list[RuleForm], prefix: str, where: dict[tuple[str, ...], str]) -> list[Any]:
    """The API's rule objects; ``where`` maps each one's position in the body to its slot."""
    rules: list[Any] = []
    for i, slot in enumerate(slots):
        if slot.mode == "jours":
            rules.append({"days_before": _number(slot.jours), "at": _hhmm(slot.heure)})
        elif slot.mode == "heures":
            rules.append({"hours_before": _number(slot.heures)})
        else:
            continue
        where[(str(len(rules) - 1),)] = f"{prefix}-{i}"
    return rules


# pydantic's error types, in French (the API's own messages are already French).
_MESSAGES = {
    "greater_than_equal": "Saisissez un nombre supérieur ou égal à {ge}.",
    "less_than_equal": "Saisissez un nombre inférieur ou égal à {le}.",
    "greater_than": "Saisissez un nombre supérieur à {gt}.",
    "int_parsing": "Saisissez un nombre entier.",
    "int_from_float": "Saisissez un nombre entier.",
    "float_parsing": "Saisissez un nombre.",
    "string_pattern_mismatch": "Saisissez une heure au format hh:mm, par exemple 10:00.",
    "too_long": "Trois rappels au plus.",
}
_RULE_ATTRS = {"days_before": "jours", "at": "heure", "hours_before": "heures"}
_TOP = {
    ("send_window", "start"): "fenetre_debut",
    ("send_window", "end"): "fenetre_fin",
    ("send_window",): "fenetre_debut",
    ("tolerated_window", "start"): "tolere_debut",
    ("tolerated_window", "end"): "tolere_fin",
    ("tolerated_window",): "tolere_debut",
    ("min_lead_minutes",): "delai",
    ("max_segments",): "max_sms",
    ("gsm7_friendly",): "gsm7",
    ("sender",): "emetteur",
    (): "tolere_debut",  # the tolerated range must hold the send window
}


def _french(error: Any) -> str:
    template = _MESSAGES.get(error["type"])
    if template is None:
        return str(error["msg"])
    return template.format(**(error.get("ctx") or {}))


def _field_of(loc: tuple[str, ...], where: dict[tuple[str, ...], str]) -> str | None:
    if loc in _TOP:
        return _TOP[loc]
    if loc and loc[0] == "rules" and len(loc) >= 2:
        slot = where.get(("regle", loc[1]))
        attr = _RULE_ATTRS.get(loc[-1]) if len(loc) > 2 else None
        return f"{slot}-{attr}" if slot and attr else slot and f"{slot}-mode"
    if loc and loc[0] == "type_rules" and len(loc) >= 3:
        slot = where.get(("type", loc[1], loc[2]))
        attr = _RULE_ATTRS.get(loc[-1]) if len(loc) > 3 else None
        return f"{slot}-{attr}" if slot and attr else slot and f"{slot}-mode"
    return None


def to_body(form: PolicyForm, types: list[AppointmentType]) -> ReminderPolicyBody | None:
    """The API's body, or ``None`` with the form's errors filled (in French)."""
    where: dict[tuple[str, ...], str] = {}
    general: dict[tuple[str, ...], str] = {}
    data: dict[str, Any] = {"rules": _rules(form.rules, "regle", general)}
    where |= {("regle", *k): v for k, v in general.items()}
    type_rules: dict[str, list[Any]] = {}
    for t in types:
        mode = form.type_modes.get(t.code, "commun")
        if mode == "aucun":
            type_rules[t.code] = []
        elif mode == "propres":
            own: dict[tuple[str, ...], str] = {}
            type_rules[t.code] = _rules(form.type_rules[t.code], f"type-{t.code}", own)
            where |= {("type", t.code, *k): v for k, v in own.items()}
            if not type_rules[t.code]:
                form.errors[f"type-{t.code}-mode"] = (
                    "Indiquez au moins un rappel propre à ce type, ou choisissez « aucun rappel »."
                )
    data |= {
        "type_rules": type_rules,
        "send_window": {"start": _hhmm(form.fenetre_debut), "end": _hhmm(form.fenetre_fin)},
        "tolerated_window": {"start": _hhmm(form.tolere_debut), "end": _hhmm(form.tolere_fin)},
        "min_lead_minutes": _number(form.delai),
        "max_segments": _number(form.max_sms),
        "gsm7_friendly": form.gsm7,
        "avoid_closed_days": form.jours_fermes,
        "sender": form.emetteur or None,
    }
    try:
        body = ReminderPolicyBody.model_validate(data)
    except ValidationError as exc:
        for error in exc.errors():
            loc = tuple(str(p) for p in error["loc"])
            name = _field_of(loc, where)
            if name is None:
                form.alert = _french(error)
            else:
                form.errors.setdefault(name, _french(error))
        if not form.errors and form.alert is None:
            form.alert = "Vérifiez les champs du formulaire."
        return None
    return None if form.errors else body


def explain_error(form: PolicyForm, exc: AppError) -> None:
    """The service's refusal (a wording too long for the new cap, an unknown type)."""
    fields = exc.extra.get("fields") or []
    for item in fields:
        name = {"body.max_segments": "max_sms", "body.gsm7_friendly": "gsm7"}.get(item["field"])
        if name:
            form.errors.setdefault(name, item["message"])
    if not form.errors:
        form.alert = exc.detail


# --- the rules in words (read only) ---------------------------------------------------------


@dataclass(frozen=True)
class TypeRules:
    label: str
    mode: str  # « commun », « aucun » or « propres »
    rules: list[str]


@dataclass(frozen=True)
class PolicyText:
    """The rules in force as the read-only page says them (a manager's view)."""

    rules: list[str]
    types: list[TypeRules]
    send_window: str
    tolerated_window: str
    min_lead: str
    max_sms: str
    gsm7: bool
    avoid_closed_days: bool
    sender: str | None


def clock(value: str) -> str:
    """« 08:00 » → « 8h00 »."""
    hour, minute = value[:5].split(":")
    return f"{int(hour)}h{minute}"


def rule_text(slot: RuleForm) -> str:
    """« 2 jours avant, à 10h00 », « 4,5 heures avant » (the example's words for a rule)."""
    if slot.mode == "jours":
        return _rule_words(f"J-{slot.jours} {slot.heure}")
    return _rule_words(f"H-{slot.heures}").replace(".", ",")


def _texts(slots: list[RuleForm]) -> list[str]:
    return [rule_text(s) for s in slots if s.mode in ("jours", "heures")]


def policy_text(form: PolicyForm, types: list[AppointmentType]) -> PolicyText:
    lead = int(form.delai)
    return PolicyText(
        rules=_texts(form.rules),
        types=[
            TypeRules(t.label, form.type_modes[t.code], _texts(form.type_rules[t.code]))
            for t in types
        ],
        send_window=f"de {clock(form.fenetre_debut)} à {clock(form.fenetre_fin)}",
        tolerated_window=f"de {clock(form.tolere_debut)} à {clock(form.tolere_fin)}",
        min_lead=f"{lead} minute{'s' if lead > 1 else ''}",
        max_sms=form.max_sms,
        gsm7=form.gsm7,
        avoid_closed_days=form.jours_fermes,
        sender=form.emetteur or None,
    )


# --- the example -----------------------------------------------------------------------------


@dataclass(frozen=True)
class ExampleLine:
    rule: str
    when: str
    goes: bool
    reason: str | None


@dataclass(frozen=True)
class Example:
    appointment: str
    lines: list[ExampleLine]


REASONS = {
    "too_close": "à moins d'une heure d'un autre rappel : un seul part",
    "too_late": "trop tard avant la convocation",
    "window_closed": "aucune heure de la fenêtre d'envoi avant la convocation",
    "collapsed": "regroupé avec un autre rappel",
    "superseded": "remplacé par un rappel suivant",
}


def next_monday(now: datetime, tz_name: str) -> date:
    today = now.astimezone(zone(tz_name)).date()
    return today + timedelta(days=(7 - today.weekday()) % 7 or 7)


def example_start(form: PolicyForm, now: datetime, tz_name: str) -> datetime | None:
    """The example's convocation: the date and hour asked for, else next Monday at 9:00 in the
    zone of the SPIP's main place. ``None`` (with the field's error) when they do not read."""
    try:
        day = date.fromisoformat(form.exemple_date) if form.exemple_date else None
    except ValueError:
        form.errors["exemple_date"] = "Saisissez la date au format jj/mm/aaaa."
        return None
    try:
        at = time.fromisoformat(form.exemple_heure)
    except ValueError:
        form.errors["exemple_heure"] = "Saisissez l'heure au format hh:mm, par exemple 09:00."
        return None
    day = day or next_monday(now, tz_name)
    form.exemple_date = day.isoformat()
    try:
        return to_utc(datetime.combine(day, at), zone(tz_name))
    except AppError as exc:  # a wall time in a change of clock
        form.errors["exemple_heure"] = exc.detail
        return None


def _when(instant: datetime, tz_name: str) -> str:
    local = instant.astimezone(zone(tz_name))
    return f"{french_date(local)} à {french_time(local)}"


def example(
    policy: SpipPolicy,
    type_code: str,
    starts_at: datetime,
    tz_name: str,
    *,
    territory: str | None = None,
) -> Example:
    """When the reminders of a convocation at ``starts_at`` go, as the planner plans them for a
    convocation booked well ahead (a month before its reminders), at a place of the SPIP's
    holiday ``territory``."""
    # No type has the code "\0": its policy is the general rules.
    rules = policy.for_type(type_code or "\0", territory=territory)
    planned = planning.plan_reminders(
        starts_at=starts_at,
        tz=zone(tz_name),
        policy=rules,
        now=starts_at - timedelta(days=62),
    )
    suffix = f" ({heure_de(tz_name)})"
    return Example(
        appointment=_when(starts_at, tz_name) + suffix,
        lines=[
            ExampleLine(
                rule=_rule_words(r.rule),
                when=_when(r.send_at, tz_name) + suffix,
                goes=r.planned,
                reason=REASONS.get(r.skipped_reason or "", r.skipped_reason),
            )
            for r in planned
        ],
    )


def _rule_words(label: str) -> str:
    """« J-2 10:00 » → « 2 jours avant, à 10h00 »; « H-3 » → « 3 heures avant »."""
    if label.startswith("J-"):
        days, at = label[2:].split(" ")
        hour, minute = at.split(":")
        unit = "jour" if days in ("0", "1") else "jours"
        when = "le jour même" if days == "0" else f"{days} {unit} avant"
        return f"{when}, à {int(hour)}h{minute}"
    hours = label[2:]
    return f"{hours} heure{'s' if hours not in ('1', '0.5') else ''} avant"
