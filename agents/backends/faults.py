"""Injecting failures into any backend, to test what sits above it.

Retry, fail-over and resume logic only earn trust when they run against
failures; this wrapper makes a seeded fraction of requests fail with a
``TransientBackendError`` before they reach the wrapped backend, so any
backend (scripted, local, remote) can be made unreliable on purpose.
"""

from __future__ import annotations

import random

from debate.agents.backends.base import Backend, ChatRequest, ChatResponse
from debate.agents.backends.per_request import PerRequestBackend, serve_one
from debate.agents.backends.retrying import FailureKind, TransientBackendError


class FaultInjectingBackend(PerRequestBackend):
    """Fails each request with probability ``rate`` (seeded), as a transient error of ``kind``."""

    def __init__(
        self,
        inner: Backend,
        rate: float,
        *,
        seed: int = 0,
        kind: FailureKind = "injected",
        name: str | None = None,
    ) -> None:
        if not 0.0 <= rate <= 1.0:
            raise ValueError(f"rate must be between 0 and 1, got {rate}")
        self.inner = inner
        self.rate = rate
        self.kind: FailureKind = kind
        self.name = name or inner.name
        self.injected = 0
        self._random = random.Random(seed)

    def __repr__(self) -> str:
        return f"FaultInjectingBackend({self.inner!r}, rate={self.rate})"

    async def generate_one(self, request: ChatRequest) -> ChatResponse:
        if self._random.random() < self.rate:
            self.injected += 1
            raise TransientBackendError(
                f"{self.name}: injected fault for agent {request.agent!r} in round {request.round}",
                kind=self.kind,
            )
        return await serve_one(self.inner, request)
