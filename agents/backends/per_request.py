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
from collections.abc import Sequence

from debate.agents.backends.base import ChatRequest, ChatResponse


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
