"""Process memory habits shared by the API and the dispatcher."""

from __future__ import annotations

import gc


def freeze_startup_objects() -> None:
    """Move what startup built (modules, models, routes, schemas: ~185,000 objects) out of the
    garbage collector's reach. They live as long as the process; left in, every full collection
    walks them all — about 110 ms on the 2-core reference machine, a pause that every request
    (or message) in flight waits for (the booking benchmark's p99). Frozen, a full collection
    only walks what the work left behind."""
    gc.collect()
    gc.freeze()
