"""The pages' per-address limit: a sliding window, bounded in memory."""

from __future__ import annotations

from app.links.ratelimit import SlidingWindow


def test_the_limit_counts_per_address_and_slides() -> None:
    window = SlidingWindow(3, 60)
    assert [window.hit("a", now=t) for t in (0, 1, 2)] == [None, None, None]
    assert window.hit("a", now=3) == 57  # the oldest of the three leaves at 60
    assert window.hit("b", now=3) is None  # another address counts on its own
    assert window.hit("a", now=60.5) is None  # hits at 1, 2, 60.5
    assert window.hit("a", now=61) is None  # the one at 1 left: 2, 60.5, 61
    assert window.hit("a", now=61.5) == 1  # the one at 2 leaves at 62


def test_a_refused_request_does_not_lengthen_the_wait() -> None:
    window = SlidingWindow(1, 10)
    assert window.hit("a", now=0) is None
    for t in range(1, 10):
        assert window.hit("a", now=t) is not None
    assert window.hit("a", now=10.1) is None


def test_memory_is_bounded_by_evicting_the_oldest_address() -> None:
    window = SlidingWindow(1, 60, max_clients=2)
    window.hit("a", now=0)
    window.hit("b", now=1)
    window.hit("c", now=2)
    assert window.hit("a", now=3) is None  # forgotten, so counted afresh
