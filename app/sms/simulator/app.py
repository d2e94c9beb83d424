"""The provider simulator: a real ASGI server speaking the ``http`` wire format.

See ``app.sms.providers.http`` for the format. On top of it the simulator offers:

* latency (``latency_ms``) before every answer;
* error rates by class, drawn independently for each request: ``error_5xx`` (HTTP 500),
  ``error_timeout`` (sleeps ``timeout_sleep_ms``, past the client's read timeout, then 504),
  ``error_429`` (HTTP 429 with ``Retry-After: retry_after``), ``error_permanent`` (HTTP 400).
  A failed request is **never** counted as accepted — timeouts included — so a run can prove
  that every message was accepted exactly once;
* a down switch: ``down_for_seconds`` answers 503 to everything for that long;
* idempotency on ``reference``, as the wire format asks of a provider: a reference accepted
  within ``idempotency_hours`` (24; 0 turns it off) is answered 200 with the first message's
  id and not sent again (counted in ``replayed``, not in ``accepted``);
* delivery receipts POSTed to ``callback_url`` after ``receipt_delay_ms``, signed with the
  shared webhook secret, ``undelivered`` being the share reported undelivered. Receipts falling
  due together for one callback URL go out as one JSON array of up to ``receipt_batch`` (the
  ``http`` wire format accepts both), as high-volume providers do: one request per receipt
  would cost the receiving API more than the sending itself. A receipt may wait up to
  ``receipt_linger_ms`` more for others to join its batch;
* bookkeeping: ``GET /_stats`` (accepted count per reference, when each reference was last
  accepted, totals, duplicates — references accepted more than once — rejections by class,
  receipts sent/failed), ``GET /_counts`` (the totals alone: cheap enough to poll while a
  benchmark runs, where the full stats of 15,000 references cost the simulator 10 ms each),
  ``POST /_reset``,
  ``POST /_control`` (change any setting above at runtime, e.g. ``{"down_for_seconds": 30}``),
  ``GET /_health``;
* replies from persons: ``POST /_replies`` with ``{"from": "+33612345678", "text": "STOP"}``
  (optionally ``"to"``, ``"id"``, ``"received_at"``, and ``"url"``) posts one received SMS in
  the ``http`` wire format, signed with the webhook secret, to ``url``, else to the
  configured ``inbound_url`` (``CONVOC_SIM_INBOUND_URL``), else to the inbound URL matching the
  last receipt URL Convoc gave (``…/sms/receipts/http…`` → ``…/sms/inbound/http…``). It
  waits for Convoc's answer and returns it: ``{"id", "url", "status", "response"}`` (the
  URL without its token).
"""

from __future__ import annotations

import asyncio
import hmac
import json
import logging
import random
import re
import time
import uuid
from collections import Counter, deque
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import asdict, dataclass, fields
from typing import Any

import httpx
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from app.core import clock
from app.sms.encoding import analyze
from app.sms.providers.http import SIGNATURE_HEADER, sign

log = logging.getLogger("convoc.sms.simulator")

_E164 = re.compile(r"\+[1-9][0-9]{6,14}")
_RATES = ("error_5xx", "error_timeout", "error_429", "error_permanent", "undelivered")
_RECEIPT_TRIES = 3
_RECEIPT_POSTS = 4  # receipt requests in flight at once


