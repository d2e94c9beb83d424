"""A circuit breaker per provider: stop calling a provider that keeps failing, then probe it.

* **closed** — calls go through; ``failure_threshold`` consecutive temporary failures open it;
* **open** — calls are skipped for ``cooldown`` seconds;
* **half-open** — after the cool-down, one trial call goes through (others are still
  skipped): success closes the circuit, failure opens it for another cool-down.

A permanent error counts as a success here (the provider answered); throttling is neither
(it is handled separately by the gateway). Time comes from an injected monotonic function.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from enum import StrEnum


class CircuitState(StrEnum):
    closed = "closed"
    open = "open"
    half_open = "half_open"


class CircuitBreaker:
    def __init__(
        self,
        *,
        failure_threshold: int,
        cooldown: float,
        monotonic: Callable[[], float] = time.monotonic,
    ):
        if failure_threshold < 1 or cooldown <= 0:
            raise ValueError("failure_threshold must be >= 1 and cooldown > 0")
        self.failure_threshold = failure_threshold
        self.cooldown = cooldown
        self._monotonic = monotonic
        self._failures = 0
        self._opened_at: float | None = None
        self._trial_in_flight = False

    @property
    def state(self) -> CircuitState:
        if self._opened_at is None:
            return CircuitState.closed
        if self._monotonic() - self._opened_at >= self.cooldown:
            return CircuitState.half_open
        return CircuitState.open

    @property
    def consecutive_failures(self) -> int:
        return self._failures

    def retry_in(self) -> float:
        """Seconds until the circuit lets a call through again (0 when it does now)."""
        if self._opened_at is None:
            return 0.0
        return max(0.0, self._opened_at + self.cooldown - self._monotonic())

    def allow(self) -> bool:
        """May a call go through now? In half-open state, only one trial at a time."""
        state = self.state
        if state is CircuitState.closed:
            return True
        if state is CircuitState.open or self._trial_in_flight:
            return False
        self._trial_in_flight = True
        return True

    def record_success(self) -> None:
        self._failures = 0
        self._opened_at = None
        self._trial_in_flight = False

    def record_failure(self) -> None:
        if self._trial_in_flight or self._opened_at is not None:
            self._opened_at = self._monotonic()  # the trial failed: open for another cool-down
        else:
            self._failures += 1
            if self._failures >= self.failure_threshold:
                self._opened_at = self._monotonic()
        self._trial_in_flight = False

    def release(self) -> None:
        """The call ended without telling whether the provider works (throttled, cancelled)."""
        self._trial_in_flight = False
