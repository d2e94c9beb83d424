"""The dispatcher's one retry policy: exponential back-off with equal jitter, never before a
``Retry-After`` (pure functions, no database)."""

from __future__ import annotations

import random
from datetime import timedelta

from app.reminders.dispatcher import DispatchConfig, backoff, retry_delay
from app.sms.base import TemporaryError, ThrottledError
from app.sms.config import SmsSettings
from app.sms.gateway import ProvidersUnavailable

CONFIG = DispatchConfig(retry_base_seconds=30, retry_cap_seconds=600, worker_id="test")


class Fixed(random.Random):
    """``uniform(a, b)`` always returns ``a + (b - a) * value``."""

    def __init__(self, value: float) -> None:
        super().__init__()
        self.value = value

    def random(self) -> float:
        return self.value


def seconds(delay: timedelta) -> float:
    return delay.total_seconds()


def test_the_ceiling_doubles_with_each_attempt_up_to_the_cap() -> None:
    ceilings = [seconds(backoff(n, CONFIG, Fixed(1.0))) for n in range(1, 8)]
    assert ceilings == [30, 60, 120, 240, 480, 600, 600]


def test_equal_jitter_waits_between_half_the_ceiling_and_the_ceiling() -> None:
    rng = random.Random(4)
    delays = [seconds(backoff(3, CONFIG, rng)) for _ in range(500)]
    assert all(60 <= d <= 120 for d in delays)
    assert min(delays) < 65 and max(delays) > 115
    assert seconds(backoff(3, CONFIG, Fixed(0.0))) == 60


def test_backoff_survives_huge_attempt_numbers() -> None:
    assert seconds(backoff(10_000, CONFIG, Fixed(0.5))) == 450


def test_a_retry_never_comes_before_retry_after() -> None:
    throttled = ThrottledError("429", retry_after=90)
    assert seconds(retry_delay(1, throttled, CONFIG, Fixed(0.5))) == 90
    unavailable = ProvidersUnavailable("circuits open", retry_after=300)
    assert seconds(retry_delay(1, unavailable, CONFIG, Fixed(0.5))) == 300
    assert seconds(retry_delay(1, TemporaryError("x"), CONFIG, Fixed(0.5))) == 22.5


def test_the_dispatcher_and_the_settings_share_one_default() -> None:
    default = DispatchConfig()
    fields = SmsSettings.model_fields
    assert (default.retry_base_seconds, default.retry_cap_seconds) == (30, 1800)
    assert (fields["retry_base_seconds"].default, fields["retry_cap_seconds"].default) == (30, 1800)