@dataclass
class SimulatorConfig:
    latency_ms: float = 0.0
    error_5xx: float = 0.0
    error_timeout: float = 0.0
    error_429: float = 0.0
    error_permanent: float = 0.0
    retry_after: float = 1.0
    timeout_sleep_ms: float = 30_000.0
    receipt_delay_ms: float = 200.0
    receipt_batch: float = 100.0
    receipt_linger_ms: float = 100.0
    undelivered: float = 0.0
    idempotency_hours: float = 24.0
    inbound_url: str | None = None  # where POST /_replies posts, unless told otherwise
    api_key: str | None = None
    webhook_secret: str | None = None
    seed: int | None = None

    def validate(self) -> None:
        for name in _RATES:
            value = getattr(self, name)
            if not 0.0 <= value <= 1.0:
                raise ValueError(f"{name} doit être entre 0 et 1")
        total = self.error_5xx + self.error_timeout + self.error_429 + self.error_permanent
        if total > 1.0:
            raise ValueError("la somme des taux d'erreur dépasse 1")
        for name in (
            "latency_ms",
            "retry_after",
            "timeout_sleep_ms",
            "receipt_delay_ms",
            "receipt_linger_ms",
            "idempotency_hours",
        ):
            if getattr(self, name) < 0:
                raise ValueError(f"{name} doit être positif")
        if self.receipt_batch < 1:
            raise ValueError("receipt_batch doit valoir au moins 1")

    def public(self) -> dict[str, Any]:
        data = asdict(self)
        data["api_key"] = data["api_key"] is not None
        data["webhook_secret"] = data["webhook_secret"] is not None
        data["inbound_url"] = data["inbound_url"] is not None  # holds the receipt token
        return data


class SimulatorState:
    def __init__(self, config: SimulatorConfig):
        config.validate()
        self.config = config
        self.rng = random.Random(config.seed)
        self.receipt_client: httpx.AsyncClient | None = None
        self.tasks: set[asyncio.Task[None]] = set()
        # Receipts waiting for their moment: (due, callback URL, JSON object), in due order.
        self.receipts: deque[tuple[float, str, dict[str, Any]]] = deque()
        self.receipts_added = asyncio.Event()
        self.receipts_in_flight = 0
        self.last_callback_url: str | None = None
        self.reset()

    def reset(self) -> None:
        self.accepted: Counter[str] = Counter()
        # reference -> (message id, segments, monotonic instant of the acceptance)
        self.sent: dict[str, tuple[str, int, float]] = {}
        self.replayed: Counter[str] = Counter()
        self.accepted_at: dict[str, str] = {}  # reference -> last acceptance (ISO 8601, UTC)
        self.rejected: Counter[str] = Counter()
        self.receipts_sent = 0
        self.receipts_failed = 0
        self.receipt_requests = 0
        self.down_until = 0.0

    def down_for(self) -> float:
        return max(0.0, self.down_until - time.monotonic())

    def counts(self) -> dict[str, Any]:
        """The totals alone (``GET /_counts``): cheap enough to poll under load."""
        return {
            "accepted_total": sum(self.accepted.values()),
            "references": len(self.accepted),
            "duplicated": sum(1 for n in self.accepted.values() if n > 1),
            "replayed_total": sum(self.replayed.values()),
            "rejected_total": sum(self.rejected.values()),
            "receipts_sent": self.receipts_sent,
            "receipts_pending": len(self.receipts) + self.receipts_in_flight,
        }

    def stats(self) -> dict[str, Any]:
        """The totals of ``counts`` and their detail per reference and class."""
        return {
            **self.counts(),
            "accepted": dict(self.accepted),
            "accepted_at": dict(self.accepted_at),
            "duplicates": {ref: n for ref, n in self.accepted.items() if n > 1},
            "replayed": dict(self.replayed),
            "rejected": dict(self.rejected),
            "receipts_failed": self.receipts_failed,
            "receipt_requests": self.receipt_requests,
            "down_for_seconds": round(self.down_for(), 3),
        }


def _error(status: int, code: str, headers: dict[str, str] | None = None) -> JSONResponse:
    return JSONResponse({"error": code, "detail": code}, status_code=status, headers=headers)


def _valid_message(payload: Any) -> str | None:
    """The reason a /messages payload is refused, or ``None`` if it is well-formed."""
    if not isinstance(payload, dict):
        return "invalid_request"
    for key in ("to", "body", "sender", "reference"):
        if not isinstance(payload.get(key), str) or not payload[key]:
            return "invalid_request"
    callback = payload.get("callback_url")
    if callback is not None and not isinstance(callback, str):
        return "invalid_request"
    if not _E164.fullmatch(payload["to"]):
        return "invalid_destination"
    if len(payload["sender"]) > 11:
        return "invalid_sender"
    return None


