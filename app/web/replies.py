"""The SMS persons sent back, as the agents' pages show them: in the SPIP's local time, a
reply with its text (« Réponse reçue »), a STOP as the refusal it recorded."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from app.core.localtime import zone
from app.models import InboundKind, InboundMessage, Person
from app.replies.service import UnreadReply

EMPTY_TEXT = "texte non transmis par le fournisseur"


@dataclass(frozen=True)
class ReplyLine:
    id: int
    is_stop: bool
    when: datetime  # local
    text: str | None
    appointment_id: int | None
    unread: bool


@dataclass(frozen=True)
class UnreadLine:
    line: ReplyLine
    person_id: int
    person_name: str


def line(row: InboundMessage, tz_name: str) -> ReplyLine:
    is_stop = row.kind == InboundKind.stop.value
    return ReplyLine(
        id=row.id,
        is_stop=is_stop,
        when=row.received_at.astimezone(zone(tz_name)),
        text=None if is_stop else (row.body or EMPTY_TEXT),
        appointment_id=row.appointment_id,
        unread=not is_stop and row.read_at is None,
    )


def lines(rows: list[InboundMessage], tz_name: str) -> list[ReplyLine]:
    return [line(r, tz_name) for r in rows]


def unread_lines(rows: list[UnreadReply], tz_name: str) -> list[UnreadLine]:
    return [UnreadLine(line(r.reply, tz_name), r.person.id, _name(r.person)) for r in rows]


def _name(person: Person) -> str:
    return f"{person.first_name} {person.last_name}"
