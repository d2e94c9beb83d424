"""The convocation pages' rate limit: a sliding window of requests per client address.

Kept in the process's memory, not the database: the pages are read by people who are not
logged in, and a row written per page view (as the login limit does) would make every visit a
write. The price: each server process counts on its own, so with N processes an address gets
up to N times the limit; still far too few tries to guess a 128-bit token.
"""

from __future__ import annotations

import math
import time
from collections import OrderedDict, deque


class SlidingWindow:
    def __init__(self, limit: int, window_seconds: float, *, max_clients: int = 10_000) -> None:
        self.limit = limit
        self.window = window_seconds
        self.max_clients = max_clients
        self._hits: OrderedDict[str, deque[float]] = OrderedDict()

    def hit(self, client: str, now: float | None = None) -> int | None:
        """Count a request of ``client``; ``None`` if allowed, else the seconds to wait."""
        now = time.monotonic() if now is None else now
        hits = self._hits.pop(client, None) or deque()
        while hits and hits[0] <= now - self.window:
            hits.popleft()
        self._hits[client] = hits  # most recent last: the oldest client is evicted first
        if len(self._hits) > self.max_clients:
            self._hits.popitem(last=False)
        if len(hits) >= self.limit:
            return max(1, math.ceil(hits[0] + self.window - now))
        hits.append(now)
        return None