def create_app(config: SimulatorConfig | None = None) -> Starlette:
    state = SimulatorState(config or SimulatorConfig())

    @asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        state.receipt_client = httpx.AsyncClient(
            timeout=httpx.Timeout(5.0, connect=2.0),
            limits=httpx.Limits(max_connections=_RECEIPT_POSTS),
        )
        poster = asyncio.create_task(_post_receipts(state))
        try:
            yield
        finally:
            poster.cancel()
            for task in list(state.tasks):
                task.cancel()
            await asyncio.gather(*state.tasks, return_exceptions=True)
            await state.receipt_client.aclose()

    async def messages(request: Request) -> Response:
        cfg = state.config
        if cfg.latency_ms:
            await asyncio.sleep(cfg.latency_ms / 1000)
        if cfg.api_key is not None:
            given = request.headers.get("authorization", "").encode("utf-8", "replace")
            if not hmac.compare_digest(given, f"Bearer {cfg.api_key}".encode()):
                state.rejected["unauthorized"] += 1
                return _error(401, "unauthorized")
        if state.down_for() > 0:
            state.rejected["down"] += 1
            return _error(503, "down")
        try:
            payload = json.loads(await request.body())
        except ValueError:
            payload = None
        problem = _valid_message(payload)
        if problem is not None:
            state.rejected["invalid"] += 1
            return _error(400, problem)
        reference = payload["reference"]
        replay = _replay(state, reference)
        if replay is not None:
            return replay
        failure = await _draw_failure(state)
        if failure is not None:
            return failure
        message_id = f"sim-{uuid.uuid4().hex}"
        segments = analyze(payload["body"]).segments
        state.accepted[reference] += 1
        state.accepted_at[reference] = clock.utcnow().isoformat()
        if cfg.idempotency_hours:
            state.sent[reference] = (message_id, segments, time.monotonic())
        if payload.get("callback_url"):
            state.last_callback_url = payload["callback_url"]
        if payload.get("callback_url") and cfg.webhook_secret:
            _queue_receipt(state, message_id, reference, payload["callback_url"])
        return JSONResponse({"id": message_id, "segments": segments}, status_code=202)

    async def stats(request: Request) -> Response:
        return JSONResponse(state.stats())

    async def counts(request: Request) -> Response:
        return JSONResponse(state.counts())

    async def reset(request: Request) -> Response:
        state.reset()
        return JSONResponse(state.stats())

    async def control(request: Request) -> Response:
        try:
            changes = json.loads(await request.body() or b"{}")
            if not isinstance(changes, dict):
                raise ValueError("objet JSON attendu")
            _apply_control(state, changes)
        except (ValueError, TypeError) as exc:
            return JSONResponse({"error": "invalid_control", "detail": str(exc)}, 400)
        return JSONResponse({**state.config.public(), "down_for_seconds": state.down_for()})

    async def health(request: Request) -> Response:
        return JSONResponse({"status": "ok"})

    async def replies(request: Request) -> Response:
        try:
            wanted = json.loads(await request.body() or b"{}")
            url, body = _reply(state, wanted)
        except (ValueError, TypeError) as exc:
            return JSONResponse({"error": "invalid_reply", "detail": str(exc)}, 400)
        return await _post_reply(state, url, body)

    app = Starlette(
        routes=[
            Route("/messages", messages, methods=["POST"]),
            Route("/_stats", stats, methods=["GET"]),
            Route("/_counts", counts, methods=["GET"]),
            Route("/_reset", reset, methods=["POST"]),
            Route("/_control", control, methods=["POST"]),
            Route("/_health", health, methods=["GET"]),
            Route("/_replies", replies, methods=["POST"]),
        ],
        lifespan=lifespan,
    )
    app.state.simulator = state
    return app


