"""What the gateway tells Prometheus: attempts by outcome, call latency, rate-limit waits, the
circuit's state and its openings. Each test names its providers uniquely: the registry is the
test process's, shared with the other tests."""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable

from prometheus_client import REGISTRY

from app.sms.base import (
    Capabilities,
    OutgoingSms,
    Receipt,
    ReceiptRequest,
    SubmitResult,
    TemporaryError,
    ThrottledError,
)
from app.sms.gateway import SmsGateway
from tests.sms.support import FakeTime, outgoing

Step = Callable[[], Awaitable[None]] | Exception | None


class Provider:
    """Plays ``steps`` in turn (the last repeats): an exception is raised, a coroutine function
    runs before success, None succeeds."""

    def __init__(self, *steps: Step) -> None:
        self.name = f"p{uuid.uuid4().hex[:10]}"
        self.capabilities = Capabilities(receipts=True)
        self.steps = list(steps) or [None]

    async def send(self, message: OutgoingSms) -> SubmitResult:
        step = self.steps.pop(0) if len(self.steps) > 1 else self.steps[0]
        if isinstance(step, Exception):
            raise step
        if step is not None:
            await step()
        return SubmitResult(provider=self.name, message_ids=("id",), segments=1)

    def verify(self, request: ReceiptRequest) -> bool:
        return False

    def parse_receipts(self, request: ReceiptRequest) -> list[Receipt]:
        return []

    async def aclose(self) -> None:
        return None


def sample(name: str, **labels: str) -> float:
    value = REGISTRY.get_sample_value(name, labels)
    assert value is not None, (name, labels)
    return value


def attempts(provider: Provider, outcome: str) -> float:
    return sample("convoc_sms_attempts_total", provider=provider.name, outcome=outcome)


async def test_a_circuit_that_opens_is_counted_and_shown_open(fake_time: FakeTime) -> None:
    flaky = Provider(TemporaryError("down", code="http_503"))
    backup = Provider()
    gateway = SmsGateway(
        [flaky, backup], failure_threshold=3, cooldown_seconds=60, monotonic=fake_time
    )
    assert sample("convoc_sms_circuit_state", provider=flaky.name) == 0  # known from the start
    for _ in range(4):  # three failures open it; the fourth message skips it
        await gateway.send(outgoing())
    assert attempts(flaky, "temporary") == 3
    assert attempts(flaky, "skipped") == 1
    assert attempts(backup, "accepted") == 4
    assert sample("convoc_sms_circuit_opened_total", provider=flaky.name) == 1
    assert sample("convoc_sms_circuit_state", provider=flaky.name) == 2
    assert sample("convoc_sms_circuit_state", provider=backup.name) == 0

    fake_time.advance(60)  # half-open: the trial fails, the circuit opens again
    await gateway.send(outgoing())
    assert sample("convoc_sms_circuit_opened_total", provider=flaky.name) == 2
    assert sample("convoc_sms_circuit_state", provider=flaky.name) == 2

    flaky.steps = [None]
    fake_time.advance(60)  # the next trial succeeds: closed
    await gateway.send(outgoing())
    assert sample("convoc_sms_circuit_state", provider=flaky.name) == 0
    assert attempts(flaky, "accepted") == 1


async def test_throttling_latency_and_rate_limit_waits_are_measured(fake_time: FakeTime) -> None:
    async def slow() -> None:
        fake_time.advance(0.25)  # the provider takes a quarter of a second to answer

    busy = Provider(ThrottledError("429", retry_after=30), slow)
    limited = Provider(slow)
    gateway = SmsGateway(
        [busy, limited],
        rate_limits={limited.name: 2.0},  # one message every half second
        monotonic=fake_time,
        sleep=fake_time.sleep,
    )
    for _ in range(3):
        await gateway.send(outgoing())
    assert attempts(busy, "throttled") == 1
    assert attempts(busy, "skipped") == 2  # throttled recently: not called again
    assert attempts(limited, "accepted") == 3
    assert sample("convoc_sms_send_duration_seconds_count", provider=limited.name) == 3
    assert sample("convoc_sms_send_duration_seconds_sum", provider=limited.name) == 0.75
    # The first message found a token; the next two waited for theirs, a quarter second
    # each (half a second apart, minus the quarter the previous call took).
    assert sample("convoc_sms_rate_limit_wait_seconds_count", provider=limited.name) == 3
    assert sample("convoc_sms_rate_limit_wait_seconds_sum", provider=limited.name) == 0.5
