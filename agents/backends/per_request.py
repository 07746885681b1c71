"""The base of backends that serve a batch one request at a time.

Wrappers (retries, concurrency limits, load balancing, fault injection) act
on single requests, since one failed request must not retry its whole batch;
so do HTTP backends, which send one request per call. They implement
``generate_one`` and inherit a ``generate`` that runs the batch's requests
concurrently through it.
"""

from __future__ import annotations

import asyncio
from abc import ABC, abstractmethod
from collections.abc import Awaitable, Sequence

from debate.agents.backends.base import Backend, ChatRequest, ChatResponse, generate_one


class PerRequestBackend(ABC):
    """A ``Backend`` whose batches are independent single-request calls."""

    name: str

    async def generate(self, requests: Sequence[ChatRequest]) -> list[ChatResponse]:
        if len(requests) == 1:  # the common case: no task per request
            return [await self.generate_one(requests[0])]
        return list(await asyncio.gather(*(self.generate_one(request) for request in requests)))

    @abstractmethod
    async def generate_one(self, request: ChatRequest) -> ChatResponse:
        """Serve one request."""


def serve_one(backend: Backend, request: ChatRequest) -> Awaitable[ChatResponse]:
    """``generate_one(backend, request)``, calling ``backend.generate_one`` directly where that is what it does.

    A ``PerRequestBackend`` that keeps the inherited ``generate`` serves a
    single request by awaiting its ``generate_one``; calling that straight
    away gives the same result without two coroutines (``generate_one`` and
    ``generate``) per request at every layer of a wrapper stack, which a
    fast server's request pays on each resumption.
    """
    if getattr(type(backend), "generate", None) is PerRequestBackend.generate:
        return backend.generate_one(request)  # type: ignore[attr-defined]
    return generate_one(backend, request)