def _replay(state: SimulatorState, reference: str) -> Response | None:
    """The first answer again, for a reference already accepted within the idempotency window
    (a sender retrying after a lost answer or a crash): the message is not sent twice."""
    known = state.sent.get(reference)
    window = state.config.idempotency_hours * 3600
    if known is None or not window or time.monotonic() - known[2] > window:
        return None
    state.replayed[reference] += 1
    message_id, segments, _ = known
    return JSONResponse({"id": message_id, "segments": segments, "replayed": True})


async def _draw_failure(state: SimulatorState) -> Response | None:
    cfg = state.config
    draw = state.rng.random()
    threshold = cfg.error_5xx
    if draw < threshold:
        state.rejected["5xx"] += 1
        return _error(500, "server_error")
    threshold += cfg.error_timeout
    if draw < threshold:
        state.rejected["timeout"] += 1
        await asyncio.sleep(cfg.timeout_sleep_ms / 1000)
        return _error(504, "timeout")
    threshold += cfg.error_429
    if draw < threshold:
        state.rejected["429"] += 1
        return _error(429, "throttled", headers={"Retry-After": f"{cfg.retry_after:g}"})
    threshold += cfg.error_permanent
    if draw < threshold:
        state.rejected["permanent"] += 1
        return _error(400, "rejected")
    return None


def _reply(state: SimulatorState, wanted: Any) -> tuple[str, bytes]:
    """Where a ``POST /_replies`` goes, and the signed body it sends."""
    if not isinstance(wanted, dict):
        raise ValueError("objet JSON attendu")
    sender, text = wanted.get("from"), wanted.get("text")
    if not isinstance(sender, str) or not _E164.fullmatch(sender):
        raise ValueError("« from » : numéro E.164 attendu")
    if not isinstance(text, str):
        raise ValueError("« text » : texte attendu")
    url = wanted.get("url") or state.config.inbound_url or _inbound_of(state.last_callback_url)
    if not isinstance(url, str) or not url.startswith(("http://", "https://")):
        raise ValueError("aucune URL de réception : donnez « url » ou CONVOC_SIM_INBOUND_URL")
    item = {
        "id": str(wanted.get("id") or f"sim-in-{uuid.uuid4().hex}"),
        "from": sender,
        "to": str(wanted.get("to") or "CONVOC"),
        "text": text,
        "received_at": str(wanted.get("received_at") or clock.utcnow().isoformat()),
    }
    return url, json.dumps({"inbound": [item]}).encode()


def _inbound_of(callback_url: str | None) -> str | None:
    if callback_url is None or "/sms/receipts/" not in callback_url:
        return None
    return callback_url.replace("/sms/receipts/", "/sms/inbound/", 1)


async def _post_reply(state: SimulatorState, url: str, body: bytes) -> Response:
    secret = state.config.webhook_secret
    if secret is None or state.receipt_client is None:
        return _error(409, "no_webhook_secret")
    headers = {"Content-Type": "application/json", SIGNATURE_HEADER: sign(secret, body)}
    try:
        answer = await state.receipt_client.post(url, content=body, headers=headers)
    except httpx.HTTPError:
        return _error(502, "convoc_unreachable")
    try:
        data: Any = answer.json()
    except ValueError:
        data = None
    shown = url.rsplit("/", 1)[0] if "/inbound/http/" in url else url  # never the token
    message_id = json.loads(body)["inbound"][0]["id"]
    return JSONResponse(
        {"id": message_id, "url": shown, "status": answer.status_code, "response": data}
    )


def _apply_control(state: SimulatorState, changes: dict[str, Any]) -> None:
    allowed = {f.name for f in fields(SimulatorConfig)} - {
        "api_key",
        "webhook_secret",
        "seed",
        "inbound_url",
    }
    unknown = set(changes) - allowed - {"down_for_seconds", "inbound_url"}
    if unknown:
        raise ValueError(f"réglages inconnus : {', '.join(sorted(unknown))}")
    inbound_url = changes.get("inbound_url", state.config.inbound_url)
    if inbound_url is not None and not isinstance(inbound_url, str):
        raise ValueError("inbound_url doit être une URL")
    updated = SimulatorConfig(
        **{**asdict(state.config), **_numbers(changes, allowed), "inbound_url": inbound_url}
    )
    updated.validate()
    state.config = updated
    if "down_for_seconds" in changes:
        state.down_until = time.monotonic() + float(changes["down_for_seconds"])


