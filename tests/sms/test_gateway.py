"""The gateway: failover, permanent errors, circuit breaker, throttling, rate limit.

Retries later are the dispatcher's (``tests/reminders/test_retry_policy.py``)."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any

import pytest

from app.sms.base import (
    AttemptOutcome,
    Capabilities,
    OutgoingSms,
    PermanentError,
    Receipt,
    ReceiptRequest,
    SubmitResult,
    TemporaryError,
    ThrottledError,
)
from app.sms.circuit import CircuitState
from app.sms.gateway import ProvidersUnavailable, SmsGateway
from tests.sms.support import FakeTime, outgoing

Outcome = SubmitResult | Exception | Callable[[], Any]


class Scripted:
    """A provider that plays a script of outcomes (the last one repeats)."""

    def __init__(
        self,
        name: str,
        *outcomes: Outcome,
        clock: FakeTime | None = None,
        capabilities: Capabilities | None = None,
    ):
        self.name = name
        self.capabilities = capabilities or Capabilities(receipts=True)
        self.outcomes = list(outcomes) or [self.ok()]
        self.calls: list[float | None] = []
        self.clock = clock
        self.closed = False

    def ok(self) -> SubmitResult:
        return SubmitResult(provider=self.name, message_ids=(f"{self.name}-id",), segments=1)

    async def send(self, message: OutgoingSms) -> SubmitResult:
        self.calls.append(self.clock() if self.clock else None)
        outcome = self.outcomes.pop(0) if len(self.outcomes) > 1 else self.outcomes[0]
        if callable(outcome):
            outcome = await outcome()
        if isinstance(outcome, Exception):
            raise outcome
        return outcome

    def verify(self, request: ReceiptRequest) -> bool:
        return False

    def parse_receipts(self, request: ReceiptRequest) -> list[Receipt]:
        return []

    async def aclose(self) -> None:
        self.closed = True


def down(name: str) -> TemporaryError:
    return TemporaryError("down", code="http_503", provider=name)


def gateway(*providers: Scripted, fake_time: FakeTime, **options: Any) -> SmsGateway:
    options.setdefault("failure_threshold", 3)
    options.setdefault("cooldown_seconds", 60.0)
    return SmsGateway(list(providers), monotonic=fake_time, sleep=fake_time.sleep, **options)


# -- failover ----------------------------------------------------------------------------------


async def test_dead_first_provider_fails_over_to_the_next(fake_time: FakeTime) -> None:
    first = Scripted("brevo", down("brevo"))
    second = Scripted("twilio")
    result = await gateway(first, second, fake_time=fake_time).send(outgoing())

    assert result.provider == "twilio"
    assert result.message_ids == ("twilio-id",)
    assert [(a.provider, a.outcome, a.error_code) for a in result.attempts] == [
        ("brevo", AttemptOutcome.temporary, "http_503"),
        ("twilio", AttemptOutcome.accepted, None),
    ]


async def test_permanent_error_is_raised_at_once_and_never_tried_elsewhere(
    fake_time: FakeTime,
) -> None:
    first = Scripted("brevo", PermanentError("invalid number", code="invalid_parameter"))
    second = Scripted("twilio")
    with pytest.raises(PermanentError) as caught:
        await gateway(first, second, fake_time=fake_time).send(outgoing())

    assert second.calls == []
    assert caught.value.provider == "brevo"
    assert [(a.provider, a.outcome) for a in caught.value.attempts] == [
        ("brevo", AttemptOutcome.permanent)
    ]


async def test_when_all_fail_the_last_temporary_error_is_raised_with_every_attempt(
    fake_time: FakeTime,
) -> None:
    first = Scripted("brevo", down("brevo"))
    second = Scripted("twilio", TemporaryError("timeout", code="timeout"))
    with pytest.raises(TemporaryError) as caught:
        await gateway(first, second, fake_time=fake_time).send(outgoing())

    assert caught.value.code == "timeout"
    assert caught.value.provider == "twilio"
    assert [a.outcome for a in caught.value.attempts] == [AttemptOutcome.temporary] * 2


async def test_latency_is_measured_on_the_injected_clock(fake_time: FakeTime) -> None:
    async def slow() -> SubmitResult:
        fake_time.advance(0.25)
        return provider.ok()

    provider = Scripted("http", slow)
    result = await gateway(provider, fake_time=fake_time).send(outgoing())
    assert result.attempts[0].latency_ms == 250


async def test_a_provider_bug_fails_over_instead_of_losing_the_message(
    fake_time: FakeTime,
) -> None:
    first = Scripted("brevo", KeyError("messageId"))
    second = Scripted("twilio")
    result = await gateway(first, second, fake_time=fake_time).send(outgoing())
    assert result.provider == "twilio"
    assert result.attempts[0].error_code == "unexpected"


# -- throttling --------------------------------------------------------------------------------


async def test_throttled_provider_is_skipped_until_retry_after(fake_time: FakeTime) -> None:
    first = Scripted("brevo")
    first.outcomes = [ThrottledError("429", retry_after=30), first.ok()]
    second = Scripted("twilio")
    gw = gateway(first, second, fake_time=fake_time)

    assert (await gw.send(outgoing())).provider == "twilio"
    fake_time.advance(29)
    result = await gw.send(outgoing())
    assert result.provider == "twilio"
    assert (result.attempts[0].outcome, result.attempts[0].error_code) == (
        AttemptOutcome.skipped,
        "throttled_recently",
    )
    assert len(first.calls) == 1

    fake_time.advance(2)
    assert (await gw.send(outgoing())).provider == "brevo"


async def test_throttle_without_retry_after_uses_the_default_pause(fake_time: FakeTime) -> None:
    first = Scripted("brevo", ThrottledError("429"), Scripted("x").ok())
    gw = gateway(first, Scripted("twilio"), fake_time=fake_time, throttle_default_seconds=10)
    await gw.send(outgoing())
    fake_time.advance(9)
    await gw.send(outgoing())
    assert len(first.calls) == 1
    fake_time.advance(2)
    await gw.send(outgoing())
    assert len(first.calls) == 2


async def test_all_throttled_raises_throttled_with_the_smallest_wait(fake_time: FakeTime) -> None:
    first = Scripted("brevo", ThrottledError("429", retry_after=40))
    second = Scripted("twilio", ThrottledError("429", retry_after=5))
    with pytest.raises(ThrottledError) as caught:
        await gateway(first, second, fake_time=fake_time).send(outgoing())
    assert caught.value.retry_after == 5
    assert caught.value.provider == "twilio"


# -- circuit breaker ---------------------------------------------------------------------------


async def test_circuit_opens_after_consecutive_failures_then_half_opens(
    fake_time: FakeTime,
) -> None:
    flaky = Scripted("brevo", down("brevo"))
    backup = Scripted("twilio")
    gw = gateway(flaky, backup, fake_time=fake_time, failure_threshold=3, cooldown_seconds=60)

    for _ in range(3):
        await gw.send(outgoing())
    assert gw.circuit_state("brevo") is CircuitState.open
    assert len(flaky.calls) == 3

    result = await gw.send(outgoing())  # open: skipped without a call
    assert len(flaky.calls) == 3
    assert result.attempts[0].error_code == "circuit_open"

    fake_time.advance(60)
    assert gw.circuit_state("brevo") is CircuitState.half_open
    await gw.send(outgoing())  # the trial fails: open again for a full cool-down
    assert len(flaky.calls) == 4
    assert gw.circuit_state("brevo") is CircuitState.open

    fake_time.advance(59)
    await gw.send(outgoing())
    assert len(flaky.calls) == 4

    flaky.outcomes = [flaky.ok()]
    fake_time.advance(1)
    result = await gw.send(outgoing())  # the trial succeeds: closed
    assert result.provider == "brevo"
    assert gw.circuit_state("brevo") is CircuitState.closed


async def test_a_success_resets_the_failure_count(fake_time: FakeTime) -> None:
    provider = Scripted("brevo", down("brevo"), down("brevo"), Scripted("x").ok(), down("brevo"))
    provider.outcomes.append(down("brevo"))
    gw = gateway(provider, Scripted("twilio"), fake_time=fake_time, failure_threshold=3)
    for _ in range(5):
        await gw.send(outgoing())
    assert gw.circuit_state("brevo") is CircuitState.closed


async def test_permanent_errors_do_not_open_the_circuit(fake_time: FakeTime) -> None:
    provider = Scripted("brevo", PermanentError("bad number"))
    gw = gateway(provider, fake_time=fake_time, failure_threshold=2)
    for _ in range(4):
        with pytest.raises(PermanentError):
            await gw.send(outgoing())
    assert gw.circuit_state("brevo") is CircuitState.closed


async def test_half_open_lets_a_single_trial_through(fake_time: FakeTime) -> None:
    release = asyncio.Event()

    async def slow_success() -> SubmitResult:
        await release.wait()
        return flaky.ok()

    flaky = Scripted("brevo", down("brevo"))
    backup = Scripted("twilio")
    gw = gateway(flaky, backup, fake_time=fake_time, failure_threshold=1, cooldown_seconds=10)
    await gw.send(outgoing())
    fake_time.advance(10)

    flaky.outcomes = [slow_success]
    trial = asyncio.create_task(gw.send(outgoing()))
    await asyncio.sleep(0)
    other = await gw.send(outgoing())  # while the trial is in flight
    assert other.provider == "twilio"
    release.set()
    assert (await trial).provider == "brevo"


async def test_no_provider_available_says_when_to_retry(fake_time: FakeTime) -> None:
    only = Scripted("brevo", down("brevo"))
    gw = gateway(only, fake_time=fake_time, failure_threshold=1, cooldown_seconds=60)
    with pytest.raises(TemporaryError):
        await gw.send(outgoing())
    fake_time.advance(15)
    with pytest.raises(ProvidersUnavailable) as caught:
        await gw.send(outgoing())
    assert caught.value.retry_after == 45
    assert caught.value.attempts[0].outcome is AttemptOutcome.skipped


async def test_cancelled_trial_does_not_keep_the_circuit_half_open_forever(
    fake_time: FakeTime,
) -> None:
    flaky = Scripted("brevo", down("brevo"))
    gw = gateway(flaky, fake_time=fake_time, failure_threshold=1, cooldown_seconds=10)
    with pytest.raises(TemporaryError):
        await gw.send(outgoing())
    fake_time.advance(10)

    async def hang() -> SubmitResult:
        await asyncio.Event().wait()
        raise AssertionError

    flaky.outcomes = [hang, flaky.ok()]
    task = asyncio.create_task(gw.send(outgoing()))
    await asyncio.sleep(0)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert (await gw.send(outgoing())).provider == "brevo"


# -- capabilities ------------------------------------------------------------------------------


async def test_provider_that_cannot_carry_the_message_is_skipped(fake_time: FakeTime) -> None:
    small = Scripted("linkmobility", capabilities=Capabilities(receipts=False, max_parts=1))
    big = Scripted("twilio")
    result = await gateway(small, big, fake_time=fake_time).send(outgoing(body="x" * 200))
    assert result.provider == "twilio"
    assert result.attempts[0].error_code == "too_many_parts"
    assert small.calls == []


async def test_message_no_provider_can_carry_is_permanent(fake_time: FakeTime) -> None:
    gsm_only = Scripted("a", capabilities=Capabilities(receipts=False, unicode=False))
    with pytest.raises(PermanentError) as caught:
        await gateway(gsm_only, fake_time=fake_time).send(outgoing(body="Rendez-vous ☎"))
    assert caught.value.code == "message_unsupported"


# -- rate limit --------------------------------------------------------------------------------


async def test_rate_limit_spaces_messages_on_the_injected_clock(fake_time: FakeTime) -> None:
    provider = Scripted("http", clock=fake_time)
    gw = gateway(provider, fake_time=fake_time, rate_limits={"http": 2.0})
    start = fake_time.now
    for _ in range(4):
        await gw.send(outgoing())
    assert [t - start for t in provider.calls] == [0.0, 0.5, 1.0, 1.5]  # type: ignore[operator]
    assert fake_time.sleeps == [0.5, 0.5, 0.5]


async def test_rate_limit_holds_for_concurrent_senders(fake_time: FakeTime) -> None:
    provider = Scripted("http", clock=fake_time)
    gw = gateway(provider, fake_time=fake_time, rate_limits={"http": 4.0})
    start = fake_time.now
    await asyncio.gather(*(gw.send(outgoing(reference=f"r{i}")) for i in range(5)))
    times = sorted(t - start for t in provider.calls)  # type: ignore[operator]
    assert times == [0.0, 0.25, 0.5, 0.75, 1.0]


async def test_rate_limit_does_not_wait_after_a_quiet_period(fake_time: FakeTime) -> None:
    provider = Scripted("http", clock=fake_time)
    gw = gateway(provider, fake_time=fake_time, rate_limits={"http": 1.0})
    await gw.send(outgoing())
    fake_time.advance(5)
    await gw.send(outgoing())
    assert fake_time.sleeps == []


async def test_rate_limit_wait_is_not_counted_as_latency(fake_time: FakeTime) -> None:
    provider = Scripted("http", clock=fake_time)
    gw = gateway(provider, fake_time=fake_time, rate_limits={"http": 1.0})
    await gw.send(outgoing())
    result = await gw.send(outgoing())
    assert fake_time.sleeps == [1.0]
    assert result.attempts[0].latency_ms == 0


# -- plumbing ----------------------------------------------------------------------------------


async def test_provider_lookup_and_close(fake_time: FakeTime) -> None:
    first, second = Scripted("brevo"), Scripted("twilio")
    gw = gateway(first, second, fake_time=fake_time)
    assert gw.provider_names == ("brevo", "twilio")
    assert gw.provider("twilio") is second
    with pytest.raises(KeyError):
        gw.provider("linkmobility")
    await gw.aclose()
    assert first.closed and second.closed
