"""Fewer garbage collections while many debates are in flight.

A thousand concurrent debates keep a few hundred thousand objects alive
(states, messages, LangGraph tasks and futures). CPython's cyclic collector
starts a young-generation pass every 700 allocations and, every so often, an
older-generation pass that walks every survivor, so at high concurrency the
collector took about half of the framework's CPU (benchmarks/orchestration.py).
Debates make few reference cycles, so collecting less often costs little
memory: 10,000 debates peaked at the same RSS whether the young threshold was
50,000, 500,000 or high enough that no collection ran at all. At 50,000 a
10,000-debate run still spent about a fifth of its CPU in young collections
(each one walks every young coroutine, task and frame); at 500,000 it ran one.
The runner applies this for the length of a run; use it around your own
``asyncio.gather`` of many ``arun_debate`` calls too.
"""

from __future__ import annotations

import gc
from collections.abc import Iterator
from contextlib import contextmanager

RELAXED_THRESHOLD = 500_000
"""Allocations between young-generation collections while relaxed (CPython's default: 700)."""


@contextmanager
def relaxed_gc(threshold: int = RELAXED_THRESHOLD) -> Iterator[None]:
    """Raise the young-generation GC threshold to ``threshold`` inside the block; restore it after."""
    if threshold < 1:
        raise ValueError(f"threshold must be at least 1, got {threshold}")
    previous = gc.get_threshold()
    gc.set_threshold(max(threshold, previous[0]), *previous[1:])
    try:
        yield
    finally:
        gc.set_threshold(*previous)