def _numbers(changes: dict[str, Any], allowed: set[str]) -> dict[str, float]:
    values: dict[str, float] = {}
    for key in allowed & set(changes):
        value = changes[key]
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise ValueError(f"{key} doit être un nombre")
        values[key] = float(value)
    return values


def _queue_receipt(state: SimulatorState, message_id: str, reference: str, url: str) -> None:
    undelivered = state.rng.random() < state.config.undelivered
    item = {
        "id": message_id,
        "reference": reference,
        "status": "undelivered" if undelivered else "delivered",
        "error_code": "absent_subscriber" if undelivered else None,
    }
    due = time.monotonic() + state.config.receipt_delay_ms / 1000
    state.receipts.append((due, url, item))
    state.receipts_added.set()


async def _post_receipts(state: SimulatorState) -> None:
    """Send queued receipts as they fall due, batched per callback URL; at most
    ``_RECEIPT_POSTS`` requests in flight, so a slow receiver makes batches grow, not sockets."""
    slots = asyncio.Semaphore(_RECEIPT_POSTS)
    while True:
        if not state.receipts:
            state.receipts_added.clear()
            await state.receipts_added.wait()
            continue
        linger = state.config.receipt_linger_ms / 1000
        wait = state.receipts[0][0] + linger - time.monotonic()
        if wait > 0 and not _full_batch_due(state):
            await asyncio.sleep(min(wait, linger or wait, 0.05))
            continue
        await slots.acquire()
        batch, url = _due_batch(state)
        state.receipts_in_flight += len(batch)
        task = asyncio.create_task(_post_batch(state, url, batch))
        state.tasks.add(task)
        task.add_done_callback(state.tasks.discard)
        task.add_done_callback(lambda _: slots.release())


def _full_batch_due(state: SimulatorState) -> bool:
    size = int(state.config.receipt_batch)
    return len(state.receipts) >= size and state.receipts[size - 1][0] <= time.monotonic()


def _due_batch(state: SimulatorState) -> tuple[list[dict[str, Any]], str]:
    """The due receipts at the head of the queue for one callback URL (the head's)."""
    now, size = time.monotonic(), int(state.config.receipt_batch)
    url = state.receipts[0][1]
    batch: list[dict[str, Any]] = []
    skipped: list[tuple[float, str, dict[str, Any]]] = []
    while state.receipts and len(batch) < size and state.receipts[0][0] <= now:
        entry = state.receipts.popleft()
        if entry[1] == url:
            batch.append(entry[2])
        else:
            skipped.append(entry)
    state.receipts.extendleft(reversed(skipped))
    return batch, url


async def _post_batch(state: SimulatorState, url: str, batch: list[dict[str, Any]]) -> None:
    cfg = state.config
    occurred_at = clock.utcnow().isoformat()
    items = [{**item, "occurred_at": occurred_at} for item in batch]
    body = json.dumps(items[0] if len(items) == 1 else items).encode()
    try:
        if cfg.webhook_secret is None or state.receipt_client is None:
            return
        headers = {
            "Content-Type": "application/json",
            SIGNATURE_HEADER: sign(cfg.webhook_secret, body),
        }
        for attempt in range(_RECEIPT_TRIES):
            try:
                state.receipt_requests += 1
                response = await state.receipt_client.post(url, content=body, headers=headers)
                if response.is_success:
                    state.receipts_sent += len(batch)
                    return
            except httpx.HTTPError:
                pass
            await asyncio.sleep(0.2 * (attempt + 1))
        state.receipts_failed += len(batch)
        log.warning("simulator.receipt_failed count=%s", len(batch))
    finally:
        state.receipts_in_flight -= len(batch)
