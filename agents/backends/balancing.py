"""Spreading requests over several backends that serve the same model, with fail-over.

Several ``vllm serve`` replicas (one per GPU, say) behind one backend: each
request goes to the replica with the fewest requests in flight, which adapts
to replicas of different speed without any tuning. When a replica cannot be
reached it is skipped for a while and the request moves on at once, so one
dead replica costs no retry budget and no backoff.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Sequence

from debate.agents.backends.base import Backend, ChatRequest, ChatResponse
from debate.agents.backends.per_request import PerRequestBackend, serve_one
from debate.agents.backends.retrying import TransientBackendError

logger = logging.getLogger(__name__)


class LoadBalancedBackend(PerRequestBackend):
    """Least-in-flight load balancing over ``backends``, failing over on connection errors.

    A backend that raises a ``TransientBackendError`` of kind ``connection``
    is marked down for ``down_for_s`` seconds: it is tried only after every
    other backend, until the time passes. Other errors (rate limits, server
    errors) are the caller's to retry: moving them to another replica at once
    would only spread an overload.
    """

    def __init__(
        self, backends: Sequence[Backend], *, down_for_s: float = 5.0, name: str | None = None
    ) -> None:
        if not backends:
            raise ValueError("backends: LoadBalancedBackend needs at least one backend")
        self.backends = list(backends)
        self.down_for_s = down_for_s
        self.name = name or f"balanced({','.join(backend.name for backend in self.backends)})"
        self.in_flight = [0] * len(self.backends)
        self.fail_overs = 0
        self._down_until = [0.0] * len(self.backends)
        self._rotation = 0

    def __repr__(self) -> str:
        return f"LoadBalancedBackend({self.backends!r}, down_for_s={self.down_for_s})"

    async def generate_one(self, request: ChatRequest) -> ChatResponse:
        last_error: TransientBackendError | None = None
        for index in self._preference_order():
            self.in_flight[index] += 1
            try:
                return await serve_one(self.backends[index], request)
            except TransientBackendError as error:
                if error.kind != "connection":
                    raise
                self._down_until[index] = time.monotonic() + self.down_for_s
                self.fail_overs += 1
                last_error = error
                logger.warning(
                    "%s: %s is unreachable (%s); failing over", self.name, self.backends[index].name, error
                )
            finally:
                self.in_flight[index] -= 1
        raise TransientBackendError(
            f"{self.name}: no backend reachable; last error: {last_error}", kind="connection"
        ) from last_error

    def _preference_order(self) -> list[int]:
        """Reachable backends first, then fewest in flight; ties rotate so idle replicas share the work."""
        now = time.monotonic()
        count = len(self.backends)
        start, self._rotation = self._rotation, (self._rotation + 1) % count
        return sorted(
            range(count),
            key=lambda i: (self._down_until[i] > now, self.in_flight[i], (i - start) % count),
        )
