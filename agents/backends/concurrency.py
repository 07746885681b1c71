"""Capping how many requests a backend serves at once.

A model server has a batch size it serves well; sending 1,000 debates' worth
of requests at once only fills its queue and turns waits into timeouts. The
cap is per wrapped backend, so wrapping each endpoint gives a per-endpoint
limit, and requests beyond it wait here rather than on the server.
"""

from __future__ import annotations

import asyncio

from debate.agents.backends._loop_local import LoopLocal
from debate.agents.backends.base import Backend, ChatRequest, ChatResponse
from debate.agents.backends.per_request import PerRequestBackend, serve_one


class ConcurrencyLimitedBackend(PerRequestBackend):
    """Lets at most ``max_in_flight`` requests reach ``inner`` at a time; the rest queue in order."""

    def __init__(self, inner: Backend, max_in_flight: int, *, name: str | None = None) -> None:
        if max_in_flight < 1:
            raise ValueError(f"max_in_flight must be at least 1, got {max_in_flight}")
        self.inner = inner
        self.max_in_flight = max_in_flight
        self.name = name or inner.name
        self._slots = LoopLocal(lambda: asyncio.Semaphore(max_in_flight))

    def __repr__(self) -> str:
        return f"ConcurrencyLimitedBackend({self.inner!r}, max_in_flight={self.max_in_flight})"

    async def generate_one(self, request: ChatRequest) -> ChatResponse:
        async with self._slots.get():
            return await serve_one(self.inner, request)
